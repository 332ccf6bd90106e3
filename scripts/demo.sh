#!/usr/bin/env bash
# `make demo`: local stack + sample data, then the two demo pipelines of include/pipelines/ (shop, media), each
# personalize_retrain__<name> then personalize_batch_export__<name>, side by side; then a report.
# `make demo-teardown` (this script with "teardown"): runs personalize_teardown__<name> for real on both groups.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$ROOT/.venv/bin
DEMO=${PZ_DEMO_DIR:-$ROOT/.demo}
STACK=${STACK_DIR:-$ROOT/.local-stack}
PIPELINES=(shop media)
# One Airflow home (SQLite metadata DB) per pipeline, so both pipelines' `airflow dags test` run at the same time.
AIRFLOW_ROOT=${AIRFLOW_HOME:-$ROOT/.airflow}
unset PERSONALIZE_PIPELINE_CONFIG
export PERSONALIZE_PIPELINES_DIR=$ROOT/include/pipelines
export PYTHONPATH=$ROOT:$ROOT/plugins
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags AIRFLOW__CORE__PLUGINS_FOLDER=$ROOT/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True GX_ANALYTICS_ENABLED=False
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export PZ_SAMPLE_DIR=$DEMO/sample-data PZ_BUCKET=personalize-demo PZ_EXPORT_DIR=$DEMO/exports
# Between status polls: the demo's stack settles a resource in 0.2 s (--min-delay below), so poll about as often.
export PERSONALIZE_POLL_SECONDS=${PERSONALIZE_POLL_SECONDS:-0.25}
export PERSONALIZE_WORK_DIR=$DEMO/work
mkdir -p "$DEMO"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Runs one pipeline's DAGs in order in its own Airflow home; logs in $DEMO/<dag id>.log.
run_pipeline() {
  local name=$1; shift
  export AIRFLOW_HOME=$AIRFLOW_ROOT/$name
  mkdir -p "$AIRFLOW_HOME"
  $BIN/airflow db migrate > "$DEMO/db-migrate-$name.log" 2>&1 || { tail -20 "$DEMO/db-migrate-$name.log"; return 1; }
  local kind conf dag start
  for kind in "$@"; do
    dag=personalize_${kind%%:*}__$name
    conf=${kind#*:}
    [ "$conf" = "$kind" ] && conf='{}'
    start=$(date +%s)
    if ! $BIN/airflow dags test "$dag" -c "$conf" > "$DEMO/$dag.log" 2>&1 || ! grep -q "state=success" "$DEMO/$dag.log"; then
      grep -E "ERROR|Error|failed" "$DEMO/$dag.log" | tail -20
      echo "$dag failed; full log: $DEMO/$dag.log"
      return 1
    fi
    echo "$dag: success in $(( $(date +%s) - start ))s"
  done
}

# Both pipelines at once; fails if either fails.
run_both() {
  local pids=() name failed=0
  for name in "${PIPELINES[@]}"; do
    run_pipeline "$name" "$@" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return $failed
}

step "local stack (moto S3 + personalize_local) in $STACK"
if ! $BIN/python -m personalize_local stack up --dir "$STACK" --min-delay 0.2; then
  echo "(reusing the running stack)"
fi
eval "$($BIN/python scripts/demo_env.py "$STACK")"

if [ "${1:-}" = "teardown" ]; then
  step "personalize_teardown__{shop,media} (confirm = each dataset group)"
  run_pipeline shop 'teardown:{"dry_run": false, "confirm": "personalize-demo"}' &
  shop=$!
  run_pipeline media 'teardown:{"dry_run": false, "confirm": "personalize-media"}' || exit 1
  wait $shop || exit 1
  for name in "${PIPELINES[@]}"; do  # the report the teardown logged: the lines after "Teardown:"
    echo "personalize_teardown__$name:"
    awk '/\] Teardown:$/ {f = 1; next} /^[0-9]{4}-[0-9]{2}-/ {f = 0} f' "$DEMO/personalize_teardown__$name.log" | cut -c1-160
  done
  echo "logs: $DEMO/personalize_teardown__*.log; stop the stack with: make stack-down"
  exit 0
fi

step "sample data (seeded) in $PZ_SAMPLE_DIR"
[ -f "$PZ_SAMPLE_DIR/shop/interactions.csv" ] || \
  $BIN/python -m personalize_ops generate-sample --interactions "${PZ_DEMO_EVENTS:-50000}" --out "$PZ_SAMPLE_DIR/shop" --seed 42
[ -f "$PZ_SAMPLE_DIR/media/interactions.csv" ] || \
  $BIN/python -m personalize_ops generate-sample --interactions 20000 --out "$PZ_SAMPLE_DIR/media" --seed 7
$BIN/python -m personalize_ops validate-config

step "S3 bucket s3://$PZ_BUCKET (moto)"
$BIN/python -c "import boto3, os; s3 = boto3.client('s3', endpoint_url=os.environ['PZ_S3_ENDPOINT']); \
  s3.create_bucket(Bucket=os.environ['PZ_BUCKET'])"

step "pipelines ${PIPELINES[*]}, side by side: airflow dags test personalize_{retrain,batch_export}__<name> (logs in $DEMO)"
run_both retrain batch_export

step "results"
$BIN/python scripts/demo_report.py
step "user guide example: query the campaign, send an event, query again"
$BIN/python scripts/user_guide_example.py
echo
echo "Stop the local stack: make stack-down    Tear down the demo resources: make demo-teardown"
