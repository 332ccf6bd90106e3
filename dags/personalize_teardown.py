"""personalize_teardown: manual, safe removal of everything under a pipeline's dataset group.

One DAG per pipeline config (``personalize_teardown`` or ``personalize_teardown__<name>``, see
personalize_ops.pipeline.registry); each touches its own dataset group only. Dry run by default (lists what it would
delete). A real run needs ``confirm`` = the dataset group name. Deletes in the order derived from the resource table,
waiting for each, and never touches another dataset group. S3 areas are deleted only when their own option asks.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, dag, task
from personalize_ops.pipeline import registry, settings
from personalize_ops.pipeline.dag_args import dag_args
from personalize_ops.pipeline.teardown import S3_OPTIONS, s3_areas

DOC = """
### personalize_teardown ({group})
Manual only. `dry_run` (default true) lists what would be deleted, with the object count of every S3 area. To
delete, set `dry_run` false and `confirm` to `{group}`. Order: campaigns -> stop in-flight trainings ->
solutions -> event trackers -> filters -> datasets -> dataset group -> schemas (ours only; shared ones are kept).
A second run is a no-op.

S3 is deleted per area, each only when its own option is true (all default false); the metric history, the gate
decisions and the exports are never deleted as a side effect of another option:
{areas}
"""


def teardown_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    group, conn = cfg.dataset_group, cfg.dataset_group.aws_conn_id
    areas = "\n".join(f"- `{a.option}`: `{a.location}`" for a in s3_areas(cfg))

    @dag(**dag_args(
        pipeline, "teardown", schedule=None, doc_md=DOC.format(group=group.name, areas=areas), tag="teardown",
        retries=1, aws=False, poll=False,
        params={
            "dry_run": Param(True, type="boolean", description="List what would be deleted; delete nothing."),
            "confirm": Param("", type="string", description=f"Type the dataset group name ({group.name}) to delete."),
            **{o.param: Param(False, type="boolean", description=o.description) for o in S3_OPTIONS},
        },
    ))  # fmt: skip
    def personalize_teardown():
        @task
        def plan(params=None):
            """Discover everything under the dataset group and the S3 areas; refuse a real run without confirmation."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import teardown

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            return teardown.plan(hook, s3, cfg, params)

        @task
        def delete(steps: list, params=None):
            """Delete in order, waiting for each (ResourceInUse is retried by the hook); then the chosen S3 areas."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import alerts, teardown

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            rows = teardown.run(hook, s3, steps, dry_run=params["dry_run"], delay=settings.wait_args()["waiter_delay"])
            return alerts.teardown_done(cfg, rows, dry_run=params["dry_run"])

        delete(plan())

    return personalize_teardown()


for _pipeline in registry.pipelines():
    teardown_dag(_pipeline)
