#!/usr/bin/env bash
# The README's first command: set up, build, and chat with a model. By default the model is the
# shipped demo (models/tiny-demo-ja, a 6.8M-parameter Japanese/English chat model, not a
# Swallow model); `scripts/demo.sh --model DIR` runs a Hugging Face folder instead (for example
# a Llama 3.1 Swallow download). Other arguments go to `swallow chat` (see `swallow chat --help`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
"$here/setup.sh"
"$here/build.sh"
root="$(repo_root)"
bin="${SWALLOW_BUILD_DIR:-$root/build}/src/cli/swallow"

model="$root/models/tiny-demo-ja"
args=()
while (($#)); do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --model=*) model="${1#--model=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

# Two one-message chats, streamed: the answer, then tokens/s.
for prompt in "ls とは何ですか？" "「シェルプロンプト」について教えてください。"; do
  note "user: $prompt"
  "$bin" chat --model "$model" --prompt "$prompt" "${args[@]}"
done
