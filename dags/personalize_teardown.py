"""personalize_teardown: manual, safe removal of everything under the configured dataset group.

Dry run by default (lists what it would delete). A real run needs ``confirm`` = the dataset group name. Deletes in
the order derived from the resource table, waiting for each, and never touches another dataset group.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException
from personalize_ops.pipeline import settings

CFG = settings.load()
GROUP = CFG.dataset_group
CONN = GROUP.aws_conn_id

DOC = f"""
### personalize_teardown ({GROUP.name})
Manual only. `dry_run` (default true) lists what would be deleted. To delete, set `dry_run` false and `confirm` to
`{GROUP.name}`. Order: campaigns -> stop in-flight trainings -> solutions -> event trackers -> filters -> datasets ->
schemas (ours only; shared ones are kept) -> dataset group; optionally the S3 staging prefix
`s3://{GROUP.bucket}/{GROUP.prefix}/`.
"""


@dag(
    dag_id="personalize_teardown",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["personalize", GROUP.name, "teardown"],
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=30)},
    params={
        "dry_run": Param(True, type="boolean", description="List what would be deleted; delete nothing."),
        "confirm": Param("", type="string", description=f"Type the dataset group name ({GROUP.name}) to delete."),
        "delete_staging": Param(False, type="boolean", description="Also delete the S3 staging prefix."),
    },
)
def personalize_teardown():
    @task
    def plan(params=None):
        """Discover everything under the dataset group; refuse a real run without the right confirmation."""
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline.teardown import discover, report

        if not params["dry_run"] and params["confirm"] != GROUP.name:
            raise AirflowFailException(
                f"refusing to delete: param confirm={params['confirm']!r} must equal the dataset group name "
                f"{GROUP.name!r} (or run with dry_run=true to only list what would be deleted)"
            )
        steps = discover(PersonalizeHook(aws_conn_id=CONN), GROUP.name)
        print(("DRY RUN: would do\n" if params["dry_run"] else "Plan:\n") + report(steps))
        return steps

    @task
    def delete(steps: list, params=None):
        """Delete in order, waiting for each; ResourceInUse is retried with backoff by the hook."""
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline.teardown import delete_prefix, execute, report

        if params["dry_run"]:
            rows = [{**s, "result": "dry run"} for s in steps]
        else:
            rows = execute(PersonalizeHook(aws_conn_id=CONN), steps, delay=settings.wait_args()["waiter_delay"])
            if params["delete_staging"]:
                n = delete_prefix(S3Hook(aws_conn_id=CONN).get_conn(), GROUP.bucket, GROUP.prefix)
                rows.append({"kind": "s3", "name": f"s3://{GROUP.bucket}/{GROUP.prefix}/", "action": "delete",
                             "result": f"{n} objects deleted", "reason": "delete_staging", "arn": ""})  # fmt: skip
        print(report(rows))
        return rows

    delete(plan())


personalize_teardown()
