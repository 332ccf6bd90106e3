"""personalize_experiment_report: the daily verdict of each configured online experiment.

One DAG per pipeline config that has ``experiments`` (``personalize_experiment_report`` or
``personalize_experiment_report__<name>``, see personalize_ops.pipeline.registry), on ``schedules.experiment_report``
(default daily). Per experiment: read the application's exposure and event logs (and the metric attribution's
reports), compute per-variant metrics with always-valid confidence sequences, check the sample ratio, report
running / winner / no difference with the numbers, promote the winner's solution version when configured, and record
it in S3. Task logic: personalize_ops.pipeline.experiment_report; method: docs/experiments.md.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, dag, task
from personalize_ops.pipeline import registry
from personalize_ops.pipeline.dag_args import dag_args


def experiment_report_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    conn = cfg.dataset_group.aws_conn_id

    @dag(**dag_args(
        pipeline, "experiment_report", schedule=cfg.schedules.experiment_report, doc_md=__doc__, tag="experiments",
        poll=False,
        params={
            "promote": Param(True, type="boolean", description="Allow the promotion an experiment's on_end asks for."),
        },
    ))  # fmt: skip
    def personalize_experiment_report():
        @task
        def report(experiment: str, params=None, run_id=None) -> dict:
            """Analyse one experiment, act on a final verdict as configured, record the result in S3."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline import experiment_report
            from personalize_ops.pipeline.errors import failing_fast

            with failing_fast():
                record = experiment_report.report(
                    PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn(), cfg, experiment, run_id,
                    promote_allowed=params["promote"],
                )  # fmt: skip
            print(experiment_report.render(record))
            return {k: record[k] for k in ("experiment", "verdict", "winner", "final", "ended", "promotion")}

        for e in cfg.experiments:
            report.override(task_id=f"report_{e.name}")(e.name)

    return personalize_experiment_report()


for _pipeline in registry.pipelines():
    if _pipeline.config.experiments:
        experiment_report_dag(_pipeline)
