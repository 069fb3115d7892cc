#!/usr/bin/env bash
# Configures and builds swallow into build/ (Release). Extra arguments go to cmake's configure
# step (e.g. -DSWALLOW_CUDA=OFF). Under CI=true warnings are errors.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
root="$(repo_root)"
build="${SWALLOW_BUILD_DIR:-$root/build}"
flags=(-DCMAKE_BUILD_TYPE=Release "-DSWALLOW_CACHE_DIR=$(swallow_cache)")
[ "${CI:-}" = "true" ] && flags+=(-DSWALLOW_WERROR=ON)
cmake -S "$root" -B "$build" "${flags[@]}" "$@" >/dev/null
cmake --build "$build" -j "$(jobs_count)"
