#!/usr/bin/env bash
# `make bench`: every benchmark command of the README, at sizes that finish in ~35 minutes on 2 cores.
# Larger runs: see each module's usage line (e.g. --sizes 1000000,10000000,50000000 for prepare).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
run() { echo; echo "=== $* ==="; "$PY" -m "$@"; }
run benchmarks.prepare --sizes 1000000
run benchmarks.control_plane_latency
run benchmarks.recipes_vs_aws --other-seeds 42,1,2,3,4
run benchmarks.training --sizes poc --runs 3
run benchmarks.serving_engine
run benchmarks.serving_http
run benchmarks.dag_parse
run benchmarks.gate_calibration --seeds 20
run benchmarks.experiments --aa-runs 200 --power-runs 50
