#!/usr/bin/env python3
"""Builds the tokenizer test corpus: tests/golden/tokenizer/data/corpus.jsonl.

One JSON object per line: {"text": ..., "source": ...}. Real text comes from Debian packages
(debian-reference-ja, debian-reference-en, manpages-ja) and Python's standard library; the
rest is generated edge cases (numbers, emoji/ZWJ, combining marks, full/half-width forms,
white-space runs, CRLF, special-token text, contractions, long pieces, random character mixes).
Deterministic (fixed seed, sorted inputs). Stdlib only; run from the repository root:

    apt-get install debian-reference-ja debian-reference-en manpages-ja
    python3 tools/tokenizer/make_corpus.py [--out tests/golden/tokenizer/data/corpus.jsonl]
"""

import argparse
import glob
import gzip
import html.parser
import json
import os
import random
import re
import sys

SEED = 20240601
DEBIAN_REFERENCE = "/usr/share/debian-reference"
MAN_JA = "/usr/share/man/ja"
PYTHON_LIB = "/usr/lib/python3.11"
MAX_BYTES = 1_450_000


class TextBlocks(html.parser.HTMLParser):
    """Collects the text of <p>, <li>, <td>, <dt> (white space collapsed) and <pre> (verbatim)."""

    PROSE = {"p", "li", "td", "dt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.prose, self.pre = [], []
        self._stack = []  # (tag, parts)

    def handle_starttag(self, tag, attrs):
        if tag in self.PROSE or tag == "pre":
            self._stack.append((tag, []))

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1][0] == tag:
            tag, parts = self._stack.pop()
            text = "".join(parts)
            if tag == "pre":
                self.pre.append(text)
            else:
                self.prose.append(re.sub(r"\s+", " ", text).strip())
            if self._stack:  # nested block: its text also belongs to the outer one
                self._stack[-1][1].append(text)

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][1].append(data)


def japanese_fraction(text):
    return sum(1 for c in text if "\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff") / max(1, len(text))


def debian_reference(lang):
    """Paragraphs (at least 40 characters; for Japanese, mostly Japanese) and <pre> blocks."""
    prose, pre = [], []
    for path in sorted(glob.glob(os.path.join(DEBIAN_REFERENCE, f"*.{lang}.html"))):
        parser = TextBlocks()
        with open(path, encoding="utf-8") as f:
            parser.feed(f.read())
        prose += [p for p in parser.prose if len(p) >= 40 and (lang != "ja" or japanese_fraction(p) >= 0.3)]
        pre += [p for p in parser.pre if p.strip()]
    return prose, pre


ROFF_ESCAPES = [
    (r"\f[BIRP]", ""), (r"\f\(..", ""), (r"\fI", ""), (r"\,", ""), (r"\/", ""), (r"\-", "-"),
    (r"\e", "\\"), (r"\(aq", "'"), (r"\(dq", '"'), (r"\(em", "—"), (r"\(en", "–"), (r"\&", ""),
    (r"\(bu", "•"), (r"\ ", " "), (r"\|", ""), (r"\^", ""), (r"\c", ""),
]


def man_page_paragraphs(path):
    """Rough roff-to-text: drops requests and comments, keeps text lines, splits at .PP/.SH/.TP."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    paragraphs, current = [], []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            request = line[1:].split(" ", 1)
            if request[0] in ("B", "I", "BR", "IR", "RB", "BI", "IB", "RI") and len(request) > 1:
                line = request[1].replace('"', "")
            else:
                if current:
                    paragraphs.append(" ".join(current))
                    current = []
                continue
        for escape, replacement in ROFF_ESCAPES:
            line = line.replace(escape, replacement)
        line = re.sub(r"\\[a-zA-Z(*\[][^ ]?", "", line).strip()
        if line:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return [p for p in paragraphs if "\ufffd" not in p and len(p) >= 20]


def code_snippets(rng, count):
    files = sorted(f for f in glob.glob(os.path.join(PYTHON_LIB, "**", "*.py"), recursive=True)
                   if "/test" not in f and "-packages/" not in f)
    snippets = []
    for path in rng.sample(files, min(len(files), count)):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines(keepends=True)
        if len(lines) < 10:
            continue
        start = rng.randrange(0, len(lines) - 8)
        snippet = "".join(lines[start:start + rng.randint(4, 30)])
        if "\ufffd" not in snippet:
            snippets.append(snippet)
    return snippets


def sample(rng, items, count, max_len):
    items = [s for s in items if len(s.encode("utf-8")) <= max_len]
    return rng.sample(items, min(count, len(items)))


SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_0|>",
            "<|reserved_special_token_247|>"]
PARTIAL_SPECIALS = ["<|eot", "<|eot_id", "<|eot_id|", "eot_id|>", "<|", "|>", "<||>", "<|EOT_ID|>",
                    "<|reserved_special_token_248|>", "< |eot_id|>", "<<|eot_id|>>", "<|eot_id|><|eot_id|>"]

HANDWRITTEN = [
    "", " ", "  ", "\n", "\r\n", "\t", "a", "I", "DON'T", "I'M", "WE'LL", "YOU'RE", "THEY'VE", "HE'D", "IT'S",
    "'S", "'s", "'T", "'Re", "'rE", "'LL", "'lL", "'VE", "'M", "'D", "'x", "''", "'''s", "'ſ", "'ſt", "'ﬅ", "'ẗ",
    "'K", "can’t", "don't stop", "rock 'n' roll", "O'Neil's", "'sup", "'s'", "Hello world", "Hello  world",
    "Hello   world ", "line one\nline two\r\nline three\rline four", "tab\tseparated\tvalues\t", "trailing   ",
    "   leading", "\n\n\nparagraph\n\n", " \n \n ", "\t\n\t\n", "a\u00a0b", "全角\u3000スペース", "a\u2028b\u2029c",
    "x\u0085y", "ctrl\x00\x01\x7f chars", "sep\x1c\x1d\x1e\x1f chars", "zero\u200bwidth", "\ufeffBOM",
    "soft\u00adhyphen", "e\u0301 é", "n\u0303a\u0308", "한국어 텍스트 ᄒᆞᆫ", "नमस्ते दुनिया", "สวัสดีครับ",
    "مرحبا بالعالم", "שלום עולם", "Привет, мир!", "Γειά σου Κόσμε", "你好，世界！", "ＡＢＣ１２３ａｂｃ",
    "ｶﾀｶﾅ ﾊﾝｶｸ ｰ", "（全角括弧）「鉤括弧」『二重』【墨付き】", "①②③ ⅠⅡⅫ ½¾ ²³ ٠١٢٣ ০১২", "١٢٣٤٥٦٧", "𝟘𝟙𝟚 𝐀𝐁𝐂",
    "👍👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵🇺🇸 1️⃣ #️⃣ ❤️‍🔥", "🫨🫷🫸 🪼🪽", "emoji🙂in🙂text", "\U0001F600" * 5,
    "\U00031350\U00031351 \U0002EBF0 \U00011F00\U00011F01", "\ue000\uf8ff private use", "\U000E0041 tag",
    "3.14159 2,718 1e-10 0x1F 0b1010 1_000_000 -42 +7", "1234567890123", "12:34:56 2024-06-01 ¥1,000 $3.50 €4",
    "call 090-1234-5678", "v1.2.3-rc.4", "192.168.0.1:8080", "https://example.com/path?q=1&r=2#frag",
    "user@example.com", "C:\\Windows\\System32", "~/.config/nvim/init.lua", "#include <stdio.h>",
    "if (a <= b && c != d) { return x->y; }", "def f(x):\n    return x ** 2\n", "SELECT * FROM t WHERE id = 1;",
    "<html><body><p>Hi</p></body></html>", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "$ ls -la | grep foo",
    "...", "!!!", "?!?!", "—–-", "«quoted»", "“smart quotes” ‘single’", "a.b,c;d:e", "(((nested)))",
    "___init___", "ALLCAPS WORDS HERE", "camelCaseIdentifier", "snake_case_identifier", "kebab-case-id",
]


def generated(rng):
    cases = list(HANDWRITTEN)
    for s in SPECIALS + PARTIAL_SPECIALS:
        cases += [s, f"Hello{s}world", f" {s} ", f"\n{s}\n", f"日本語{s}テキスト", f"{s}{s}"]
    cases.append("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\n質問です。<|eot_id|><|start_header_id|>assistant"
                  "<|end_header_id|>\n\n")
    # White-space runs of every kind and length, before letters, digits, punctuation and the end.
    spaces = [" ", "\t", "\n", "\r", "\r\n", "\u3000", "\u00a0", "\u2003", "\x0b", "\x0c"]
    for _ in range(150):
        run = "".join(rng.choice(spaces) for _ in range(rng.randint(1, 8)))
        cases.append(rng.choice(["word", "", "123", "!?", "日本", "'s", "😀"]) + run +
                     rng.choice(["word", "", "123", "!?", "日本", "'s", "😀"]))
    # Numbers of every length, alone and inside text.
    for _ in range(80):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14)))
        cases.append(rng.choice(["", "x", " ", "$", "第", "-"]) + digits + rng.choice(["", "円", " items", ".5", "%"]))
    # Long pieces: BPE on hundreds of bytes at once (the heap path), long digit and space runs.
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
    for n in (65, 100, 300, 1000):
        cases.append("".join(rng.choice(kana) for _ in range(n)))
        cases.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n)))
        cases.append("a" * n)
        cases.append(" " * n + "x")
        cases.append("9" * n)
        cases.append("😀" * (n // 4))
        cases.append("!" * n)
    # Random mixes from a pool that stresses every branch of the split regex.
    pool = (list("aZé日本語カナ한ñßſ") + list("0123456789٣²½") + list(" \t\n\r\u3000\u00a0") +
            list("'\"!?.,;:()[]{}<>|/\\-_=+*&^%$#@~`") + ["'s", "'T", "'re", "<|", "|>", "<|eot_id|>", "😀", "👍🏽",
                                                          "e\u0301", "\u200b", "\r\n", "  ", "ﬅ"])
    for _ in range(700):
        cases.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/golden/tokenizer/data/corpus.jsonl")
    args = parser.parse_args()
    rng = random.Random(SEED)

    ja_prose, ja_pre = debian_reference("ja")
    en_prose, en_pre = debian_reference("en")
    man_files = sorted(glob.glob(os.path.join(MAN_JA, "man*", "*.gz")))
    if not ja_prose or not en_prose or not man_files:
        sys.exit("missing sources: apt-get install debian-reference-ja debian-reference-en manpages-ja")
    man_paragraphs = []
    for path in rng.sample(man_files, min(400, len(man_files))):
        man_paragraphs += man_page_paragraphs(path)[:4]

    records = []
    records += [("ja_prose", s) for s in sample(rng, ja_prose, 2200, 1200)]
    records += [("en_prose", s) for s in sample(rng, en_prose, 1500, 1200)]
    records += [("ja_technical", s) for s in sample(rng, ja_pre, 250, 1500)]
    records += [("en_technical", s) for s in sample(rng, en_pre, 100, 1500)]
    records += [("ja_man", s) for s in sample(rng, man_paragraphs, 550, 1000)]
    records += [("code", s) for s in code_snippets(rng, 400)]
    records += [("generated", s) for s in generated(rng)]

    lines, total = [], 0
    for source, text in records:
        line = json.dumps({"text": text, "source": source}, ensure_ascii=False) + "\n"
        total += len(line.encode("utf-8"))
        if total > MAX_BYTES:
            sys.exit(f"corpus would exceed {MAX_BYTES} bytes; lower the sample counts")
        lines.append(line)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        f.writelines(lines)
    counts = {}
    for source, _ in records:
        counts[source] = counts.get(source, 0) + 1
    print(f"wrote {len(lines)} cases ({total} bytes) to {args.out}: {counts}")


if __name__ == "__main__":
    main()
