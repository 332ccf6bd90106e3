"""DAGs exercising every personalize_ops operator in deferrable mode (toolkit tests run them with dag.test()).

Driven by ``dag_run.conf`` (names, S3 paths, ARNs) and the ``pz_local`` AWS connection the tests provide.
"""

import pendulum
from airflow.sdk import DAG
from personalize_ops.operators import (
    PersonalizeBatchInferenceJobOperator,
    PersonalizeCreateSolutionVersionOperator,
    PersonalizeDeleteResourceOperator,
    PersonalizeEnsureResourceOperator,
    PersonalizeGetSolutionMetricsOperator,
    PersonalizeStopSolutionVersionCreationOperator,
    PersonalizeUpdateCampaignOperator,
)
from personalize_ops.sensors import PersonalizeResourceSensor

CONF = "{{ dag_run.conf['%s'] }}"
DEFER = {"aws_conn_id": "pz_local", "deferrable": True, "waiter_delay": 0.25, "waiter_max_attempts": 120}
START = pendulum.datetime(2024, 1, 1, tz="UTC")


def _c(key: str) -> str:
    return CONF % key


def _report_failure(context) -> None:
    """Write the task's exception (type: message) where the test asked, so it can check the message."""
    exc = context.get("exception")
    with open(context["dag_run"].conf["report"], "w") as f:
        f.write(f"{type(exc).__name__}: {exc}")


with DAG("toolkit_deferrable_lifecycle", schedule=None, start_date=START, catchup=False, tags=["test"]) as lifecycle:
    dsg = PersonalizeEnsureResourceOperator(task_id="dataset_group", kind="dataset_group", name=_c("name"), **DEFER)
    schema = PersonalizeEnsureResourceOperator(
        task_id="schema", kind="schema", name=_c("name"), config={"schema": _c("schema")}, **DEFER
    )
    dataset = PersonalizeEnsureResourceOperator(
        task_id="dataset",
        kind="dataset",
        name=_c("name"),
        parent_arn=dsg.output,
        config={"datasetType": "INTERACTIONS", "schemaArn": schema.output},
        **DEFER,
    )
    job = PersonalizeEnsureResourceOperator(
        task_id="import",
        kind="dataset_import_job",
        name=_c("name"),
        parent_arn=dataset.output,
        config={"dataSource": {"dataLocation": _c("location")}},
        **{**DEFER, "wait_for_completion": False},
    )
    imported = PersonalizeResourceSensor(
        task_id="import_done",
        kind="dataset_import_job",
        arn=job.output,
        poke_interval=0.25,
        timeout=120,
        aws_conn_id="pz_local",
        deferrable=True,
    )
    flt = PersonalizeEnsureResourceOperator(
        task_id="filter",
        kind="filter",
        name=_c("name"),
        parent_arn=dsg.output,
        config={"filterExpression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'},
        **DEFER,
    )
    tracker = PersonalizeEnsureResourceOperator(
        task_id="event_tracker", kind="event_tracker", name=_c("name"), parent_arn=dsg.output, **DEFER
    )
    imported >> [flt, tracker]
    for task, key in ((flt, "filter"), (tracker, "event_tracker")):
        task >> PersonalizeDeleteResourceOperator(task_id=f"delete_{key}", kind=key, arn=task.output, **DEFER)


with DAG("toolkit_deferrable_training", schedule=None, start_date=START, catchup=False, tags=["test"]) as training:
    version = PersonalizeCreateSolutionVersionOperator(task_id="train", solution_arn=_c("solution_arn"), **DEFER)
    metrics = PersonalizeGetSolutionMetricsOperator(
        task_id="metrics", solution_version_arn=version.output, aws_conn_id="pz_local"
    )
    campaign = PersonalizeEnsureResourceOperator(
        task_id="campaign",
        kind="campaign",
        name=_c("name"),
        parent_arn=_c("solution_arn"),
        config={"solutionVersionArn": version.output, "minProvisionedTPS": 1},
        **DEFER,
    )
    update = PersonalizeUpdateCampaignOperator(
        task_id="update_campaign", campaign_arn=campaign.output, min_provisioned_tps=2, **DEFER
    )
    batch = PersonalizeBatchInferenceJobOperator(
        task_id="batch",
        job_name=_c("name"),
        solution_version_arn=version.output,
        input_path=_c("input_path"),
        output_path=_c("output_path"),
        role_arn="arn:aws:iam::000000000000:role/pz",
        num_results=5,
        **DEFER,
    )
    second = PersonalizeCreateSolutionVersionOperator(
        task_id="train_again", solution_arn=_c("solution_arn"), **{**DEFER, "wait_for_completion": False}
    )
    stop = PersonalizeStopSolutionVersionCreationOperator(task_id="stop", solution_version_arn=second.output, **DEFER)
    version >> metrics
    update >> second


with DAG("toolkit_deferrable_failure", schedule=None, start_date=START, catchup=False, tags=["test"]) as failure:
    PersonalizeEnsureResourceOperator(
        task_id="bad_import",
        on_failure_callback=_report_failure,
        kind="dataset_import_job",
        name=_c("name"),
        parent_arn=_c("dataset_arn"),
        config={"dataSource": {"dataLocation": _c("location")}},
        **DEFER,
    )
