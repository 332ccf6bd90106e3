"""Deployment tier: native Airflow on PostgreSQL (LocalExecutor, or CeleryExecutor with Redis); each test is
skipped with the reason when a service it needs is absent."""

import json

import pytest

from tests.fixtures.airflow_cluster import ROOT, NativeAirflow, postgres_unavailable_reason, redis_unavailable_reason

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
def native_airflow_factory(tmp_path_factory):
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    started = []

    def start(extra_env: dict | None = None, executor: str = "LocalExecutor") -> NativeAirflow:
        if executor == "CeleryExecutor" and (why := redis_unavailable_reason()):
            pytest.skip(why)
        env = {"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": BUNDLES, **(extra_env or {})}
        home = tmp_path_factory.mktemp("airflow-deploy")
        cluster = NativeAirflow(home=home, extra_env=env, executor=executor)
        started.append(cluster)
        return cluster.start()

    yield start
    for cluster in started:
        cluster.stop()
