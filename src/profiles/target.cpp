#include "profiles/target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/units.h"

namespace airlock::profiles {
namespace {

constexpr std::string_view kExamples =
    "valid forms: 2xH100, 8 x A100-80GB, H100, 1xH100_NVL, 2xH100+1xL40S, gpu=H100,count=2, "
    "gpu=2330:10de,count=8,memory=80GiB, cpu";

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    std::size_t at = text.find(separator);
    parts.push_back(trim(text.substr(0, at)));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return parts;
}

// One '+'-separated part of a spec, parsed.
struct Group {
  const GpuModel* model = nullptr;  // null for a PCI id not in the table
  PciId pci;
  int count = 1;
  std::optional<std::uint64_t> memory;
  std::optional<std::pair<int, int>> cc;
};

class TargetParser {
 public:
  explicit TargetParser(std::string_view spec) : spec_(trim(spec)) {}

  Error error(std::string_view message) const {
    return invalid_argument(fmt::format("target \"{}\": {}; {}", spec_, message, kExamples));
  }

  Error unknown_gpu(std::string_view name) const {
    return invalid_argument(fmt::format(
        "target \"{}\": unknown GPU \"{}\"; known GPUs: {}. For a GPU not in this list give its PCI id "
        "and memory: gpu=<dddd:10de>,count=<n>,memory=<size>",
        spec_, name, known_gpu_names()));
  }

  // A GPU named by what a person types, or by a PCI id. Bare hex ids ("2330") are only taken in
  // key=value form, where `gpu=` says it is a GPU; elsewhere "A100" would read as hex.
  Result<Group> resolve_gpu(std::string_view text, bool allow_bare_id) const {
    Group group;
    if (const GpuModel* model = find_gpu_by_name(text)) {
      group.model = model;
      group.pci = PciId{model->device_id, kNvidiaVendorId};
      return group;
    }
    bool looks_like_id = text.find(':') != std::string_view::npos || text.starts_with("0x") ||
                         text.starts_with("0X") || allow_bare_id;
    if (!looks_like_id) return unknown_gpu(text);
    auto pci = parse_pci_id(text);
    if (!pci.ok()) {
      if (allow_bare_id && text.find(':') == std::string_view::npos) return unknown_gpu(text);
      return error(pci.error().message());
    }
    group.pci = *pci;
    if (pci->vendor_id == kNvidiaVendorId) {
      group.model = find_gpu_by_device_id(pci->device_id);
    }
    return group;
  }

  Result<int> parse_count(std::string_view text, std::string_view where) const {
    bool digits = !text.empty() && text.size() <= 6 &&
                  std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    int count = digits ? std::stoi(std::string(text)) : -1;
    if (count < 1 || count > kMaxTargetGpus) {
      return error(fmt::format("\"{}\": the GPU count must be a whole number from 1 to {}, got \"{}\"", where,
                               kMaxTargetGpus, text));
    }
    return count;
  }

  // "2xH100", "8 x A100-80GB", "H100", "2x2330:10de".
  Result<Group> parse_count_form(std::string_view text) const {
    // A whole group that is a GPU (by name or colon PCI id) means one of it; tried first so
    // that "2330:10de" is not read as the count 2330.
    if (find_gpu_by_name(text) != nullptr || (text.find(':') != std::string_view::npos && parse_pci_id(text).ok())) {
      return resolve_gpu(text, false);
    }
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0) return resolve_gpu(text, false);

    std::string_view rest = trim(text.substr(digits));
    if (rest.empty() || (rest.front() != 'x' && rest.front() != 'X' && rest.front() != '*')) {
      return error(fmt::format("\"{}\": expected <count>x<GPU>, like 2xH100", text));
    }
    AIRLOCK_ASSIGN_OR_RETURN(int count, parse_count(text.substr(0, digits), text));
    std::string_view name = trim(rest.substr(1));
    if (name.empty()) return error(fmt::format("\"{}\": the GPU name is missing after the count", text));
    AIRLOCK_ASSIGN_OR_RETURN(Group group, resolve_gpu(name, false));
    group.count = count;
    return group;
  }

  // "gpu=2330:10de,count=8,memory=80GiB,cc=9.0".
  Result<Group> parse_key_value_form(std::string_view text) const {
    std::optional<std::string_view> gpu, count, memory, cc;
    for (std::string_view item : split(text, ',')) {
      std::size_t equals = item.find('=');
      if (equals == std::string_view::npos) {
        return error(fmt::format("\"{}\" in \"{}\" is not key=value (keys: gpu, count, memory, cc)", item, text));
      }
      std::string_view key = trim(item.substr(0, equals));
      std::string_view value = trim(item.substr(equals + 1));
      std::optional<std::string_view>* slot = nullptr;
      if (equals_ignoring_case(key, "gpu")) {
        slot = &gpu;
      } else if (equals_ignoring_case(key, "count")) {
        slot = &count;
      } else if (equals_ignoring_case(key, "memory")) {
        slot = &memory;
      } else if (equals_ignoring_case(key, "cc")) {
        slot = &cc;
      } else {
        return error(fmt::format("unknown key \"{}\" in \"{}\" (keys: gpu, count, memory, cc)", key, text));
      }
      if (slot->has_value()) return error(fmt::format("\"{}\" is given twice in \"{}\"", key, text));
      if (value.empty()) return error(fmt::format("\"{}=\" has no value in \"{}\"", key, text));
      *slot = value;
    }
    if (!gpu) return error(fmt::format("\"{}\" names no GPU: add gpu=<name or PCI id>", text));

    AIRLOCK_ASSIGN_OR_RETURN(Group group, resolve_gpu(*gpu, true));
    if (count) {
      AIRLOCK_ASSIGN_OR_RETURN(group.count, parse_count(*count, fmt::format("count={}", *count)));
    }
    if (memory) {
      auto bytes = parse_bytes(*memory);
      if (!bytes.ok() || *bytes == 0) {
        return error(fmt::format("\"memory={}\" is not a GPU memory size; write e.g. memory=80GiB", *memory));
      }
      group.memory = *bytes;
    }
    if (cc) {
      std::size_t dot = cc->find('.');
      auto number = [](std::string_view part) {
        return !part.empty() && part.size() <= 2 &&
               std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      };
      if (dot == std::string_view::npos || !number(cc->substr(0, dot)) || !number(cc->substr(dot + 1))) {
        return error(fmt::format("\"cc={}\" is not a compute capability; write e.g. cc=9.0", *cc));
      }
      group.cc = std::pair<int, int>{std::stoi(std::string(cc->substr(0, dot))),
                                     std::stoi(std::string(cc->substr(dot + 1)))};
    }
    if (group.model == nullptr && !group.memory) {
      return error(fmt::format("PCI id {} is not a GPU airlock knows, so its memory must be given: add "
                               "memory=<size>, e.g. gpu={},memory=80GiB",
                               format_pci_id(group.pci), *gpu));
    }
    return group;
  }

  Result<Hardware> parse(const CpuInfo& local_cpu) const {
    if (spec_.empty()) return error("it is empty");
    Hardware hardware;
    hardware.cpu = local_cpu;
    hardware.source = fmt::format("target {}", spec_);
    hardware.is_target = true;

    std::vector<std::string_view> parts = split(spec_, '+');
    for (std::string_view part : parts) {
      if (part.empty()) return error("it has an empty part (a stray '+')");
      if (equals_ignoring_case(part, "cpu") || equals_ignoring_case(part, "none")) {
        if (parts.size() > 1) return error(fmt::format("\"{}\" means no GPUs and cannot be joined with GPUs", part));
        return hardware;
      }
      auto group = part.find('=') != std::string_view::npos ? parse_key_value_form(part) : parse_count_form(part);
      if (!group.ok()) return std::move(group).error();
      if (static_cast<int>(hardware.gpus.size()) + group->count > kMaxTargetGpus) {
        return error(fmt::format("more than {} GPUs", kMaxTargetGpus));
      }
      for (int i = 0; i < group->count; ++i) {
        int index = static_cast<int>(hardware.gpus.size());
        GpuInfo gpu;
        if (group->model != nullptr) {
          gpu = make_gpu_info(*group->model, index);
        } else {
          gpu.index = index;
          gpu.name = fmt::format("GPU {}", format_pci_id(group->pci));
          gpu.device_id = group->pci.device_id;
          gpu.vendor_id = group->pci.vendor_id;
        }
        if (group->memory) gpu.memory_total_bytes = *group->memory;
        if (group->cc) {
          gpu.cc_major = group->cc->first;
          gpu.cc_minor = group->cc->second;
        }
        hardware.gpus.push_back(std::move(gpu));
      }
    }
    return hardware;
  }

 private:
  std::string_view spec_;
};

}  // namespace

Result<Hardware> parse_target(std::string_view spec, const CpuInfo& local_cpu) {
  return TargetParser(spec).parse(local_cpu);
}

Result<Hardware> load_target_file(const std::filesystem::path& path) {
  auto json = read_json_file(path);
  if (!json.ok()) return std::move(json).error().with_context("reading --target-file");
  AIRLOCK_ASSIGN_OR_RETURN(Hardware hardware, hardware_from_json(*json, path.string()));
  hardware.source = fmt::format("target file {}", path.string());
  hardware.is_target = true;
  return hardware;
}

}  // namespace airlock::profiles
