#!/usr/bin/env bash
# `make demo`: local stack + sample data + personalize_retrain + personalize_batch_export, then a report.
# `make demo-teardown` (this script with "teardown"): runs personalize_teardown for real on the demo group.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$ROOT/.venv/bin
DEMO=${PZ_DEMO_DIR:-$ROOT/.demo}
STACK=${STACK_DIR:-$ROOT/.local-stack}
export AIRFLOW_HOME=${AIRFLOW_HOME:-$ROOT/.airflow}
export PYTHONPATH=$ROOT:$ROOT/plugins
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags AIRFLOW__CORE__PLUGINS_FOLDER=$ROOT/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True GX_ANALYTICS_ENABLED=False
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export PZ_SAMPLE_DIR=$DEMO/sample-data PZ_BUCKET=personalize-demo PZ_EXPORT_DIR=$DEMO/exports
export PERSONALIZE_POLL_SECONDS=${PERSONALIZE_POLL_SECONDS:-1}
export PERSONALIZE_PIPELINE_CONFIG=$ROOT/include/pipeline.yaml PERSONALIZE_WORK_DIR=$DEMO/work
mkdir -p "$DEMO"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "local stack (moto S3 + personalize_local) in $STACK"
if ! $BIN/python -m personalize_local stack up --dir "$STACK" --min-delay 0.2; then
  echo "(reusing the running stack)"
fi
eval "$($BIN/python scripts/demo_env.py "$STACK")"

if [ "${1:-}" = "teardown" ]; then
  step "personalize_teardown (confirm=personalize-demo)"
  $BIN/airflow db migrate > "$DEMO/db-migrate.log" 2>&1
  $BIN/airflow dags test personalize_teardown -c '{"dry_run": false, "confirm": "personalize-demo"}' \
    > "$DEMO/teardown.log" 2>&1 || { tail -40 "$DEMO/teardown.log"; exit 1; }
  grep -A40 "kind  " "$DEMO/teardown.log" | grep -v "^\s*$" | head -40 || true
  echo "log: $DEMO/teardown.log; stop the stack with: make stack-down"
  exit 0
fi

step "sample data (seeded) in $PZ_SAMPLE_DIR"
[ -f "$PZ_SAMPLE_DIR/interactions.csv" ] || \
  $BIN/python -m personalize_ops generate-sample --interactions "${PZ_DEMO_EVENTS:-50000}" --out "$PZ_SAMPLE_DIR" --seed 42
$BIN/python -m personalize_ops validate-config "$PERSONALIZE_PIPELINE_CONFIG"

step "S3 bucket s3://$PZ_BUCKET (moto)"
$BIN/python -c "import boto3, os; s3 = boto3.client('s3', endpoint_url=os.environ['PZ_S3_ENDPOINT']); \
  s3.create_bucket(Bucket=os.environ['PZ_BUCKET'])"

step "Airflow metadata DB ($AIRFLOW_HOME)"
$BIN/airflow db migrate > "$DEMO/db-migrate.log" 2>&1

for dag in personalize_retrain personalize_batch_export; do
  step "airflow dags test $dag (log: $DEMO/$dag.log)"
  start=$(date +%s)
  if ! $BIN/airflow dags test "$dag" > "$DEMO/$dag.log" 2>&1; then
    grep -E "ERROR|Error|failed" "$DEMO/$dag.log" | tail -20
    echo "$dag failed; full log: $DEMO/$dag.log"; exit 1
  fi
  grep -q "state=success" "$DEMO/$dag.log" || { tail -30 "$DEMO/$dag.log"; echo "$dag did not succeed"; exit 1; }
  echo "$dag: success in $(( $(date +%s) - start ))s"
done

step "results"
$BIN/python scripts/demo_report.py
step "user guide example: query the campaign, send an event, query again"
$BIN/python scripts/user_guide_example.py
echo
echo "Stop the local stack: make stack-down    Tear down the demo resources: make demo-teardown"
