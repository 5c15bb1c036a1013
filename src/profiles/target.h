// Hardware you do not have: `--target` and `--target-file` describe the machine a cache is
// being built for (on the connected side of the air gap, usually without its GPUs), so that
// profile selection picks for that machine instead of this one.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/result.h"
#include "profiles/hardware.h"

namespace airlock::profiles {

// Most GPUs one target may describe; far above any real node, low enough to stop a typo
// like count=80000 from building a huge list.
inline constexpr int kMaxTargetGpus = 256;

// `spec` is one or more groups joined by '+' ("2xH100+1xL40S" for a mixed node), each one of:
//   2xH100, 4xL40S, 8 x A100-80GB, 1xH100_NVL    <count>x<GPU name>
//   H100                                          one GPU
//   2x2330:10de                                   a known GPU by PCI id
//   gpu=H100,count=2                              key=value: gpu (name or PCI id), count
//   gpu=2330:10de,count=8,memory=80GiB,cc=9.0     (default 1), memory and cc (compute
//                                                 capability) override the table; a PCI id not
//                                                 in the table needs memory=
//   cpu, none                                     no GPUs (alone only)
// GPUs are numbered 0..n-1 in the order given, free (nothing used, 0% utilization). The CPU is
// `local_cpu`: a short spec says nothing about the target's CPU, and the caller passes the one
// it detected. Names are matched as find_gpu_by_name does. Errors name the bad part and show
// valid forms; an unknown GPU name lists the known ones.
Result<Hardware> parse_target(std::string_view spec, const CpuInfo& local_cpu);

// Reads the JSON form of hardware_from_json (hardware.h), e.g. one written by
// `airlock hardware --json` on the target machine.
Result<Hardware> load_target_file(const std::filesystem::path& path);

}  // namespace airlock::profiles
