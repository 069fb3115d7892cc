#!/usr/bin/env python3
"""Builds the demo model's training data from Debian packages (stdlib only).

Sources (install with apt-get): debian-reference-ja, debian-reference-en (GPL-2+) and
manpages-ja (the licenses of the original manual pages, DFSG-free). Writes into OUTDIR:
  documents.jsonl   {"lang", "source", "text"}                 plain prose per section
  chat.jsonl        {"lang", "source", "user", "assistant"}    question/answer turns
Deterministic: same packages, same output.
"""
import argparse
import glob
import gzip
import html.parser
import json
import os
import re

REFERENCE_DIR = "/usr/share/debian-reference"
MAN_DIR = "/usr/share/man/ja"


class SectionParser(html.parser.HTMLParser):
    """Collects (heading, [paragraph, ...]) from Debian Reference DocBook HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = []
        self._mode = None  # "heading" | "para" | None
        self._buf = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if self._skip_depth:
            if tag in ("pre", "table"):
                self._skip_depth += 1
            return
        if tag in ("pre", "table"):
            self._skip_depth = 1
        elif tag in ("h2", "h3", "h4"):
            self._mode, self._buf = "heading", []
        elif tag == "p" and self.sections:
            self._mode, self._buf = "para", []

    def handle_endtag(self, tag):
        if self._skip_depth:
            if tag in ("pre", "table"):
                self._skip_depth -= 1
            return
        text = normalize("".join(self._buf))
        if tag in ("h2", "h3", "h4") and self._mode == "heading":
            heading = re.sub(r"^[A-Z]?[\d.]+\s*", "", text)
            if heading:
                self.sections.append((heading, []))
            self._mode = None
        elif tag == "p" and self._mode == "para":
            if len(text) >= 20:
                self.sections[-1][1].append(text)
            self._mode = None

    def handle_data(self, data):
        if self._mode and not self._skip_depth:
            self._buf.append(data)


def normalize(text):
    text = re.sub(r"\s*\n\s*", lambda m: "" if is_cjk_join(m) else " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def is_cjk_join(match):
    s, i, j = match.string, match.start(), match.end()
    before = s[i - 1] if i > 0 else " "
    after = s[j] if j < len(s) else " "
    return ord(before) > 0x2E80 and ord(after) > 0x2E80


def has_japanese(text):
    return re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) is not None


def reference_records(lang):
    docs, chats = [], []
    for path in sorted(glob.glob(f"{REFERENCE_DIR}/*.{lang}.html")):
        parser = SectionParser()
        with open(path, encoding="utf-8") as f:
            parser.feed(f.read())
        for heading, paras in parser.sections:
            if lang == "ja":  # the Japanese edition keeps some untranslated English paragraphs
                paras = [p for p in paras if has_japanese(p)]
            if not paras:
                continue
            source = os.path.basename(path)
            docs.append({"lang": lang, "source": source, "text": heading + "\n\n" + "\n\n".join(paras)})
            answer = "\n\n".join(paras[:2])
            if len(answer) > 1200:
                answer = answer[:1200].rsplit("。" if lang == "ja" else ". ", 1)[0] + ("。" if lang == "ja" else ".")
            question = f"「{heading}」について教えてください。" if lang == "ja" else f"Tell me about {heading}."
            chats.append({"lang": lang, "source": source, "user": question, "assistant": answer})
    return docs, chats


def roff_to_text(line):
    line = re.sub(r"\\f[BIRP]|\\f\(..|\\[/,&]|\\\(em", "", line)
    return line.replace("\\-", "-").replace("\\e", "\\").strip()


def manpage_records():
    docs, chats = [], []
    for path in sorted(glob.glob(f"{MAN_DIR}/man[1-8]/*.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (UnicodeDecodeError, OSError, EOFError):
            continue
        section, name_line, description = None, None, []
        for raw in lines:
            if raw.startswith(".SH"):
                section = raw[3:].strip().strip('"')
                continue
            if raw.startswith('.\\"') or raw.startswith("'\\\""):
                continue
            font = re.match(r"\.(B|I|BR|IR|BI|RB|RI|IB)\s+(.*)", raw)
            if font:  # font macros carry text: ".B ls" or ".BR ls (1)"
                raw = font.group(2).replace('"', "")
                if font.group(1) != "B" and font.group(1) != "I":
                    raw = raw.replace(" ", "")
            elif raw.startswith("."):
                if raw[:3] in (".PP", ".LP", ".P ", ".TP", ".IP", ".HP") and section in ("説明", "DESCRIPTION") and description and description[-1] != "":
                    description.append("")
                continue
            text = roff_to_text(raw)
            if not text:
                continue
            if section in ("名前", "NAME") and name_line is None:
                name_line = text
            elif section in ("説明", "DESCRIPTION") and sum(len(d) for d in description) < 600:
                description.append(text)
        if not name_line or " - " not in name_line:
            continue
        command, summary = [s.strip() for s in name_line.split(" - ", 1)]
        command = command.split(",")[0].strip()
        paras = [p for p in "\n".join(description).split("\n\n")]
        body = "".join(p.replace("\n", "") for p in paras[:1]).strip()
        if not has_japanese(summary):
            continue
        source = os.path.relpath(path, MAN_DIR)
        answer = f"{command} は「{summary}」ためのコマンドです。" + (body if has_japanese(body) else "")
        chats.append({"lang": "ja", "source": source, "user": f"{command} とは何ですか？", "assistant": answer.strip()})
        docs.append({"lang": "ja", "source": source, "text": f"{command} - {summary}\n\n{body}".strip()})
    return docs, chats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    docs, chats = [], []
    for records in (reference_records("ja"), reference_records("en"), manpage_records()):
        docs += records[0]
        chats += records[1]
    with open(os.path.join(args.out, "documents.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "chat.jsonl"), "w", encoding="utf-8") as f:
        for c in chats:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    chars = sum(len(d["text"]) for d in docs)
    print(json.dumps({"documents": len(docs), "chat_pairs": len(chats), "document_chars": chars}))


if __name__ == "__main__":
    main()
