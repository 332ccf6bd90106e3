"""personalize_teardown: manual, safe removal of everything under the configured dataset group.

Dry run by default (lists what it would delete). A real run needs ``confirm`` = the dataset group name. Deletes in
the order derived from the resource table, waiting for each, and never touches another dataset group. S3 areas
are deleted only when their own option asks for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException
from personalize_ops.notifications import on_failure
from personalize_ops.pipeline import settings
from personalize_ops.pipeline.teardown import S3_OPTIONS, s3_areas

CFG = settings.load()
GROUP = CFG.dataset_group
CONN = GROUP.aws_conn_id
AREAS = "\n".join(f"- `{a.option}`: `{a.location}`" for a in s3_areas(CFG))

DOC = f"""
### personalize_teardown ({GROUP.name})
Manual only. `dry_run` (default true) lists what would be deleted, with the object count of every S3 area. To
delete, set `dry_run` false and `confirm` to `{GROUP.name}`. Order: campaigns -> stop in-flight trainings ->
solutions -> event trackers -> filters -> datasets -> dataset group -> schemas (ours only; shared ones are kept).
A second run is a no-op.

S3 is deleted per area, each only when its own option is true (all default false); the metric history, the gate
decisions and the exports are never deleted as a side effect of another option:
{AREAS}
"""


@dag(
    dag_id="personalize_teardown",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["personalize", GROUP.name, "teardown"],
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=30),
                  "on_failure_callback": on_failure(CFG)},  # fmt: skip
    params={
        "dry_run": Param(True, type="boolean", description="List what would be deleted; delete nothing."),
        "confirm": Param("", type="string", description=f"Type the dataset group name ({GROUP.name}) to delete."),
        **{o.param: Param(False, type="boolean", description=o.description) for o in S3_OPTIONS},
    },
)
def personalize_teardown():
    @task
    def plan(params=None):
        """Discover everything under the dataset group and the S3 areas; refuse a real run without confirmation."""
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline.teardown import TeardownError, discover, plan_s3, report

        if not params["dry_run"] and params["confirm"] != GROUP.name:
            raise AirflowFailException(
                f"refusing to delete: param confirm={params['confirm']!r} must equal the dataset group name "
                f"{GROUP.name!r} (or run with dry_run=true to only list what would be deleted)"
            )
        try:
            s3_steps = plan_s3(S3Hook(aws_conn_id=CONN).get_conn(), CFG, params)
        except TeardownError as err:
            raise AirflowFailException(str(err)) from None
        steps = discover(PersonalizeHook(aws_conn_id=CONN), GROUP.name) + s3_steps
        print(("DRY RUN: would do\n" if params["dry_run"] else "Plan:\n") + report(steps))
        return steps

    @task
    def delete(steps: list, params=None):
        """Delete in order, waiting for each (ResourceInUse is retried by the hook); then the chosen S3 areas."""
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline import alerts, teardown

        hook, s3 = PersonalizeHook(aws_conn_id=CONN), S3Hook(aws_conn_id=CONN).get_conn()
        rows = teardown.run(hook, s3, steps, dry_run=params["dry_run"], delay=settings.wait_args()["waiter_delay"])
        return alerts.teardown_done(CFG, rows, dry_run=params["dry_run"])

    delete(plan())


personalize_teardown()
