#!/usr/bin/env bash
# The README's setup paths, checked from a fresh clone of this checkout (slow: it builds
# kaldifeat, ~9 min on 2 cores, then runs the test suite, ~6-10 min):
#
#   scripts/check_setup.sh [WORKDIR]     # default WORKDIR: a new temporary directory
#
# 1. An unsupported Python is refused in one line, before anything is installed.
# 2. No CUDA toolkit, no apt, an empty wheel cache: in a private mount namespace (root, or
#    unprivileged user namespaces) the CUDA toolkit directories and /usr/local/bin (where nvcc
#    wrappers live) are hidden and PATH holds no nvcc; with RESLSTM_NO_APT=1 and
#    RESLSTM_CACHE=WORKDIR/cache, setup_env.sh builds kaldifeat from source. Then the README's
#    test command runs in the same clone.
# Prints each step's wall time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
clone="$work/clone"
log() { printf '[check-setup] %s\n' "$*" >&2; }

rm -rf "$clone"
git clone -q "$root" "$clone"

log "1. an unsupported Python"
fake="$work/python3.13"
printf '#!/bin/sh\necho 3.13\n' > "$fake" && chmod +x "$fake"
if out=$(PYTHON=$fake RESLSTM_VENV="$work/never" bash "$clone/scripts/setup_env.sh" 2>&1); then
  log "FAILED: Python 3.13 was accepted"; exit 1
fi
[[ $(wc -l <<<"$out") -eq 1 && ! -e "$work/never" ]] || { log "FAILED: $out"; exit 1; }
log "refused in one line: $out"

log "2. no CUDA toolkit, no apt, empty wheel cache: setup_env.sh, then the tests"
hidden=()
for d in /usr/local/cuda* /usr/local/bin; do [[ -d $d && ! -L $d ]] && hidden+=("$d"); done
export PATH=$(tr ':' '\n' <<<"$PATH" | grep -v -e '^/usr/local/' | paste -sd: -)
export RESLSTM_CACHE=$work/cache CUDA_ROOT=/nonexistent
userns=(); (($(id -u) == 0)) || userns=(--map-root-user)
start=$SECONDS
unshare -m --propagation private "${userns[@]}" bash -c '
  for d in "${@:2}"; do mount -t tmpfs none "$d"; done
  if command -v nvcc >/dev/null || ls /usr/local/cuda*/bin/nvcc >/dev/null 2>&1; then
    echo "[check-setup] nvcc is still visible" >&2; exit 1
  fi
  cd "$1" && RESLSTM_NO_APT=1 scripts/setup_env.sh
' hide "$clone" "${hidden[@]}" \
  < /dev/null \
  2>&1 | sed 's/^/  /' >&2 \
  || { log "FAILED: setup_env.sh without the CUDA toolkit"; exit 1; }
log "setup_env.sh: $((SECONDS - start)) s"
start=$SECONDS
(cd "$clone" && scripts/run_tests.sh -q) || { log "FAILED: the tests"; exit 1; }
log "tests: $((SECONDS - start)) s"
log "all setup paths work ($work)"
