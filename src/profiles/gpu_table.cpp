#include "profiles/gpu_table.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <optional>
#include <string>

namespace airlock::profiles {
namespace {

constexpr std::uint64_t mib(std::uint64_t n) { return n << 20; }
constexpr std::uint64_t gib(std::uint64_t n) { return n << 30; }

// Sources: PCI ids from the PCI ID registry (pci-ids.ucw.cz) and docs/reference section 3;
// product names as NVML reports them; families only where NIM's `list-model-profiles` was seen
// printing one; `gpu` tags as NIM manifests spell them where seen (A100, A100_SXM4_40GB, A10G,
// H100, H100_NVL, H200, B200, L40S), otherwise the same style (base name for the common SXM
// part, a form-factor suffix for the others). Memory in MiB is what NVML reports for that
// product where known; gib() marks a nominal capacity.
//
// Left out on purpose: GPUs whose PCI id could not be confirmed in two sources (B100, B300).
constexpr std::array kModels = {
    // Ampere data center.
    GpuModel{0x20b2, "NVIDIA A100-SXM4-80GB", "A100 80GB", "A100", "NVIDIA-A100-SXM4-80GB", mib(81920), 8, 0,
             "A100|A100-80GB|A100-SXM|A100-SXM4|A100-SXM-80GB|A100-SXM4-80GB"},
    GpuModel{0x20b0, "NVIDIA A100-SXM4-40GB", "", "A100_SXM4_40GB", "NVIDIA-A100-SXM4-40GB", mib(40960), 8, 0,
             "A100-40GB|A100-SXM-40GB|A100-SXM4-40GB"},
    GpuModel{0x20b5, "NVIDIA A100 80GB PCIe", "", "A100_PCIE_80GB", "NVIDIA-A100-80GB-PCIe", mib(81920), 8, 0,
             "A100-PCIe-80GB|A100-PCIe"},
    GpuModel{0x20f1, "NVIDIA A100-PCIE-40GB", "", "A100_PCIE_40GB", "NVIDIA-A100-PCIE-40GB", mib(40960), 8, 0,
             "A100-PCIe-40GB|A100-40GB-PCIe"},
    // The registry lists a second id for the same A100 PCIe 40GB board.
    GpuModel{0x20b1, "NVIDIA A100-PCIE-40GB", "", "A100_PCIE_40GB", "NVIDIA-A100-PCIE-40GB", mib(40960), 8, 0, ""},
    GpuModel{0x20b7, "NVIDIA A30", "", "A30", "NVIDIA-A30", mib(24576), 8, 0, "A30"},
    GpuModel{0x2235, "NVIDIA A40", "", "A40", "NVIDIA-A40", mib(46068), 8, 6, "A40"},
    GpuModel{0x2236, "NVIDIA A10", "", "A10", "NVIDIA-A10", mib(23028), 8, 6, "A10"},
    GpuModel{0x2237, "NVIDIA A10G", "", "A10G", "NVIDIA-A10G", mib(23028), 8, 6, "A10G"},
    // 25b6 is one GA107 id for two boards; NVML's name tells them apart on a real machine.
    GpuModel{0x25b6, "NVIDIA A16", "", "A16", "NVIDIA-A16", mib(15356), 8, 6, "A16"},
    GpuModel{0x25b6, "NVIDIA A2", "", "A2", "NVIDIA-A2", mib(15356), 8, 6, "A2"},
    // Ada data center.
    GpuModel{0x27b8, "NVIDIA L4", "", "L4", "NVIDIA-L4", mib(23034), 8, 9, "L4"},
    GpuModel{0x26b5, "NVIDIA L40", "", "L40", "NVIDIA-L40", mib(46068), 8, 9, "L40"},
    GpuModel{0x26b9, "NVIDIA L40S", "L40S", "L40S", "NVIDIA-L40S", mib(46068), 8, 9, "L40S|L40S-48GB"},
    GpuModel{0x26ba, "NVIDIA L20", "", "L20", "NVIDIA-L20", mib(46068), 8, 9, "L20"},
    // Hopper.
    GpuModel{0x2330, "NVIDIA H100 80GB HBM3", "H100 80GB", "H100", "NVIDIA-H100-80GB-HBM3", mib(81559), 9, 0,
             "H100|H100-80GB|H100-SXM|H100-SXM5|H100-SXM-80GB|H100-SXM5-80GB"},
    GpuModel{0x2331, "NVIDIA H100 PCIe", "", "H100_PCIE", "NVIDIA-H100-PCIe", mib(81559), 9, 0,
             "H100-PCIe|H100-PCIe-80GB"},
    GpuModel{0x2321, "NVIDIA H100 NVL", "", "H100_NVL", "NVIDIA-H100-NVL", mib(95830), 9, 0,
             "H100-NVL|H100-NVL-94GB|H100-94GB"},
    GpuModel{0x2324, "NVIDIA H800 80GB HBM3", "", "H800", "NVIDIA-H800-80GB-HBM3", mib(81559), 9, 0,
             "H800|H800-80GB|H800-SXM"},
    GpuModel{0x2322, "NVIDIA H800 PCIe", "", "H800_PCIE", "NVIDIA-H800-PCIe", mib(81559), 9, 0, "H800-PCIe"},
    GpuModel{0x2329, "NVIDIA H20", "", "H20", "NVIDIA-H20", mib(97871), 9, 0, "H20|H20-96GB"},
    GpuModel{0x2335, "NVIDIA H200", "", "H200", "NVIDIA-H200", mib(143771), 9, 0,
             "H200|H200-SXM|H200-141GB|H200-SXM-141GB"},
    GpuModel{0x233b, "NVIDIA H200 NVL", "", "H200_NVL", "NVIDIA-H200-NVL", mib(143771), 9, 0, "H200-NVL"},
    GpuModel{0x2342, "NVIDIA GH200 480GB", "", "GH200_480GB", "NVIDIA-GH200-480GB", mib(97871), 9, 0,
             "GH200|GH200-480GB"},
    // Blackwell.
    GpuModel{0x2901, "NVIDIA B200", "", "B200", "NVIDIA-B200", mib(183359), 10, 0, "B200"},
    GpuModel{0x2941, "NVIDIA GB200", "", "GB200", "NVIDIA-GB200", gib(186), 10, 0, "GB200"},
    // Workstation.
    GpuModel{0x26b1, "NVIDIA RTX 6000 Ada Generation", "", "RTX6000_ADA", "NVIDIA-RTX-6000-Ada-Generation",
             mib(49140), 8, 9, "RTX6000-Ada|RTX-6000-Ada"},
    GpuModel{0x2230, "NVIDIA RTX A6000", "", "RTX_A6000", "NVIDIA-RTX-A6000", mib(49140), 8, 6, "RTX-A6000|A6000"},
    GpuModel{0x2231, "NVIDIA RTX A5000", "", "RTX_A5000", "NVIDIA-RTX-A5000", mib(24564), 8, 6, "RTX-A5000|A5000"},
    GpuModel{0x1fb1, "NVIDIA T600", "", "T600", "NVIDIA-T600", gib(4), 7, 5, "T600"},
    // Turing and Volta data center.
    GpuModel{0x1eb8, "Tesla T4", "", "T4", "Tesla-T4", mib(15360), 7, 5, "T4"},
    GpuModel{0x1db5, "Tesla V100-SXM2-32GB", "", "V100_SXM2_32GB", "Tesla-V100-SXM2-32GB", gib(32), 7, 0,
             "V100|V100-32GB|V100-SXM2|V100-SXM2-32GB"},
    GpuModel{0x1db1, "Tesla V100-SXM2-16GB", "", "V100_SXM2_16GB", "Tesla-V100-SXM2-16GB", gib(16), 7, 0,
             "V100-16GB|V100-SXM2-16GB"},
    GpuModel{0x1db6, "Tesla V100-PCIE-32GB", "", "V100_PCIE_32GB", "Tesla-V100-PCIE-32GB", gib(32), 7, 0,
             "V100-PCIe|V100-PCIe-32GB"},
    GpuModel{0x1db4, "Tesla V100-PCIE-16GB", "", "V100_PCIE_16GB", "Tesla-V100-PCIE-16GB", gib(16), 7, 0,
             "V100-PCIe-16GB"},
    GpuModel{0x1df6, "Tesla V100S-PCIE-32GB", "", "V100S_PCIE_32GB", "Tesla-V100S-PCIE-32GB", gib(32), 7, 0,
             "V100S|V100S-PCIe|V100S-PCIe-32GB"},
};

char upper(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

// The form names are compared in: upper case, separators gone, and the vendor/brand word that
// some people type and others do not ("NVIDIA H100", "Tesla T4") dropped.
std::string name_key(std::string_view text) {
  std::string key;
  for (char c : text) {
    if (c == ' ' || c == '-' || c == '_' || c == '\t') continue;
    key += upper(c);
  }
  for (std::string_view prefix : {std::string_view("NVIDIA"), std::string_view("TESLA")}) {
    if (key.size() > prefix.size() && key.starts_with(prefix)) key.erase(0, prefix.size());
  }
  return key;
}

template <typename F>
void for_each_name(std::string_view names, F&& f) {
  while (!names.empty()) {
    std::size_t bar = names.find('|');
    std::string_view name = names.substr(0, bar);
    if (!name.empty()) f(name);
    if (bar == std::string_view::npos) break;
    names.remove_prefix(bar + 1);
  }
}

bool model_has_name(const GpuModel& model, const std::string& key) {
  if (name_key(model.product_name) == key || name_key(model.product_label) == key) return true;
  bool found = false;
  for_each_name(model.names, [&](std::string_view name) { found = found || name_key(name) == key; });
  return found;
}

std::optional<std::uint16_t> parse_hex16(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  std::uint16_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = static_cast<std::uint16_t>(value * 16 + digit);
  }
  return value;
}

bool is_hex_prefix(std::string_view text) { return text.starts_with("0x") || text.starts_with("0X"); }

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view GpuModel::short_name() const {
  std::string_view first = names.substr(0, names.find('|'));
  return first.empty() ? gpu_tag : first;
}

std::span<const GpuModel> all_gpu_models() { return kModels; }

const GpuModel* find_gpu_by_device_id(std::uint16_t device_id) {
  for (const GpuModel& model : kModels) {
    if (model.device_id == device_id) return &model;
  }
  return nullptr;
}

const GpuModel* find_gpu_by_device_and_name(std::uint16_t device_id, std::string_view nvml_name) {
  const GpuModel* first = nullptr;
  for (const GpuModel& model : kModels) {
    if (model.device_id != device_id) continue;
    if (model.product_name == nvml_name) return &model;
    if (first == nullptr) first = &model;
  }
  return first;
}

const GpuModel* find_gpu_by_name(std::string_view name) {
  std::string key = name_key(trim(name));
  if (key.empty()) return nullptr;
  // Table order decides between entries that share a name (the two A100 PCIe 40GB ids).
  for (const GpuModel& model : kModels) {
    if (model_has_name(model, key)) return &model;
  }
  return nullptr;
}

std::string known_gpu_names() {
  std::string out;
  for (const GpuModel& model : kModels) {
    if (model.names.empty()) continue;  // a duplicate id of a product already listed
    if (!out.empty()) out += ", ";
    out += model.short_name();
  }
  return out;
}

Result<PciId> parse_pci_id(std::string_view text) {
  std::string_view input = trim(text);
  auto bad = [&](std::string_view why) {
    return invalid_argument(fmt::format(
        "'{}' is not a PCI id ({}): write it as NIM does, device:vendor like 2330:10de, or just the "
        "device id like 2330 or 0x2330",
        input, why));
  };
  if (input.empty()) return bad("it is empty");

  std::size_t colon = input.find(':');
  if (colon != std::string_view::npos) {
    std::string_view left = input.substr(0, colon);
    std::string_view right = input.substr(colon + 1);
    auto first = parse_hex16(left);
    auto second = parse_hex16(right);
    if (left.size() != 4 || right.size() != 4 || !first || !second) {
      return bad("expected four hex digits on each side of ':'");
    }
    // NIM writes device:vendor. lspci writes vendor:device; that order is only recognisable
    // when NVIDIA's vendor id is on the left and not on the right.
    if (*first == kNvidiaVendorId && *second != kNvidiaVendorId) return PciId{*second, *first};
    return PciId{*first, *second};
  }

  if (is_hex_prefix(input)) {
    std::string_view digits = input.substr(2);
    if (digits.size() == 8) {
      // NVML's pciDeviceId as nvidia-smi -q prints it: 0x233010DE, device in the high half.
      auto device = parse_hex16(digits.substr(0, 4));
      auto vendor = parse_hex16(digits.substr(4));
      if (!device || !vendor) return bad("not hexadecimal");
      return PciId{*device, *vendor};
    }
    if (digits.empty() || digits.size() > 4) return bad("expected at most four hex digits after 0x");
    auto device = parse_hex16(digits);
    if (!device) return bad("not hexadecimal");
    return PciId{*device, kNvidiaVendorId};
  }

  // A bare id must have all four digits: "233" is far more likely a typo than device 0233.
  if (input.size() != 4) return bad("expected four hex digits");
  auto device = parse_hex16(input);
  if (!device) return bad("not hexadecimal");
  return PciId{*device, kNvidiaVendorId};
}

std::string format_pci_id(std::uint16_t device_id, std::uint16_t vendor_id) {
  return fmt::format("{:04x}:{:04x}", device_id, vendor_id);
}

}  // namespace airlock::profiles
