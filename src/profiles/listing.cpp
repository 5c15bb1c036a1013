#include "profiles/listing.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tuple>

#include "core/units.h"

namespace airlock::profiles {
namespace {

std::string cpu_line(const CpuInfo& cpu) {
  std::string model = cpu.model.empty() ? std::string("unknown CPU") : cpu.model;
  std::string line = fmt::format("- CPU: {} ({} cores, {} threads, {} memory)", model, cpu.cores, cpu.threads,
                                 format_bytes(cpu.memory_total_bytes));
  if (!cpu.features.empty()) line += fmt::format(" [{}]", fmt::join(cpu.features, " "));
  return line;
}

void append_items(std::string& out, const Selection& selection, Section section, bool lora, const char* indent) {
  for (const Assessment& a : selection.assessments) {
    if (a.section == section && a.lora == lora) out += fmt::format("{}- {} ({})\n", indent, a.profile->id, a.description);
  }
}

bool any_in(const Selection& selection, Section section, bool lora) {
  for (const Assessment& a : selection.assessments) {
    if (a.section == section && a.lora == lora) return true;
  }
  return false;
}

// A section whose LoRA profiles are nested under "With LoRA support:" (runnable, buildable);
// the other sections list LoRA profiles with the rest.
void append_section(std::string& out, const Selection& selection, Section section, std::string_view header,
                    bool nest_lora) {
  bool plain = any_in(selection, section, false);
  bool with_lora = any_in(selection, section, true);
  if (!plain && !with_lora) {
    out += fmt::format("{} <None>\n", header);
    return;
  }
  out += fmt::format("{}\n", header);
  if (nest_lora) {
    append_items(out, selection, section, false, "  ");
    if (with_lora) {
      out += "  - With LoRA support:\n";
      append_items(out, selection, section, true, "    ");
    }
  } else {
    for (const Assessment& a : selection.assessments) {
      if (a.section == section) out += fmt::format("  - {} ({})\n", a.profile->id, a.description);
    }
  }
}

}  // namespace

std::string gpu_line(const GpuInfo& gpu) {
  // NIM prints the family in parentheses when it knows it, and nothing (not even a space)
  // otherwise: "NVIDIA RTX 6000 Ada Generation[current utilization: 0%]".
  std::string family = gpu.family.empty() ? std::string() : fmt::format(" ({}) ", gpu.family);
  return fmt::format("  -  [{}] ({}) {}{}[current utilization: {}%]", gpu.pci_id(), gpu.index, gpu.name, family,
                     gpu.utilization_percent);
}

std::string render_system_info(const Hardware& hardware) {
  std::string out = "SYSTEM INFO\n";
  if (hardware.gpus.empty()) {
    out += "- No GPUs found\n";
    out += cpu_line(hardware.cpu) + "\n";
  } else {
    std::vector<const GpuInfo*> free, busy;
    for (const GpuInfo& gpu : hardware.gpus) (gpu.is_free() ? free : busy).push_back(&gpu);
    if (free.empty()) {
      out += "- Free GPUs: <None>\n";
    } else {
      out += "- Free GPUs:\n";
      for (const GpuInfo* gpu : free) out += gpu_line(*gpu) + "\n";
    }
    if (!busy.empty()) {
      out += "- Non-free GPUs:\n";
      for (const GpuInfo* gpu : busy) out += gpu_line(*gpu) + "\n";
    }
  }
  return out;
}

std::string render_listing(const Hardware& hardware, const Selection& selection) {
  std::string out = render_system_info(hardware);
  out += "MODEL PROFILES\n";
  append_section(out, selection, Section::kRunnable, "- Compatible with system and runnable:", true);
  append_section(out, selection, Section::kLowMemory, "- Compatible with system but low memory:", false);
  append_section(out, selection, Section::kBuildable,
                 "- Compilable to TRT-LLM using just-in-time compilation of HF models to TRTLLM engines:", true);
  append_section(out, selection, Section::kIncompatible, "- Incompatible with system:", false);
  return out;
}

std::string render_explanation(const Hardware& hardware, const Selection& selection) {
  std::string out = fmt::format("HARDWARE ({})\n", hardware.source.empty() ? "detected" : hardware.source);
  if (hardware.gpus.empty()) out += "- no GPUs\n";
  for (const GpuInfo& gpu : hardware.gpus) {
    out += fmt::format("- GPU {}: {} [{}], {} total, {} used{}\n", gpu.index, gpu.name, gpu.pci_id(),
                       format_bytes(gpu.memory_total_bytes), format_bytes(gpu.memory_used_bytes),
                       gpu.is_free() ? "" : " (not free: more than 5% in use)");
  }
  out += cpu_line(hardware.cpu) + "\n";
  out += "PROFILES\n";
  for (const Assessment& a : selection.assessments) {
    out += fmt::format("- {} ({})\n    {}: {}\n", a.profile->id, a.description, section_name(a.section), a.reason);
  }
  out += "AUTOMATIC CHOICE\n";
  out += "  order: hardware-specific > generic; tensorrt_llm > vllm > sglang > others; "
         "mxfp4 > fp8 > int8 > fp16 > bf16 > int8wo > nvfp4 > int4_awq; latency > throughput; most GPUs\n";
  if (selection.ranking.empty()) {
    out += "  nothing is runnable on this hardware\n";
  } else {
    int rank = 1;
    for (int index : selection.ranking) {
      const Assessment& a = selection.assessments[static_cast<std::size_t>(index)];
      out += fmt::format("  {}. {} ({}){}\n", rank++, a.profile->id, a.description, index == selection.chosen ? "  <- selected" : "");
    }
  }
  return out;
}

Json listing_to_json(const Hardware& hardware, const Selection& selection) {
  Json out;
  out["system"] = hardware_to_json(hardware);
  out["profiles"] = Json::array();
  Json sections = Json::object();
  for (const char* name : {"runnable", "runnable_lora", "low_memory", "buildable", "buildable_lora", "incompatible"}) {
    sections[name] = Json::array();
  }
  for (const Assessment& a : selection.assessments) {
    Json item;
    item["id"] = a.profile->id;
    item["description"] = a.description;
    item["section"] = section_name(a.section);
    item["lora"] = a.lora;
    item["gpus_needed"] = a.gpus_needed;
    item["requirement"] = a.requirement;
    item["reason"] = a.reason;
    item["tags"] = Json::object();
    for (const auto& [key, value] : a.profile->tags) item["tags"][key] = value;
    out["profiles"].push_back(std::move(item));
    std::string section(section_name(a.section));
    bool nested = a.lora && (a.section == Section::kRunnable || a.section == Section::kBuildable);
    sections[nested ? section + "_lora" : section].push_back(a.profile->id);
  }
  out["sections"] = std::move(sections);
  if (const Assessment* chosen = selection.chosen_assessment()) {
    out["selected"] = {{"id", chosen->profile->id}, {"description", chosen->description}};
  } else {
    out["selected"] = nullptr;
  }
  return out;
}

}  // namespace airlock::profiles
