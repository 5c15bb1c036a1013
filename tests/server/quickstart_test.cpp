// `airlock quickstart`, the README's main command: the whole workflow on the demo model, and
// with `--model hf://...` against the Hugging Face test server (tests/servers/hf_server.py).
#include <gtest/gtest.h>

#include <regex>

#include "serve_fixture.h"

namespace airlock::testing {
namespace {

TEST(Quickstart, DemoModelEndToEnd) {
  CommandResult r = run_command({airlock_binary().string(), "quickstart"},
                                {{"NGC_API_KEY", "nvapi-quickstart-secret"}, {"AIRLOCK_CACHE", "\x01unset"}, {"NIM_CACHE_PATH", "\x01unset"},
                                 {"AIRLOCK_LOG_LEVEL", "info"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* expected : {"[1/7]", "random weights", "SYSTEM INFO", "MODEL PROFILES", "Selected profile:", "download-to-cache",
                               "airlock push", "File: model.safetensors found in cache", "[7/7]", "Vector length: 128",
                               "stopped cleanly"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find("nvapi-quickstart-secret"), std::string::npos);
  // The temporary work directory is gone.
  std::smatch where;
  ASSERT_TRUE(std::regex_search(r.out, where, std::regex("in (/[^\\s]*airlock-quickstart-[A-Za-z0-9]+)")));
  EXPECT_FALSE(std::filesystem::exists(where[1].str()));
}

TEST(Quickstart, RealModelFromTheHub) {
  // A Hugging Face repository (the demo model's files, as a Hub would hold them).
  TempDir hub;
  std::filesystem::path repo = hub.path() / "acme" / "tiny-embedder";
  std::filesystem::create_directories(repo);
  auto snapshot = std::filesystem::canonical(embedding_store().model_dir / "snapshots").string();
  for (const auto& entry : std::filesystem::directory_iterator(snapshot)) {
    std::filesystem::copy(entry.path(), repo, std::filesystem::copy_options::recursive);
  }
  write_text(repo / "README.md", "not read by the engine\n");
  ServerProcess server;
  ASSERT_TRUE(server.start({"python3", (project_root() / "tests/servers/hf_server.py").string(), "--root", hub.path().string()}))
      << server.last_output();
  TempDir work;
  CommandResult r = run_command({airlock_binary().string(), "quickstart", "--model", "hf://acme/tiny-embedder", "--workdir",
                                 work.path().string()},
                                {{"HF_ENDPOINT", "http://127.0.0.1:" + std::to_string(server.port())}, {"HF_TOKEN", "\x01unset"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Vector length: 128"), std::string::npos) << r.out;
  const std::string manifest = read_text(work.path() / "model_manifest.yaml");
  EXPECT_NE(manifest.find("hf://acme/tiny-embedder:"), std::string::npos) << manifest;
  EXPECT_EQ(manifest.find("README.md"), std::string::npos) << manifest;
  EXPECT_TRUE(std::filesystem::exists(work.path() / "store" / ".airlock" / "index.json"));
}

}  // namespace
}  // namespace airlock::testing
