"""personalize_incremental: import only the new events, refresh models with trainingMode UPDATE, deploy them.

One DAG per pipeline config (``personalize_incremental`` or ``personalize_incremental__<name>``, see
personalize_ops.pipeline.registry); schedule ``schedules.incremental`` (off by default). The rules (watermark, AWS's
minimums as skips with a reason, the gate rule for UPDATE versions) are in personalize_ops.pipeline.incremental;
this file only declares the tasks.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import TaskGroup, dag, task
from personalize_ops.operators import PersonalizeCreateSolutionVersionOperator
from personalize_ops.pipeline import lock_tasks, naming, registry
from personalize_ops.pipeline.dag_args import dag_args
from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator
from personalize_ops.pipeline.imports import PersonalizeImportOperator
from personalize_ops.pipeline.incremental import supports_update
from personalize_ops.pipeline.values import Increment

DOC = """
### personalize_incremental ({group})
The daily cadence next to personalize_retrain's full one. Events newer than the watermark (the newest event the
group holds) -> prepare stage (quality suites, transform, deny-list) -> INCREMENTAL import -> watermark -> per
User-Personalization solution an UPDATE version -> deployed to each campaign that serves its FULL parent.
Skips (not failures), with the reason in the task log: fewer than 1,000 new events; no FULL import yet; a recipe
without UPDATE; no ACTIVE FULL version; the dataset group busy with another run. Config: `{path}`.
"""


def incremental_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    group_cfg, conn = cfg.dataset_group, cfg.dataset_group.aws_conn_id

    @dag(**dag_args(pipeline, "incremental", schedule=cfg.schedules.incremental, tag="incremental",
                    doc_md=DOC.format(group=group_cfg.name, path=pipeline.path), backoff=True,
                    max_retry_delay=timedelta(minutes=10)))  # fmt: skip
    def personalize_incremental():
        @task
        def find_dataset() -> str:
            """The interactions dataset; skips until the full cadence created and imported it."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import incremental

            with incremental.skipping():
                return incremental.find_dataset(PersonalizeHook(aws_conn_id=conn), cfg, "interactions")

        @task(retries=0)
        def prepare_increment(dataset_arn: str, dag_run=None) -> Increment:
            """Quality + transform + deny-list, then only the events after the watermark; skips under 1,000."""
            from personalize_ops.hook import PersonalizeHook, run_token
            from personalize_ops.pipeline import incremental
            from personalize_ops.pipeline.errors import failing_fast

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            token = run_token(dag_run.dag_id, dag_run.run_id)
            with failing_fast(), incremental.skipping():
                return incremental.prepare_increment(hook, s3, cfg, dataset_arn, dag_run.run_id, token)

        @task
        def record_watermark(increment: Increment) -> dict:
            """After the import is ACTIVE: its newest event is the new watermark."""
            from personalize_ops.pipeline import incremental

            return incremental.write_watermark(S3Hook(aws_conn_id=conn).get_conn(), cfg, increment)

        dataset = find_dataset()
        increment = prepare_increment(dataset)
        imported = PersonalizeImportOperator(
            task_id="import_interactions", plan=increment, parent_arn=dataset, role_arn=group_cfg.role_arn,
            import_mode="INCREMENTAL", outlets=[naming.imported_asset(group_cfg.name, "interactions")],
        )  # fmt: skip
        watermark = record_watermark(increment)
        imported >> watermark

        @task
        def plan_update(solution: str) -> str:
            """The solution, if AWS allows an UPDATE version of it now; else a skip with the rule."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import incremental

            with incremental.skipping():
                return incremental.plan_update(PersonalizeHook(aws_conn_id=conn), cfg, solution)

        @task
        def decide(campaign: str, solution_arn: str, version_arn: str):
            """Deploy the UPDATE version only where the campaign serves its FULL parent (the documented rule)."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import incremental

            return incremental.decide_update_deploy(PersonalizeHook(aws_conn_id=conn), campaign, solution_arn,
                                                    version_arn)  # fmt: skip

        for sol in cfg.solutions:
            with TaskGroup(naming.solution_group(sol.name), tooltip=f"{sol.recipe}: trainingMode UPDATE"):
                solution = plan_update.override(task_id="plan_update")(sol.name)
                watermark >> solution
                if not supports_update(sol.recipe_arn):
                    continue  # plan_update skips with AWS's rule, in the task log
                version = PersonalizeCreateSolutionVersionOperator(
                    task_id="train_update", solution_arn=solution, training_mode="UPDATE"
                )
                for c in (c for c in cfg.campaigns if c.solution == sol.name):
                    decision = decide.override(task_id=naming.gate_task(c.name))(c.name, solution, version.output)
                    PersonalizeDeployCampaignOperator(
                        task_id=naming.deploy_task(c.name), campaign_name=c.name, solution_arn=solution,
                        decision=decision, min_provisioned_tps=c.min_provisioned_tps,
                        outlets=[naming.promoted_asset(group_cfg.name, c.name)],
                    )  # fmt: skip

    built = personalize_incremental()
    lock_tasks.guard(built, cfg, on_busy="skip")  # never overlaps a full run or a deletion of this dataset group
    return built


for _pipeline in registry.pipelines():
    incremental_dag(_pipeline)
