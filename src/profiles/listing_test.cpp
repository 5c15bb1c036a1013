#include "profiles/listing.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "profiles/gpu_table.h"
#include "profiles/target.h"
#include "testing.h"

namespace airlock::profiles {
namespace {

Profile make_profile(const std::string& id, Tags tags) {
  Profile p;
  p.id = id;
  p.tags = std::move(tags);
  return p;
}

TEST(Listing, GpuLinesInNimForm) {
  GpuInfo h100 = make_gpu_info(*find_gpu_by_name("H100"), 0);
  EXPECT_EQ(gpu_line(h100), "  -  [2330:10de] (0) NVIDIA H100 80GB HBM3 (H100 80GB) [current utilization: 0%]");
  GpuInfo unknown;
  unknown.index = 3;
  unknown.name = "NVIDIA RTX 6000 Ada Generation";
  unknown.device_id = 0x26b1;
  unknown.utilization_percent = 12;
  EXPECT_EQ(gpu_line(unknown), "  -  [26b1:10de] (3) NVIDIA RTX 6000 Ada Generation[current utilization: 12%]");
}

TEST(Listing, SectionsNoneAndNonFreeGpus) {
  Manifest m;
  m.profiles = {
      make_profile("p-run", {{"llm_engine", "vllm"}, {"precision", "bf16"}, {"tp", "1"}}),
      make_profile("p-lora", {{"llm_engine", "vllm"}, {"precision", "bf16"}, {"tp", "1"}, {"feat_lora", "true"}}),
      make_profile("p-low", {{"llm_engine", "vllm"}, {"precision", "bf16"}, {"tp", "2"}}),
      make_profile("p-inc", {{"llm_engine", "tensorrt_llm"}, {"gpu", "A100"}, {"precision", "bf16"}, {"tp", "1"}}),
  };
  Hardware hw;
  hw.gpus.push_back(make_gpu_info(*find_gpu_by_name("L40S"), 0));
  GpuInfo busy = make_gpu_info(*find_gpu_by_name("L40S"), 1);
  busy.memory_used_bytes = busy.memory_total_bytes / 2;
  busy.utilization_percent = 87;
  hw.gpus.push_back(busy);
  std::string text = render_listing(hw, select_profiles(m, hw));
  EXPECT_EQ(text,
            "SYSTEM INFO\n"
            "- Free GPUs:\n"
            "  -  [26b9:10de] (0) NVIDIA L40S (L40S) [current utilization: 0%]\n"
            "- Non-free GPUs:\n"
            "  -  [26b9:10de] (1) NVIDIA L40S (L40S) [current utilization: 87%]\n"
            "MODEL PROFILES\n"
            "- Compatible with system and runnable:\n"
            "  - p-run (vllm-bf16-tp1)\n"
            "  - With LoRA support:\n"
            "    - p-lora (vllm-bf16-tp1-lora)\n"
            "- Compatible with system but low memory:\n"
            "  - p-low (vllm-bf16-tp2)\n"
            "- Compilable to TRT-LLM using just-in-time compilation of HF models to TRTLLM engines: <None>\n"
            "- Incompatible with system:\n"
            "  - p-inc (tensorrt_llm-a100-bf16-tp1)\n");
}

TEST(Listing, NoGpusShowsTheCpu) {
  Manifest m;
  m.profiles = {make_profile("p", {{"llm_engine", "vllm"}})};
  Hardware hw;
  hw.cpu.model = "Example CPU";
  hw.cpu.cores = 2;
  hw.cpu.threads = 4;
  hw.cpu.memory_total_bytes = 24ull << 30;
  hw.cpu.features = {"avx2", "fma"};
  std::string text = render_listing(hw, select_profiles(m, hw));
  EXPECT_EQ(text.substr(0, text.find("MODEL PROFILES")),
            "SYSTEM INFO\n- No GPUs found\n- CPU: Example CPU (2 cores, 4 threads, 24.0 GiB memory) [avx2 fma]\n");
  EXPECT_NE(text.find("- Compatible with system and runnable: <None>\n"), std::string::npos);
  EXPECT_NE(text.find("- Incompatible with system:\n  - p (vllm)\n"), std::string::npos);
}

TEST(Listing, JsonHasTheSameContent) {
  auto manifest = load_manifest_file(testing::project_root() / "examples/manifests/llama-3.1-8b-instruct.yaml");
  ASSERT_TRUE(manifest.ok());
  auto hw = parse_target("2xH100", CpuInfo{});
  ASSERT_TRUE(hw.ok());
  Selection s = select_profiles(*manifest, *hw);
  Json json = listing_to_json(*hw, s);
  EXPECT_EQ(json["profiles"].size(), manifest->profiles.size());
  EXPECT_EQ(json["system"]["gpus"].size(), 2u);
  EXPECT_EQ(json["selected"]["description"], "tensorrt_llm-h100-fp8-tp2-pp1-latency");
  std::size_t listed = 0;
  for (const auto& [name, ids] : json["sections"].items()) listed += ids.size();
  EXPECT_EQ(listed, manifest->profiles.size()) << "every profile in exactly one section";
  EXPECT_EQ(json["sections"]["runnable_lora"].size(), 2u);
  EXPECT_EQ(json["sections"]["buildable"].size(), 1u);
  EXPECT_EQ(json["sections"]["buildable_lora"].size(), 1u);
}

// Golden files: the whole text for the bundled LLM example. Regenerate with
// AIRLOCK_UPDATE_GOLDEN=1 after a deliberate change, and read the diff.
void check_golden(const std::string& target, const std::string& golden_name) {
  auto manifest = load_manifest_file(testing::project_root() / "examples/manifests/llama-3.1-8b-instruct.yaml");
  ASSERT_TRUE(manifest.ok());
  auto hw = parse_target(target, CpuInfo{});
  ASSERT_TRUE(hw.ok()) << hw.error().message();
  std::string text = render_listing(*hw, select_profiles(*manifest, *hw));
  auto golden_path = testing::project_root() / "tests/data/golden" / golden_name;
  if (std::getenv("AIRLOCK_UPDATE_GOLDEN") != nullptr) testing::write_text(golden_path, text);
  EXPECT_EQ(text, testing::read_text(golden_path)) << "golden " << golden_name;
}

TEST(Listing, GoldenTwoH100) { check_golden("2xH100", "llama-3.1-8b-instruct.2xH100.txt"); }
TEST(Listing, GoldenFourL40S) { check_golden("4xL40S", "llama-3.1-8b-instruct.4xL40S.txt"); }

}  // namespace
}  // namespace airlock::profiles
