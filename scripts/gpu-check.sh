#!/usr/bin/env bash
# Checks the CUDA backend on a machine with an NVIDIA GPU and records everything in OUTDIR:
# the card and toolchain, a Release build with -DSWALLOW_CUDA=ON, the gpu test suite (ctest -L
# gpu), compute-sanitizer memcheck/racecheck of the gpu tests, the card's ceilings (copy
# bandwidth, bf16 GEMM), op benchmarks, and `swallow bench latency --device cuda` when the CLI
# supports it. Every step runs even when an earlier one failed; a summary table ends the run
# (also in OUTDIR/summary.md); the exit status is non-zero when any step failed.
#
# Usage: scripts/gpu-check.sh OUTDIR
# Environment (all optional):
#   CMAKE_PREFIX_PATH   extra prefixes for find_package (e.g. unpacked dependencies)
#   SWALLOW_DEBS        folder of .deb files unpacked into the build folder as extra dependencies
#   SWALLOW_BUILD_DIR   build folder (default: build-gpu in the repository)
#   CUDA_ARCHS          CMAKE_CUDA_ARCHITECTURES (default: the card's, e.g. 90a on Hopper)
#   JOBS                build parallelism (default: nproc)
#   TEST_TIMEOUT        seconds per gpu test (default 900)
#   SANITIZER_TIMEOUT   seconds per compute-sanitizer run (default 300)
#   STEPS               which groups to run, of "env build test sanitize bench" (default all); a
#                       later call can reuse the build folder, e.g. STEPS="sanitize" to fit a time limit
set -uo pipefail

out=${1:?usage: scripts/gpu-check.sh OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SWALLOW_BUILD_DIR:-$root/build-gpu}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 4)}
test_timeout=${TEST_TIMEOUT:-900}
sanitizer_timeout=${SANITIZER_TIMEOUT:-300}
steps=" ${STEPS:-env build test sanitize bench} "

exec 3>&1                       # progress and the summary go to the terminal
exec >>"$out/log.txt" 2>&1      # every command and its output to the log
set -x

summary=()
failed=0
note() { printf '==> %s\n' "$*" >&3; echo "==> $*"; }
# step NAME CMD...: runs CMD, records ok / FAILED and the time taken.
step() {
  local name=$1 start rc
  shift
  note "$name"
  start=$(date +%s)
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    summary+=("| $name | ok | $(( $(date +%s) - start )) s |")
  else
    summary+=("| $name | FAILED (exit $rc) | $(( $(date +%s) - start )) s |")
    failed=1
  fi
  return "$rc"
}
skip() { note "$1: skipped ($2)"; summary+=("| $1 | skipped: $2 | |"); }
wanted() { [[ "$steps" == *" $1 "* ]]; }

environment() {
  {
    date -u
    uname -a
    nvidia-smi || true
    nvidia-smi --query-gpu=name,compute_cap,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv || true
    command -v nvcc && nvcc --version
    cmake --version
    c++ --version
    git -C "$root" log -1 --oneline || true
    git -C "$root" status --short || true
  } >"$out/environment.txt" 2>&1
}

unpack_debs() {
  local deps=$build/deps deb
  mkdir -p "$deps"
  for deb in "$SWALLOW_DEBS"/*.deb; do dpkg -x "$deb" "$deps" || return 1; done
  export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

cuda_archs() {
  if [ -n "${CUDA_ARCHS:-}" ]; then echo "$CUDA_ARCHS"; return; fi
  local cap
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  case "$cap" in
    90) echo 90a ;;
    '') echo "90a;80" ;;
    *) echo "$cap" ;;
  esac
}

configure() {
  local archs
  archs=$(cuda_archs)
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSWALLOW_CUDA=ON -DSWALLOW_TESTS=ON \
    "-DCMAKE_CUDA_ARCHITECTURES=$archs" "$@"
}

build_target() { cmake --build "$build" -j "$jobs" --target "$1"; }

sanitizer() {
  local tool=$1 filter=$2 bin=$build/tests/gpu/backend/gpu_backend cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
  [ -n "$cs" ] || { echo "compute-sanitizer not found"; return 127; }
  timeout "$sanitizer_timeout" "$cs" --tool "$tool" --error-exitcode 9 --print-limit 50 "$bin" \
    --gtest_filter="$filter" >"$out/$tool.log" 2>&1
}

gpu_tests() {
  (cd "$build" && ctest -L gpu --output-on-failure --timeout "$test_timeout" --output-junit "$out/ctest_gpu.xml") \
    >"$out/ctest_gpu.log" 2>&1
}

latency_bench() {
  "$cli" bench latency --device cuda --dummy-weights llama3.1-8b --format json \
    >"$out/bench_latency_8b.json" 2>"$out/bench_latency_8b.stderr"
}

# --- run -------------------------------------------------------------------------------------
wanted env && step "environment" environment
if [ -n "${SWALLOW_DEBS:-}" ]; then step "unpack SWALLOW_DEBS" unpack_debs; fi

gpu_backend=$build/tests/gpu/backend/gpu_backend
ceilings=$build/bench/cuda/bench_cuda_ceilings
ops=$build/bench/cuda/bench_cuda_ops
cli=$build/src/cli/swallow
if wanted build; then
  tests_on=1
  if ! step "configure" configure; then
    if step "configure without tests (GTest missing?)" configure -DSWALLOW_TESTS=OFF; then tests_on=0; fi
  fi
  if [ "$tests_on" = 1 ]; then step "build gpu_backend (tests)" build_target gpu_backend; fi
  step "build bench_cuda_ceilings" build_target bench_cuda_ceilings
  step "build bench_cuda_ops" build_target bench_cuda_ops
  step "build swallow (CLI, optional)" build_target swallow
  cuobjdump --dump-resource-usage "$build/src/backend/cuda/libswallow_backend_cuda.a" >"$out/resource_usage.txt" 2>&1
fi

if wanted bench; then
  if [ -x "$ceilings" ]; then
    step "ceilings (copy bandwidth, bf16 GEMM)" bash -c '"$0" "$1/ceilings.json" >"$1/ceilings.md"' "$ceilings" "$out"
  else skip "ceilings" "not built"; fi
fi

if wanted test; then
  if [ -x "$gpu_backend" ]; then step "ctest -L gpu" gpu_tests; else skip "ctest -L gpu" "tests not built"; fi
fi
if wanted sanitize; then
  if [ -x "$gpu_backend" ]; then
    step "compute-sanitizer memcheck" sanitizer memcheck '-*LongContext*:*SingleLongDecode*:GpuSampling.SeededDraws*'
    step "compute-sanitizer racecheck (attention, sampling)" sanitizer racecheck \
      'GpuAttention.RaggedPrefillWithDecode:GpuAttention.HeadDim64*:GpuAttention.DecodeBatch*:GpuSampling.TiesAreBrokenLikeCpu'
  else skip "compute-sanitizer" "tests not built"; fi
fi

if wanted bench; then
  if [ -x "$ops" ]; then
    step "bench_cuda_ops" bash -c '"$0" "$1/cuda_ops.json" >"$1/cuda_ops.md"' "$ops" "$out"
  else skip "bench_cuda_ops" "not built"; fi
  if [ -x "$cli" ] && "$cli" bench latency --help 2>&1 | grep -q -- "--device"; then
    step "swallow bench latency --device cuda (8B dummy)" latency_bench
  else skip "swallow bench latency" "CLI not built or without --device"; fi
fi

# --- summary ---------------------------------------------------------------------------------
set +x
{
  echo "# gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/card: /'
  echo
  echo "| step | result | time |"
  echo "|---|---|---|"
  printf '%s\n' "${summary[@]}"
  echo
  if [ -f "$out/ctest_gpu.log" ]; then
    grep -E "tests passed|tests failed" "$out/ctest_gpu.log"
    grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)" "$out/ctest_gpu.log" | head -30
    echo
  fi
  for f in memcheck racecheck; do
    [ -f "$out/$f.log" ] && echo "$f: $(grep -E "(ERROR|RACECHECK) SUMMARY" "$out/$f.log" | tail -1)"
  done
  echo
  [ -f "$out/ceilings.md" ] && cat "$out/ceilings.md" && echo
  [ -f "$out/cuda_ops.md" ] && cat "$out/cuda_ops.md"
} >"$out/summary.md" 2>&1
cat "$out/summary.md" >&3
echo "full log: $out/log.txt" >&3
exit "$failed"
