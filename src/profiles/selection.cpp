#include "profiles/selection.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <tuple>

#include "core/strings.h"

namespace airlock::profiles {
namespace {

std::optional<int> parse_count(const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 4096) return std::nullopt;
  return value;
}

// The engine tag under its three historical names.
std::string engine_of(const Profile& p) {
  for (const char* key : {"llm_engine", "backend", "model_type", "engine"}) {
    if (auto value = p.tag(key)) return *value;
  }
  return "";
}

// "NVIDIA-L4_10.0.1_12" -> "NVIDIA-L4": the product part of a non-LLM NIM `key` tag.
std::string key_product(const std::string& key) { return key.substr(0, key.find('_')); }

bool is_cpu_profile(const Profile& p) {
  auto device = p.tag("device");
  return device && iequals(*device, "cpu");
}

std::vector<std::string> split_features(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '+') {
      if (!current.empty()) out.push_back(to_lower(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(to_lower(current));
  return out;
}

// How a profile names the GPUs it runs on.
struct GpuRequirement {
  enum class Kind { kAny, kDevice, kTag, kRegex, kKey } kind = Kind::kAny;
  std::string text;  // the tag value
  std::optional<PciId> device;
  std::optional<std::regex> regex;
  std::string problem;  // why the requirement cannot be evaluated (bad regex, bad id)

  // "2 x H100 GPUs", "1 x A100 GPU [20b2:10de]", "1 x GPU matching /^NVIDIA-A10(?!0).*/".
  std::string describe(int count) const {
    std::string noun = count == 1 ? "GPU" : "GPUs";
    switch (kind) {
      case Kind::kAny: return fmt::format("{} x {}", count, noun);
      case Kind::kDevice: {
        const GpuModel* model = device ? find_gpu_by_device_id(device->device_id) : nullptr;
        if (model == nullptr) return fmt::format("{} x {} [{}]", count, noun, text);
        return fmt::format("{} x {} {} [{}]", count, model->short_name(), noun, text);
      }
      case Kind::kTag: return fmt::format("{} x {} {}", count, text, noun);
      case Kind::kRegex: return fmt::format("{} x {} matching /{}/", count, noun, text);
      case Kind::kKey: return fmt::format("{} x {} {}", count, key_product(text), noun);
    }
    return fmt::format("{} x {}", count, noun);
  }

  bool matches(const GpuInfo& gpu) const {
    switch (kind) {
      case Kind::kAny: return true;
      case Kind::kDevice: return device && device->device_id == gpu.device_id && device->vendor_id == gpu.vendor_id;
      case Kind::kTag: return !gpu.gpu_tag.empty() && iequals(gpu.gpu_tag, text);
      case Kind::kRegex:
        if (!regex || gpu.product_label.empty()) return false;
        return std::regex_search(gpu.product_label, *regex);
      case Kind::kKey: return !gpu.product_label.empty() && iequals(gpu.product_label, key_product(text));
    }
    return false;
  }
};

GpuRequirement gpu_requirement(const Profile& p) {
  GpuRequirement req;
  if (auto device = p.tag("gpu_device")) {
    req.kind = GpuRequirement::Kind::kDevice;
    req.text = *device;
    auto parsed = parse_pci_id(*device);
    if (parsed.ok()) {
      req.device = *parsed;
    } else {
      req.problem = fmt::format("gpu_device '{}' is not a PCI id", *device);
    }
  } else if (auto gpu = p.tag("gpu")) {
    req.kind = GpuRequirement::Kind::kTag;
    req.text = *gpu;
  } else if (auto pattern = p.tag("product_name_regex")) {
    req.kind = GpuRequirement::Kind::kRegex;
    req.text = *pattern;
    try {
      req.regex.emplace(*pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      req.problem = fmt::format("product_name_regex '{}' is not a valid regular expression", *pattern);
    }
  } else if (auto key = p.tag("key")) {
    req.kind = GpuRequirement::Kind::kKey;
    req.text = *key;
  }
  return req;
}

int engine_rank(const std::string& engine) {
  std::string e = to_lower(engine);
  if (e == "tensorrt_llm" || e == "tensorrt") return 4;
  if (e == "vllm") return 3;
  if (e == "sglang") return 2;
  return 1;
}

int precision_rank(const std::optional<std::string>& precision) {
  if (!precision) return 0;
  constexpr std::string_view kOrder[] = {"mxfp4", "fp8", "int8", "fp16", "bf16", "int8wo", "nvfp4", "int4_awq"};
  std::string p = to_lower(*precision);
  for (std::size_t i = 0; i < std::size(kOrder); ++i) {
    if (p == kOrder[i]) return static_cast<int>(std::size(kOrder) - i) + 1;
  }
  if (p.rfind("int4", 0) == 0) return 1;  // other int4 variants rank with int4_awq's neighbours
  return 0;
}

int qos_rank(const std::optional<std::string>& profile) {
  if (!profile) return 0;
  if (iequals(*profile, "latency")) return 2;
  if (iequals(*profile, "throughput")) return 1;
  return 0;
}

Assessment assess(const Profile& profile, const Hardware& hardware) {
  Assessment a;
  a.profile = &profile;
  a.description = describe_profile(profile);
  a.lora = profile.tag_is_true("feat_lora");
  a.cpu = is_cpu_profile(profile);

  if (a.cpu) {
    std::vector<std::string> needed;
    if (auto features = profile.tag("cpu_features")) needed = split_features(*features);
    std::vector<std::string> missing;
    for (const std::string& f : needed) {
      if (!hardware.cpu.has_feature(f)) missing.push_back(f);
    }
    a.requirement = needed.empty() ? "CPU" : fmt::format("CPU with {}", fmt::join(needed, ", "));
    if (missing.empty()) {
      a.section = Section::kRunnable;
      a.reason = needed.empty() ? "runs on any CPU" : fmt::format("this CPU has {}", fmt::join(needed, ", "));
    } else {
      a.section = Section::kIncompatible;
      a.reason = fmt::format("needs CPU features {}; this CPU lacks {}", fmt::join(needed, ", "), fmt::join(missing, ", "));
    }
    return a;
  }

  // GPUs needed: number_of_gpus when given, else tp x pp.
  int needed = 1;
  std::string count_problem;
  if (auto n = profile.tag("number_of_gpus")) {
    if (auto v = parse_count(*n)) needed = *v; else count_problem = fmt::format("number_of_gpus '{}' is not a count", *n);
  } else {
    int tp = 1, pp = 1;
    if (auto t = profile.tag("tp")) {
      if (auto v = parse_count(*t)) tp = *v; else count_problem = fmt::format("tp '{}' is not a count", *t);
    }
    if (auto p = profile.tag("pp")) {
      if (auto v = parse_count(*p)) pp = *v; else count_problem = fmt::format("pp '{}' is not a count", *p);
    }
    needed = tp * pp;
  }
  a.gpus_needed = needed;
  GpuRequirement req = gpu_requirement(profile);
  a.requirement = req.describe(needed);
  if (!count_problem.empty() || !req.problem.empty()) {
    a.section = Section::kIncompatible;
    a.reason = !count_problem.empty() ? count_problem : req.problem;
    return a;
  }
  int matching = 0, free = 0;
  for (const GpuInfo& gpu : hardware.gpus) {
    if (!req.matches(gpu)) continue;
    ++matching;
    if (gpu.is_free()) ++free;
  }
  bool buildable = profile.tag_is_true("trtllm_buildable");
  if (matching < needed) {
    a.section = Section::kIncompatible;
    if (hardware.gpus.empty()) {
      a.reason = fmt::format("needs {}; no GPUs found", a.requirement);
    } else {
      a.reason = fmt::format("needs {}; found {}", a.requirement, matching);
    }
  } else if (free < needed) {
    a.section = Section::kLowMemory;
    a.reason = fmt::format("needs {} free; {} of {} matching GPUs are free (<= 5% memory used)", a.requirement, free, matching);
  } else if (buildable) {
    a.section = Section::kBuildable;
    a.reason = fmt::format("{} free; the TRT-LLM engine is built from HF weights at first start", a.requirement);
  } else {
    a.section = Section::kRunnable;
    a.reason = fmt::format("{} free", a.requirement);
  }
  return a;
}

// Higher is better, compared left to right.
using RankKey = std::tuple<int, int, int, int, int>;

RankKey rank_key(const Assessment& a) {
  const Profile& p = *a.profile;
  int specificity = a.cpu ? 0 : (gpu_requirement(p).kind == GpuRequirement::Kind::kAny ? 1 : 2);
  return {specificity, engine_rank(engine_of(p)), precision_rank(p.tag("precision")), qos_rank(p.tag("profile")),
          a.gpus_needed};
}

std::string list_valid(const Manifest& manifest) {
  std::string out;
  for (const Profile& p : manifest.profiles) out += fmt::format("\n  {} ({})", p.id, describe_profile(p));
  return out;
}

}  // namespace

std::string_view section_name(Section section) {
  switch (section) {
    case Section::kRunnable: return "runnable";
    case Section::kLowMemory: return "low_memory";
    case Section::kBuildable: return "buildable";
    case Section::kIncompatible: return "incompatible";
  }
  return "incompatible";
}

std::string describe_profile(const Profile& p) {
  std::vector<std::string> parts;
  if (std::string engine = engine_of(p); !engine.empty()) parts.push_back(to_lower(engine));
  if (p.tag_is_true("trtllm_buildable")) {
    parts.emplace_back("trtllm_buildable");
  } else if (auto gpu = p.tag("gpu")) {
    parts.push_back(to_lower(*gpu));
  } else if (auto key = p.tag("key")) {
    std::string product = key_product(*key);
    if (product.rfind("NVIDIA-", 0) == 0) product = product.substr(7);
    if (!product.empty()) parts.push_back(to_lower(product));
  } else if (auto device = p.tag("device")) {
    parts.push_back(to_lower(*device));  // airlock's own profiles: "cpu" or "gpu"
  }
  if (auto precision = p.tag("precision")) parts.push_back(to_lower(*precision));
  if (auto tp = p.tag("tp")) parts.push_back("tp" + *tp);
  if (auto pp = p.tag("pp")) parts.push_back("pp" + *pp);
  if (auto qos = p.tag("profile")) parts.push_back(to_lower(*qos));
  if (p.tag_is_true("feat_lora")) parts.emplace_back("lora");
  if (parts.empty()) return p.id;
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "-") + part;
  return out;
}

Selection select_profiles(const Manifest& manifest, const Hardware& hardware, const SelectionOptions& options) {
  Selection selection;
  selection.assessments.reserve(manifest.profiles.size());
  for (const Profile& profile : manifest.profiles) selection.assessments.push_back(assess(profile, hardware));

  auto candidates_in = [&](Section section) {
    std::vector<int> out;
    for (std::size_t i = 0; i < selection.assessments.size(); ++i) {
      const Assessment& a = selection.assessments[i];
      if (a.section == section && a.lora == options.lora) out.push_back(static_cast<int>(i));
    }
    std::stable_sort(out.begin(), out.end(), [&](int x, int y) {
      return rank_key(selection.assessments[static_cast<std::size_t>(x)]) >
             rank_key(selection.assessments[static_cast<std::size_t>(y)]);
    });
    return out;
  };
  selection.ranking = candidates_in(Section::kRunnable);
  if (selection.ranking.empty()) selection.ranking = candidates_in(Section::kBuildable);
  if (!selection.ranking.empty()) selection.chosen = selection.ranking.front();
  return selection;
}

Result<const Profile*> find_profile(const Manifest& manifest, std::string_view id_or_description) {
  if (const Profile* p = manifest.find_by_id(id_or_description)) return p;
  std::vector<const Profile*> by_description;
  for (const Profile& p : manifest.profiles) {
    if (describe_profile(p) == id_or_description) by_description.push_back(&p);
  }
  if (by_description.size() == 1) return by_description.front();
  if (by_description.size() > 1) {
    std::string ids;
    for (const Profile* p : by_description) ids += "\n  " + p->id;
    return invalid_argument(
        fmt::format("profile description '{}' matches {} profiles; name one by id:{}", id_or_description, by_description.size(), ids));
  }
  return not_found(fmt::format("unknown profile '{}'. Valid profiles (id and description):{}", id_or_description,
                               list_valid(manifest)));
}

Result<const Assessment*> resolve_profile(const Selection& selection, const Manifest& manifest, std::string_view requested) {
  if (!requested.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(const Profile* profile, find_profile(manifest, requested));
    for (const Assessment& a : selection.assessments) {
      if (a.profile == profile) return &a;
    }
    return internal_error("profile missing from its own selection");
  }
  if (const Assessment* chosen = selection.chosen_assessment()) return chosen;
  std::size_t low_memory = 0;
  for (const Assessment& a : selection.assessments) {
    if (a.section == Section::kLowMemory) ++low_memory;
  }
  std::string hint = low_memory > 0
                         ? fmt::format("{} profile(s) would fit if their GPUs were free; ", low_memory)
                         : std::string();
  return not_found(fmt::format(
      "no profile of the manifest is runnable on this hardware; {}name one with --profile (or NIM_MODEL_PROFILE), "
      "or describe other hardware with --target. `airlock list-model-profiles --explain` shows why each was rejected",
      hint));
}

}  // namespace airlock::profiles
