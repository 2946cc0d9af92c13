#!/usr/bin/env bash
# Quick start, step 2 of the README (and what CI runs): set up (if needed) and run the test suite.
#   bash tools/run_tests.sh [pytest options]
#   PYTEST_WORKERS=0 bash tools/run_tests.sh ...   (one process, no pytest-xdist)
#   bash tools/run_tests.sh -m "not slow"          (the fast tier, the inner loop)
# Two pytest-xdist workers by default: many tests spend their time in single-threaded Python
# (imports, model building, subprocesses of the tools), so two workers use both cores. A file's tests
# stay in one worker (--dist loadfile), so its module fixtures are built once; the session's trained
# toy models are trained once for both workers (tests/conftest.py, toy_runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
WORKERS="${PYTEST_WORKERS:-2}"
XDIST=()
if [ "$WORKERS" != 0 ]; then
    XDIST=(-n "$WORKERS" --dist loadfile)
fi
exec "${VENV:-$ROOT/.venv}/bin/python" -m pytest tests "${XDIST[@]}" "$@"
