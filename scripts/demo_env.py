"""Print shell exports that point Airflow's aws_default connection at a running local stack."""

import json
import sys
from pathlib import Path

from personalize_local.stack import airflow_connection_json

endpoints = json.loads((Path(sys.argv[1]) / "endpoints.json").read_text())
print(f"export AIRFLOW_CONN_AWS_DEFAULT='{airflow_connection_json(endpoints['personalize'], endpoints['s3'])}'")
print(f"export PZ_S3_ENDPOINT='{endpoints['s3']}' PZ_PERSONALIZE_ENDPOINT='{endpoints['personalize']}'")
