#!/usr/bin/env bash
# Runs every test tier this machine can run (see README "Tests"). pytest's exit code 5 (no tests) is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
bash scripts/install_chromium.sh || echo "WARNING: chromium could not be installed; the browser test will say so"
$BIN/ruff check . || exit 1
$BIN/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
