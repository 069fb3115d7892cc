# Shared helpers for the scripts in this folder (sourced, not run).
note() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
swallow_cache() { echo "${SWALLOW_CACHE:-$HOME/.cache/swallow}"; }
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
jobs_count() { nproc 2>/dev/null || echo 2; }
