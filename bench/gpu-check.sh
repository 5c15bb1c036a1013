#!/usr/bin/env bash
# The CUDA backend's check, in a few minutes on a machine with an NVIDIA GPU:
#   1. configure + build (Release, -DAIRLOCK_CUDA=ON, kernels for this GPU only) airlock,
#      engine_bench and the engine's integration tests;
#   2. ctest ModelParity + CliEngine: the tiny generated BERT/RoBERTa/XLM-R models against the
#      PyTorch reference on CPU and on CUDA (fp32 1e-4; fp16/bf16 cosine 0.999). They need
#      /usr/bin/python3 with torch, node with the repository's node_modules and spm_train to
#      generate their data; without those they are skipped, and this script says so;
#   3. bench/engine/gpu_check.py: random models of real shapes (bge-small, BERT-base, e5-large,
#      xlm-roberta-base) through `airlock embed` on CPU and CUDA (fp32, fp16, bf16) against the
#      PyTorch reference forward, and against transformers / sentence-transformers when that
#      python has them; then airlock CUDA against PyTorch CUDA speed at 32 x 128, 1 x 16, 1 x 128.
# Usage: bench/gpu-check.sh [--no-gpu]   (--no-gpu: build the CUDA backend and run the CPU parts
# only, to try this script on a machine without a GPU). Environment: AIRLOCK_GPU_BUILD (build
# folder, default build/gpu-check), PYTHON (a python with torch; default python3), CUDA_ARCHS
# (default "native": the GPU at hand).
# Needs the build dependencies of scripts/setup (Debian package names listed there), CMake >= 3.24
# and the CUDA toolkit. The report goes to $AIRLOCK_GPU_BUILD/gpu-check.md; record it in
# bench/README.md ("engine").
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AIRLOCK_GPU_BUILD:-$root/build/gpu-check}"
python="${PYTHON:-python3}"
no_gpu=0
[ "${1:-}" = "--no-gpu" ] && no_gpu=1
cd "$root"
say() { echo "gpu-check: $*" >&2; }
fail() { say "$*"; exit 2; }

# ---- preflight: say everything that is missing at once -------------------------------------
command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
missing=()
for tool in cmake ninja g++ nvcc "$python"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for header in dnnl.hpp cblas.h yaml.h curl/curl.h nlohmann/json.hpp CLI/CLI.hpp fmt/format.h gtest/gtest.h archive.h sqlite3.h; do
  found=0
  for dir in /usr/include /usr/local/include /usr/include/x86_64-linux-gnu /usr/include/x86_64-linux-gnu/openblas-pthread; do
    [ -e "$dir/$header" ] && found=1 && break
  done
  [ $found -eq 1 ] || missing+=("$header")
done
"$python" -c "import torch" 2>/dev/null || missing+=("torch for $python")
[ ${#missing[@]} -eq 0 ] || fail "missing: ${missing[*]} (scripts/setup lists the Debian packages; CUDA from NVIDIA)"
archs="${CUDA_ARCHS:-native}"
if [ $no_gpu -eq 0 ]; then
  nvidia-smi -L >&2 || fail "no NVIDIA GPU visible (nvidia-smi failed); use --no-gpu to try the CPU parts"
  "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" ||
    say "warning: $python's torch has no CUDA: the speed comparison will be skipped"
else
  [ "$archs" = native ] && archs=90
fi

# ---- 1. build --------------------------------------------------------------------------------
started=$SECONDS
say "building in $build (CUDA architectures: $archs)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIRLOCK_CUDA=ON -DAIRLOCK_CUDA_ARCHITECTURES="$archs" \
  -DAIRLOCK_TESTS=ON -DAIRLOCK_BENCH=ON -DAIRLOCK_WERROR=OFF > "$build.configure.log" 2>&1 ||
  { tail -n 30 "$build.configure.log" >&2; fail "configure failed (log: $build.configure.log)"; }
cmake --build "$build" -j "$(nproc)" --target airlock engine_integration_test engine_bench > "$build.build.log" 2>&1 ||
  { grep -E "error|Error" "$build.build.log" | head -n 30 >&2; fail "build failed (log: $build.build.log)"; }
say "built in $((SECONDS - started)) s"

status=0
report="$build/gpu-check.md"
{
  echo "# bench/gpu-check.sh, $(date -u +%Y-%m-%d)"
  echo
  echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo none)."
  echo "nvcc: $(nvcc --version | tail -n 1). CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores."
  echo
} > "$report"

# ---- 2. parity tests on the generated tiny models ------------------------------------------
say "correctness: ctest ModelParity + CliEngine (CPU and CUDA variants)"
started=$SECONDS
(cd "$build" && ctest -R 'ModelParity|CliEngine|ModelConcurrency' --output-on-failure -j "$(nproc)") > "$build.ctest.log" 2>&1 ||
  status=1
summary="$(grep -E "tests passed|tests failed" "$build.ctest.log" | tail -n 1)"
skipped="$(grep -c "(Skipped)" "$build.ctest.log" || true)"
cuda_run="$(grep -E "cuda_(fp32|fp16|bf16).*(Passed|Failed)" "$build.ctest.log" | grep -c . || true)"
{
  echo "## ctest ModelParity + CliEngine ($((SECONDS - started)) s)"
  echo
  echo "$summary; $skipped skipped; CUDA variants that ran: $cuda_run of 18."
  grep -E "engine test data unavailable" "$build.ctest.log" | head -n 1 | sed 's/^/Skipped because: /'
  grep -E "\*\*\*Failed|Failed  " "$build.ctest.log" | sed 's/^/    /'
  echo
} >> "$report"
if [ $no_gpu -eq 0 ] && [ "$cuda_run" -eq 0 ]; then
  say "the CUDA parity variants did not run (see $build.ctest.log): gpu_check.py below is the CUDA correctness check"
fi

# ---- 3. real shapes against PyTorch (and transformers), then speed ----------------------------
say "real shapes against PyTorch, then speed"
started=$SECONDS
extra=()
[ $no_gpu -eq 1 ] && extra+=(--no-gpu)
"$python" bench/engine/gpu_check.py --airlock "$build/src/cli/airlock" --bench "$build/bench/engine/engine_bench" \
  "${extra[@]}" >> "$report" || status=1
echo "(gpu_check.py: $((SECONDS - started)) s)" >> "$report"
cat "$report"
say "report: $report; status $status"
exit $status
