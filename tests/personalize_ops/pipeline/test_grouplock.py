"""The dataset group's run lock on the moto S3 server: one holder, retries keep it, stale locks are taken over,
two runs racing for it never both get it, and only the holder releases it."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from personalize_ops.pipeline import grouplock


def _cfg(uid: str):
    return SimpleNamespace(dataset_group=SimpleNamespace(name=f"g-{uid}", bucket="tk-locks", prefix="tk"))


@pytest.fixture(scope="module")
def s3(local_stack):
    client = local_stack.client("s3")
    client.create_bucket(Bucket="tk-locks")
    return client


def running(*_):
    return "running"


def test_one_holder_at_a_time_and_only_the_holder_releases(s3, uid):
    cfg = _cfg(uid)
    assert grouplock.try_acquire(s3, cfg, "personalize_retrain", "r1", running)[0]
    ok, holder = grouplock.try_acquire(s3, cfg, "personalize_incremental", "i1", running)
    assert not ok and (holder.dag_id, holder.run_id) == ("personalize_retrain", "r1")
    assert "personalize_retrain run r1" in holder.describe()
    assert grouplock.try_acquire(s3, cfg, "personalize_retrain", "r1", running)[0]  # a retry of the holder
    assert not grouplock.release(s3, cfg, "personalize_incremental", "i1")
    assert grouplock.release(s3, cfg, "personalize_retrain", "r1")
    assert grouplock.try_acquire(s3, cfg, "personalize_incremental", "i1", running)[0]
    assert grouplock.try_acquire(s3, _cfg(uid + "-other"), "personalize_retrain", "r2", running)[0]  # other group


def test_a_lock_whose_run_ended_without_releasing_it_is_taken_over(s3, uid):
    cfg, asked = _cfg(uid), []

    def state(dag_id, run_id):
        asked.append((dag_id, run_id))
        return "failed"

    assert grouplock.try_acquire(s3, cfg, "personalize_retrain", "crashed", running)[0]
    ok, holder = grouplock.try_acquire(s3, cfg, "personalize_delete_users", "d1", state)
    assert ok and holder.run_id == "d1" and asked == [("personalize_retrain", "crashed")]
    assert grouplock.read(s3, "tk-locks", f"tk/cadence/g-{uid}/lock.json")[0].run_id == "d1"


def test_two_runs_racing_for_the_lock_never_both_get_it(s3, uid):
    cfg, results, start = _cfg(uid), {}, threading.Barrier(8)

    def contend(n):
        start.wait()
        results[n] = grouplock.try_acquire(s3, cfg, "personalize_incremental", f"run{n}", running)[0]

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(results.values()) == 1, results
