#!/usr/bin/env bash
# Builds the chat-template libFuzzer target (fuzz/chat/fuzz_template.cpp) with clang++
# -fsanitize=fuzzer,address,undefined and runs it for N seconds (default 60), seeded with the golden
# templates. Usage: scripts/fuzz-chat.sh [SECONDS]. Crash inputs land in build-fuzz-chat/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
root="$(repo_root)"
seconds="${1:-60}"
out="${SWALLOW_FUZZ_DIR:-$root/build-fuzz-chat}"
mkdir -p "$out/obj" "$out/corpus"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$root/src")
sources=("$root"/src/chat/*.cpp "$root/src/core/error.cpp" "$root/src/core/mmap_file.cpp" "$root/src/core/utf8.cpp")
note "compiling ${#sources[@]} sources into $out"
objects=()
pids=()
for src in "${sources[@]}"; do
  obj="$out/obj/$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"
  objects+=("$obj")
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "$root/src/chat" "$root/src/core" -name '*.h' -newer "$obj" -print -quit)" ]; then
    clang++ "${flags[@]}" -c "$src" -o "$obj" &
    pids+=($!)
    if ((${#pids[@]} >= $(jobs_count))); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
clang++ "${flags[@]/fuzzer-no-link/fuzzer}" "$root/fuzz/chat/fuzz_template.cpp" "${objects[@]}" -licuuc -o "$out/fuzz_template"
cp "$root"/tests/golden/chat/templates/*.jinja "$out/corpus/"
note "fuzzing for $seconds s"
cd "$out"
"$out/fuzz_template" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict="$root/fuzz/chat/jinja.dict" -print_final_stats=1 "$out/corpus"
