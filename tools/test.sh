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
# the browser test (test/espkit/server/test_server_browser.py) drives Debian's chromium with its chromedriver;
# without them that test fails saying so
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "[test.sh] installing chromium and chromium-driver with apt-get (the browser test)" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
            || echo "[test.sh] WARNING: apt-get could not install chromium chromium-driver: the browser test will fail" >&2
    else
        echo "[test.sh] WARNING: chromium/chromedriver are missing and apt-get is not usable (not root): the browser test will fail" >&2
    fi
fi
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
