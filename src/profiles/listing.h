// The `list-model-profiles` report: NIM's text layout (scripts parse it; keep it stable) and the
// same content as JSON.
#pragma once

#include <string>

#include "core/json.h"
#include "profiles/hardware.h"
#include "profiles/manifest.h"
#include "profiles/selection.h"

namespace airlock::profiles {

// The SYSTEM INFO block: free and non-free GPU lines, or "No GPUs found" with the CPU.
std::string render_system_info(const Hardware& hardware);

// SYSTEM INFO (GPU lines, or "No GPUs found" with the CPU) then MODEL PROFILES, section by
// section, "<None>" for empty ones, LoRA profiles nested under their section.
std::string render_listing(const Hardware& hardware, const Selection& selection);

// Why each profile landed where it did, and how the automatic choice ranked the candidates.
std::string render_explanation(const Hardware& hardware, const Selection& selection);

// {"system": <hardware json>, "profiles": [{id, description, section, lora, gpus_needed,
//  requirement, reason, tags}], "sections": {"runnable": [ids], "runnable_lora": [...],
//  "low_memory": [...], "buildable": [...], "buildable_lora": [...], "incompatible": [...]},
//  "selected": {id, description} | null}
Json listing_to_json(const Hardware& hardware, const Selection& selection);

// One GPU line in NIM's exact form:
// "  -  [2330:10de] (0) NVIDIA H100 80GB HBM3 (H100 80GB) [current utilization: 0%]"
std::string gpu_line(const GpuInfo& gpu);

}  // namespace airlock::profiles
