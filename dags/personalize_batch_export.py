"""personalize_batch_export: scheduled batch-inference exports of every configured batch job.

Runs on its schedule (default daily) and whenever personalize_retrain promotes a new version (Airflow Asset).
Per job: pick the version (the campaign's, else the newest ACTIVE), build the input from the imported users,
run the batch inference job(s), and flatten the output to CSV/Parquet with every input user accounted for.
Output files are named after the run (``recommendations-<run_after>-<run_id>``) and never overwritten.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Asset, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, TaskGroup, dag, task
from personalize_ops.notifications import on_failure
from personalize_ops.operators import PersonalizeBatchInferenceJobOperator
from personalize_ops.pipeline import settings

CFG = settings.load()
GROUP = CFG.dataset_group
CONN = GROUP.aws_conn_id
PROMOTED = [Asset(name=f"personalize-{GROUP.name}-campaign-{c.name}",
                  uri=f"personalize://{GROUP.name}/campaigns/{c.name}") for c in CFG.campaigns]  # fmt: skip


def _schedule():
    cron = CFG.schedules.batch_export
    if cron and PROMOTED:
        return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=AssetAny(*PROMOTED))
    return cron or (AssetAny(*PROMOTED) if PROMOTED else None)


@dag(
    dag_id="personalize_batch_export",
    schedule=_schedule(),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["personalize", GROUP.name, "batch"],
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "aws_conn_id": CONN,
        "on_failure_callback": on_failure(CFG),
        **settings.wait_args(),
    },
)
def personalize_batch_export():
    @task(multiple_outputs=True)
    def build_input(job_name: str, dag_run=None):
        """Version to use, filter ARN, and the job input split into parts (uploaded to S3)."""
        from personalize_ops.hook import PersonalizeHook, run_token
        from personalize_ops.pipeline import batch_export

        job = next(j for j in CFG.batch_jobs if j.name == job_name)
        hook, s3 = PersonalizeHook(aws_conn_id=CONN), S3Hook(aws_conn_id=CONN).get_conn()
        version = batch_export.resolve_version(hook, CFG, job)
        print(f"{job.name}: using {version['solution_version_arn']} ({version['why']})")
        filter_arn = None
        if job.filter:
            group_arn = hook.find_by_name("dataset_group", GROUP.name)
            filter_arn = hook.find_by_name("filter", job.filter, group_arn)
            if not filter_arn:
                raise batch_export.ExportError(f"{job.name}: filter {job.filter!r} does not exist; run retrain first")
        users = batch_export.input_users(s3, hook, CFG, job)
        parts = batch_export.write_inputs(s3, CFG, job, users, run_token(dag_run.dag_id, dag_run.run_id))
        jobs = [{"job_name": p["job_name"], "input_path": p["input_path"], "output_path": p["output_path"]}
                for p in parts]  # fmt: skip
        return {"version": version["solution_version_arn"], "filter_arn": filter_arn, "parts": parts,
                "jobs": jobs, "users": len(users)}  # fmt: skip

    @task
    def job_kwargs(built: dict) -> list[dict]:
        """One batch inference job per input part."""
        return built["jobs"]

    @task
    def export(job_name: str, built: dict, dag_run=None):
        """Flatten the output to files stamped with this run (asset-triggered runs have no logical date)."""
        from personalize_ops.pipeline import batch_export

        job = next(j for j in CFG.batch_jobs if j.name == job_name)
        s3 = S3Hook(aws_conn_id=CONN).get_conn()
        stamp = batch_export.export_stamp(dag_run.run_after, dag_run.run_id)
        return batch_export.flatten(s3, built["parts"], built["users"], job.output_format, job.destination,
                                    stamp)  # fmt: skip

    for job in CFG.batch_jobs:
        with TaskGroup(f"job_{job.name.replace('-', '_')}", tooltip=f"batch inference: {job.solution}"):
            built = build_input.override(task_id="build_input")(job.name)
            runs = PersonalizeBatchInferenceJobOperator.partial(
                task_id="batch_inference", solution_version_arn=built["version"], role_arn=GROUP.role_arn,
                num_results=job.num_results, filter_arn=built["filter_arn"],
            ).expand_kwargs(job_kwargs.override(task_id="parts")(built))  # fmt: skip
            runs >> export.override(task_id="export")(job.name, built)


personalize_batch_export()
