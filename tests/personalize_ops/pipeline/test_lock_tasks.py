"""The lock's two tasks wired around a DAG (tests/dag_files/group_lock.py), run with ``dag.test()`` on the moto S3
server: the work runs holding the lock, the lock is released after success and after a failure, and a failed task
still fails the run (the release is a teardown: it never turns a failed run green)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dag_files" / "group_lock.py"
KEY = "tk/cadence/lock-dag/lock.json"


@pytest.fixture(scope="module")
def guarded(local_stack, aws_conn_id, airflow_db):
    local_stack.client("s3").create_bucket(Bucket="tk-lock-tasks")
    spec = importlib.util.spec_from_file_location("group_lock_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock_exists(local_stack) -> bool:
    listed = local_stack.client("s3").list_objects_v2(Bucket="tk-lock-tasks", Prefix=KEY)
    return bool(listed.get("KeyCount"))


@pytest.mark.parametrize("fail", [False, True])
def test_the_lock_is_held_while_working_and_released_whatever_the_outcome(guarded, local_stack, fail):
    run = guarded.guarded.test(run_conf={"fail": fail})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["acquire_group_lock"] == "success" and states["release_group_lock"] == "success"
    assert states["work"] == ("failed" if fail else "success")
    assert run.state == ("failed" if fail else "success")
    assert not _lock_exists(local_stack)


def _hold(local_stack, dag_id: str, run_id: str) -> None:
    import json

    body = json.dumps({"dag_id": dag_id, "run_id": run_id, "since": 0}).encode()
    local_stack.client("s3").put_object(Bucket="tk-lock-tasks", Key=KEY, Body=body)


def test_a_run_that_finds_the_lock_taken_skips_and_leaves_it_alone(guarded, local_stack):
    """The holder is a run Airflow cannot tell about: the lock counts as held."""
    _hold(local_stack, "personalize_retrain", "a-run-elsewhere")
    run = guarded.skipping.test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success" and states["acquire_group_lock"] == "skipped" and states["step"] == "skipped"
    held = local_stack.client("s3").get_object(Bucket="tk-lock-tasks", Key=KEY)["Body"].read()
    assert b"a-run-elsewhere" in held
    local_stack.client("s3").delete_object(Bucket="tk-lock-tasks", Key=KEY)


def test_a_lock_left_by_a_finished_run_is_taken_over(guarded, local_stack):
    """Airflow says the holder's run ended (its release never ran): the next run takes the lock over."""
    finished = guarded.skipping.test()
    assert finished.state == "success" and not _lock_exists(local_stack)
    _hold(local_stack, finished.dag_id, finished.run_id)
    run = guarded.skipping.test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["acquire_group_lock"] == states["step"] == states["release_group_lock"] == "success"
    assert not _lock_exists(local_stack)
