#!/usr/bin/env python3
"""Checks a running `swallow serve` over HTTP with the standard library only (used by
scripts/gpu-check.sh, where no npm client is installed): waits until /health answers, then
(unless --wait-only) lists the models, asks one greedy chat completion, asks the same one
streamed (SSE) and checks that the streamed deltas join to the same text. Prints what it got;
exits non-zero on any failure.
"""

import argparse
import json
import sys
import time
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=120)


def wait_ready(base, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if get(base + "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"{base}/health did not answer within {seconds} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--wait-only", action="store_true")
    parser.add_argument("--wait-seconds", type=float, default=300)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    started = time.time()
    wait_ready(base, args.wait_seconds)
    print(f"ready after {time.time() - started:.1f} s")
    if args.wait_only:
        return
    models = json.loads(get(base + "/v1/models")[1])
    model = models["data"][0]["id"]
    print("models:", [m["id"] for m in models["data"]])
    body = {"model": model, "messages": [{"role": "user", "content": "ls とは何ですか？"}], "temperature": 0,
            "max_tokens": 64}
    with post(base + "/v1/chat/completions", body) as response:
        whole = json.loads(response.read())
    text = whole["choices"][0]["message"]["content"]
    print("chat:", json.dumps(whole, ensure_ascii=False))
    pieces = []
    with post(base + "/v1/chat/completions", {**body, "stream": True}) as response:
        for line in response:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices", []):
                pieces.append(choice.get("delta", {}).get("content") or "")
    streamed = "".join(pieces)
    print(f"streamed in {len(pieces)} events:", streamed)
    if not text or streamed != text:
        sys.exit("the streamed text differs from the whole answer (or is empty)")
    print("ok")


if __name__ == "__main__":
    main()
