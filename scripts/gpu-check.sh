#!/usr/bin/env bash
# Checks the CUDA backend on a machine with an NVIDIA GPU and records everything in OUTDIR:
# the card and toolchain, a Release build with -DSWALLOW_CUDA=ON, the gpu test suite (ctest -L
# gpu), compute-sanitizer memcheck/racecheck of the gpu tests, the card's ceilings (copy
# bandwidth, bf16 GEMM), op benchmarks, every front end with --device cuda (generate, chat, batch,
# serve with real HTTP requests) and the engine benchmarks on a dummy Llama 3.1 8B (latency,
# prefill, 128-sequence throughput, `bench serve` with 1,000 chat-like requests). Every step runs even when an earlier one failed; a summary table ends the run
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
#   SWALLOW_CACHE       set-up cache holding llama3.1-tokenizer/ (for the dummy-weight runs)
#   STEPS               which groups to run, of "env build test sanitize bench frontends engine"
#                       (default all); a
#                       later call can reuse the build folder, e.g. STEPS="sanitize" to fit a time limit
set -uo pipefail

out=${1:?usage: scripts/gpu-check.sh OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SWALLOW_BUILD_DIR:-$root/build-gpu}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 4)}
test_timeout=${TEST_TIMEOUT:-900}
sanitizer_timeout=${SANITIZER_TIMEOUT:-300}
steps=" ${STEPS:-env build test sanitize bench frontends engine} "

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

build_targets() { cmake --build "$build" -j "$jobs" --target "$@"; }

# sanitizer TOOL FILTER SUITE: compute-sanitizer TOOL on tests/gpu/SUITE, log OUTDIR/TOOL_SUITE.log.
sanitizer() {
  local tool=$1 filter=$2 suite=$3 bin=$build/tests/gpu/$3/gpu_$3 cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
  [ -n "$cs" ] || { echo "compute-sanitizer not found"; return 127; }
  timeout "$sanitizer_timeout" "$cs" --tool "$tool" --error-exitcode 9 --print-limit 50 "$bin" \
    --gtest_filter="$filter" >"$out/${tool}_$suite.log" 2>&1
}

gpu_tests() {
  (cd "$build" && ctest -L gpu -V --timeout "$test_timeout" --output-junit "$out/ctest_gpu.xml") \
    >"$out/ctest_gpu.log" 2>&1
}

# bench_json NAME ARGS...: `swallow bench ARGS --format json` into OUTDIR/bench_NAME.json.
bench_json() {
  local name=$1
  shift
  "$cli" bench "$@" --format json >"$out/bench_$name.json" 2>"$out/bench_$name.stderr"
}

# bench_json with programmatic dependent launch off (to measure what it gives).
bench_json_without_dependent_launch() { SWALLOW_CUDA_DEPENDENT_LAUNCH=0 bench_json "$@"; }

# Every front end on the GPU with the demo model (real tokenizer and template) and a dummy 8B.
demo=$root/models/tiny-demo-ja
frontends() {
  local f=$out/frontends
  mkdir -p "$f"
  "$cli" generate --model "$demo" --device cuda --temperature 0 --max-tokens 40 \
    --prompt "ls は「ディレクトリの内容をリスト表示する」" >"$f/generate_demo.txt" 2>&1 || return 1
  "$cli" chat --model "$demo" --device cuda --seed 1 --prompt "ls とは何ですか？" >"$f/chat_demo.txt" 2>&1 || return 1
  "$cli" generate --dummy-weights llama3.1-8b --device cuda --max-tokens 32 --ignore-eos \
    --prompt "日本の首都は" >"$f/generate_8b.txt" 2>&1 || return 1
  printf '%s\n' \
    '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"demo","messages":[{"role":"user","content":"ls とは何ですか？"}],"temperature":0}}' \
    '{"custom_id":"b","method":"POST","url":"/v1/completions","body":{"model":"demo","prompt":"Debian","max_tokens":16,"seed":3}}' \
    >"$f/batch_in.jsonl"
  "$cli" batch --model "$demo" --device cuda --served-model-name demo -i "$f/batch_in.jsonl" -o "$f/batch_out.jsonl" \
    >"$f/batch.log" 2>&1 || return 1
  "$cli" serve --model "$demo" --device cuda --served-model-name demo --port 8431 >"$f/serve_demo.log" 2>&1 &
  local pid=$!
  python3 "$root/scripts/gpu_http_check.py" http://127.0.0.1:8431 >"$f/http_demo.txt" 2>&1
  local rc=$?
  kill -TERM "$pid"
  wait "$pid" || rc=1
  return "$rc"
}

# Serving benchmark: a dummy 8B server and 1,000 requests with chat-like lengths.
serve_bench() {
  "$cli" serve --dummy-weights llama3.1-8b --device cuda --port 8432 >"$out/serve_8b.log" 2>&1 &
  local pid=$! rc
  python3 "$root/scripts/gpu_http_check.py" --wait-only http://127.0.0.1:8432 >>"$out/serve_8b.log" 2>&1 &&
    bench_json serve_8b serve --base-url http://127.0.0.1:8432 --num-requests 1000 \
      --prompt-tokens normal:250:100 --output-tokens normal:200:80 --max-token-id 100000
  rc=$?
  kill -TERM "$pid"
  wait "$pid" || rc=1
  return "$rc"
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
  targets=(swallow bench_cuda_ceilings bench_cuda_ops)
  [ "$tests_on" = 1 ] && targets+=(gpu_backend gpu_model)
  step "build ${targets[*]}" build_targets "${targets[@]}"
  cuobjdump --dump-resource-usage "$build/src/backend/cuda/libswallow_backend_cuda.a" >"$out/resource_usage.txt" 2>&1
fi

if wanted bench; then
  if [ -x "$ceilings" ]; then
    step "ceilings (copy bandwidth, bf16 GEMM)" bash -c '"$0" "$1/ceilings.json" >"$1/ceilings.md"' "$ceilings" "$out"
  else skip "ceilings" "not built"; fi
fi

if wanted test; then
  if [ -x "$gpu_backend" ]; then step "ctest -L gpu" gpu_tests; else skip "ctest -L gpu" "tests not built"; fi
  grep -E "worst relative logits error|identical|first difference" "$out/ctest_gpu.log" \
    >"$out/gpu_model_results.txt" 2>/dev/null
fi
if wanted sanitize; then
  if [ -x "$gpu_backend" ]; then
    step "compute-sanitizer memcheck (ops)" sanitizer memcheck '-*LongContext*:*SingleLongDecode*:GpuSampling.SeededDraws*' backend
    # Tests that reach cuBLASLt are left out of racecheck: it reports the split-K kernels' own
    # shared memory use (seen with cuBLAS 13.0).
    step "compute-sanitizer racecheck (attention, sampling, fused ops)" sanitizer racecheck \
      'GpuAttention.RaggedPrefillWithDecode:GpuAttention.HeadDim64*:GpuAttention.DecodeBatch*:GpuSampling.TiesAreBrokenLikeCpu:GpuFusedOps.AddRmsNorm*:GpuFusedOps.RopeStoreKv*' backend
    step "compute-sanitizer memcheck (model on golden checkpoints)" sanitizer memcheck 'Checkpoints/*' model
  else skip "compute-sanitizer" "tests not built"; fi
fi

if wanted bench; then
  if [ -x "$ops" ]; then
    step "bench_cuda_ops" bash -c '"$0" "$1/cuda_ops.json" >"$1/cuda_ops.md"' "$ops" "$out"
  else skip "bench_cuda_ops" "not built"; fi
fi
if wanted frontends; then
  if [ -x "$cli" ]; then step "front ends --device cuda (generate, chat, batch, serve)" frontends
  else skip "front ends" "CLI not built"; fi
fi
if wanted engine; then
  if [ -x "$cli" ]; then
    d8=(--device cuda --dummy-weights llama3.1-8b)
    step "bench latency 8B: prompt 128, 128 new" bench_json latency_8b latency "${d8[@]}" --prompt-tokens 128 \
      --gen-tokens 128 --repetitions 5
    step "bench latency 8B: prompt 128, 128 new, eager (no CUDA graphs)" bench_json latency_8b_eager latency \
      "${d8[@]}" --prompt-tokens 128 --gen-tokens 128 --repetitions 5 --enforce-eager
    step "bench latency 8B: prompt 128, 128 new, eager, no dependent launch" bench_json_without_dependent_launch \
      latency_8b_eager_no_dependent_launch latency "${d8[@]}" --prompt-tokens 128 --gen-tokens 128 --repetitions 5 \
      --enforce-eager
    step "bench latency 8B: prefill 2048" bench_json prefill_8b latency "${d8[@]}" --prompt-tokens 2048 --gen-tokens 1
    step "bench throughput 8B: 128 x (128 + 128)" bench_json throughput_8b throughput "${d8[@]}" \
      --num-requests 128 --prompt-tokens 128 --output-tokens 128
    step "bench throughput 8B: 128 x (128 + 128), eager (no CUDA graphs)" bench_json throughput_8b_eager throughput \
      "${d8[@]}" --num-requests 128 --prompt-tokens 128 --output-tokens 128 --enforce-eager
    step "bench serve 8B: 1,000 chat-like requests" serve_bench
  else skip "engine benchmarks" "CLI not built"; fi
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
  for f in memcheck_backend racecheck_backend memcheck_model; do
    [ -f "$out/$f.log" ] && echo "$f: $(grep -E "(ERROR|RACECHECK) SUMMARY" "$out/$f.log" | tail -1)"
  done
  echo
  [ -f "$out/ceilings.md" ] && cat "$out/ceilings.md" && echo
  [ -f "$out/cuda_ops.md" ] && cat "$out/cuda_ops.md"
} >"$out/summary.md" 2>&1
cat "$out/summary.md" >&3
echo "full log: $out/log.txt" >&3
exit "$failed"
