#!/usr/bin/env bash
# Set up espkit's environment: a venv at tools/venv, the CPU build of torch,
# espkit itself (editable, with its test/plot extras) and Debian's espeak-ng.
#
# Idempotent: a second run with nothing to do finishes in a few seconds.
#
# Environment overrides:
#   ESPKIT_PYTHON         interpreter used to create the venv   (default: python3)
#   ESPKIT_TORCH_SPEC     pip requirement for torch             (default: torch==2.13.0)
#   ESPKIT_EXTRAS         espkit extras to install              (default: test,plot,recipe,server,server-test)
#   ESPKIT_SKIP_ESPEAK=1  do not try to install espeak-ng
#   ESPKIT_SKIP_JEMALLOC=1  do not try to install libjemalloc2 (training's allocator, optional)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${root}/tools/venv"
python="${ESPKIT_PYTHON:-python3}"
torch_spec="${ESPKIT_TORCH_SPEC:-torch==2.13.0}"
extras="${ESPKIT_EXTRAS:-test,plot,recipe,server,server-test}"
stamp="${venv}/.espkit_installed"

log() { echo "[install.sh] $*" >&2; }
die() { echo "[install.sh] ERROR: $*" >&2; exit 1; }

# --- espeak-ng (the recipe's corpus and the phoneme front end use it) -------------
if ! command -v espeak-ng >/dev/null 2>&1 && [ "${ESPKIT_SKIP_ESPEAK:-0}" != 1 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing espeak-ng with apt-get"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; } \
            || die "apt-get could not install espeak-ng; install it by hand (apt-get install espeak-ng)"
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        log "installing espeak-ng with sudo apt-get"
        { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; } \
            || die "apt-get could not install espeak-ng; install it by hand (apt-get install espeak-ng)"
    else
        log "WARNING: espeak-ng is missing and apt-get is not usable here (not root, no sudo)."
        log "         The recipe and the phoneme tokenizer need it: install the Debian package espeak-ng."
    fi
fi

# --- jemalloc (optional: training runs on it when installed, see espkit/torch_utils/host_allocator.py)
have_jemalloc() {  # the paths espkit.torch_utils.host_allocator.JEMALLOC_PATHS looks in
    local f
    for f in /usr/lib/*/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
        [ -e "${f}" ] && return 0
    done
    return 1
}
if ! have_jemalloc && [ "${ESPKIT_SKIP_JEMALLOC:-0}" != 1 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing libjemalloc2 with apt-get (training's allocator; optional)"
        { apt-get install -y -qq libjemalloc2 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc2 >/dev/null; }; } \
            || log "WARNING: could not install libjemalloc2; training runs on glibc's malloc (more memory)"
    else
        log "NOTE: libjemalloc2 is not installed; training runs on glibc's malloc (apt-get install libjemalloc2 lowers its peak memory)"
    fi
fi

# --- venv -------------------------------------------------------------------------
command -v "${python}" >/dev/null 2>&1 || die "'${python}' not found; set ESPKIT_PYTHON to a Python >= 3.10"
"${python}" - <<'PY' || die "espkit needs Python >= 3.10 (set ESPKIT_PYTHON)"
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY
if [ ! -x "${venv}/bin/python" ]; then
    log "creating venv at ${venv}"
    "${python}" -m venv "${venv}" || die "could not create a venv with ${python} (on Debian: apt-get install python3-venv)"
fi
vpy="${venv}/bin/python"

# Nothing changed since the last successful install: done.
fingerprint=$(cat "${root}/setup.py" "${BASH_SOURCE[0]}" | cksum | cut -d' ' -f1)"-${torch_spec}-${extras}"
if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${fingerprint}" ] && "${vpy}" -c "import torch, espkit" 2>/dev/null; then
    log "environment is up to date (${venv})"
    exit 0
fi

pip_install() { "${vpy}" -m pip install --disable-pip-version-check -q "$@"; }

if "${vpy}" -c "import torch" 2>/dev/null; then
    log "torch $("${vpy}" -c 'import torch; print(torch.__version__)') already importable; keeping it"
else
    log "installing ${torch_spec} (CPU build)"
    pip_install "${torch_spec}" || die "pip could not install '${torch_spec}'; set ESPKIT_TORCH_SPEC to a torch requirement that exists here"
fi

log "installing espkit (editable, extras: ${extras})"
pip_install -e "${root}[${extras}]" || die "pip could not install espkit and its requirements (see the messages above)"

echo "${fingerprint}" > "${stamp}"
log "done: activate with 'source tools/activate_python.sh'"
