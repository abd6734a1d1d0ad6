#!/usr/bin/env bash
# Create the project's virtual environment and install the pinned stack (idempotent).
#
#   scripts/setup_env.sh            # venv in ./.venv (or $RESLSTM_VENV)
#   RESLSTM_FORCE_SETUP=1 scripts/setup_env.sh   # reinstall even if up to date
#
#   RESLSTM_NO_APT=1 scripts/setup_env.sh        # never call apt-get (install packages yourself)
#
# Steps: the Python check, Debian packages (TTS voices for the mini corpus, SCTK for asclite),
# venv, pinned pip packages,
# kaldifeat built from source offline, without the CUDA toolkit (wheel cached under $RESLSTM_CACHE
# keyed by torch + Python),
# the project itself in editable mode, and its C++ time loops (models/csrc). A stamp file records the hash of the inputs so a
# second run returns in seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${RESLSTM_VENV:-$root/.venv}
cache=${RESLSTM_CACHE:-$HOME/.cache/reslstm}
python=${PYTHON:-python3}
kaldifeat_version=1.24
pybind11_version=3.0.1

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

stamp="$venv/.reslstm-setup-stamp"
inputs_hash=$(cat "$root/requirements.txt" "$root/pyproject.toml" "$root/scripts/setup_env.sh" | sha256sum | cut -c1-16)
if [[ -z "${RESLSTM_FORCE_SETUP:-}" && -f "$stamp" && "$(cat "$stamp")" == "$inputs_hash" ]]; then
  log "environment $venv is up to date ($inputs_hash)"
  exit 0
fi

# --- 1. the interpreter: flashlight-text 0.0.7 (the beam search) has wheels for 3.10-3.12 ----
command -v "$python" >/dev/null || die "no $python on PATH (set PYTHON=python3.12, say)"
py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  || die "$python does not run"
case $py_version in
  3.10|3.11|3.12) ;;
  *) die "Python $py_version is not supported: use CPython 3.10, 3.11 or 3.12 (flashlight-text 0.0.7 has wheels up to 3.12), e.g. PYTHON=python3.12 $0" ;;
esac

# --- 2. Debian packages, each needed only by the stage that uses it ---------------------------
declare -A apt_purpose=(
  [espeak-ng]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [flite]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festival]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festvox-kallpc16k]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festvox-kdlpc16k]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festvox-us-slt-hts]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festlex-cmu]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [festlex-poslex]="TTS voices, to generate the mini corpus (stage 0, data=mini)"
  [libsndfile1]="audio files (soundfile)"
  [sctk]="NIST asclite (stage 5's asclite scores) and sc_stats (stage 6's NIST tests)"
)
apt_packages=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
              festlex-cmu festlex-poslex libsndfile1 sctk)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
can_apt=1
if [[ -n "${RESLSTM_NO_APT:-}" ]]; then
  can_apt=0
elif ! command -v apt-get >/dev/null || { [[ -n $sudo ]] && ! sudo -n true 2>/dev/null; }; then
  can_apt=0  # no apt, or not root and no password-less sudo
fi
if ((${#missing[@]})) && ((can_apt)); then
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed: is the Debian package mirror reachable?"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
elif ((${#missing[@]})); then
  for p in "${missing[@]}"; do
    log "not installed: Debian package $p (${apt_purpose[$p]}); the recipe goes on without it"
  done
fi

# --- 3. virtual environment + pinned packages --------------------------------------------
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
log "installing pinned packages from requirements.txt (first time: ~10 min, several GB)"
"${pip[@]}" install -q -r "$root/requirements.txt" \
  || die "pip install failed: is the package registry reachable?"

# --- 4. kaldifeat from source, offline, cached --------------------------------------------
torch_version=$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')
py_tag=$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
wheel_dir="$cache/wheels/kaldifeat-$kaldifeat_version-torch$torch_version-$py_tag"
if ! "$venv/bin/python" -c 'import kaldifeat' 2>/dev/null; then
  if ! ls "$wheel_dir"/kaldifeat-*.whl >/dev/null 2>&1; then
    command -v g++ >/dev/null || die "no C++ compiler (g++) to build kaldifeat"
    command -v cmake >/dev/null || die "no cmake to build kaldifeat"
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    log "downloading pybind11 $pybind11_version source (kaldifeat's CMake would fetch it from the internet)"
    "${pip[@]}" download -q --no-deps --no-binary :all: -d "$build" "pybind11==$pybind11_version" \
      || die "could not download the pybind11 sdist"
    tar -xzf "$build"/pybind11-*.tar.gz -C "$build"
    pybind_src=$(ls -d "$build"/pybind11-*/ | head -1)
    # kaldifeat has no CUDA code of its own (fbank on a GPU is torch ops, dispatched at run time by
    # libtorch_cuda.so from the torch wheel), but find_package(Torch) on the registry's CUDA torch runs
    # torch's Caffe2/public/cuda.cmake, which wants nvcc and the CUDA toolkit. Defining its target
    # torch::cudart first (CMAKE_PROJECT_INCLUDE runs right after kaldifeat's project()) makes that file
    # return at its include guard: no toolkit is looked for, and one that is installed is not used.
    # The compiled code and the linked libraries are those of a build with the toolkit.
    printf '%s\n' 'if(NOT TARGET torch::cudart)' '  add_library(torch::cudart INTERFACE IMPORTED)' 'endif()' \
      > "$build/no-cuda-toolkit.cmake"
    log "building kaldifeat $kaldifeat_version against torch $torch_version, no CUDA toolkit needed (7-10 min on 2 cores)"
    export KALDIFEAT_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 \
-DFETCHCONTENT_SOURCE_DIR_PYBIND11=$pybind_src -DCMAKE_PROJECT_INCLUDE=$build/no-cuda-toolkit.cmake"
    export KALDIFEAT_MAKE_ARGS="-j$(nproc)"
    mkdir -p "$wheel_dir.tmp"
    "${pip[@]}" wheel -q --no-deps --no-build-isolation --no-cache-dir -w "$wheel_dir.tmp" \
      "kaldifeat==$kaldifeat_version" || die "kaldifeat build failed (see the output above)"
    rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"
  else
    log "using cached kaldifeat wheel from $wheel_dir"
  fi
  "${pip[@]}" install -q --no-deps --no-cache-dir "$wheel_dir"/kaldifeat-*.whl
  "$venv/bin/python" -c 'import kaldifeat' || die "kaldifeat does not import (built for another torch?)"
fi

# --- 5. the project itself ----------------------------------------------------------------
log "installing reslstm (editable)"
"${pip[@]}" install -q --no-deps --no-build-isolation -e "$root"
"$venv/bin/python" -c 'import reslstm, lhotse, kaldifeat, hydra, jiwer, torchaudio' \
  || die "import check failed"
log "building the fused recurrence's C++ time loops"
"$venv/bin/python" -c 'from reslstm.models.fused import loops; loops()' \
  || die "the C++ time loops did not build (src/reslstm/models/csrc/recurrence.cpp)"
echo "$inputs_hash" > "$stamp"
log "done: $venv ($(du -sh "$venv" | cut -f1))"
