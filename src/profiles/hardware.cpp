#include "profiles/hardware.h"

#include <dlfcn.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "core/env.h"
#include "core/log.h"
#include "core/units.h"

namespace airlock::profiles {

// The layouts NVML writes into; a mismatch would corrupt memory, so pin them to nvml.h's.
static_assert(sizeof(detail::NvmlPciInfo) == 68 && offsetof(detail::NvmlPciInfo, pci_device_id) == 28);
static_assert(sizeof(detail::NvmlMemory) == 24);
static_assert(sizeof(detail::NvmlUtilization) == 8);

namespace {

constexpr const char* kDefaultNvmlLibrary = "libnvidia-ml.so.1";

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// ---------------------------------------------------------------------------------------------
// NVML

std::string nvml_error(const detail::NvmlApi& api, detail::NvmlReturn code) {
  if (api.error_string != nullptr) {
    if (const char* text = api.error_string(code)) return fmt::format("{} (NVML error {})", text, code);
  }
  return fmt::format("NVML error {}", code);
}

// dlopen'ed NVML; closed on destruction.
class NvmlLibrary {
 public:
  NvmlLibrary() = default;
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;
  ~NvmlLibrary() {
    if (handle_ != nullptr) dlclose(handle_);
  }

  // Loads `path` and resolves the API; false (with the reason in `why`) when either fails.
  bool load(const std::string& path, std::string& why) {
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      const char* error = dlerror();
      why = fmt::format("cannot load {}: {}", path, error != nullptr ? error : "unknown error");
      return false;
    }
    // The _v2/_v3 entry points are current; the older names are what drivers before them had,
    // with the same signatures.
    bool ok = resolve(api_.init, {"nvmlInit_v2", "nvmlInit"}) && resolve(api_.shutdown, {"nvmlShutdown"}) &&
              resolve(api_.device_get_count, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"}) &&
              resolve(api_.device_get_handle_by_index,
                      {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"}) &&
              resolve(api_.device_get_name, {"nvmlDeviceGetName"}) &&
              resolve(api_.device_get_pci_info, {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2"}) &&
              resolve(api_.device_get_memory_info, {"nvmlDeviceGetMemoryInfo"});
    if (!ok) {
      why = fmt::format("{} lacks the NVML functions airlock needs (is it NVML?)", path);
      return false;
    }
    // Optional: older drivers or odd GPUs may lack them, and detection can do without.
    resolve(api_.device_get_cuda_compute_capability, {"nvmlDeviceGetCudaComputeCapability"});
    resolve(api_.device_get_utilization_rates, {"nvmlDeviceGetUtilizationRates"});
    resolve(api_.error_string, {"nvmlErrorString"});
    return true;
  }

  const detail::NvmlApi& api() const { return api_; }

 private:
  template <typename F>
  bool resolve(F& function, std::initializer_list<const char*> names) {
    for (const char* name : names) {
      if (void* symbol = dlsym(handle_, name)) {
        function = reinterpret_cast<F>(symbol);
        return true;
      }
    }
    return false;
  }

  void* handle_ = nullptr;
  detail::NvmlApi api_;
};

// ---------------------------------------------------------------------------------------------
// CPU

std::optional<std::string> read_first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return std::string(trim(line));
}

std::optional<long> read_long(const std::filesystem::path& path) {
  auto line = read_first_line(path);
  if (!line || line->empty()) return std::nullopt;
  char* end = nullptr;
  long value = std::strtol(line->c_str(), &end, 10);
  if (end == line->c_str()) return std::nullopt;
  return value;
}

struct CpuinfoFacts {
  std::string model;
  int cores = 0;  // distinct (physical id, core id) pairs; 0 when the file does not say
};

CpuinfoFacts read_proc_cpuinfo() {
  CpuinfoFacts facts;
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<long, long>> cores;
  long physical_id = 0;
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      physical_id = 0;  // a blank line ends one logical CPU's block
      continue;
    }
    std::string_view key = trim(std::string_view(line).substr(0, colon));
    std::string_view value = trim(std::string_view(line).substr(colon + 1));
    if (key == "model name" && facts.model.empty()) {
      facts.model = std::string(value);
    } else if (key == "physical id") {
      physical_id = std::strtol(std::string(value).c_str(), nullptr, 10);
    } else if (key == "core id") {
      cores.emplace(physical_id, std::strtol(std::string(value).c_str(), nullptr, 10));
    }
  }
  facts.cores = static_cast<int>(cores.size());
  return facts;
}

// Physical cores from sysfs, for kernels whose /proc/cpuinfo has no core ids (arm64).
int count_cores_from_sysfs() {
  std::set<std::pair<long, long>> cores;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/devices/system/cpu", ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 4 || !name.starts_with("cpu") ||
        !std::all_of(name.begin() + 3, name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      continue;
    }
    auto package = read_long(entry.path() / "topology/physical_package_id");
    auto core = read_long(entry.path() / "topology/core_id");
    if (package && core) cores.emplace(*package, *core);
  }
  return static_cast<int>(cores.size());
}

std::uint64_t read_meminfo_total() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemTotal:")) continue;
    // "MemTotal:       16314412 kB"
    unsigned long long kib = std::strtoull(line.c_str() + 9, nullptr, 10);
    return static_cast<std::uint64_t>(kib) * 1024;
  }
  return 0;
}

std::vector<std::string> detect_cpu_features() {
  std::vector<std::string> features;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return features;
  const unsigned max_leaf = eax;

  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return features;
  const unsigned leaf1_ecx = ecx;
  const bool osxsave = (leaf1_ecx >> 27) & 1;

  // The CPU having AVX registers is not enough: unless the OS saves them on context switches
  // (XCR0 bits), using them corrupts other processes' state, so the OS bits gate each group.
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool os_avx = (xcr0 & 0x6) == 0x6;           // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;   // XTILECFG and XTILEDATA

  unsigned leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0, leaf7_1_eax = 0;
  if (max_leaf >= 7) {
    unsigned max_subleaf = 0;
    __cpuid_count(7, 0, max_subleaf, leaf7_ebx, leaf7_ecx, leaf7_edx);
    if (max_subleaf >= 1) {
      unsigned b = 0, c = 0, d = 0;
      __cpuid_count(7, 1, leaf7_1_eax, b, c, d);
      (void)b, (void)c, (void)d;
    }
  }
  auto bit = [](unsigned reg, int n) { return ((reg >> n) & 1) != 0; };

  const bool avx = os_avx && bit(leaf1_ecx, 28);
  const bool avx512f = os_avx512 && bit(leaf7_ebx, 16);
  const std::pair<std::string_view, bool> found[] = {
      {"avx", avx},
      {"avx2", avx && bit(leaf7_ebx, 5)},
      {"fma", avx && bit(leaf1_ecx, 12)},
      {"f16c", avx && bit(leaf1_ecx, 29)},
      {"avx512f", avx512f},
      {"avx512bw", avx512f && bit(leaf7_ebx, 30)},
      {"avx512vl", avx512f && bit(leaf7_ebx, 31)},
      {"avx512_vnni", avx512f && bit(leaf7_ecx, 11)},
      {"avx512_bf16", avx512f && bit(leaf7_1_eax, 5)},
      {"amx_tile", os_amx && bit(leaf7_edx, 24)},
      {"amx_bf16", os_amx && bit(leaf7_edx, 22)},
      {"amx_int8", os_amx && bit(leaf7_edx, 25)},
  };
  for (const auto& [name, present] : found) {
    if (present) features.emplace_back(name);
  }
#endif
  return features;
}

// ---------------------------------------------------------------------------------------------
// JSON

std::string describe(const Json& value) {
  if (value.is_string() || value.is_number() || value.is_boolean() || value.is_null()) {
    std::string text = dump_json(value);
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return fmt::format("{} {}", value.type_name(), text);
  }
  return std::string("an ") + value.type_name();
}

// Reads one JSON object's fields, naming `path` in every error and refusing keys it was not
// asked about.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::string field_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  Error error(std::string_view key, std::string_view message) const {
    return parse_error(fmt::format("{}: {}", field_path(key), message));
  }

  const Json* find(std::string_view key) const {
    auto it = object_.find(std::string(key));
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const Json* value = find(key);
    if (value == nullptr) return std::optional<std::string>();
    if (!value->is_string()) return error(key, fmt::format("expected a string, got {}", describe(*value)));
    return std::optional<std::string>(value->get<std::string>());
  }

  Result<std::optional<std::uint64_t>> unsigned_integer(std::string_view key) const {
    const Json* value = find(key);
    if (value == nullptr) return std::optional<std::uint64_t>();
    // Parsed JSON stores non-negative integers as unsigned, values built in C++ as signed.
    bool whole = value->is_number_unsigned() || (value->is_number_integer() && value->get<std::int64_t>() >= 0);
    if (!whole) return error(key, fmt::format("expected a whole number >= 0, got {}", describe(*value)));
    return std::optional<std::uint64_t>(value->get<std::uint64_t>());
  }

  Result<std::optional<int>> integer_in(std::string_view key, int low, int high) const {
    AIRLOCK_ASSIGN_OR_RETURN(auto number, unsigned_integer(key));
    if (!number) return std::optional<int>();
    if (*number < static_cast<std::uint64_t>(low) || *number > static_cast<std::uint64_t>(high)) {
      return error(key, fmt::format("expected a whole number from {} to {}, got {}", low, high, *number));
    }
    return std::optional<int>(static_cast<int>(*number));
  }

  Status only(std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : object_.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (std::string_view name : known) {
        if (!list.empty()) list += ", ";
        list += name;
      }
      return parse_error(fmt::format("{}: unknown field (known fields: {})", field_path(key), list));
    }
    return ok_status();
  }

 private:
  const Json& object_;
  std::string path_;
};

Result<std::pair<int, int>> parse_compute_capability(std::string_view text) {
  auto dot = text.find('.');
  auto digits = [](std::string_view part) {
    return !part.empty() && part.size() <= 2 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (dot == std::string_view::npos || !digits(text.substr(0, dot)) || !digits(text.substr(dot + 1))) {
    return invalid_argument(fmt::format("expected \"major.minor\" like \"9.0\", got \"{}\"", text));
  }
  return std::pair<int, int>{std::stoi(std::string(text.substr(0, dot))), std::stoi(std::string(text.substr(dot + 1)))};
}

Result<GpuInfo> gpu_from_json(const Json& json, std::size_t position) {
  std::string path = fmt::format("gpus[{}]", position);
  if (!json.is_object()) return parse_error(fmt::format("{}: expected an object, got {}", path, describe(json)));
  ObjectReader reader(json, path);
  AIRLOCK_TRY(reader.only({"index", "name", "pci_id", "memory_total_bytes", "memory", "memory_used_bytes",
                           "compute_capability", "utilization_percent", "family", "gpu_tag", "product_label"}));

  GpuInfo gpu;
  AIRLOCK_ASSIGN_OR_RETURN(auto pci_text, reader.string("pci_id"));
  if (!pci_text) return reader.error("pci_id", "missing; every GPU needs its PCI id, e.g. \"2330:10de\"");
  auto pci = parse_pci_id(*pci_text);
  if (!pci.ok()) {
    return reader.error("pci_id", fmt::format("expected \"dddd:10de\" (device:vendor, e.g. \"2330:10de\"), got \"{}\"",
                                              *pci_text));
  }
  gpu.device_id = pci->device_id;
  gpu.vendor_id = pci->vendor_id;

  AIRLOCK_ASSIGN_OR_RETURN(auto name, reader.string("name"));
  const GpuModel* model = gpu.vendor_id == kNvidiaVendorId
                              ? find_gpu_by_device_and_name(gpu.device_id, name.value_or(""))
                              : nullptr;
  if (model != nullptr) gpu = make_gpu_info(*model, 0);
  gpu.vendor_id = pci->vendor_id;
  // An empty string means "not given" here and below, so that a file written before the table
  // knew a value picks it up from the table now.
  if (name && !name->empty()) {
    gpu.name = *name;
  } else if (model == nullptr) {
    gpu.name = fmt::format("GPU {}", format_pci_id(*pci));
  }

  AIRLOCK_ASSIGN_OR_RETURN(auto index, reader.integer_in("index", 0, 1 << 20));
  gpu.index = index.value_or(static_cast<int>(position));

  AIRLOCK_ASSIGN_OR_RETURN(auto total, reader.unsigned_integer("memory_total_bytes"));
  if (const Json* memory = reader.find("memory")) {
    if (total) return reader.error("memory", "give either memory or memory_total_bytes, not both");
    if (memory->is_number_unsigned()) {
      total = memory->get<std::uint64_t>();
    } else if (memory->is_string()) {
      auto bytes = parse_bytes(memory->get<std::string>());
      if (!bytes.ok()) return reader.error("memory", bytes.error().message());
      total = *bytes;
    } else {
      return reader.error("memory", fmt::format("expected a size like \"80GiB\", got {}", describe(*memory)));
    }
  }
  if (total) {
    if (*total == 0) return reader.error(reader.find("memory") ? "memory" : "memory_total_bytes", "must be > 0");
    gpu.memory_total_bytes = *total;
  } else if (model == nullptr) {
    return parse_error(fmt::format(
        "{}: PCI id {} is not a GPU airlock knows, so its memory must be given: add \"memory\": \"80GiB\" "
        "(or \"memory_total_bytes\")",
        path, format_pci_id(*pci)));
  }

  AIRLOCK_ASSIGN_OR_RETURN(auto used, reader.unsigned_integer("memory_used_bytes"));
  gpu.memory_used_bytes = used.value_or(0);
  if (gpu.memory_used_bytes > gpu.memory_total_bytes) {
    return reader.error("memory_used_bytes", fmt::format("{} is more than the GPU's total memory ({})",
                                                         gpu.memory_used_bytes, gpu.memory_total_bytes));
  }

  AIRLOCK_ASSIGN_OR_RETURN(auto cc, reader.string("compute_capability"));
  if (cc) {
    auto parsed = parse_compute_capability(*cc);
    if (!parsed.ok()) return reader.error("compute_capability", parsed.error().message());
    gpu.cc_major = parsed->first;
    gpu.cc_minor = parsed->second;
  }

  AIRLOCK_ASSIGN_OR_RETURN(auto utilization, reader.integer_in("utilization_percent", 0, 100));
  gpu.utilization_percent = utilization.value_or(0);

  AIRLOCK_ASSIGN_OR_RETURN(auto family, reader.string("family"));
  if (family && !family->empty()) gpu.family = *family;
  AIRLOCK_ASSIGN_OR_RETURN(auto tag, reader.string("gpu_tag"));
  if (tag && !tag->empty()) gpu.gpu_tag = *tag;
  AIRLOCK_ASSIGN_OR_RETURN(auto label, reader.string("product_label"));
  if (label && !label->empty()) gpu.product_label = *label;
  return gpu;
}

Result<CpuInfo> cpu_from_json(const Json& json) {
  if (!json.is_object()) return parse_error(fmt::format("cpu: expected an object, got {}", describe(json)));
  ObjectReader reader(json, "cpu");
  AIRLOCK_TRY(reader.only({"model", "cores", "threads", "memory_total_bytes", "features"}));
  CpuInfo cpu;
  AIRLOCK_ASSIGN_OR_RETURN(auto model, reader.string("model"));
  cpu.model = model.value_or("");
  AIRLOCK_ASSIGN_OR_RETURN(auto cores, reader.integer_in("cores", 0, 1 << 20));
  cpu.cores = cores.value_or(0);
  AIRLOCK_ASSIGN_OR_RETURN(auto threads, reader.integer_in("threads", 0, 1 << 20));
  cpu.threads = threads.value_or(0);
  AIRLOCK_ASSIGN_OR_RETURN(auto memory, reader.unsigned_integer("memory_total_bytes"));
  cpu.memory_total_bytes = memory.value_or(0);
  if (const Json* features = reader.find("features")) {
    if (!features->is_array()) {
      return reader.error("features", fmt::format("expected a list of strings, got {}", describe(*features)));
    }
    for (std::size_t i = 0; i < features->size(); ++i) {
      const Json& feature = (*features)[i];
      std::string path = fmt::format("cpu.features[{}]", i);
      if (!feature.is_string()) {
        return parse_error(fmt::format("{}: expected a string, got {}", path, describe(feature)));
      }
      auto name = feature.get<std::string>();
      if (std::find(std::begin(kCpuFeatureNames), std::end(kCpuFeatureNames), name) == std::end(kCpuFeatureNames)) {
        std::string known;
        for (std::string_view candidate : kCpuFeatureNames) {
          if (!known.empty()) known += ", ";
          known += candidate;
        }
        return parse_error(fmt::format("{}: unknown feature \"{}\" (known: {})", path, name, known));
      }
      if (!cpu.has_feature(name)) cpu.features.push_back(std::move(name));
    }
  }
  return cpu;
}

}  // namespace

// -----------------------------------------------------------------------------------------------

std::string GpuInfo::pci_id() const { return format_pci_id(device_id, vendor_id); }

bool GpuInfo::is_free() const {
  // 1 - free/total <= 0.05, in integers: used * 100 <= total * 5 (no overflow below 3.6e17 B).
  return memory_used_bytes * 100 <= memory_total_bytes * 5;
}

bool CpuInfo::has_feature(std::string_view feature) const {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

GpuInfo make_gpu_info(const GpuModel& model, int index) {
  GpuInfo gpu;
  gpu.index = index;
  gpu.name = std::string(model.product_name);
  gpu.device_id = model.device_id;
  gpu.vendor_id = kNvidiaVendorId;
  gpu.memory_total_bytes = model.memory_bytes;
  gpu.cc_major = model.cc_major;
  gpu.cc_minor = model.cc_minor;
  gpu.family = std::string(model.family);
  gpu.gpu_tag = std::string(model.gpu_tag);
  gpu.product_label = std::string(model.product_label);
  return gpu;
}

namespace detail {

std::vector<GpuInfo> gpus_from_nvml(const NvmlApi& api) {
  std::vector<GpuInfo> gpus;
  if (NvmlReturn rc = api.init(); rc != kNvmlSuccess) {
    log::debug("no GPUs: NVML did not initialise: {}", nvml_error(api, rc));
    return gpus;
  }
  unsigned int count = 0;
  if (NvmlReturn rc = api.device_get_count(&count); rc != kNvmlSuccess) {
    log::debug("no GPUs: NVML could not count devices: {}", nvml_error(api, rc));
    api.shutdown();
    return gpus;
  }
  for (unsigned int i = 0; i < count; ++i) {
    auto skip = [&](std::string_view what, NvmlReturn rc) {
      log::debug("skipping GPU {}: NVML could not read its {}: {}", i, what, nvml_error(api, rc));
    };
    NvmlDevice device = nullptr;
    if (NvmlReturn rc = api.device_get_handle_by_index(i, &device); rc != kNvmlSuccess) {
      skip("handle", rc);
      continue;
    }
    char name[kNvmlDeviceNameBufferSize] = {};
    if (NvmlReturn rc = api.device_get_name(device, name, sizeof(name)); rc != kNvmlSuccess) {
      skip("name", rc);
      continue;
    }
    name[sizeof(name) - 1] = '\0';
    NvmlPciInfo pci{};
    if (NvmlReturn rc = api.device_get_pci_info(device, &pci); rc != kNvmlSuccess) {
      skip("PCI info", rc);
      continue;
    }
    NvmlMemory memory{};
    if (NvmlReturn rc = api.device_get_memory_info(device, &memory); rc != kNvmlSuccess) {
      skip("memory", rc);
      continue;
    }

    GpuInfo gpu;
    gpu.index = static_cast<int>(i);
    gpu.name = name;
    gpu.device_id = static_cast<std::uint16_t>(pci.pci_device_id >> 16);
    gpu.vendor_id = static_cast<std::uint16_t>(pci.pci_device_id & 0xffff);
    gpu.memory_total_bytes = memory.total;
    gpu.memory_used_bytes = std::min<std::uint64_t>(memory.used, memory.total);
    const GpuModel* model =
        gpu.vendor_id == kNvidiaVendorId ? find_gpu_by_device_and_name(gpu.device_id, gpu.name) : nullptr;
    if (model != nullptr) {
      gpu.family = std::string(model->family);
      gpu.gpu_tag = std::string(model->gpu_tag);
      gpu.product_label = std::string(model->product_label);
      gpu.cc_major = model->cc_major;
      gpu.cc_minor = model->cc_minor;
    } else {
      // GPU Feature Discovery derives its label from the NVML name the same way.
      gpu.product_label = gpu.name;
      std::replace(gpu.product_label.begin(), gpu.product_label.end(), ' ', '-');
    }
    if (api.device_get_cuda_compute_capability != nullptr) {
      int major = 0, minor = 0;
      if (api.device_get_cuda_compute_capability(device, &major, &minor) == kNvmlSuccess) {
        gpu.cc_major = major;
        gpu.cc_minor = minor;
      }
    }
    if (api.device_get_utilization_rates != nullptr) {
      NvmlUtilization utilization{};
      // Unsupported on some GPUs (and under MIG); 0 is what NIM shows then.
      if (api.device_get_utilization_rates(device, &utilization) == kNvmlSuccess) {
        gpu.utilization_percent = static_cast<int>(std::min(utilization.gpu, 100u));
      }
    }
    gpus.push_back(std::move(gpu));
  }
  api.shutdown();
  return gpus;
}

}  // namespace detail

std::vector<GpuInfo> detect_gpus() {
  std::string path = get_env("AIRLOCK_NVML_LIBRARY").value_or(kDefaultNvmlLibrary);
  NvmlLibrary library;
  std::string why;
  if (!library.load(path, why)) {
    log::debug("no GPUs: {}", why);
    return {};
  }
  auto gpus = detail::gpus_from_nvml(library.api());
  if (gpus.empty()) log::debug("no GPUs: NVML reports none");
  return gpus;
}

CpuInfo detect_cpu() {
  CpuInfo cpu;
  CpuinfoFacts facts = read_proc_cpuinfo();
  cpu.model = facts.model;

  long online = sysconf(_SC_NPROCESSORS_ONLN);
  cpu.threads = online > 0 ? static_cast<int>(online) : 1;
  cpu.cores = facts.cores > 0 ? facts.cores : count_cores_from_sysfs();
  // Containers can show fewer online CPUs than the host's topology files list; a core count
  // above the thread count would be nonsense, and no count at all means one core per thread.
  if (cpu.cores <= 0 || cpu.cores > cpu.threads) cpu.cores = cpu.threads;

  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) {
    cpu.memory_total_bytes = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  } else {
    cpu.memory_total_bytes = read_meminfo_total();
  }
  cpu.features = detect_cpu_features();
  return cpu;
}

Hardware detect_hardware() {
  Hardware hardware;
  hardware.gpus = detect_gpus();
  hardware.cpu = detect_cpu();
  hardware.source = "detected";
  hardware.is_target = false;
  return hardware;
}

Json hardware_to_json(const Hardware& hardware) {
  Json json = Json::object();
  if (!hardware.source.empty()) json["source"] = hardware.source;
  Json gpus = Json::array();
  for (const GpuInfo& gpu : hardware.gpus) {
    Json item = Json::object();
    item["index"] = gpu.index;
    item["name"] = gpu.name;
    item["pci_id"] = gpu.pci_id();
    item["memory_total_bytes"] = gpu.memory_total_bytes;
    item["memory_used_bytes"] = gpu.memory_used_bytes;
    item["compute_capability"] = fmt::format("{}.{}", gpu.cc_major, gpu.cc_minor);
    item["utilization_percent"] = gpu.utilization_percent;
    item["family"] = gpu.family;
    item["gpu_tag"] = gpu.gpu_tag;
    item["product_label"] = gpu.product_label;
    gpus.push_back(std::move(item));
  }
  json["gpus"] = std::move(gpus);
  Json cpu = Json::object();
  cpu["model"] = hardware.cpu.model;
  cpu["cores"] = hardware.cpu.cores;
  cpu["threads"] = hardware.cpu.threads;
  cpu["memory_total_bytes"] = hardware.cpu.memory_total_bytes;
  cpu["features"] = hardware.cpu.features;
  json["cpu"] = std::move(cpu);
  return json;
}

Result<Hardware> hardware_from_json(const Json& json, std::string_view source) {
  auto in_source = [&](Error error) { return error.with_context(source); };
  if (!json.is_object()) {
    return in_source(parse_error(fmt::format("expected a JSON object with \"gpus\" and \"cpu\", got {}", describe(json))));
  }
  ObjectReader reader(json, "");
  if (auto status = reader.only({"source", "gpus", "cpu"}); !status.ok()) return in_source(status.error());
  if (auto text = reader.string("source"); !text.ok()) return in_source(text.error());

  Hardware hardware;
  hardware.source = std::string(source);
  if (const Json* gpus = reader.find("gpus")) {
    if (!gpus->is_array()) {
      return in_source(parse_error(fmt::format("gpus: expected a list of GPU objects, got {}", describe(*gpus))));
    }
    for (std::size_t i = 0; i < gpus->size(); ++i) {
      auto gpu = gpu_from_json((*gpus)[i], i);
      if (!gpu.ok()) return in_source(gpu.error());
      for (std::size_t j = 0; j < hardware.gpus.size(); ++j) {
        if (hardware.gpus[j].index == gpu->index) {
          return in_source(parse_error(
              fmt::format("gpus[{}].index: {} is already the index of gpus[{}]", i, gpu->index, j)));
        }
      }
      hardware.gpus.push_back(std::move(gpu).value());
    }
  }
  if (const Json* cpu = reader.find("cpu")) {
    auto parsed = cpu_from_json(*cpu);
    if (!parsed.ok()) return in_source(parsed.error());
    hardware.cpu = std::move(parsed).value();
  }
  return hardware;
}

}  // namespace airlock::profiles
