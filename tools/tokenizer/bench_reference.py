#!/usr/bin/env python3
"""Single-thread encode throughput of tiktoken and HF tokenizers on the Llama 3.1 vocabulary,
side by side with swallow's bench_tokenizer when its path is given. Prints one JSON line.

    python3 tools/tokenizer/bench_reference.py --tokenizer-dir DIR \
        --corpus tests/golden/tokenizer/data/corpus.jsonl \
        [--swallow-bench build/bench/tokenizer/bench_tokenizer] [--min-seconds 3]

The texts are the corpus's ja_prose and en_prose cases, each joined by newlines (or --ja/--en
files): the same bytes bench_tokenizer reads. The tiktoken Encoding is built from tokenizer.json:
vocabulary bytes through the byte-level table, the Split regex, the added tokens as special
tokens. Timings are wall clock (run on an otherwise idle machine), best run over --min-seconds.
"""

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import tiktoken  # noqa: E402
import tokenizers  # noqa: E402


def byte_level_decoder():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(0x100 + extra)] = b
            extra += 1
    return table


def tiktoken_encoding(tokenizer_json):
    char_to_byte = byte_level_decoder()
    ranks = {bytes(char_to_byte[c] for c in token): rank for token, rank in tokenizer_json["model"]["vocab"].items()}
    specials = {t["content"]: t["id"] for t in tokenizer_json["added_tokens"]}
    pattern = tokenizer_json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    return tiktoken.Encoding(name="llama3_from_tokenizer_json", pat_str=pattern, mergeable_ranks=ranks,
                             special_tokens=specials)


def corpus_text(path, source):
    with open(path, encoding="utf-8", newline="") as f:
        records = [json.loads(line) for line in f.read().split("\n") if line]
    return "\n".join(r["text"] for r in records if r.get("source") == source)


def best_seconds(fn, min_seconds):
    best, start, runs = float("inf"), time.perf_counter(), 0
    while runs < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def main():
    parser = argparse.ArgumentParser(description="tiktoken / HF tokenizers / swallow encode throughput")
    parser.add_argument("--tokenizer-dir", required=True)
    parser.add_argument("--corpus", default="tests/golden/tokenizer/data/corpus.jsonl")
    parser.add_argument("--ja", help="Japanese prose file (default: the corpus's ja_prose cases)")
    parser.add_argument("--en", help="English prose file (default: the corpus's en_prose cases)")
    parser.add_argument("--swallow-bench", help="path of swallow's bench_tokenizer, run on the same texts")
    parser.add_argument("--min-seconds", type=float, default=3.0)
    args = parser.parse_args()

    tokenizer_path = os.path.join(args.tokenizer_dir, "tokenizer.json")
    with open(tokenizer_path, encoding="utf-8") as f:
        tokenizer_json = json.load(f)
    encoding = tiktoken_encoding(tokenizer_json)
    hf = tokenizers.Tokenizer.from_file(tokenizer_path)

    texts = {}
    for name, path, source in (("japanese_prose", args.ja, "ja_prose"), ("english_prose", args.en, "en_prose")):
        if path:
            with open(path, encoding="utf-8", newline="") as f:
                texts[name] = f.read()
        else:
            texts[name] = corpus_text(args.corpus, source)

    result = {"benchmark": "tokenizer_reference", "machine": {"cpu": platform.processor() or platform.machine(),
                                                              "python": platform.python_version()},
              "versions": {"tiktoken": tiktoken.__version__, "tokenizers": tokenizers.__version__},
              "results": {}}
    for name, text in texts.items():
        n_bytes = len(text.encode("utf-8"))
        tiktoken_ids = encoding.encode_ordinary(text)
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        entry = {"bytes": n_bytes,
                 "tiktoken_mb_s": n_bytes / best_seconds(lambda: encoding.encode_ordinary(text), args.min_seconds) / 1e6,
                 "hf_tokenizers_mb_s": n_bytes / best_seconds(
                     lambda: hf.encode(text, add_special_tokens=False), args.min_seconds) / 1e6,
                 "tiktoken_equals_hf": tiktoken_ids == hf_ids}
        result["results"][name] = entry

    if args.swallow_bench:
        with tempfile.TemporaryDirectory() as tmp:
            paths = {}
            for name, text in texts.items():
                paths[name] = os.path.join(tmp, name + ".txt")
                with open(paths[name], "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            json_path = os.path.join(tmp, "swallow.json")
            subprocess.run([args.swallow_bench, "--tokenizer", tokenizer_path, "--ja", paths["japanese_prose"],
                            "--en", paths["english_prose"], "--json", json_path,
                            "--min-seconds", str(args.min_seconds)], check=True, stdout=subprocess.DEVNULL)
            with open(json_path, encoding="utf-8") as f:
                swallow = json.load(f)
        for r in swallow["results"]:
            entry = result["results"][r["text"]]
            entry["swallow_mb_s"] = r["encode_wall_mb_s"]
            entry["swallow_cpu_mb_s"] = r["encode_mb_s"]
            entry["swallow_warm_mb_s"] = r["encode_warm_mb_s"]
            entry["swallow_vs_tiktoken"] = r["encode_wall_mb_s"] / entry["tiktoken_mb_s"]
            entry["swallow_vs_hf_tokenizers"] = r["encode_wall_mb_s"] / entry["hf_tokenizers_mb_s"]
        result["machine"]["cpu"] = swallow["machine"]["cpu"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
