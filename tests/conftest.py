"""Session-wide test setup: isolated Airflow home, dummy AWS credentials, shared fixtures."""

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="pz-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# Dummy credentials only: nothing in the test suite talks to a real AWS account.
for _k, _v in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)

pytest_plugins = ["tests.fixtures.airflow"]
