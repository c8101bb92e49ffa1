# Activates the repository's virtual environment (tools/venv, made by tools/install.sh).
# ESPKIT_ROOT may point at another checkout (the recipe test copies the recipe elsewhere). Each recipe
# links to this file (egs/<corpus>/tts1/path.sh), so the path below is relative to the recipe directory.
ESPKIT_ROOT=${ESPKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
if [ ! -f "${ESPKIT_ROOT}/tools/venv/bin/activate" ]; then
    echo "path.sh: ${ESPKIT_ROOT}/tools/venv is missing; run tools/install.sh in the repository root first" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "${ESPKIT_ROOT}/tools/venv/bin/activate"
export PYTHONPATH=${ESPKIT_ROOT}${PYTHONPATH:+:${PYTHONPATH}}
export PYTHONIOENCODING=UTF-8
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
