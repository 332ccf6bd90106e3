"""Deployment tier: native Airflow (LocalExecutor, PostgreSQL); skipped with the reason when absent."""

import json

import pytest

from tests.fixtures.airflow_cluster import ROOT, NativeAirflow, postgres_unavailable_reason

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


@pytest.fixture(scope="module")
def native_airflow_factory(tmp_path_factory):
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    started = []

    def start(extra_env: dict | None = None) -> NativeAirflow:
        env = {"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": BUNDLES, **(extra_env or {})}
        cluster = NativeAirflow(home=tmp_path_factory.mktemp("airflow-deploy"), extra_env=env)
        started.append(cluster)
        return cluster.start()

    yield start
    for cluster in started:
        cluster.stop()
