#!/usr/bin/env bash
# The test command: set up the environment (tools/install.sh), check lint and format with ruff, then run the
# pytest suite under test/.
# Extra arguments go to pytest, e.g. `tools/test.sh -k sampler -x`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"
bash tools/install.sh
# shellcheck disable=SC1091
. tools/activate_python.sh
# lint and format (ruff.toml); only on a whole-suite run, not when pytest arguments pick tests
if [ $# -eq 0 ]; then
    ruff check espkit test bench egs || { echo "[test.sh] ERROR: ruff check failed (ruff check --fix fixes some)" >&2; exit 1; }
    ruff format --check espkit test bench egs \
        || { echo "[test.sh] ERROR: files need formatting: ruff format espkit test bench egs" >&2; exit 1; }
fi
set +e
python -m pytest -q "$@"
status=$?
set -e
if [ "${status}" = 5 ]; then
    echo "[test.sh] ERROR: pytest collected no tests" >&2
    exit 1
fi
exit "${status}"
