"""The dataset group's run lock as two tasks wired around a DAG (the rule and its reasons: ``grouplock.py``).

``guard(dag, cfg, after=..., on_busy=...)`` adds ``acquire_group_lock`` (after the task ``after``, or before every
first task) as a setup task and ``release_group_lock`` (after every last task) as its teardown: it runs once the
others are done, whatever their outcome, when the acquire succeeded, and it never decides the run's state. Light at
parse time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

LOCK_WAIT_POKE = timedelta(minutes=1)
LOCK_WAIT_TIMEOUT = timedelta(hours=24)


def guard(dag, cfg, *, after: str | None = None, on_busy: Literal["wait", "skip"] = "wait") -> None:
    """Wire acquire/release of ``cfg``'s group lock into the built ``dag`` (see the module docstring)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import PokeReturnValue, task
    from airflow.sdk.exceptions import AirflowSkipException

    conn = cfg.dataset_group.aws_conn_id

    def take(dag_run, ti):
        from personalize_ops.pipeline import grouplock

        s3 = S3Hook(aws_conn_id=conn).get_conn()
        return grouplock.try_acquire(s3, cfg, dag_run.dag_id, dag_run.run_id, grouplock.airflow_run_state(ti))

    existing = list(dag.tasks)
    with dag:
        if on_busy == "wait":

            @task.sensor(task_id="acquire_group_lock", mode="reschedule", poke_interval=LOCK_WAIT_POKE,
                         timeout=LOCK_WAIT_TIMEOUT)  # fmt: skip
            def acquire(dag_run=None, ti=None):
                """Waits (no worker slot held) until this run holds the dataset group's lock."""
                ok, holder = take(dag_run, ti)
                if not ok:
                    print(f"Dataset group {cfg.dataset_group.name} is busy: {holder.describe()}; waiting")
                return PokeReturnValue(is_done=ok)

        else:

            @task(task_id="acquire_group_lock")
            def acquire(dag_run=None, ti=None):
                """Takes the dataset group's lock, or skips the run when another run holds it."""
                ok, holder = take(dag_run, ti)
                if not ok:
                    raise AirflowSkipException(
                        f"Dataset group {cfg.dataset_group.name} is busy: {holder.describe()} holds its lock; this "
                        "run is skipped (the next run imports whatever is still new)"
                    )

        @task(task_id="release_group_lock")
        def release(dag_run=None):
            """Frees the dataset group's lock if this run holds it (also after a failure)."""
            from personalize_ops.pipeline import grouplock

            grouplock.release(S3Hook(aws_conn_id=conn).get_conn(), cfg, dag_run.dag_id, dag_run.run_id)

        first, last = acquire().operator, release().operator
        # Setup and teardown: the release runs after a failure too, and its outcome never decides the run's state
        # (a plain all_done leaf would turn a failed run green).
        first.as_setup()
        last.as_teardown(setups=first)
    start = [t for t in existing if not t.upstream_list] if after is None else list(dag.get_task(after).downstream_list)
    if after is not None:
        dag.get_task(after) >> first
    for t in start:
        first >> t
    for t in existing:
        if not t.downstream_list:
            t >> last
