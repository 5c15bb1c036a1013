// The GPUs airlock knows by PCI device id: what NVML calls them, which NIM family and manifest
// `gpu` tag they belong to, and how much memory they have. Detection (hardware.h) and targets
// (target.h) both resolve GPUs here, so a `--target 2xH100` looks exactly like a detected node.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::profiles {

inline constexpr std::uint16_t kNvidiaVendorId = 0x10de;

struct GpuModel {
  std::uint16_t device_id = 0;
  // As nvmlDeviceGetName reports it, e.g. "NVIDIA H100 80GB HBM3".
  std::string_view product_name;
  // The family NIM prints in `list-model-profiles` ("H100 80GB", "A100 80GB", "L40S"). Empty
  // where NIM prints none, which is most GPUs: only families seen in NIM output are filled.
  std::string_view family;
  // The manifest `gpu` tag ("H100", "H100_NVL", "A100", "L40S", "A10G").
  std::string_view gpu_tag;
  // GPU Feature Discovery's `nvidia.com/gpu.product` node label: the NVML name, '-' for ' '.
  std::string_view product_label;
  // Total memory as NVML reports it where that value is known, else the nominal capacity.
  std::uint64_t memory_bytes = 0;
  int cc_major = 0;
  int cc_minor = 0;
  // What a person may type for it in `--target`, '|'-separated; the first is the short name
  // shown in lists. Matching ignores case, spaces, '-', '_' and a leading "NVIDIA"/"Tesla".
  std::string_view names;

  // The first of `names`: "H100", "H100-NVL", "A100-40GB".
  std::string_view short_name() const;
};

// PCI vendor:device pair. NIM writes it device first: "2330:10de".
struct PciId {
  std::uint16_t device_id = 0;
  std::uint16_t vendor_id = kNvidiaVendorId;
  bool operator==(const PciId&) const = default;
};

// Every known model, data-center parts first. Stable order: lists and errors show it.
std::span<const GpuModel> all_gpu_models();

// The model with this PCI device id (vendor 10de), or nullptr. A few ids are shared by two
// products (25b6 is both A16 and A2); this returns the first, find_gpu_by_device_and_name
// tells them apart when the NVML name is known.
const GpuModel* find_gpu_by_device_id(std::uint16_t device_id);
// As above, preferring the entry whose product_name equals `nvml_name` among those with the id.
const GpuModel* find_gpu_by_device_and_name(std::uint16_t device_id, std::string_view nvml_name);

// What a person types: "H100", "h100", "H100-80GB", "H100 NVL", "H100_NVL", "L40S", "A100",
// "A100-40GB", "RTX6000ADA", "NVIDIA H100 80GB HBM3", "NVIDIA-A100-SXM4-80GB". Short names
// that cover several products mean the most common SXM data-center part ("A100" is the A100
// SXM4 80GB, "H100" the H100 SXM5 80GB, "H200" the H200 SXM). nullptr when unknown.
const GpuModel* find_gpu_by_name(std::string_view name);

// The short names of all models, comma-separated, for error messages.
std::string known_gpu_names();

// "2330:10de" (NIM's device:vendor), "2330", "0x2330" (device, vendor 10de), "10de:2330" (the
// lspci vendor:device order, recognised only when exactly one side is 10de and it comes first)
// and "0x233010de" (NVML's combined pciDeviceId, device in the high half).
Result<PciId> parse_pci_id(std::string_view text);
// "2330:10de": four lower-case hex digits each, device first.
std::string format_pci_id(std::uint16_t device_id, std::uint16_t vendor_id = kNvidiaVendorId);
inline std::string format_pci_id(const PciId& id) { return format_pci_id(id.device_id, id.vendor_id); }

}  // namespace airlock::profiles
