"""DAGs wrapped in the dataset group's lock (personalize_ops.pipeline.lock_tasks), for tests/personalize_ops/pipeline/
test_lock_tasks.py: ``group_lock_guarded`` waits for the lock and its task fails when ``dag_run.conf["fail"]`` is
true; ``group_lock_skipping`` skips when the lock is taken. Bucket ``tk-lock-tasks``, group ``lock-dag``, the
``pz_local`` AWS connection the tests provide."""

from types import SimpleNamespace

import pendulum
from airflow.sdk import DAG, task
from personalize_ops.pipeline import lock_tasks

CFG = SimpleNamespace(dataset_group=SimpleNamespace(name="lock-dag", bucket="tk-lock-tasks", prefix="tk",
                                                    aws_conn_id="pz_local"))  # fmt: skip

with DAG("group_lock_guarded", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
         tags=["test"]) as guarded:  # fmt: skip

    @task
    def work(dag_run=None):
        """Holds the lock while it runs; fails on request."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        s3 = S3Hook(aws_conn_id="pz_local").get_conn()
        held = s3.get_object(Bucket="tk-lock-tasks", Key="tk/cadence/lock-dag/lock.json")["Body"].read().decode()
        print(f"lock while working: {held}")
        if dag_run.conf.get("fail"):
            raise RuntimeError("failing on request")

    work()

lock_tasks.guard(guarded, CFG, on_busy="wait")

with DAG("group_lock_skipping", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
         tags=["test"]) as skipping:  # fmt: skip

    @task
    def step():
        """Runs only when this run got the lock."""

    step()

lock_tasks.guard(skipping, CFG, on_busy="skip")
