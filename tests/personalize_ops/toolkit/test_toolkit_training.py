"""Training-dependent operators (blocking waiters) and failure reporting, against personalize_local + moto.

Solution version (one training per run identity, adopted on retry), solution metrics, campaign ensure and
update, batch inference, stop; failed import / training raise PersonalizeResourceFailedError with AWS's
failureReason.
"""

import json
import re
import time
from contextlib import contextmanager

import pytest
from personalize_ops.errors import PersonalizeResourceFailedError
from personalize_ops.hook import PersonalizeHook
from personalize_ops.operators import (
    PersonalizeBatchInferenceJobOperator,
    PersonalizeCreateSolutionVersionOperator,
    PersonalizeGetSolutionMetricsOperator,
    PersonalizeStopSolutionVersionCreationOperator,
    PersonalizeUpdateCampaignOperator,
)

from tests.personalize_ops.toolkit.helpers import FAST, ROLE, context, ensure_once, put_s3


def _train(conn, solution_arn, run_identity, **kw):
    op = PersonalizeCreateSolutionVersionOperator(
        task_id="train", solution_arn=solution_arn, run_identity=run_identity, aws_conn_id=conn, **FAST | kw
    )
    return op.execute(context())


def test_retried_training_adopts_the_version_of_the_killed_try(pz_stack, aws_conn_id, group):
    client = pz_stack.client("personalize")
    before = client.list_solution_versions(solutionArn=group["solution"])["solutionVersions"]
    # try 1 "killed" right after CreateSolutionVersion returned
    started = _train(aws_conn_id, group["solution"], "dag/run-1/train", wait_for_completion=False)
    # try 2, same run identity: adopts and waits
    adopted = _train(aws_conn_id, group["solution"], "dag/run-1/train")
    assert adopted == started
    after = client.list_solution_versions(solutionArn=group["solution"])["solutionVersions"]
    assert len(after) == len(before) + 1, "a retry must not pay for a second training"
    version = client.describe_solution_version(solutionVersionArn=started)["solutionVersion"]
    assert version["status"] == "ACTIVE" and version["trainingMode"] == "FULL"
    tags = client.list_tags_for_resource(resourceArn=started)["tags"]
    assert any(t["tagKey"] == "airflow:run" for t in tags)

    metrics = PersonalizeGetSolutionMetricsOperator(
        task_id="metrics", solution_version_arn=started, aws_conn_id=aws_conn_id
    ).execute(context())
    assert metrics and all(isinstance(v, float | int) for v in metrics.values())


def test_campaign_ensure_update_and_batch_inference(pz_stack, aws_conn_id, group):
    v1 = _train(aws_conn_id, group["solution"], "dag/run-c1/train")
    camp_cfg = {"solutionVersionArn": v1, "minProvisionedTPS": 1}
    campaign = ensure_once(aws_conn_id, "campaign", "tk-train-campaign", group["solution"], camp_cfg)
    assert ensure_once(aws_conn_id, "campaign", "tk-train-campaign", group["solution"], camp_cfg) == campaign

    v2 = _train(aws_conn_id, group["solution"], "dag/run-c2/train")
    update = PersonalizeUpdateCampaignOperator(
        task_id="update",
        campaign_arn=campaign,
        solution_version_arn=v2,
        min_provisioned_tps=2,
        aws_conn_id=aws_conn_id,
        **FAST,
    )
    assert update.execute(context()) == campaign
    described = pz_stack.client("personalize").describe_campaign(campaignArn=campaign)["campaign"]
    assert described["solutionVersionArn"] == v2 and described["minProvisionedTPS"] == 2
    assert update.execute(context()) == campaign  # already there: no second update

    users = "".join(json.dumps({"userId": f"u{i}"}) + "\n" for i in range(5)).encode()
    input_path = put_s3(pz_stack, "toolkit-data", "batch/in/users.json", users)
    arns = [
        PersonalizeBatchInferenceJobOperator(
            task_id="batch",
            job_name="tk-train-batch",
            solution_version_arn=v2,
            input_path=input_path,
            output_path="s3://toolkit-data/batch/out/",
            role_arn=ROLE,
            num_results=5,
            aws_conn_id=aws_conn_id,
            **FAST,
        ).execute(context())
        for _ in range(2)
    ]
    assert arns[0] == arns[1]
    listed = pz_stack.client("s3").list_objects_v2(Bucket="toolkit-data", Prefix="batch/out/")
    assert listed.get("KeyCount", 0) >= 1


@contextmanager
def training_held(stack, conn, solution_arn, run_identity, seconds=30):
    """A training that stays CREATE IN_PROGRESS for ``seconds`` (the service's ``job_delay``): nothing to race."""
    with stack.faults_set(job_delay=seconds):
        arn = _train(conn, solution_arn, run_identity, wait_for_completion=False)
        deadline = time.monotonic() + 30
        while (status := stack.describe(arn)["solutionVersion"]["status"]) != "CREATE IN_PROGRESS":
            assert status == "CREATE PENDING" and time.monotonic() < deadline, status
            time.sleep(0.05)
    yield arn  # the job read its delay when it started: clearing the fault does not shorten it


def test_stop_operator_ends_a_training_as_create_stopped(pz_stack, aws_conn_id, group, capfd):
    with training_held(pz_stack, aws_conn_id, group["solution"], "dag/run-stop/train") as arn:
        op = PersonalizeStopSolutionVersionCreationOperator(
            task_id="stop", solution_version_arn=arn, aws_conn_id=aws_conn_id, **FAST
        )
        ctx = context()
        assert op.execute(ctx) == "CREATE STOPPED"
    assert pz_stack.describe(arn)["solutionVersion"]["status"] == "CREATE STOPPED"
    assert ctx["ti"].xcom["personalize_resource"]["arn"] == arn, "the task's console link opens the version"
    logged = "".join(capfd.readouterr())
    line = rf"\[info\s*\] Requested stop of {re.escape(arn)} \["  # the whole message, between level and logger
    assert re.search(line, logged), "the task log says it asked for the stop"
    # stopping again is a no-op that reports the same final status, and asks for nothing
    assert op.execute(context()) == "CREATE STOPPED"
    assert "Requested stop" not in "".join(capfd.readouterr())
    # without waiting, the task returns the ARN
    op.wait_for_completion = False
    assert op.execute(context()) == arn


def test_hook_stop_training_and_wait_end_a_training_as_create_stopped(pz_stack, aws_conn_id, group):
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    with training_held(pz_stack, aws_conn_id, group["solution"], "dag/run-stop-hook/train") as arn:
        assert hook.stop_training(arn) is True
        assert hook.status("solution_version", arn) in ("CREATE STOPPING", "CREATE STOPPED")
        hook.wait("solution_version", arn, "stopped", delay=0.3, max_attempts=100)
    assert hook.status("solution_version", arn) == "CREATE STOPPED"
    assert hook.stop_training(arn) is False, "a stopped version has nothing left to stop"


def test_failed_training_raises_with_failure_reason(pz_stack, aws_conn_id, group):
    with pz_stack.faults_set(fail_next_training="Injected: training ran out of memory"):
        with pytest.raises(PersonalizeResourceFailedError) as err:
            _train(aws_conn_id, group["solution"], "dag/run-fail/train")
    assert "Injected: training ran out of memory" in str(err.value)
    assert err.value.status == "CREATE FAILED" and err.value.arn in str(err.value)


def test_failed_import_raises_with_failure_reason(pz_stack, aws_conn_id, group):
    with pz_stack.faults_set(fail_next_import="Injected: the S3 object could not be read"):
        with pytest.raises(PersonalizeResourceFailedError) as err:
            ensure_once(
                aws_conn_id,
                "dataset_import_job",
                "tk-train-import-fault",
                group["dataset"],
                {"dataSource": {"dataLocation": group["location"]}},
            )
    assert "Injected: the S3 object could not be read" in str(err.value)
    assert err.value.kind == "dataset_import_job" and err.value.arn in str(err.value)

    bad = put_s3(pz_stack, "toolkit-data", "train/bad.csv", b"USER,ITEM\nu1,i1\n")
    for _ in ("the import", "a retry of the failed task: the same failure, not a second import"):
        with pytest.raises(PersonalizeResourceFailedError, match="does not match the schema fields"):
            ensure_once(
                aws_conn_id,
                "dataset_import_job",
                "tk-train-import-bad",
                group["dataset"],
                {"dataSource": {"dataLocation": bad}},
            )


def test_hook_helpers(aws_conn_id, group):
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    assert hook.find_by_name("solution", "tk-train-pop", group["dataset_group"]) == group["solution"]
    assert hook.find_by_name("solution", "nope", group["dataset_group"]) is None
    assert hook.status("dataset_group", group["dataset_group"]) == "ACTIVE"
    assert hook.describe("dataset", group["dataset"])["datasetType"] == "INTERACTIONS"


def test_sensor_in_poke_mode(aws_conn_id, group):
    from personalize_ops.sensors import PersonalizeResourceSensor

    sensor = PersonalizeResourceSensor(
        task_id="sense",
        kind="solution",
        arn=group["solution"],
        aws_conn_id=aws_conn_id,
        deferrable=False,
        poke_interval=0.2,
        timeout=30,
    )
    assert sensor.poke(context()) is True
    ctx = context()
    sensor.execute(ctx)
    assert ctx["ti"].xcom["personalize_resource"]["arn"] == group["solution"]


def test_running_out_of_polls_is_a_timeout_error(pz_stack, aws_conn_id, group):
    from personalize_ops.errors import PersonalizeTimeoutError

    with pz_stack.faults_set(job_delay=2), pytest.raises(PersonalizeTimeoutError, match="after 1 polls"):
        ensure_once(
            aws_conn_id,
            "dataset_import_job",
            "tk-train-import-slow",
            group["dataset"],
            {"dataSource": {"dataLocation": group["location"]}},
            waiter_max_attempts=1,
        )


def test_a_deferred_wait_that_runs_out_of_polls_is_a_timeout_error(pz_stack, aws_conn_id, group, uid):
    """The trigger says the wait ran out of attempts (from the exception's type), and the task raises
    PersonalizeTimeoutError for it, not PersonalizeResourceFailedError: the import is still running."""
    import asyncio

    from personalize_ops.errors import PersonalizeResourceFailedError, PersonalizeTimeoutError
    from personalize_ops.triggers import PersonalizeResourceTrigger, error_from_event

    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    with pz_stack.faults_set(job_delay=5):
        arn = hook.call(
            "CreateDatasetImportJob",
            jobName=f"tk-deferred-timeout-{uid}",
            datasetArn=group["dataset"],
            dataSource={"dataLocation": group["location"]},
        )["datasetImportJobArn"]
        trigger = PersonalizeResourceTrigger(
            kind="dataset_import_job", arn=arn, waiter_delay=0.1, waiter_max_attempts=1, aws_conn_id=aws_conn_id
        )

        async def first_event():
            async for event in trigger.run():
                return event.payload

        event = asyncio.run(first_event())
        assert event["status"] == "error" and event["timeout"] is True, event
        error = error_from_event(hook, event)
    assert isinstance(error, PersonalizeTimeoutError) and not isinstance(error, PersonalizeResourceFailedError)
    assert arn in str(error)
