#!/usr/bin/env bash
# Sets up, builds and runs every test that this machine can run: ctest labels unit, golden and
# e2e; the gpu label too when an NVIDIA GPU is present (nvidia-smi answers).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
"$here/setup.sh"
"$here/build.sh"
root="$(repo_root)"
labels="unit|golden|e2e"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then labels="$labels|gpu"; fi
cd "${SWALLOW_BUILD_DIR:-$root/build}"
ctest -L "^($labels)\$" --output-on-failure -j "$(jobs_count)" --timeout 1200
