#!/usr/bin/env bash
# Builds the tokenizer's libFuzzer target (fuzz/tokenizer/fuzz_tokenizer.cpp) with clang++ and
# AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes it for SECONDS (default 60), seeded
# with the test corpus. Usage: scripts/fuzz-tokenizer.sh [SECONDS]. Needs clang and
# libclang-rt-14-dev (scripts/setup.sh) and the Llama 3.1 tokenizer in the set-up cache (or
# SWALLOW_TOKENIZER_JSON). Exits non-zero when the fuzzer finds a crash or a broken invariant.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
root="$(repo_root)"
seconds="${1:-60}"
out="${SWALLOW_FUZZ_DIR:-$root/build-fuzz}/tokenizer"
mkdir -p "$out/corpus"

note "building $out/fuzz_tokenizer"
sources=("$root"/src/tokenizer/*.cpp "$root/src/core/utf8.cpp" "$root/src/core/error.cpp" "$root/src/core/mmap_file.cpp")
# shellcheck disable=SC2046
clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root/src" "${sources[@]}" "$root/fuzz/tokenizer/fuzz_tokenizer.cpp" \
  $(pkg-config --cflags --libs icu-uc) -o "$out/fuzz_tokenizer"

# Seeds: the first cases of each source in the test corpus, one file each.
python3 - "$root/tests/golden/tokenizer/data/corpus.jsonl" "$out/corpus" <<'PY'
import json, os, sys
seen = {}
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    for line in f.read().split("\n"):
        if not line:
            continue
        record = json.loads(line)
        n = seen.get(record["source"], 0)
        if n < 40:
            seen[record["source"]] = n + 1
            with open(os.path.join(sys.argv[2], f"seed_{record['source']}_{n}"), "wb") as out:
                out.write(record["text"].encode("utf-8")[:4096])
PY

note "fuzzing for ${seconds}s"
"$out/fuzz_tokenizer" -max_total_time="$seconds" -max_len=4096 -timeout=30 -rss_limit_mb=4096 \
  -print_final_stats=1 "$out/corpus"
