"""The native deployment runs a DAG triggered over REST and the triggerer holds its wait (no worker slot)."""

import urllib.error

import pytest

from tests.deployment.run_observer import trigger_and_observe, wait_for_dag

pytestmark = pytest.mark.deployment


def test_rest_triggered_run_defers_its_wait(native_airflow_factory):
    cluster = native_airflow_factory()
    with pytest.raises(urllib.error.HTTPError) as denied:
        cluster.api("GET", "/api/v2/dags")
    assert denied.value.code in (401, 403)

    token = cluster.token()
    wait_for_dag(cluster, token, "deferral_probe")
    obs = trigger_and_observe(cluster, token, "deferral_probe", timeout=180)

    assert obs.state == "success", obs.task_states
    # The 8 s wait was deferred: a triggerer held its DateTimeTrigger while no worker slot ran it.
    assert "wait" in obs.deferred_tasks, obs.task_states
    assert obs.held_by_triggerer.get("wait", "").endswith("DateTimeTrigger"), obs.held_by_triggerer
    print(
        f"deferral_probe: wall {obs.wall_seconds:.1f}s, running {obs.worker_slot_seconds:.1f} slot-s, "
        f"deferred {obs.state_seconds['deferred']:.1f} task-s"
    )
