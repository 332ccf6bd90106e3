"""personalize_batch_export: scheduled batch-inference exports of every configured batch job.

One DAG per pipeline config (``personalize_batch_export`` or ``personalize_batch_export__<name>``, see
personalize_ops.pipeline.registry). Runs on its schedule (default daily) and whenever the pipeline's retrain DAG
promotes a new version (Airflow Asset). Per job: pick the version (the campaign's, else the newest ACTIVE), build the
input from the imported users, run the batch inference job(s), and flatten the output to CSV/Parquet with every
input user accounted for. Output files are named after the run (``recommendations-<run_after>-<run_id>``) and never
overwritten.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import TaskGroup, dag, task
from personalize_ops.operators import PersonalizeBatchInferenceJobOperator
from personalize_ops.pipeline import batch_export, naming, registry
from personalize_ops.pipeline.dag_args import dag_args
from personalize_ops.pipeline.values import ExportPlan


def batch_export_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    group, conn = cfg.dataset_group, cfg.dataset_group.aws_conn_id
    jobs = {j.name: j for j in cfg.batch_jobs}

    @dag(**dag_args(pipeline, "batch_export", schedule=batch_export.schedule(cfg), doc_md=__doc__, tag="batch",
                    backoff=True))  # fmt: skip
    def personalize_batch_export():
        @task
        def build_input(job: str, dag_run=None) -> ExportPlan:
            """Version to use, filter ARN, and the job input split into parts (uploaded to S3)."""
            from personalize_ops.hook import PersonalizeHook, run_token
            from personalize_ops.pipeline.batch_export import plan_export

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            return plan_export(hook, s3, cfg, jobs[job], run_token(dag_run.dag_id, dag_run.run_id))

        @task
        def parts(plan: ExportPlan) -> list[dict]:
            """One batch inference job per input part."""
            return plan.job_kwargs()

        @task
        def export(job: str, plan: ExportPlan, dag_run=None):
            """Flatten the output to files stamped with this run (asset-triggered runs have no logical date)."""
            from personalize_ops.pipeline.batch_export import export_stamp, flatten

            s3 = S3Hook(aws_conn_id=conn).get_conn()
            stamp = export_stamp(dag_run.run_after, dag_run.run_id)
            return flatten(s3, plan.parts, plan.users, jobs[job].output_format, jobs[job].destination, stamp)

        for job in jobs.values():
            with TaskGroup(naming.batch_job_group(job.name), tooltip=f"batch inference: {job.solution}"):
                plan = build_input.override(task_id="build_input")(job.name)
                runs = PersonalizeBatchInferenceJobOperator.partial(
                    task_id="batch_inference", role_arn=group.role_arn, num_results=job.num_results
                ).expand_kwargs(parts.override(task_id="parts")(plan))
                runs >> export.override(task_id="export")(job.name, plan)

    return personalize_batch_export()


for _pipeline in registry.pipelines():
    batch_export_dag(_pipeline)
