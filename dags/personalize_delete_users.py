"""personalize_delete_users: delete users and their data on request (privacy), and keep them out of later imports.

One DAG per pipeline config (``personalize_delete_users`` or ``personalize_delete_users__<name>``, see
personalize_ops.pipeline.registry); manual only. The logic is in personalize_ops.pipeline.deletions; this file only
declares the tasks.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, dag, task
from personalize_ops.pipeline import lock_tasks, registry
from personalize_ops.pipeline.dag_args import dag_args
from personalize_ops.pipeline.deletions import PersonalizeDataDeletionOperator
from personalize_ops.pipeline.values import DeletionJobInput, DeletionRequest

DOC = """
### personalize_delete_users ({group})
Manual only. Params: `user_ids` (a list) and/or `user_ids_s3` (an S3 file: a CSV with a USER_ID column, or one id
per line). `dry_run` (default true) reports how many rows of these users the imported data holds and changes
nothing. A real run (`dry_run` false, `confirm` = `{group}`) adds the users to the group's deny-list in S3 (every
later import, FULL or INCREMENTAL, leaves their rows out), then runs a Personalize data deletion job on the group
and reports the records it deleted. Models keep what they learned until they are retrained: run
personalize_retrain afterwards.
"""


def delete_users_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    group, conn = cfg.dataset_group, cfg.dataset_group.aws_conn_id

    @dag(**dag_args(
        pipeline, "delete_users", schedule=None, doc_md=DOC.format(group=group.name), tag="privacy", retries=1,
        params={
            "user_ids": Param([], type="array", items={"type": "string"}, description="User ids to delete."),
            "user_ids_s3": Param("", type="string",
                                 description="Or an s3:// file of user ids (a USER_ID column, or one per line)."),
            "dry_run": Param(True, type="boolean", description="Report what would be deleted; change nothing."),
            "confirm": Param("", type="string", description=f"Type the dataset group name ({group.name}) to delete."),
        },
    ))  # fmt: skip
    def personalize_delete_users():
        @task
        def plan(params=None) -> DeletionRequest:
            """Check the request (ids, file, confirmation) and count the users' rows in the imported data."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import deletions
            from personalize_ops.pipeline.errors import failing_fast

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            with failing_fast():
                return deletions.plan(hook, s3, cfg, params["user_ids"], params["user_ids_s3"], params["dry_run"],
                                      params["confirm"])  # fmt: skip

        @task.short_circuit
        def not_dry_run(params=None):
            """Stops here on ``dry_run``: the plan's log is the report."""
            return not params["dry_run"]

        @task
        def record_deny_list(request: DeletionRequest, params=None, dag_run=None) -> DeletionJobInput:
            """The users join the deny-list first (no later import brings them back), then the job's input file."""
            from personalize_ops.hook import run_token
            from personalize_ops.pipeline import deletions

            s3, token = S3Hook(aws_conn_id=conn).get_conn(), run_token(dag_run.dag_id, dag_run.run_id)
            return deletions.record(s3, cfg, request, params["user_ids"], params["user_ids_s3"], token)

        @task(trigger_rule="none_failed")
        def report(request: DeletionRequest, job: DeletionJobInput | None, job_arn: str | None):
            """Counts: users asked for, deny-list, records the deletion job removed; the ``deletion`` alert."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import deletions

            return deletions.report(PersonalizeHook(aws_conn_id=conn), request, job, job_arn, cfg)

        request = plan()
        real = not_dry_run()
        request >> real
        job = record_deny_list(request)
        real >> job
        deleted = PersonalizeDataDeletionOperator(task_id="data_deletion_job", job=job, role_arn=group.role_arn)
        report(request, job, deleted.output)

    built = personalize_delete_users()
    lock_tasks.guard(built, cfg, after="not_dry_run", on_busy="wait")  # never during an import or a training
    return built


for _pipeline in registry.pipelines():
    delete_users_dag(_pipeline)
