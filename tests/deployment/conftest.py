"""Deployment tier: native Airflow on a PostgreSQL server the tests start (LocalExecutor, or CeleryExecutor
with a Redis the tests start); see tests/fixtures/services.py."""

import json

import pytest

from tests.fixtures.airflow_cluster import ROOT, NativeAirflow

BUNDLES = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (("dags-folder", ROOT / "dags"), ("test-dags", ROOT / "tests" / "dag_files"))
    ]
)


@pytest.fixture
def native_airflow_factory(request, tmp_path_factory, test_postgres):
    """start(extra_env, executor) -> a running NativeAirflow; every deployment started is stopped afterwards."""
    started = []

    def start(extra_env: dict | None = None, executor: str = "LocalExecutor") -> NativeAirflow:
        redis = request.getfixturevalue("test_redis") if executor == "CeleryExecutor" else None
        env = {"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": BUNDLES, **(extra_env or {})}
        home = tmp_path_factory.mktemp("airflow-deploy")
        cluster = NativeAirflow(home=home, postgres=test_postgres, redis=redis, extra_env=env, executor=executor)
        started.append(cluster)
        return cluster.start()

    try:
        yield start
    finally:
        for cluster in started:
            cluster.stop()
