// What a machine has for running models: its NVIDIA GPUs (through NVML, loaded at run time so
// that airlock builds and runs on machines without a driver) and its CPU. Profile selection
// reads a Hardware; so do `--target` and `--target-file`, which describe hardware that is
// elsewhere (see target.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "profiles/gpu_table.h"

namespace airlock::profiles {

struct GpuInfo {
  int index = 0;
  std::string name;  // as NVML reports it: "NVIDIA H100 80GB HBM3"
  std::uint16_t device_id = 0;
  std::uint16_t vendor_id = kNvidiaVendorId;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  int cc_major = 0;
  int cc_minor = 0;
  int utilization_percent = 0;
  std::string family;         // NIM family ("H100 80GB"), empty when NIM prints none
  std::string gpu_tag;        // manifest `gpu` tag ("H100"), empty for GPUs not in the table
  std::string product_label;  // GPU Feature Discovery label ("NVIDIA-H100-80GB-HBM3")

  // "2330:10de", the form of manifest `gpu_device` tags and NIM's GPU lines.
  std::string pci_id() const;
  // NIM's rule: a GPU is free when at most 5% of its memory is in use.
  bool is_free() const;

  bool operator==(const GpuInfo&) const = default;
};

// The x86-64 features the engine's kernels choose between, in the order has_feature and JSON
// list them. Each is reported only when the CPU has it *and* the OS saves its registers.
inline constexpr std::string_view kCpuFeatureNames[] = {
    "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "amx_tile", "amx_bf16", "amx_int8"};

struct CpuInfo {
  std::string model;  // "Intel(R) Xeon(R) Platinum 8480+"; empty where the OS does not say
  int cores = 0;      // physical cores
  int threads = 0;    // logical CPUs online
  std::uint64_t memory_total_bytes = 0;
  std::vector<std::string> features;  // a subset of kCpuFeatureNames; empty off x86-64

  bool has_feature(std::string_view feature) const;

  bool operator==(const CpuInfo&) const = default;
};

struct Hardware {
  std::vector<GpuInfo> gpus;
  CpuInfo cpu;
  // Where this description came from, for messages: "detected", "target 2xH100",
  // "target file node.json".
  std::string source;
  bool is_target = false;
};

// This machine. Never fails: no NVML library, an NVML error or no GPUs all mean an empty
// `gpus` (with a debug log line saying why), since CPU-only machines are a normal case.
// $AIRLOCK_NVML_LIBRARY names the NVML library to load instead of libnvidia-ml.so.1.
Hardware detect_hardware();
std::vector<GpuInfo> detect_gpus();
CpuInfo detect_cpu();

// A free GPU of this model at `index`: name, ids, memory, compute capability, family, tag and
// label from the table; nothing used.
GpuInfo make_gpu_info(const GpuModel& model, int index);

// The JSON form of a Hardware, which `--target-file` reads and `airlock hardware --json` writes:
//
//   {"source": "detected",                              (optional; informational on input)
//    "gpus": [{"index": 0,                              (optional: position in the list)
//              "name": "NVIDIA H100 80GB HBM3",         (optional for known pci_id)
//              "pci_id": "2330:10de",                   (required; any form parse_pci_id reads)
//              "memory_total_bytes": 85520809984,       (optional for known pci_id; or
//              "memory": "80GiB",                        as a size string, not both)
//              "memory_used_bytes": 0,                  (optional, 0)
//              "compute_capability": "9.0",             (optional for known pci_id)
//              "utilization_percent": 0,                (optional, 0)
//              "family": "H100 80GB",                   (optional: from the table)
//              "gpu_tag": "H100",                       (optional: from the table)
//              "product_label": "NVIDIA-H100-80GB-HBM3"}], (optional: from the table)
//    "cpu": {"model": "...", "cores": 56, "threads": 112, "memory_total_bytes": 2164154793984,
//            "features": ["avx2", "avx512f", ...]}}     (optional, each field optional)
//
// Optional strings given as "" count as omitted. Unknown fields and wrong types are errors
// naming the field ("gpus[1].pci_id: ..."), because a misspelt key silently ignored would select
// the wrong profiles. A GPU whose pci_id is not in the table needs its memory; its name
// defaults to "GPU <pci_id>".
Json hardware_to_json(const Hardware& hardware);
// `source` prefixes error messages and becomes Hardware::source.
Result<Hardware> hardware_from_json(const Json& json, std::string_view source);

namespace detail {

// NVML's C API, declared from NVIDIA's public documentation (nvml.h is not needed to build).
// Exposed so that tests can drive gpus_from_nvml() with a fake library.
using NvmlReturn = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using NvmlDevice = struct NvmlDeviceOpaque*;
inline constexpr NvmlReturn kNvmlSuccess = 0;
inline constexpr unsigned kNvmlDeviceNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

struct NvmlPciInfo {  // nvmlPciInfo_t
  char bus_id_legacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pci_device_id;  // device id << 16 | vendor id
  unsigned int pci_subsystem_id;
  char bus_id[32];
};
struct NvmlMemory {  // nvmlMemory_t (v1)
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct NvmlUtilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};

struct NvmlApi {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*device_get_count)(unsigned int*) = nullptr;
  NvmlReturn (*device_get_handle_by_index)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*device_get_name)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*device_get_pci_info)(NvmlDevice, NvmlPciInfo*) = nullptr;
  NvmlReturn (*device_get_memory_info)(NvmlDevice, NvmlMemory*) = nullptr;
  NvmlReturn (*device_get_cuda_compute_capability)(NvmlDevice, int*, int*) = nullptr;
  NvmlReturn (*device_get_utilization_rates)(NvmlDevice, NvmlUtilization*) = nullptr;
  // Optional: turns error codes into words for the debug log.
  const char* (*error_string)(NvmlReturn) = nullptr;
};

// Initialises NVML through `api`, reads every GPU, shuts NVML down. A GPU NVML cannot
// describe is skipped; a failing init or count gives no GPUs.
std::vector<GpuInfo> gpus_from_nvml(const NvmlApi& api);

}  // namespace detail

}  // namespace airlock::profiles
