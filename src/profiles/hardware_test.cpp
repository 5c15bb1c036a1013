#include "profiles/hardware.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "core/json.h"

namespace airlock::profiles {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

Json parse(std::string_view text) {
  auto json = parse_json(text, "test");
  EXPECT_TRUE(json.ok()) << json.error().message();
  return json.ok() ? *json : Json();
}

// ---------------------------------------------------------------------------------------------

TEST(GpuInfo, IsFreeUpToFivePercentUsed) {
  GpuInfo gpu;
  gpu.memory_total_bytes = 80 * kGiB;
  gpu.memory_used_bytes = 0;
  EXPECT_TRUE(gpu.is_free());
  gpu.memory_used_bytes = 4 * kGiB;  // exactly 5%
  EXPECT_TRUE(gpu.is_free());
  gpu.memory_used_bytes = 4 * kGiB + 1;
  EXPECT_FALSE(gpu.is_free());
  gpu.memory_total_bytes = 1000;
  gpu.memory_used_bytes = 50;
  EXPECT_TRUE(gpu.is_free());
  gpu.memory_used_bytes = 51;
  EXPECT_FALSE(gpu.is_free());
  gpu.memory_used_bytes = 1000;
  EXPECT_FALSE(gpu.is_free());
}

TEST(GpuInfo, PciIdIsNimForm) {
  GpuInfo gpu;
  gpu.device_id = 0x26b9;
  EXPECT_EQ(gpu.pci_id(), "26b9:10de");
}

TEST(GpuInfo, MakeFromModelIsAFreeTableGpu) {
  GpuInfo gpu = make_gpu_info(*find_gpu_by_name("H100"), 3);
  EXPECT_EQ(gpu.index, 3);
  EXPECT_EQ(gpu.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu.pci_id(), "2330:10de");
  EXPECT_EQ(gpu.family, "H100 80GB");
  EXPECT_EQ(gpu.gpu_tag, "H100");
  EXPECT_EQ(gpu.product_label, "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(gpu.cc_major, 9);
  EXPECT_EQ(gpu.cc_minor, 0);
  EXPECT_GT(gpu.memory_total_bytes, 79 * kGiB);
  EXPECT_EQ(gpu.memory_used_bytes, 0u);
  EXPECT_EQ(gpu.utilization_percent, 0);
  EXPECT_TRUE(gpu.is_free());
}

TEST(CpuInfo, HasFeature) {
  CpuInfo cpu;
  cpu.features = {"avx2", "fma"};
  EXPECT_TRUE(cpu.has_feature("avx2"));
  EXPECT_FALSE(cpu.has_feature("avx512f"));
  EXPECT_FALSE(cpu.has_feature(""));
}

// ---------------------------------------------------------------------------------------------
// Detection on this machine.

void expect_sane_cpu(const CpuInfo& cpu) {
  EXPECT_GE(cpu.threads, 1);
  EXPECT_GE(cpu.cores, 1);
  EXPECT_LE(cpu.cores, cpu.threads);
  EXPECT_GT(cpu.memory_total_bytes, 0u);
  for (const std::string& feature : cpu.features) {
    EXPECT_NE(std::find(std::begin(kCpuFeatureNames), std::end(kCpuFeatureNames), feature),
              std::end(kCpuFeatureNames))
        << feature;
  }
  // Every AVX-family feature needs the OS to save AVX state, so none appears without avx.
  if (!cpu.features.empty()) {
    EXPECT_TRUE(cpu.has_feature("avx") || cpu.has_feature("amx_tile"));
  }
  if (cpu.has_feature("avx512bw")) {
    EXPECT_TRUE(cpu.has_feature("avx512f"));
  }
#if !defined(__x86_64__) && !defined(__i386__)
  EXPECT_TRUE(cpu.features.empty());
#endif
}

TEST(DetectHardware, DescribesThisMachine) {
  Hardware hardware = detect_hardware();
  EXPECT_EQ(hardware.source, "detected");
  EXPECT_FALSE(hardware.is_target);
  expect_sane_cpu(hardware.cpu);
  // Build machines have no GPU; where one does, what NVML says must hang together.
  for (const GpuInfo& gpu : hardware.gpus) {
    EXPECT_FALSE(gpu.name.empty());
    EXPECT_GT(gpu.memory_total_bytes, 0u);
    EXPECT_LE(gpu.memory_used_bytes, gpu.memory_total_bytes);
    EXPECT_GE(gpu.cc_major, 3);
    EXPECT_EQ(gpu.vendor_id, kNvidiaVendorId);
  }
}

TEST(DetectHardware, NoNvmlLibraryMeansNoGpus) {
  ScopedEnv env("AIRLOCK_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1");
  Hardware hardware = detect_hardware();
  EXPECT_TRUE(hardware.gpus.empty());
  expect_sane_cpu(hardware.cpu);
}

TEST(DetectHardware, ALibraryThatIsNotNvmlMeansNoGpus) {
  // Loads fine but has none of NVML's functions.
  ScopedEnv env("AIRLOCK_NVML_LIBRARY", "libm.so.6");
  EXPECT_TRUE(detect_gpus().empty());
}

TEST(DetectHardware, CpuMatchesTheOperatingSystem) {
  CpuInfo cpu = detect_cpu();
  expect_sane_cpu(cpu);
  EXPECT_EQ(detect_cpu(), cpu);  // stable between calls
}

// ---------------------------------------------------------------------------------------------
// NVML, through a fake library.

struct FakeGpu {
  bool handle_ok = true;
  const char* name = "";
  unsigned int pci_device_id = 0;
  unsigned long long total = 0;
  unsigned long long used = 0;
  int cc_major = 0;
  int cc_minor = 0;
  bool cc_ok = true;
  unsigned int utilization = 0;
  bool utilization_ok = true;
};

struct FakeNvml {
  detail::NvmlReturn init_result = detail::kNvmlSuccess;
  detail::NvmlReturn count_result = detail::kNvmlSuccess;
  std::vector<FakeGpu> gpus;
  int init_calls = 0;
  int shutdown_calls = 0;
};

FakeNvml* fake = nullptr;

const FakeGpu& fake_gpu(detail::NvmlDevice device) {
  return fake->gpus[reinterpret_cast<std::uintptr_t>(device) - 1];
}

detail::NvmlApi fake_api() {
  detail::NvmlApi api;
  api.init = [] {
    ++fake->init_calls;
    return fake->init_result;
  };
  api.shutdown = [] {
    ++fake->shutdown_calls;
    return detail::kNvmlSuccess;
  };
  api.device_get_count = [](unsigned int* count) {
    *count = static_cast<unsigned int>(fake->gpus.size());
    return fake->count_result;
  };
  api.device_get_handle_by_index = [](unsigned int index, detail::NvmlDevice* device) {
    if (index >= fake->gpus.size() || !fake->gpus[index].handle_ok) return 15;  // NVML_ERROR_GPU_IS_LOST
    *device = reinterpret_cast<detail::NvmlDevice>(static_cast<std::uintptr_t>(index) + 1);
    return detail::kNvmlSuccess;
  };
  api.device_get_name = [](detail::NvmlDevice device, char* name, unsigned int length) {
    std::snprintf(name, length, "%s", fake_gpu(device).name);
    return detail::kNvmlSuccess;
  };
  api.device_get_pci_info = [](detail::NvmlDevice device, detail::NvmlPciInfo* pci) {
    std::memset(pci, 0, sizeof(*pci));
    pci->pci_device_id = fake_gpu(device).pci_device_id;
    return detail::kNvmlSuccess;
  };
  api.device_get_memory_info = [](detail::NvmlDevice device, detail::NvmlMemory* memory) {
    memory->total = fake_gpu(device).total;
    memory->used = fake_gpu(device).used;
    memory->free = memory->total - memory->used;
    return detail::kNvmlSuccess;
  };
  api.device_get_cuda_compute_capability = [](detail::NvmlDevice device, int* major, int* minor) {
    if (!fake_gpu(device).cc_ok) return 3;  // NVML_ERROR_NOT_SUPPORTED
    *major = fake_gpu(device).cc_major;
    *minor = fake_gpu(device).cc_minor;
    return detail::kNvmlSuccess;
  };
  api.device_get_utilization_rates = [](detail::NvmlDevice device, detail::NvmlUtilization* utilization) {
    if (!fake_gpu(device).utilization_ok) return 3;
    utilization->gpu = fake_gpu(device).utilization;
    utilization->memory = 0;
    return detail::kNvmlSuccess;
  };
  api.error_string = [](detail::NvmlReturn) { return "fake error"; };
  return api;
}

class NvmlTest : public ::testing::Test {
 protected:
  void SetUp() override { fake = &state; }
  void TearDown() override { fake = nullptr; }
  FakeNvml state;
};

TEST_F(NvmlTest, ReadsEveryGpuAndFillsTheTableFields) {
  state.gpus = {
      {true, "NVIDIA H100 80GB HBM3", 0x233010de, 85520809984ull, 600ull << 20, 9, 0, true, 12, true},
      // NVML cannot reach this one: skipped, the others keep their NVML indexes.
      {false, "", 0, 0, 0, 0, 0, true, 0, true},
      // Not in the table: the label is made the way GPU Feature Discovery makes it, and a GPU
      // without utilization support reads 0%.
      {true, "NVIDIA Future GPU 300GB", 0xabcd10de, 300 * kGiB, 100 * kGiB, 12, 1, true, 0, false},
  };
  std::vector<GpuInfo> gpus = detail::gpus_from_nvml(fake_api());
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(state.init_calls, 1);
  EXPECT_EQ(state.shutdown_calls, 1);

  EXPECT_EQ(gpus[0].index, 0);
  EXPECT_EQ(gpus[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpus[0].device_id, 0x2330);
  EXPECT_EQ(gpus[0].vendor_id, 0x10de);
  EXPECT_EQ(gpus[0].pci_id(), "2330:10de");
  EXPECT_EQ(gpus[0].memory_total_bytes, 85520809984ull);
  EXPECT_EQ(gpus[0].memory_used_bytes, 600ull << 20);
  EXPECT_EQ(gpus[0].utilization_percent, 12);
  EXPECT_EQ(gpus[0].family, "H100 80GB");
  EXPECT_EQ(gpus[0].gpu_tag, "H100");
  EXPECT_EQ(gpus[0].product_label, "NVIDIA-H100-80GB-HBM3");
  EXPECT_TRUE(gpus[0].is_free());

  EXPECT_EQ(gpus[1].index, 2);
  EXPECT_EQ(gpus[1].pci_id(), "abcd:10de");
  EXPECT_EQ(gpus[1].family, "");
  EXPECT_EQ(gpus[1].gpu_tag, "");
  EXPECT_EQ(gpus[1].product_label, "NVIDIA-Future-GPU-300GB");
  EXPECT_EQ(gpus[1].cc_major, 12);
  EXPECT_EQ(gpus[1].cc_minor, 1);
  EXPECT_EQ(gpus[1].utilization_percent, 0);
  EXPECT_FALSE(gpus[1].is_free());
}

TEST_F(NvmlTest, NvmlNameTellsApartGpusSharingAnId) {
  state.gpus = {{true, "NVIDIA A2", 0x25b610de, 15356ull << 20, 0, 8, 6, true, 0, true},
                {true, "NVIDIA A16", 0x25b610de, 15356ull << 20, 0, 8, 6, true, 0, true}};
  std::vector<GpuInfo> gpus = detail::gpus_from_nvml(fake_api());
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].gpu_tag, "A2");
  EXPECT_EQ(gpus[1].gpu_tag, "A16");
}

TEST_F(NvmlTest, ComputeCapabilityFallsBackToTheTable) {
  state.gpus = {{true, "NVIDIA L40S", 0x26b910de, 46068ull << 20, 0, 0, 0, false, 0, true}};
  std::vector<GpuInfo> gpus = detail::gpus_from_nvml(fake_api());
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].cc_major, 8);
  EXPECT_EQ(gpus[0].cc_minor, 9);
}

TEST_F(NvmlTest, InitFailureMeansNoGpus) {
  state.init_result = 9;  // NVML_ERROR_DRIVER_NOT_LOADED
  state.gpus = {{true, "NVIDIA L40S", 0x26b910de, 46068ull << 20, 0, 8, 9, true, 0, true}};
  EXPECT_TRUE(detail::gpus_from_nvml(fake_api()).empty());
  EXPECT_EQ(state.shutdown_calls, 0);  // nothing to shut down
}

TEST_F(NvmlTest, CountFailureMeansNoGpus) {
  state.count_result = 999;  // NVML_ERROR_UNKNOWN
  state.gpus = {{true, "NVIDIA L40S", 0x26b910de, 46068ull << 20, 0, 8, 9, true, 0, true}};
  EXPECT_TRUE(detail::gpus_from_nvml(fake_api()).empty());
  EXPECT_EQ(state.shutdown_calls, 1);
}

TEST_F(NvmlTest, ZeroGpusIsNormal) {
  EXPECT_TRUE(detail::gpus_from_nvml(fake_api()).empty());
  EXPECT_EQ(state.shutdown_calls, 1);
}

// ---------------------------------------------------------------------------------------------
// JSON

Hardware sample_hardware() {
  Hardware hardware;
  hardware.source = "detected";
  hardware.gpus.push_back(make_gpu_info(*find_gpu_by_name("H100"), 0));
  GpuInfo busy = make_gpu_info(*find_gpu_by_name("L40S"), 1);
  busy.memory_used_bytes = 20 * kGiB;
  busy.utilization_percent = 87;
  hardware.gpus.push_back(busy);
  GpuInfo unknown;
  unknown.index = 2;
  unknown.name = "NVIDIA Future GPU";
  unknown.device_id = 0xabcd;
  unknown.memory_total_bytes = 300 * kGiB;
  unknown.cc_major = 12;
  unknown.cc_minor = 0;
  unknown.product_label = "NVIDIA-Future-GPU";
  hardware.gpus.push_back(unknown);
  hardware.cpu.model = "Intel(R) Xeon(R) Platinum 8480+";
  hardware.cpu.cores = 112;
  hardware.cpu.threads = 224;
  hardware.cpu.memory_total_bytes = 2048 * kGiB;
  hardware.cpu.features = {"avx", "avx2", "fma", "avx512f", "amx_tile"};
  return hardware;
}

TEST(HardwareJson, RoundTrips) {
  Hardware original = sample_hardware();
  Json json = hardware_to_json(original);
  // Through text too, as a --target-file would go.
  Json reread = parse(dump_json(json, 2));
  auto parsed = hardware_from_json(reread, "node.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->gpus, original.gpus);
  EXPECT_EQ(parsed->cpu, original.cpu);
  EXPECT_EQ(parsed->source, "node.json");
  EXPECT_FALSE(parsed->is_target);
}

TEST(HardwareJson, WritesTheDocumentedFields) {
  Json json = hardware_to_json(sample_hardware());
  const Json& gpu = json["gpus"][0];
  EXPECT_EQ(gpu["index"], 0);
  EXPECT_EQ(gpu["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu["pci_id"], "2330:10de");
  EXPECT_EQ(gpu["compute_capability"], "9.0");
  EXPECT_EQ(gpu["family"], "H100 80GB");
  EXPECT_EQ(gpu["gpu_tag"], "H100");
  EXPECT_EQ(gpu["utilization_percent"], 0);
  EXPECT_TRUE(gpu["memory_total_bytes"].is_number_unsigned());
  EXPECT_EQ(json["cpu"]["features"][1], "avx2");
  EXPECT_EQ(json["source"], "detected");
}

TEST(HardwareJson, FillsOmittedFieldsFromTheTable) {
  auto parsed = hardware_from_json(
      parse(R"json({"gpus": [{"pci_id": "2330:10de"}, {"pci_id": "0x26b9", "memory": "40GiB"},
                              {"pci_id": "2321:10de", "name": "H100 NVL (custom)", "family": "X"},
                              {"pci_id": "26b9:10de", "name": "", "family": "", "gpu_tag": "", "product_label": ""}]})json"),
      "node.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->gpus.size(), 4u);
  const GpuInfo& h100 = parsed->gpus[0];
  EXPECT_EQ(h100, make_gpu_info(*find_gpu_by_device_id(0x2330), 0));

  const GpuInfo& l40s = parsed->gpus[1];
  EXPECT_EQ(l40s.index, 1);
  EXPECT_EQ(l40s.name, "NVIDIA L40S");
  EXPECT_EQ(l40s.memory_total_bytes, 40 * kGiB);
  EXPECT_EQ(l40s.gpu_tag, "L40S");
  EXPECT_EQ(l40s.cc_minor, 9);

  const GpuInfo& nvl = parsed->gpus[2];
  EXPECT_EQ(nvl.name, "H100 NVL (custom)");  // what the file says wins over the table
  EXPECT_EQ(nvl.family, "X");
  EXPECT_EQ(nvl.gpu_tag, "H100_NVL");
  // Empty strings count as not given.
  EXPECT_EQ(parsed->gpus[3], make_gpu_info(*find_gpu_by_device_id(0x26b9), 3));
  // No cpu: an empty description, for the caller to fill or ignore.
  EXPECT_EQ(parsed->cpu, CpuInfo());
}

TEST(HardwareJson, AcceptsUnknownGpusWithMemory) {
  auto parsed = hardware_from_json(
      parse(R"({"gpus": [{"pci_id": "abcd:10de", "memory_total_bytes": 25769803776, "compute_capability": "8.9"}],
                "cpu": {"threads": 8}})"),
      "node.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->gpus.size(), 1u);
  EXPECT_EQ(parsed->gpus[0].name, "GPU abcd:10de");
  EXPECT_EQ(parsed->gpus[0].memory_total_bytes, 24 * kGiB);
  EXPECT_EQ(parsed->gpus[0].family, "");
  EXPECT_EQ(parsed->gpus[0].cc_major, 8);
  EXPECT_EQ(parsed->cpu.threads, 8);
}

TEST(HardwareJson, EmptyObjectIsAMachineWithoutGpus) {
  auto parsed = hardware_from_json(parse("{}"), "node.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->gpus.empty());
}

TEST(HardwareJson, ErrorsNameTheField) {
  const struct {
    std::string_view json;
    std::string_view message;
  } cases[] = {
      {R"([])", "node.json: expected a JSON object"},
      {R"({"gpu": []})", "node.json: gpu: unknown field (known fields: source, gpus, cpu)"},
      {R"({"gpus": {}})", "node.json: gpus: expected a list"},
      {R"({"gpus": [7]})", "node.json: gpus[0]: expected an object, got number 7"},
      {R"({"gpus": [{"pci_id": "2330:10de"}, {"pci_id": "zz"}]})",
       R"(node.json: gpus[1].pci_id: expected "dddd:10de")"},
      {R"({"gpus": [{"pci_id": 2330}]})", "node.json: gpus[0].pci_id: expected a string, got number 2330"},
      {R"({"gpus": [{}]})", "node.json: gpus[0].pci_id: missing"},
      {R"({"gpus": [{"pci_id": "2330:10de", "colour": "green"}]})", "node.json: gpus[0].colour: unknown field"},
      {R"({"gpus": [{"pci_id": "abcd:10de"}]})", "node.json: gpus[0]: PCI id abcd:10de is not a GPU airlock knows"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory": "lots"}]})", "node.json: gpus[0].memory: 'lots' is not a size"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory": true}]})", "node.json: gpus[0].memory: expected a size"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory": "0"}]})", "node.json: gpus[0].memory: must be > 0"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory": "80GiB", "memory_total_bytes": 1}]})", "not both"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory_total_bytes": -1}]})",
       "node.json: gpus[0].memory_total_bytes: expected a whole number >= 0, got number -1"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory_total_bytes": 1.5}]})", "gpus[0].memory_total_bytes: expected"},
      {R"({"gpus": [{"pci_id": "2330:10de", "memory_used_bytes": 900000000000}]})",
       "gpus[0].memory_used_bytes: 900000000000 is more than"},
      {R"({"gpus": [{"pci_id": "2330:10de", "compute_capability": 9.0}]})", "gpus[0].compute_capability: expected a string"},
      {R"({"gpus": [{"pci_id": "2330:10de", "compute_capability": "nine"}]})",
       R"(gpus[0].compute_capability: expected "major.minor")"},
      {R"({"gpus": [{"pci_id": "2330:10de", "utilization_percent": 101}]})",
       "gpus[0].utilization_percent: expected a whole number from 0 to 100"},
      {R"({"gpus": [{"pci_id": "2330:10de", "index": 0}, {"pci_id": "2330:10de", "index": 0}]})",
       "gpus[1].index: 0 is already the index of gpus[0]"},
      {R"({"gpus": [{"pci_id": "2330:10de", "family": 3}]})", "gpus[0].family: expected a string"},
      {R"({"cpu": []})", "node.json: cpu: expected an object"},
      {R"({"cpu": {"cores": "many"}})", "node.json: cpu.cores: expected a whole number"},
      {R"({"cpu": {"speed": 3}})", "node.json: cpu.speed: unknown field"},
      {R"({"cpu": {"features": "avx2"}})", "cpu.features: expected a list of strings"},
      {R"({"cpu": {"features": ["avx2", 5]}})", "cpu.features[1]: expected a string"},
      {R"({"cpu": {"features": ["avx9"]}})", R"(cpu.features[0]: unknown feature "avx9" (known: avx, avx2)"},
      {R"({"source": 1})", "node.json: source: expected a string"},
  };
  for (const auto& c : cases) {
    auto parsed = hardware_from_json(parse(c.json), "node.json");
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kParse) << c.json;
    EXPECT_NE(parsed.error().message().find(c.message), std::string::npos)
        << c.json << "\n  got:  " << parsed.error().message() << "\n  want: " << c.message;
  }
}

}  // namespace
}  // namespace airlock::profiles
