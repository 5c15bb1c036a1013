// OpenMP threads that spin at barriers (libgomp's default: ~300,000 spins before sleeping) steal
// the core of a thread that still has work whenever another process holds a core: on a shared
// 2-core machine the engine's batch-1 latency grows ~40x. libgomp reads OMP_WAIT_POLICY once, when
// it is loaded, before main() runs, so the commands that run the engine restart themselves with
// OMP_WAIT_POLICY=passive when the user has not chosen a policy (or a GOMP_SPINCOUNT) themselves.
#pragma once

namespace airlock::cli {

// Call first thing in main(). For `serve`, `embed` and `rank` without OMP_WAIT_POLICY or
// GOMP_SPINCOUNT in the environment: sets OMP_WAIT_POLICY=passive and re-executes
// /proc/self/exe with the same arguments (same pid; the variable now set is the loop guard).
// Returns when nothing needed doing, or when the re-exec failed (then the run goes on with
// libgomp's default).
void use_passive_openmp_wait(int argc, char** argv);

}  // namespace airlock::cli
