"""The prepare tasks of one dataset when its Spark job runs on a cluster (``prepare.spark.submit``: emr_serverless or
glue): stage the job to S3, submit it with the Amazon provider's operator (deferrable: the worker slot is freed
while the job runs), then collect its summary. The DAG file calls ``spark_prepare`` in place of the prepare task."""

from __future__ import annotations

from airflow.sdk import TaskGroup, task
from airflow.sdk.exceptions import AirflowSkipException


def spark_prepare(cfg, dataset: str, conn: str):
    """A TaskGroup ``prepare_<dataset>`` whose last task returns the dataset's ``StagedDataset``."""
    spark = cfg.prepare.spark
    conn = spark.aws_conn_id or conn
    with TaskGroup(f"prepare_{dataset}", tooltip=f"Spark job on {spark.submit}") as group:

        @task(retries=0, multiple_outputs=True)
        def stage(params=None, run_id=None) -> dict:
            """Upload the job script, package and config; the submit task's arguments. Skipped on ``dry_run``."""
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            from personalize_ops.pipeline import spark_submit

            if params["dry_run"]:
                raise AirflowSkipException("dry_run: the Spark job is not submitted")
            staged = spark_submit.stage_job(cfg, S3Hook(aws_conn_id=conn).get_conn(), run_id)
            build = spark_submit.emr_serverless_args if spark.submit == "emr_serverless" else spark_submit.glue_args
            return build(cfg, dataset, staged, run_id)

        args = stage()
        if spark.submit == "emr_serverless":
            from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator

            submit = EmrServerlessStartJobOperator(
                task_id="submit", aws_conn_id=conn, deferrable=True, waiter_delay=spark.poll_seconds,
                waiter_max_attempts=max(1, 86400 // spark.poll_seconds),
                application_id=args["application_id"], execution_role_arn=args["execution_role_arn"],
                job_driver=args["job_driver"], configuration_overrides=args["configuration_overrides"],
                name=args["name"],
            )  # fmt: skip
        else:
            from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

            submit = GlueJobOperator(
                task_id="submit", aws_conn_id=conn, deferrable=True, job_poll_interval=spark.poll_seconds,
                job_name=args["job_name"], job_desc=args["job_desc"], script_location=args["script_location"],
                iam_role_arn=args["iam_role_arn"], script_args=args["script_args"],
                create_job_kwargs=args["create_job_kwargs"], update_config=True,
            )  # fmt: skip

        @task(retries=0)
        def collect(run_id=None):
            """The job's summary (or its data-quality error) from S3, as the prepare stage's value."""
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            from personalize_ops.pipeline import spark_submit
            from personalize_ops.pipeline.errors import failing_fast
            from personalize_ops.pipeline.values import StagedDataset

            with failing_fast():
                s3 = S3Hook(aws_conn_id=conn).get_conn()
                return StagedDataset.from_summary(spark_submit.collect(cfg, dataset, s3, run_id))

        done = collect()
        args >> submit >> done
    return group, done
