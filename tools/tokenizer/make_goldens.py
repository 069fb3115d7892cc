#!/usr/bin/env python3
"""Writes the tokenizer goldens: what HF tokenizers gives for every case of the corpus.

    python3 tools/tokenizer/make_goldens.py --tokenizer-dir DIR \
        --corpus tests/golden/tokenizer/data/corpus.jsonl --out OUTDIR

DIR holds the Llama 3.1 tokenizer.json. Writes OUTDIR/tokenizer_goldens.jsonl (copy it to
tests/golden/tokenizer/data/), one JSON object per line ("\\n"-separated; read it by splitting
on "\\n" only):
  {"header": {...}}                               script, library versions, input hashes
  {"kind": "encode", "i": I, "sha": S, "ids": [...], "ids_bos": [...], "ids_plain": [...]}
      corpus case I (S: first 16 hex digits of the sha256 of its UTF-8 text);
      ids = encode(text, add_special_tokens=False) (added tokens recognised, HF's default);
      ids_bos = the same with add_special_tokens=True (every 8th case and cases with "<|");
      ids_plain = with encode_special_tokens=True (special-token text as plain text), only
      where it differs from ids
  {"kind": "gpt2", "i": I, "sha": S, "ids": [...]}  every 3rd case, with the pre-tokenizer
      replaced by ByteLevel(use_regex=true) (the GPT-2 split regex)
  {"kind": "decode", "ids": [...], "text": T, "text_skip": U}
      decode(ids, skip_special_tokens=False / True) for slices of encoded cases (cutting
      characters apart), runs of single-byte tokens and random ids
Needs python3 with tokenizers (0.23); transformers' version is recorded when installed.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import random

from tokenizers import Tokenizer

SEED = 1234
BYTE_LEVEL_PRE_TOKENIZER = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}


def version_of(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def text_sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_corpus(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [json.loads(line)["text"] for line in f.read().split("\n") if line]


def byte_token_ids(tokenizer):
    """Id of the single-byte token of each byte value (GPT-2's bytes-to-unicode table)."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(0x100 + extra)
            extra += 1
    return [tokenizer.token_to_id(chars[b]) for b in range(256)]


def decode_cases(tokenizer, texts, encoded, rng):
    lists = [[]]
    # Slices of real encodings: their ends cut multi-byte characters and special tokens apart.
    for _ in range(400):
        i = rng.randrange(len(texts))
        ids = encoded[i]
        if not ids:
            continue
        a = rng.randrange(len(ids))
        b = rng.randrange(a, min(len(ids), a + 40)) + 1
        lists.append(ids[a:b])
    # Runs of single-byte tokens: every way UTF-8 can be incomplete or invalid.
    byte_ids = byte_token_ids(tokenizer)
    lead = [0xC2, 0xDF, 0xE0, 0xE3, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xC0, 0xC1, 0xFF]
    for _ in range(500):
        run = []
        for _ in range(rng.randint(1, 8)):
            kind = rng.random()
            if kind < 0.35:
                run.append(rng.choice(lead))
            elif kind < 0.75:
                run.append(rng.randrange(0x80, 0xC0))
            else:
                run.append(rng.randrange(0x00, 0x80))
        lists.append([byte_ids[b] for b in run])
    # Random ids over the whole vocabulary, special tokens included.
    n_vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    for _ in range(200):
        lists.append([rng.randrange(n_vocab) for _ in range(rng.randint(1, 12))])
    return [{"kind": "decode", "ids": ids, "text": tokenizer.decode(ids, skip_special_tokens=False),
             "text_skip": tokenizer.decode(ids, skip_special_tokens=True)} for ids in lists]


def main():
    parser = argparse.ArgumentParser(description="Write tokenizer goldens with HF tokenizers.")
    parser.add_argument("--tokenizer-dir", required=True, help="folder with tokenizer.json")
    parser.add_argument("--corpus", required=True, help="corpus.jsonl made by make_corpus.py")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args()

    tokenizer_path = os.path.join(args.tokenizer_dir, "tokenizer.json")
    tokenizer = Tokenizer.from_file(tokenizer_path)
    plain = Tokenizer.from_file(tokenizer_path)
    plain.encode_special_tokens = True
    with open(tokenizer_path, encoding="utf-8") as f:
        variant = json.load(f)
    variant["pre_tokenizer"] = BYTE_LEVEL_PRE_TOKENIZER
    gpt2 = Tokenizer.from_str(json.dumps(variant))

    texts = read_corpus(args.corpus)
    records, encoded = [], []
    for i, text in enumerate(texts):
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        encoded.append(ids)
        record = {"kind": "encode", "i": i, "sha": text_sha(text), "ids": ids}
        if i % 8 == 0 or "<|" in text:
            record["ids_bos"] = tokenizer.encode(text, add_special_tokens=True).ids
        plain_ids = plain.encode(text, add_special_tokens=False).ids
        if plain_ids != ids:
            record["ids_plain"] = plain_ids
        records.append(record)
    for i, text in enumerate(texts):
        if i % 3 == 0:
            records.append({"kind": "gpt2", "i": i, "sha": text_sha(text),
                            "ids": gpt2.encode(text, add_special_tokens=False).ids})
    records += decode_cases(tokenizer, texts, encoded, random.Random(SEED))

    header = {
        "script": "tools/tokenizer/make_goldens.py",
        "python": platform.python_version(),
        "tokenizers": version_of("tokenizers"),
        "transformers": version_of("transformers"),
        "tokenizer_json_sha256": sha256_file(tokenizer_path),
        "corpus_sha256": sha256_file(args.corpus),
        "n_corpus_cases": len(texts),
        "n_records": len(records),
    }
    os.makedirs(args.out, exist_ok=True)
    out_path = os.path.join(args.out, "tokenizer_goldens.jsonl")
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps({"header": header}, ensure_ascii=False) + "\n")
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {len(records)} records to {out_path} (tokenizers {header['tokenizers']})")


if __name__ == "__main__":
    main()
