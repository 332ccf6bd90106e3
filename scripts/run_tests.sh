#!/usr/bin/env bash
# Runs every test tier this machine can run. Exit code 5 (no tests collected) is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/ruff check . || exit 1
$BIN/python -m pytest -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
