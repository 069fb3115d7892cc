#!/usr/bin/env bash
# The README's first command: set up, build, and run swallow's main job on the embedded default.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
"$here/setup.sh"
"$here/build.sh"
root="$(repo_root)"
bin="${SWALLOW_BUILD_DIR:-$root/build}/src/cli/swallow"
"$bin" --version
"$bin" --help
