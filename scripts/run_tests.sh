#!/usr/bin/env bash
# The test command: set up the environment if needed, then lint and run the whole test suite.
#   scripts/run_tests.sh              # everything (what CI runs)
#   scripts/run_tests.sh -m "not slow" tests/models/test_cells.py   # extra args go to pytest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup_env.sh
venv=${RESLSTM_VENV:-$PWD/.venv}
echo "[tests] ruff check + format check"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "[tests] pytest"
set +e
"$venv/bin/python" -m pytest "$@"
rc=$?
set -e
if ((rc == 5)); then
  echo "[tests] ERROR: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
