#include "profiles/target.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing.h"

namespace airlock::profiles {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

CpuInfo local_cpu() {
  CpuInfo cpu;
  cpu.model = "Test CPU";
  cpu.cores = 4;
  cpu.threads = 8;
  cpu.memory_total_bytes = 32 * kGiB;
  cpu.features = {"avx", "avx2"};
  return cpu;
}

std::vector<std::string> pci_ids(const Hardware& hardware) {
  std::vector<std::string> ids;
  for (const GpuInfo& gpu : hardware.gpus) ids.push_back(gpu.pci_id());
  return ids;
}

std::vector<std::string> repeat(int count, const std::string& id) { return std::vector<std::string>(count, id); }

TEST(ParseTarget, AcceptsEveryForm) {
  const struct {
    std::string_view spec;
    std::vector<std::string> ids;
  } cases[] = {
      {"2xH100", repeat(2, "2330:10de")},
      {"4xL40S", repeat(4, "26b9:10de")},
      {"8 x A100-80GB", repeat(8, "20b2:10de")},
      {"8x A100", repeat(8, "20b2:10de")},
      {"2X h100", repeat(2, "2330:10de")},
      {"2*H100", repeat(2, "2330:10de")},
      {"H100", repeat(1, "2330:10de")},
      {"H100 NVL", repeat(1, "2321:10de")},
      {"1xH100_NVL", repeat(1, "2321:10de")},
      {"2xH100 NVL", repeat(2, "2321:10de")},
      {"  2xH100  ", repeat(2, "2330:10de")},
      {"2x2330:10de", repeat(2, "2330:10de")},
      {"2330:10de", repeat(1, "2330:10de")},
      {"gpu=H100,count=2", repeat(2, "2330:10de")},
      {"gpu=h100_nvl", repeat(1, "2321:10de")},
      {"gpu=2330:10de,count=8", repeat(8, "2330:10de")},
      {"gpu=2330,count=3", repeat(3, "2330:10de")},
      {"GPU=2330:10de, Count=2", repeat(2, "2330:10de")},
      {"2xH100+1xL40S", {"2330:10de", "2330:10de", "26b9:10de"}},
      {"1xL4 + gpu=A10G,count=2", {"27b8:10de", "2237:10de", "2237:10de"}},
      {"cpu", {}},
      {"CPU", {}},
      {"none", {}},
  };
  for (const auto& c : cases) {
    auto hardware = parse_target(c.spec, local_cpu());
    ASSERT_TRUE(hardware.ok()) << c.spec << ": " << hardware.error().message();
    EXPECT_EQ(pci_ids(*hardware), c.ids) << c.spec;
    EXPECT_TRUE(hardware->is_target);
    EXPECT_EQ(hardware->cpu, local_cpu()) << c.spec;
  }
}

TEST(ParseTarget, GpusAreFreeTableGpusNumberedInOrder) {
  auto hardware = parse_target("2xH100+1xL40S", local_cpu());
  ASSERT_TRUE(hardware.ok()) << hardware.error().message();
  EXPECT_EQ(hardware->source, "target 2xH100+1xL40S");
  ASSERT_EQ(hardware->gpus.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const GpuInfo& gpu = hardware->gpus[i];
    EXPECT_EQ(gpu.index, i);
    EXPECT_EQ(gpu.memory_used_bytes, 0u);
    EXPECT_EQ(gpu.utilization_percent, 0);
    EXPECT_TRUE(gpu.is_free());
  }
  EXPECT_EQ(hardware->gpus[0], make_gpu_info(*find_gpu_by_name("H100"), 0));
  EXPECT_EQ(hardware->gpus[2].name, "NVIDIA L40S");
  EXPECT_EQ(hardware->gpus[2].family, "L40S");
  EXPECT_EQ(hardware->gpus[2].gpu_tag, "L40S");
}

TEST(ParseTarget, KeyValueFormOverridesMemoryAndComputeCapability) {
  auto hardware = parse_target("gpu=2330:10de,count=8,memory=80GiB", local_cpu());
  ASSERT_TRUE(hardware.ok()) << hardware.error().message();
  ASSERT_EQ(hardware->gpus.size(), 8u);
  EXPECT_EQ(hardware->gpus[7].index, 7);
  EXPECT_EQ(hardware->gpus[7].memory_total_bytes, 80 * kGiB);
  EXPECT_EQ(hardware->gpus[7].family, "H100 80GB");
  EXPECT_EQ(hardware->gpus[7].gpu_tag, "H100");

  auto defaults = parse_target("gpu=H100,count=2", local_cpu());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->gpus[1].memory_total_bytes, find_gpu_by_name("H100")->memory_bytes);

  auto cc = parse_target("gpu=L4,cc=9.0", local_cpu());
  ASSERT_TRUE(cc.ok()) << cc.error().message();
  EXPECT_EQ(cc->gpus[0].cc_major, 9);
}

TEST(ParseTarget, UnknownPciIdIsAllowedWithMemory) {
  auto hardware = parse_target("gpu=abcd:10de,count=2,memory=96GiB,cc=10.0", local_cpu());
  ASSERT_TRUE(hardware.ok()) << hardware.error().message();
  ASSERT_EQ(hardware->gpus.size(), 2u);
  const GpuInfo& gpu = hardware->gpus[1];
  EXPECT_EQ(gpu.index, 1);
  EXPECT_EQ(gpu.pci_id(), "abcd:10de");
  EXPECT_EQ(gpu.name, "GPU abcd:10de");
  EXPECT_EQ(gpu.memory_total_bytes, 96 * kGiB);
  EXPECT_EQ(gpu.family, "");
  EXPECT_EQ(gpu.gpu_tag, "");
  EXPECT_EQ(gpu.cc_major, 10);
  EXPECT_EQ(gpu.cc_minor, 0);
}

TEST(ParseTarget, CpuOnlyTargetsHaveNoGpus) {
  auto hardware = parse_target("none", local_cpu());
  ASSERT_TRUE(hardware.ok());
  EXPECT_TRUE(hardware->gpus.empty());
  EXPECT_EQ(hardware->source, "target none");
  EXPECT_TRUE(hardware->is_target);
}

TEST(ParseTarget, ErrorsNameTheBadPartAndShowValidForms) {
  const struct {
    std::string_view spec;
    std::vector<std::string_view> message_parts;
  } cases[] = {
      {"", {"it is empty", "valid forms: 2xH100"}},
      {"   ", {"it is empty"}},
      {"0xH100", {"\"0xH100\": the GPU count must be a whole number from 1 to 256, got \"0\"", "valid forms"}},
      {"2xH999", {"unknown GPU \"H999\"", "known GPUs: A100, A100-40GB", "H100-NVL", "L40S",
                  "gpu=<dddd:10de>,count=<n>,memory=<size>"}},
      {"H999", {"unknown GPU \"H999\""}},
      {"-1xH100", {"unknown GPU \"-1xH100\""}},
      {"gpu=zzzz", {"unknown GPU \"zzzz\"", "known GPUs"}},
      {"gpu=H100,count=-1", {"\"count=-1\": the GPU count must be a whole number from 1 to 256", "valid forms"}},
      {"gpu=H100,count=two", {"got \"two\""}},
      {"gpu=H100,count=0", {"got \"0\""}},
      {"300xH100", {"from 1 to 256, got \"300\""}},
      {"99999999999xH100", {"from 1 to 256"}},
      {"200xH100+100xL4", {"more than 256 GPUs"}},
      {"2x", {"\"2x\": the GPU name is missing"}},
      {"2 H100", {"\"2 H100\": expected <count>x<GPU>"}},
      {"2xH100+", {"empty part"}},
      {"+2xH100", {"empty part"}},
      {"cpu+2xH100", {"\"cpu\" means no GPUs and cannot be joined"}},
      {"gpu=abcd:10de", {"PCI id abcd:10de is not a GPU airlock knows", "memory=<size>"}},
      {"gpu=abcd:10de,count=8", {"memory must be given"}},
      {"gpu=2330:10de:1", {"is not a PCI id"}},
      {"2x2330:zz", {"is not a PCI id"}},
      {"gpu=H100,colour=red", {"unknown key \"colour\"", "keys: gpu, count, memory, cc"}},
      {"gpu=H100,count=2,count=3", {"\"count\" is given twice"}},
      {"gpu=H100,count=", {"\"count=\" has no value"}},
      {"count=2", {"names no GPU", "gpu=<name or PCI id>"}},
      {"gpu=H100,2", {"\"2\" in \"gpu=H100,2\" is not key=value"}},
      {"gpu=H100,memory=lots", {"\"memory=lots\" is not a GPU memory size"}},
      {"gpu=H100,memory=0", {"\"memory=0\" is not a GPU memory size"}},
      {"gpu=H100,cc=nine", {"\"cc=nine\" is not a compute capability"}},
  };
  for (const auto& c : cases) {
    auto hardware = parse_target(c.spec, local_cpu());
    ASSERT_FALSE(hardware.ok()) << "accepted: " << c.spec;
    EXPECT_EQ(hardware.error().code(), ErrorCode::kInvalidArgument) << c.spec;
    const std::string& message = hardware.error().message();
    EXPECT_NE(message.find("target \""), std::string::npos) << message;
    for (std::string_view part : c.message_parts) {
      EXPECT_NE(message.find(part), std::string::npos) << c.spec << "\n  got:  " << message << "\n  want: " << part;
    }
  }
}

// ---------------------------------------------------------------------------------------------

std::filesystem::path fixture(const std::string& name) {
  return testing::project_root() / "tests" / "data" / "hardware" / name;
}

TEST(LoadTargetFile, ReadsAFullDescription) {
  auto path = fixture("dgx_h100.json");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found; run from the repository root";
  auto hardware = load_target_file(path);
  ASSERT_TRUE(hardware.ok()) << hardware.error().message();
  EXPECT_TRUE(hardware->is_target);
  EXPECT_EQ(hardware->source, "target file " + path.string());
  ASSERT_EQ(hardware->gpus.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(hardware->gpus[i], make_gpu_info(*find_gpu_by_name("H100"), i));
  EXPECT_EQ(hardware->cpu.cores, 112);
  EXPECT_TRUE(hardware->cpu.has_feature("amx_bf16"));
}

TEST(LoadTargetFile, ReadsAMinimalMixedNode) {
  auto path = fixture("mixed_minimal.json");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found; run from the repository root";
  auto hardware = load_target_file(path);
  ASSERT_TRUE(hardware.ok()) << hardware.error().message();
  ASSERT_EQ(hardware->gpus.size(), 4u);
  EXPECT_EQ(hardware->gpus[0].gpu_tag, "L40S");
  EXPECT_EQ(hardware->gpus[1].index, 1);
  EXPECT_FALSE(hardware->gpus[2].is_free());
  EXPECT_EQ(hardware->gpus[2].utilization_percent, 30);
  EXPECT_EQ(hardware->gpus[3].name, "Prototype GPU");
  EXPECT_EQ(hardware->gpus[3].memory_total_bytes, 24 * kGiB);
  EXPECT_EQ(hardware->cpu.threads, 192);
}

TEST(LoadTargetFile, ErrorsNameTheFileAndField) {
  auto path = fixture("bad_pci_id.json");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found; run from the repository root";
  auto hardware = load_target_file(path);
  ASSERT_FALSE(hardware.ok());
  EXPECT_EQ(hardware.error().code(), ErrorCode::kParse);
  EXPECT_NE(hardware.error().message().find(path.string() + ": gpus[1].pci_id: expected \"dddd:10de\""),
            std::string::npos)
      << hardware.error().message();
}

TEST(LoadTargetFile, RoundTripsWhatHardwareToJsonWrites) {
  testing::TempDir dir;
  auto target = parse_target("2xH100+gpu=abcd:10de,memory=24GiB", local_cpu());
  ASSERT_TRUE(target.ok()) << target.error().message();
  testing::write_text(dir / "node.json", dump_json(hardware_to_json(*target), 2));
  auto loaded = load_target_file(dir / "node.json");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->gpus, target->gpus);
  EXPECT_EQ(loaded->cpu, target->cpu);
}

TEST(LoadTargetFile, MissingAndMalformedFilesAreErrors) {
  testing::TempDir dir;
  auto missing = load_target_file(dir / "absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("absent.json"), std::string::npos) << missing.error().message();

  testing::write_text(dir / "broken.json", "{\"gpus\": [");
  auto broken = load_target_file(dir / "broken.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code(), ErrorCode::kParse);
  EXPECT_NE(broken.error().message().find("broken.json"), std::string::npos) << broken.error().message();
}

}  // namespace
}  // namespace airlock::profiles
