#include "profiles/manifest.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/hex.h"
#include "testing.h"

namespace airlock::profiles {
namespace {

const std::string kId1(64, 'a');
const std::string kId2(64, 'b');

TEST(Manifest, ReadsNimV1WithWorkspaceForms) {
  std::string text = kId1 + R"(:
  model: meta/llama3-70b-instruct
  release: '1.0.0'
  tags: {gpu: L40S, gpu_device: '26b5:10de', llm_engine: tensorrt_llm, pp: '1', precision: fp16, tp: '8'}
  container_url: nvcr.io/nim/meta/llama3-70b-instruct:1.0.0
  workspace: !workspace
    components:
      - dst: trtllm_engine
        src:
          repo_id: nim/meta/llama3-70b-instruct:0.10.0+abc-l40sx8
          files:
            - !name 'rank0.engine'
            - plain.txt
            - {'one-key.json': {}}
      - dst: ''
        src:
          files: [!name 'config.json']
)" + kId2 + ":\n  tags: {backend: onnx, precision: fp16}\n";
  auto manifest = parse_manifest(text, "v1.yaml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message();
  ASSERT_EQ(manifest->profiles.size(), 2u);
  const Profile& p = manifest->profiles[0];
  EXPECT_EQ(p.id, kId1);
  EXPECT_EQ(p.format, ManifestFormat::kNimV1);
  EXPECT_EQ(p.model, "meta/llama3-70b-instruct");
  EXPECT_EQ(p.release, "1.0.0");
  EXPECT_EQ(p.tag("tp"), "8");
  ASSERT_EQ(p.files.size(), 4u);
  EXPECT_EQ(p.files[0].path, "trtllm_engine/rank0.engine");
  EXPECT_EQ(p.files[0].uri, "ngc://nim/meta/llama3-70b-instruct:0.10.0+abc-l40sx8?file=rank0.engine");
  EXPECT_EQ(p.files[1].path, "trtllm_engine/plain.txt");
  EXPECT_EQ(p.files[2].path, "trtllm_engine/one-key.json");
  EXPECT_EQ(p.files[3].path, "config.json");
  EXPECT_EQ(p.files[3].uri, "") << "no repo_id: no source";
  EXPECT_EQ(manifest->profiles[1].files.size(), 0u);
  EXPECT_EQ(p.location, "v1.yaml:1:1");
}

TEST(Manifest, ReadsNimV2) {
  std::string text = "schema_version: 2.0.0\nprofile_selection_criteria: default\nprofiles:\n  - id: " + kId1 +
                     "\n    tags: {llm_engine: vllm, tp: '1'}\n    workspace:\n      files:\n"
                     "        config.json: {uri: 'ngc://nim/meta/m:hf-1?file=config.json'}\n"
                     "        sub/w.safetensors: {uri: 'ngc://nim/meta/m:hf-1?file=w.safetensors'}\n";
  auto manifest = parse_manifest(text, "v2.yaml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message();
  const Profile& p = manifest->profiles.at(0);
  EXPECT_EQ(p.format, ManifestFormat::kNimV2);
  ASSERT_EQ(p.files.size(), 2u);
  EXPECT_EQ(p.files[1].path, "sub/w.safetensors");
  EXPECT_EQ(p.files[1].uri, "ngc://nim/meta/m:hf-1?file=w.safetensors");
}

TEST(Manifest, ReadsLegacyWrapped) {
  std::string text = "model_profile: ExampleModel\nmanifest:\n  - id: " + kId1 + "\n    tags: {gpu: A100, precision: fp16}\n";
  auto manifest = parse_manifest(text, "legacy.yaml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message();
  EXPECT_EQ(manifest->profiles.at(0).format, ManifestFormat::kLegacyWrapped);
  EXPECT_EQ(manifest->model.name, "ExampleModel");
  EXPECT_EQ(manifest->profiles.at(0).tag("gpu"), "A100");
}

TEST(Manifest, AirlockFormatComputesIdsAndChecksFields) {
  std::string text =
      "schema_version: airlock/1\nmodel: {name: org/m, kind: embedding}\nprofiles:\n"
      "  - tags: {engine: airlock, device: cpu}\n    workspace:\n      files:\n"
      "        model.safetensors: {uri: 'hf://org/m:main?file=model.safetensors', size: 1234, sha256: '" +
      std::string(64, 'c') + "'}\n        local.txt: {uri: /data/local.txt}\n";
  auto manifest = parse_manifest(text, "own.yaml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().message();
  const Profile& p = manifest->profiles.at(0);
  EXPECT_TRUE(is_lower_hex(p.id, 64));
  EXPECT_EQ(p.id, compute_profile_id(p));
  EXPECT_EQ(p.files[0].size, 1234u);
  EXPECT_EQ(p.files[0].sha256, std::string(64, 'c'));
  EXPECT_EQ(manifest->model.kind, "embedding");
  // The id is a function of content: a changed tag changes it, order of files does not.
  Profile changed = p;
  changed.tags[0].second = "other";
  EXPECT_NE(compute_profile_id(changed), p.id);
  Profile reordered = p;
  std::swap(reordered.files[0], reordered.files[1]);
  EXPECT_EQ(compute_profile_id(reordered), p.id);
  // Written back out and read again, it is the same manifest.
  auto again = parse_manifest(dump_json(manifest_to_json(*manifest)), "written.json");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->profiles.at(0).id, p.id);
  EXPECT_EQ(again->profiles.at(0).files.size(), 2u);
}

struct BadCase {
  const char* name;
  std::string text;
  const char* expected;  // a fragment of the error message
  ErrorCode code = ErrorCode::kParse;
};

class ManifestRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ManifestRejects, WithLocationAndReason) {
  const BadCase& c = GetParam();
  auto result = parse_manifest(c.text, "bad.yaml");
  ASSERT_FALSE(result.ok()) << c.name;
  EXPECT_EQ(result.error().code(), c.code) << result.error().message();
  EXPECT_NE(result.error().message().find(c.expected), std::string::npos) << result.error().message();
  EXPECT_EQ(result.error().message().rfind("bad.yaml:", 0), 0u) << "names the file first: " << result.error().message();
}

std::string v2_with_file(const std::string& path, const std::string& uri = "ngc://o/m:v?file=x") {
  return "schema_version: '2.0'\nprofiles:\n  - id: " + kId1 + "\n    tags: {}\n    workspace:\n      files:\n        '" +
         path + "': {uri: '" + uri + "'}\n";
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, ManifestRejects,
    ::testing::Values(
        BadCase{"malformed", "a: [1, 2\n", "malformed YAML"},
        BadCase{"empty", "", "empty"},
        BadCase{"scalar root", "just text\n", "a manifest is a mapping"},
        BadCase{"unknown schema", "schema_version: '3.1'\nprofiles: []\n", "unknown schema_version '3.1'", ErrorCode::kUnsupported},
        BadCase{"duplicate id v2",
                "schema_version: '2.0'\nprofiles:\n  - {id: " + kId1 + ", tags: {}}\n  - {id: " + kId1 + ", tags: {}}\n",
                "duplicate profile id"},
        BadCase{"duplicate id v1 (yaml key)", kId1 + ": {tags: {}}\n" + kId1 + ": {tags: {}}\n", "duplicate key"},
        BadCase{"number tag", "schema_version: '2.0'\nprofiles:\n  - id: " + kId1 + "\n    tags: {tp: 2}\n",
                "tag 'tp' must be a string, not a number: quote it ('2')"},
        BadCase{"list tag", "schema_version: '2.0'\nprofiles:\n  - id: " + kId1 + "\n    tags: {gpu: [A100]}\n",
                "tag 'gpu' must be a string, not a sequence"},
        BadCase{"null tag", kId1 + ":\n  tags: {gpu: }\n", "tag 'gpu' must be a string, not a null"},
        BadCase{"dotdot path", v2_with_file("../../etc/passwd"), "contains '..'"},
        BadCase{"absolute path", v2_with_file("/etc/passwd"), "is absolute"},
        BadCase{"v1 dotdot name",
                kId1 + ":\n  workspace: !workspace\n    components:\n      - dst: x\n        src: {repo_id: a/b:c, files: [!name '../y']}\n",
                "contains '..'"},
        BadCase{"v1 absolute dst",
                kId1 + ":\n  workspace: !workspace\n    components:\n      - dst: /abs\n        src: {files: [a]}\n",
                "is absolute"},
        BadCase{"bad id", "'../evil':\n  tags: {}\n", "is not valid"},
        BadCase{"profile not a map", kId1 + ": [1, 2]\n", "must be a mapping"},
        BadCase{"no profiles", "schema_version: '2.0'\nprofiles: []\n", "defines no profiles"},
        BadCase{"v2 no id", "schema_version: '2.0'\nprofiles:\n  - tags: {}\n", "has no 'id'"},
        BadCase{"bad uri", v2_with_file("a.bin", "http://host:99999/x"), "port"},
        BadCase{"airlock unknown key", "schema_version: airlock/1\nprofiles: []\nextra: 1\n", "unknown key 'extra'"},
        BadCase{"airlock bad sha", "schema_version: airlock/1\nprofiles:\n  - workspace: {files: {a: {uri: x, sha256: ABC}}}\n",
                "sha256 must be 64 lowercase hex digits"},
        BadCase{"airlock bad size", "schema_version: airlock/1\nprofiles:\n  - workspace: {files: {a: {uri: x, size: -1}}}\n",
                "size must be a non-negative"},
        BadCase{"duplicate file", kId1 + ":\n  workspace: !workspace\n    components:\n      - src: {files: [a, a]}\n",
                "listed twice"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) {
      std::string name = param_info.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(Manifest, TenMegabytesOfGarbageIsAnError) {
  std::string garbage;
  garbage.reserve(10u << 20);
  std::uint32_t state = 12345;
  while (garbage.size() < (10u << 20)) {
    state = state * 1103515245 + 12345;
    garbage += static_cast<char>((state >> 16) & 0xff);
  }
  auto result = parse_manifest(garbage, "garbage.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message().rfind("garbage.yaml:", 0), 0u) << result.error().message();
}

TEST(Manifest, BundledExamplesParse) {
  for (const char* name : {"llama-3.1-8b-instruct.yaml", "llama-3.2-nv-rerankqa-1b-v2.yaml", "bge-small-en-v1.5.yaml"}) {
    auto manifest = load_manifest_file(testing::project_root() / "examples/manifests" / name);
    ASSERT_TRUE(manifest.ok()) << name << ": " << manifest.error().message();
    EXPECT_GE(manifest->profiles.size(), 3u) << name;
    for (const Profile& p : manifest->profiles) EXPECT_FALSE(p.files.empty()) << name << " " << p.id;
  }
}

TEST(Manifest, DirectoryMergesAndCatchesDuplicates) {
  testing::TempDir dir;
  testing::write_text(dir / "a.yaml", kId1 + ":\n  tags: {gpu: A100}\n");
  testing::write_text(dir / "b.yml", kId2 + ":\n  tags: {gpu: H100}\n");
  testing::write_text(dir / "notes.txt", "ignored");
  auto merged = load_manifest_dir(dir.path());
  ASSERT_TRUE(merged.ok()) << merged.error().message();
  EXPECT_EQ(merged->profiles.size(), 2u);
  EXPECT_EQ(merged->sources.size(), 2u);
  testing::write_text(dir / "c.yaml", kId1 + ":\n  tags: {gpu: L40S}\n");
  auto duplicate = load_manifest_dir(dir.path());
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message().find("first defined at"), std::string::npos) << duplicate.error().message();
}

TEST(Manifest, SourceOrder) {
  testing::TempDir dir;
  testing::write_text(dir / "env.yaml", kId1 + ":\n  tags: {gpu: A100}\n");
  testing::write_text(dir / "flag.yaml", kId2 + ":\n  tags: {gpu: A100}\n");
  ::setenv("NIM_MANIFEST_PATH", (dir / "env.yaml").c_str(), 1);
  auto from_env = load_manifest({});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->profiles[0].id, kId1);
  ManifestSource flag;
  flag.file = dir / "flag.yaml";
  EXPECT_EQ(load_manifest(flag)->profiles[0].id, kId2);
  ::unsetenv("NIM_MANIFEST_PATH");
  auto missing = load_manifest_file(dir / "nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.yaml"), std::string::npos);
}

}  // namespace
}  // namespace airlock::profiles
