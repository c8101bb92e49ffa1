#!/usr/bin/env bash
# The test command: set up the environment (tools/install.sh), then run the pytest suite under test/.
# Extra arguments go to pytest, e.g. `tools/test.sh -k sampler -x`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${root}"
bash tools/install.sh
# shellcheck disable=SC1091
. tools/activate_python.sh
set +e
python -m pytest -q "$@"
status=$?
set -e
if [ "${status}" = 5 ]; then
    echo "[test.sh] ERROR: pytest collected no tests" >&2
    exit 1
fi
exit "${status}"
