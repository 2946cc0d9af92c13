#!/usr/bin/env bash
# Quick start, step 2 of the README (and what CI runs): set up (if needed) and run the test suite.
#   bash tools/run_tests.sh [pytest options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
exec "${VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
