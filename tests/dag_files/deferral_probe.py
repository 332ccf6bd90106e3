"""A tiny DAG whose only wait is deferred: proves a deployment's triggerer frees worker slots."""

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import dag, task


@dag(dag_id="deferral_probe", schedule=None, catchup=False, tags=["test"])
def deferral_probe():
    @task
    def before():
        return "ok"

    wait = DateTimeSensorAsync(
        task_id="wait",
        target_time="{{ (macros.datetime.utcnow() + macros.timedelta(seconds=8)).isoformat() }}",
    )
    before() >> wait


deferral_probe()
