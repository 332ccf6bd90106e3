"""Session-wide test setup: isolated Airflow home, dummy AWS credentials, shared fixtures, and the CI skip
policy (tests/fixtures/skip_policy.py: with CI=true a skip outside its allow-list fails the run)."""

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Always our own home, one per process: xdist workers inherit the controller's environment (and `make test`
# exports the demo's AIRFLOW_HOME), and two workers migrating one SQLite DB at once fail ("table exists").
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix=f"pz-airflow-home-{_WORKER}-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# Between status polls: the test stack settles in 0.05 s (tests/fixtures/stack.py), so a wait is one poll interval.
os.environ.setdefault("PERSONALIZE_POLL_SECONDS", "0.2")
# dag.test() only runs DAGs found in a configured bundle: the project's dags/ plus DAG files written by tests.
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
_bundle = "airflow.dag_processing.bundles.local.LocalDagBundle"
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {"name": "dags-folder", "classpath": _bundle, "kwargs": {"path": str(ROOT / "dags")}},
        {"name": "test-dags", "classpath": _bundle, "kwargs": {"path": str(ROOT / "tests" / "dag_files")}},
    ]
)
# Dummy credentials only: nothing in the test suite talks to a real AWS account.
for _k, _v in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)

pytest_plugins = [
    "tests.fixtures.airflow",
    "tests.fixtures.chromium",
    "tests.fixtures.pipeline",
    "tests.fixtures.services",
    "tests.fixtures.skip_policy",
    "tests.fixtures.stack",
]


def _xdist_group(item) -> str:
    """Each test file is a group; the order-dependent e2e files (``test_NN_*.py``, which share one local stack and
    build on each other's runs) are one group together; other e2e files are groups of their own."""
    rel = Path(str(item.fspath)).relative_to(ROOT / "tests")
    ordered = rel.parts[0] == "e2e" and re.match(r"test_\d\d_", rel.name)
    return "e2e" if ordered else str(rel)


# The longest groups, longest first (minutes each on two cores; `make test` prints --durations). run_tests.sh turns
# off xdist's reordering by test count, which would send these few-test groups last and leave one worker running them
# alone at the end; scheduled first, the many short groups fill in around them.
LONG_GROUPS = (
    "e2e",
    "deployment/test_retrain_deployed.py",
    "deployment/test_airflow_ui.py",
    "e2e/test_make_demo.py",
    "docs/test_doc_commands.py",
    "personalize_ops/transform/spark/test_prepare_equivalence.py",
    "personalize_ops/transform/test_cookbook.py",
    "personalize_ops/pipeline/test_spark_submit.py",
    "personalize_ops/transform/test_custom_transform.py",
    "personalize_ops/transform/test_cli_bad_data.py",
    "e2e/test_auto_training.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """With ``--dist loadgroup``, keep each group on one worker, in file order.

    xdist schedules by a ``@<group>`` suffix of the node id, which its own hook sets from the ``xdist_group`` mark;
    pytest-xdist 3.8 sets it on an attribute pytest 9 no longer reads, so the suffix is set here (once) as well.
    """
    from _pytest.nodeid import NodeId

    if not config.pluginmanager.hasplugin("xdist"):  # `-p no:xdist`: the marker is not registered
        return
    rank = {group: i for i, group in enumerate(LONG_GROUPS)}
    items.sort(key=lambda item: rank.get(_xdist_group(item), len(rank)))  # stable: file order within a group
    for item in items:
        group = _xdist_group(item)
        item.add_marker(pytest.mark.xdist_group(group))
        if getattr(config.option, "loadgroup", False) and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.fixture(scope="session", autouse=True)
def aws_client_shortcuts(frame_walking_aws_caller, shared_botocore_models):
    """Every test that makes an AWS hook or client gets tests/fixtures/airflow.py's two shortcuts, not only those on
    ``airflow_db`` or ``local_stack``: the provider's ``inspect.stack()`` costs up to a second of CPU per hook under
    pytest (notifications, S3 records, teardown against a moto server), and a new boto3 session decodes its service
    model again."""
