#!/usr/bin/env bash
# Runs every test tier this machine can run (see README "Tests"). pytest's exit code 5 (no tests) is a failure.
# With CI=true a skipped test outside the allow-list in tests/fixtures/skip_policy.py fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
bash scripts/install_chromium.sh || echo "WARNING: chromium could not be installed; the browser test will say so"
# The deployment tier starts its own PostgreSQL and Redis from these packages (never the machine's servers).
bash scripts/install_services.sh || echo "WARNING: postgresql/redis-server could not be installed; the deployment tier will say so"
$BIN/ruff check . || exit 1
$BIN/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup --no-loadscope-reorder --durations=25 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
