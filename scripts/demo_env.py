"""Print shell exports that point Airflow's aws_default connection at a running local stack."""

import json
import sys
from pathlib import Path

endpoints = json.loads((Path(sys.argv[1]) / "endpoints.json").read_text())
conn = {
    "conn_type": "aws",
    "login": "testing",
    "password": "testing",
    "extra": {
        "region_name": "us-east-1",
        "endpoint_url": endpoints["personalize"],
        "service_config": {"s3": {"endpoint_url": endpoints["s3"]}},
    },
}
print(f"export AIRFLOW_CONN_AWS_DEFAULT='{json.dumps(conn)}'")
print(f"export PZ_S3_ENDPOINT='{endpoints['s3']}' PZ_PERSONALIZE_ENDPOINT='{endpoints['personalize']}'")
