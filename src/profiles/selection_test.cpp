#include "profiles/selection.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "profiles/gpu_table.h"
#include "testing.h"

namespace airlock::profiles {
namespace {

Hardware gpus(const std::string& name, int count, double used_fraction = 0.0) {
  Hardware hw;
  const GpuModel* model = find_gpu_by_name(name);
  EXPECT_NE(model, nullptr) << name;
  for (int i = 0; i < count; ++i) {
    GpuInfo gpu = make_gpu_info(*model, i);
    gpu.memory_used_bytes = static_cast<std::uint64_t>(static_cast<double>(gpu.memory_total_bytes) * used_fraction);
    hw.gpus.push_back(gpu);
  }
  hw.cpu.cores = 8;
  hw.cpu.threads = 16;
  return hw;
}

Profile make_profile(const std::string& id, Tags tags) {
  Profile p;
  p.id = id;
  p.tags = std::move(tags);
  return p;
}

Manifest manifest_of(std::vector<Profile> profiles) {
  Manifest m;
  m.profiles = std::move(profiles);
  return m;
}

Manifest llm_example() {
  auto m = load_manifest_file(testing::project_root() / "examples/manifests/llama-3.1-8b-instruct.yaml");
  EXPECT_TRUE(m.ok()) << m.error().message();
  return std::move(m).value();
}

std::map<std::string, std::string> sections_by_description(const Selection& s) {
  std::map<std::string, std::string> out;
  for (const Assessment& a : s.assessments) out[a.description] = std::string(section_name(a.section));
  return out;
}

TEST(Describe, BuildsNimDescriptions) {
  struct Case {
    Tags tags;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{{"llm_engine", "tensorrt_llm"}, {"gpu", "H100"}, {"precision", "fp8"}, {"tp", "2"}, {"pp", "1"}, {"profile", "latency"}},
       "tensorrt_llm-h100-fp8-tp2-pp1-latency"},
      {{{"llm_engine", "tensorrt_llm"}, {"gpu", "H100_NVL"}, {"precision", "fp8"}, {"tp", "1"}, {"pp", "1"}, {"profile", "throughput"}},
       "tensorrt_llm-h100_nvl-fp8-tp1-pp1-throughput"},
      {{{"llm_engine", "vllm"}, {"precision", "bf16"}, {"tp", "1"}, {"pp", "1"}}, "vllm-bf16-tp1-pp1"},
      {{{"llm_engine", "tensorrt_llm"}, {"trtllm_buildable", "true"}, {"precision", "bf16"}, {"tp", "1"}, {"pp", "1"}},
       "tensorrt_llm-trtllm_buildable-bf16-tp1-pp1"},
      {{{"feat_lora", "true"}, {"gpu", "L40S"}, {"llm_engine", "tensorrt_llm"}, {"precision", "bf16"}, {"tp", "1"}, {"profile", "throughput"}},
       "tensorrt_llm-l40s-bf16-tp1-throughput-lora"},
      {{{"backend", "tensorrt"}, {"key", "NVIDIA-L4_10.0.1_12"}, {"precision", "fp16"}}, "tensorrt-l4-fp16"},
      {{{"engine", "airlock"}, {"device", "cpu"}, {"precision", "fp32"}}, "airlock-cpu-fp32"},
      {{{"llm_engine", "vllm"}}, "vllm"},
      {{}, "the-id"},
  };
  for (const Case& c : cases) EXPECT_EQ(describe_profile(make_profile("the-id", c.tags)), c.expected);
}

TEST(Selection, TwoH100sOnTheLlmExample) {
  Manifest m = llm_example();
  Selection s = select_profiles(m, gpus("H100", 2));
  auto sections = sections_by_description(s);
  std::map<std::string, std::string> expected = {
      {"tensorrt_llm-h100-fp8-tp1-pp1-throughput", "runnable"},
      {"tensorrt_llm-h100-fp8-tp2-pp1-latency", "runnable"},
      {"tensorrt_llm-h100-bf16-tp2-pp1-latency", "runnable"},
      {"tensorrt_llm-h100-fp8-tp8-pp1-latency", "incompatible"},
      {"tensorrt_llm-h100-fp8-tp1-pp1-throughput-lora", "runnable"},
      {"tensorrt_llm-h100_nvl-fp8-tp1-pp1-throughput", "incompatible"},
      {"tensorrt_llm-h200-fp8-tp1-pp1-throughput", "incompatible"},
      {"tensorrt_llm-a100-bf16-tp1-pp1-throughput", "incompatible"},
      {"tensorrt_llm-l40s-fp8-tp1-pp1-throughput", "incompatible"},
      {"tensorrt_llm-trtllm_buildable-bf16-tp1-pp1", "buildable"},
      {"tensorrt_llm-trtllm_buildable-bf16-tp1-pp1-lora", "buildable"},
      {"vllm-bf16-tp1-pp1", "runnable"},
      {"vllm-bf16-tp2-pp1", "runnable"},
      {"vllm-fp16-tp4-pp1", "incompatible"},
      {"sglang-bf16-tp1-pp1", "runnable"},
      {"sglang-h100-fp8-tp1-pp1", "runnable"},
  };
  for (const auto& [description, section] : expected) EXPECT_EQ(sections[description], section) << description;
  ASSERT_NE(s.chosen_assessment(), nullptr);
  EXPECT_EQ(s.chosen_assessment()->description, "tensorrt_llm-h100-fp8-tp2-pp1-latency");
}

TEST(Selection, FourL40SOnTheLlmExample) {
  Manifest m = llm_example();
  Selection s = select_profiles(m, gpus("L40S", 4));
  auto sections = sections_by_description(s);
  EXPECT_EQ(sections["tensorrt_llm-l40s-fp8-tp1-pp1-throughput"], "runnable");
  EXPECT_EQ(sections["tensorrt_llm-l40s-bf16-tp2-pp2-throughput"], "runnable") << "tp x pp = 4 GPUs";
  EXPECT_EQ(sections["tensorrt_llm-l40s-bf16-tp1-pp1-throughput-lora"], "runnable");
  EXPECT_EQ(sections["vllm-fp16-tp4-pp1"], "runnable");
  EXPECT_EQ(sections["tensorrt_llm-h100-fp8-tp1-pp1-throughput"], "incompatible");
  EXPECT_EQ(sections["sglang-h100-fp8-tp1-pp1"], "incompatible");
  EXPECT_EQ(s.chosen_assessment()->description, "tensorrt_llm-l40s-fp8-tp2-pp1-latency");
}

TEST(Selection, BusyGpusMakeLowMemory) {
  Manifest m = llm_example();
  Selection s = select_profiles(m, gpus("H100", 2, 0.5));
  auto sections = sections_by_description(s);
  EXPECT_EQ(sections["tensorrt_llm-h100-fp8-tp1-pp1-throughput"], "low_memory");
  EXPECT_EQ(sections["vllm-bf16-tp2-pp1"], "low_memory");
  EXPECT_EQ(sections["tensorrt_llm-trtllm_buildable-bf16-tp1-pp1"], "low_memory");
  EXPECT_EQ(sections["tensorrt_llm-a100-bf16-tp1-pp1-throughput"], "incompatible");
  EXPECT_EQ(s.chosen_assessment(), nullptr);
  auto resolved = resolve_profile(s, m, "");
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message().find("would fit if their GPUs were free"), std::string::npos);
}

TEST(Selection, FreeThresholdIsFivePercent) {
  Hardware hw = gpus("H100", 2);
  hw.gpus[1].memory_used_bytes = hw.gpus[1].memory_total_bytes / 20 + 1024 * 1024;  // just over 5%
  Manifest m = manifest_of({make_profile("tp1", {{"gpu", "H100"}, {"tp", "1"}}), make_profile("tp2", {{"gpu", "H100"}, {"tp", "2"}})});
  Selection s = select_profiles(m, hw);
  EXPECT_EQ(s.assessments[0].section, Section::kRunnable);
  EXPECT_EQ(s.assessments[1].section, Section::kLowMemory);
  hw.gpus[1].memory_used_bytes = hw.gpus[1].memory_total_bytes / 20;  // exactly 5%: still free
  EXPECT_EQ(select_profiles(m, hw).assessments[1].section, Section::kRunnable);
}

TEST(Selection, GpuMatchingByDeviceTagRegexAndKey) {
  Manifest m = manifest_of({
      make_profile("device-nvl", {{"gpu_device", "2321:10de"}}),
      make_profile("tag-h100", {{"gpu", "h100"}}),
      make_profile("regex-a10", {{"product_name_regex", "^NVIDIA-A10(?!0).*"}}),
      make_profile("key-a10g", {{"key", "NVIDIA-A10G_10.0.1_12"}}),
      make_profile("generic", {{"llm_engine", "vllm"}}),
      make_profile("bad-regex", {{"product_name_regex", "(["}}),
      make_profile("bad-tp", {{"tp", "two"}}),
  });
  auto section_of = [&](const Hardware& hw) {
    std::map<std::string, Section> out;
    for (const Assessment& a : select_profiles(m, hw).assessments) out[a.profile->id] = a.section;
    return out;
  };
  auto nvl = section_of(gpus("H100 NVL", 1));
  EXPECT_EQ(nvl["device-nvl"], Section::kRunnable);
  EXPECT_EQ(nvl["tag-h100"], Section::kIncompatible) << "H100 NVL's tag is H100_NVL";
  EXPECT_EQ(nvl["generic"], Section::kRunnable);
  auto a10g = section_of(gpus("A10G", 1));
  EXPECT_EQ(a10g["regex-a10"], Section::kRunnable);
  EXPECT_EQ(a10g["key-a10g"], Section::kRunnable);
  auto a100 = section_of(gpus("A100", 1));
  EXPECT_EQ(a100["regex-a10"], Section::kIncompatible) << "the lookahead excludes A100";
  EXPECT_EQ(a100["key-a10g"], Section::kIncompatible);
  EXPECT_EQ(a100["bad-regex"], Section::kIncompatible);
  EXPECT_EQ(a100["bad-tp"], Section::kIncompatible);
  Hardware no_gpus;
  auto none = select_profiles(m, no_gpus);
  EXPECT_EQ(none.assessments[4].section, Section::kIncompatible);
  EXPECT_NE(none.assessments[4].reason.find("no GPUs found"), std::string::npos);
  EXPECT_NE(select_profiles(m, gpus("A100", 1)).assessments[5].reason.find("not a valid regular expression"), std::string::npos);
}

TEST(Selection, CpuProfilesMatchFeatures) {
  Manifest m = manifest_of({
      make_profile("cpu-fp32", {{"engine", "airlock"}, {"device", "cpu"}, {"precision", "fp32"}}),
      make_profile("cpu-bf16", {{"engine", "airlock"}, {"device", "cpu"}, {"precision", "bf16"}, {"cpu_features", "avx512f,avx512_bf16"}}),
      make_profile("gpu-fp16", {{"engine", "airlock"}, {"device", "gpu"}, {"precision", "fp16"}}),
  });
  Hardware plain;
  plain.cpu.features = {"avx2", "fma"};
  Selection s = select_profiles(m, plain);
  EXPECT_EQ(s.assessments[0].section, Section::kRunnable);
  EXPECT_EQ(s.assessments[1].section, Section::kIncompatible);
  EXPECT_NE(s.assessments[1].reason.find("lacks avx512f, avx512_bf16"), std::string::npos) << s.assessments[1].reason;
  EXPECT_EQ(s.assessments[2].section, Section::kIncompatible);
  EXPECT_EQ(s.chosen_assessment()->profile->id, "cpu-fp32");

  Hardware bf16 = plain;
  bf16.cpu.features = {"avx2", "avx512f", "avx512_bf16"};
  EXPECT_EQ(select_profiles(m, bf16).chosen_assessment()->profile->id, "cpu-bf16") << "bf16 ranks above fp32";

  Hardware with_gpu = gpus("L4", 1);
  with_gpu.cpu.features = bf16.cpu.features;
  EXPECT_EQ(select_profiles(m, with_gpu).chosen_assessment()->profile->id, "gpu-fp16") << "a GPU beats the CPU";
}

TEST(Selection, RankingRules) {
  struct Case {
    const char* name;
    std::vector<Profile> profiles;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"specific over generic",
       {make_profile("generic", {{"llm_engine", "tensorrt_llm"}, {"precision", "fp8"}}),
        make_profile("specific", {{"llm_engine", "vllm"}, {"gpu", "H100"}, {"precision", "bf16"}})},
       "specific"},
      {"engine order",
       {make_profile("sglang", {{"llm_engine", "sglang"}}), make_profile("vllm", {{"llm_engine", "vllm"}}),
        make_profile("trt", {{"llm_engine", "tensorrt_llm"}})},
       "trt"},
      {"precision order",
       {make_profile("bf16", {{"precision", "bf16"}}), make_profile("fp16", {{"precision", "fp16"}}),
        make_profile("int4", {{"precision", "int4_awq"}}), make_profile("fp8", {{"precision", "fp8"}})},
       "fp8"},
      {"latency over throughput",
       {make_profile("thr", {{"profile", "throughput"}}), make_profile("lat", {{"profile", "latency"}})}, "lat"},
      {"most GPUs that fit",
       {make_profile("tp1", {{"tp", "1"}}), make_profile("tp2", {{"tp", "2"}}), make_profile("tp4", {{"tp", "4"}})}, "tp2"},
      {"LoRA skipped by default",
       {make_profile("lora", {{"feat_lora", "true"}, {"precision", "fp8"}}), make_profile("plain", {{"precision", "bf16"}})},
       "plain"},
      {"buildable only as a fallback",
       {make_profile("build", {{"trtllm_buildable", "true"}}), make_profile("a100", {{"gpu", "A100"}})}, "build"},
      {"manifest order breaks ties", {make_profile("first", {}), make_profile("second", {})}, "first"},
  };
  for (const Case& c : cases) {
    Manifest m = manifest_of(c.profiles);
    Selection s = select_profiles(m, gpus("H100", 2));
    ASSERT_NE(s.chosen_assessment(), nullptr) << c.name;
    EXPECT_EQ(s.chosen_assessment()->profile->id, c.expected) << c.name;
  }
  SelectionOptions lora;
  lora.lora = true;
  Manifest lora_manifest = manifest_of(cases[5].profiles);
  Selection with_lora = select_profiles(lora_manifest, gpus("H100", 1), lora);
  EXPECT_EQ(with_lora.chosen_assessment()->profile->id, "lora");
}

TEST(Selection, FindProfileByIdOrDescription) {
  Manifest m = llm_example();
  const Profile& first = m.profiles.front();
  EXPECT_EQ(*find_profile(m, first.id), &first);
  auto by_description = find_profile(m, "vllm-bf16-tp2-pp1");
  ASSERT_TRUE(by_description.ok());
  EXPECT_EQ(describe_profile(**by_description), "vllm-bf16-tp2-pp1");
  auto unknown = find_profile(m, "default");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("unknown profile 'default'"), std::string::npos);
  EXPECT_NE(unknown.error().message().find(first.id), std::string::npos) << "lists the valid ones";
  Manifest twins = manifest_of({make_profile("a", {{"llm_engine", "vllm"}}), make_profile("b", {{"llm_engine", "vllm"}})});
  auto ambiguous = find_profile(twins, "vllm");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.error().message().find("matches 2 profiles"), std::string::npos);
  Selection s = select_profiles(m, gpus("A100", 1));
  auto pinned = resolve_profile(s, m, "tensorrt_llm-h200-fp8-tp1-pp1-throughput");
  ASSERT_TRUE(pinned.ok()) << "a pinned profile is honoured even when it does not fit";
  EXPECT_EQ((*pinned)->section, Section::kIncompatible);
}

}  // namespace
}  // namespace airlock::profiles
