# Source this file to use espkit's venv: `source tools/activate_python.sh`.
_espkit_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -f "${_espkit_root}/tools/venv/bin/activate" ]; then
    echo "espkit: tools/venv is missing; run tools/install.sh first" >&2
    return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "${_espkit_root}/tools/venv/bin/activate"
unset _espkit_root
