// Which profiles of a manifest fit a machine (or a --target), and which one airlock picks.
// The rules follow NIM's so that a listing here matches what the NIM container would print on
// that hardware; see shared/reference/nim-and-platform.md §2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "profiles/hardware.h"
#include "profiles/manifest.h"

namespace airlock::profiles {

// The listing's sections, in print order.
enum class Section {
  kRunnable,      // enough free GPUs of the right kind (or the CPU features a CPU profile needs)
  kLowMemory,     // the GPUs exist but too few are free (> 5% of their memory in use)
  kBuildable,     // trtllm_buildable: HF weights compiled to a TRT-LLM engine at first start
  kIncompatible,  // the hardware lacks what the profile needs
};

std::string_view section_name(Section section);  // "runnable", "low_memory", "buildable", "incompatible"

struct Assessment {
  const Profile* profile = nullptr;
  Section section = Section::kIncompatible;
  std::string description;  // "tensorrt_llm-h100-fp8-tp2-pp1-latency"
  bool lora = false;        // feat_lora is true
  bool cpu = false;         // an airlock CPU profile (tag device: cpu)
  int gpus_needed = 0;      // tp x pp, or number_of_gpus; 0 for CPU profiles
  std::string requirement;  // what it needs, in words: "2 x H100 GPUs", "CPU with avx512_bf16"
  std::string reason;       // why it landed in its section, for --explain and --json
};

struct SelectionOptions {
  bool lora = false;  // choose among LoRA profiles only (NIM skips them otherwise)
};

struct Selection {
  std::vector<Assessment> assessments;  // one per profile, in manifest order
  // Index into `assessments` of the automatic choice, or -1 when nothing fits.
  int chosen = -1;
  // The candidates in ranked order (indexes into `assessments`), best first: what --explain shows.
  std::vector<int> ranking;

  const Assessment* chosen_assessment() const { return chosen < 0 ? nullptr : &assessments[static_cast<std::size_t>(chosen)]; }
};

// NIM's description of a profile, built from its tags: engine, GPU (or trtllm_buildable),
// precision, tp, pp, latency/throughput, lora. Manifests never carry it; it is derived.
std::string describe_profile(const Profile& profile);

// Sorts every profile into a section for `hardware` and makes the automatic choice: among
// runnable profiles (LoRA ones only with options.lora), hardware-specific before generic, then
// engine tensorrt_llm > vllm > sglang > others, then precision (mxfp4 > fp8 > int8 > fp16 >
// bf16 > int8wo > nvfp4 > int4_awq > others), latency before throughput, then the most GPUs
// that fit; buildable profiles only when nothing is runnable. The Selection points into
// `manifest`, which must outlive it.
Selection select_profiles(const Manifest& manifest, const Hardware& hardware, const SelectionOptions& options = {});

// A profile by id or by description (NIM_MODEL_PROFILE accepts both). Unknown or ambiguous
// names are an error listing the valid ones.
Result<const Profile*> find_profile(const Manifest& manifest, std::string_view id_or_description);

// The profile to use: `requested` (id or description) when given, else the automatic choice.
// Fails with the reason when nothing fits, naming the closest sections.
Result<const Assessment*> resolve_profile(const Selection& selection, const Manifest& manifest,
                                          std::string_view requested);

}  // namespace airlock::profiles
