"""A retried training task adopts the version its first try started, and nothing else (personalize_local + moto).

The operator under test is personalize_retrain's own ``train`` task (parsed from dags/, as the dag-processor
does), run with the context Airflow gives a worker: ``ti`` is the Task SDK's RuntimeTaskInstance, whose
``try_number`` grows on a retry while dag_id, run_id, task_id and map_index stay.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from personalize_ops.errors import PersonalizeResourceFailedError
from personalize_ops.hook import PersonalizeHook
from personalize_ops.operators.solution_version import (
    PersonalizeCreateSolutionVersionOperator,
    create_or_adopt_solution_version,
)
from personalize_ops.resources import RUN_TAG

from tests.personalize_ops.toolkit.helpers import FAST, POPULARITY, context, ensure_once

ROOT = Path(__file__).resolve().parents[3]
TRAIN = "solution_demo_popularity.train"


class WorkerTI(RuntimeTaskInstance):
    """The ``ti`` of a worker's task context; XCom pushes (the console link) are dropped instead of sent."""

    def xcom_push(self, key, value, **_):
        pass


def ti(task, run_id="scheduled__2026-01-05T00:00:00+00:00", try_number=1, map_index=-1, task_id=None):
    return WorkerTI.model_construct(dag_id=task.dag_id, run_id=run_id, task_id=task_id or task.task_id,
                                    map_index=map_index, try_number=try_number)  # fmt: skip


@pytest.fixture
def retrain_dag(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(ROOT / "include" / "pipelines" / "shop.yaml"))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "personalize_retrain.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["personalize_retrain"]


@pytest.fixture
def train_task(retrain_dag, aws_conn_id, group):
    """The DAG's train task with its templated solution ARN rendered to the toolkit group's solution, and its plan
    (the plan_training task's XCom) saying: train."""
    from personalize_ops.pipeline.values import TrainingPlan

    task = retrain_dag.get_task(TRAIN)
    task.solution_arn, task.aws_conn_id = group["solution"], aws_conn_id
    task.plan = TrainingPlan("demo-popularity", "train", "demo-popularity: training (test)", "0f" * 32)
    task.deferrable, task.waiter_delay, task.waiter_max_attempts = False, FAST["waiter_delay"], 600
    return task


def _create_or_adopt(hook, solution_arn, token, log) -> tuple[str, bool]:
    """create_or_adopt_solution_version, then wait until the version settled (one training per solution at a time)."""
    arn, adopted = create_or_adopt_solution_version(hook, solution_arn, "FULL", token, None, log)
    hook.wait("solution_version", arn, "active", delay=FAST["waiter_delay"], max_attempts=600)
    return arn, adopted


def _versions(stack, solution_arn) -> list[str]:
    listed = stack.client("personalize").list_solution_versions(solutionArn=solution_arn)["solutionVersions"]
    return sorted(v["solutionVersionArn"] for v in listed)


def test_token_is_the_task_run_identity_and_not_the_try(retrain_dag):
    task = retrain_dag.get_task(TRAIN)
    first = task.token({"ti": ti(task, try_number=1)})
    assert task.token({"ti": ti(task, try_number=2)}) == first
    assert task.token({"ti": ti(task, try_number=3)}) == first
    others = {
        "another run": ti(task, run_id="manual__2026-01-06T00:00:00+00:00"),
        "another task": ti(task, task_id="solution_demo_sims.train"),
        "a mapped instance": ti(task, map_index=0),
        "another mapped instance": ti(task, map_index=1),
    }
    tokens = {what: task.token({"ti": t}) for what, t in others.items()}
    assert first not in tokens.values() and len(set(tokens.values())) == len(tokens), tokens
    other_dag = WorkerTI.model_construct(dag_id="other_dag", run_id=ti(task).run_id, task_id=task.task_id,
                                         map_index=-1, try_number=1)  # fmt: skip
    assert task.token({"ti": other_dag}) != first


def test_retry_of_the_dags_train_task_adopts_the_version_of_the_first_try(pz_stack, train_task, group):
    before = _versions(pz_stack, group["solution"])
    train_task.wait_for_completion = False  # try 1: the worker dies right after CreateSolutionVersion returned
    started = train_task.execute({"ti": ti(train_task, run_id="manual__adopt", try_number=1)})
    train_task.wait_for_completion = True
    adopted = train_task.execute({"ti": ti(train_task, run_id="manual__adopt", try_number=2)})
    assert adopted == started
    assert _versions(pz_stack, group["solution"]) == sorted([*before, started]), "one CreateSolutionVersion"
    client = pz_stack.client("personalize")
    assert client.describe_solution_version(solutionVersionArn=started)["solutionVersion"]["status"] == "ACTIVE"
    tags = {t["tagKey"]: t["tagValue"] for t in client.list_tags_for_resource(resourceArn=started)["tags"]}
    assert tags[RUN_TAG] == train_task.token({"ti": ti(train_task, run_id="manual__adopt", try_number=7)})


def test_another_run_of_the_task_trains_its_own_version(pz_stack, train_task, group):
    first = train_task.execute({"ti": ti(train_task, run_id="manual__run-a")})
    second = train_task.execute({"ti": ti(train_task, run_id="manual__run-b")})
    assert first != second
    assert {first, second} <= set(_versions(pz_stack, group["solution"]))


def test_a_failed_version_of_the_first_try_is_not_adopted(pz_stack, train_task, group, caplog):
    run = "manual__failed-first-try"
    with pz_stack.faults_set(fail_next_training="Injected: the training instance was lost"):
        with pytest.raises(PersonalizeResourceFailedError) as err:
            train_task.execute({"ti": ti(train_task, run_id=run, try_number=1)})
    failed = err.value.arn
    assert err.value.status == "CREATE FAILED"
    hook = PersonalizeHook(aws_conn_id=train_task.aws_conn_id)
    log = logging.getLogger("test.training_adoption")
    token = train_task.token({"ti": ti(train_task, run_id=run, try_number=2)})
    with caplog.at_level(logging.INFO, logger=log.name):
        arn, adopted = _create_or_adopt(hook, group["solution"], token, log)
    assert not adopted and arn != failed
    assert f"Not adopting {failed} from an earlier try: it is CREATE FAILED" in caplog.messages
    retried = train_task.execute({"ti": ti(train_task, run_id=run, try_number=3)})
    assert retried == arn, "the third try adopts the second try's version, not the failed first one"
    assert (
        pz_stack.client("personalize").describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]
        == "ACTIVE"
    )


def test_a_stopped_version_is_not_adopted(pz_stack, aws_conn_id, group, caplog):
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    log = logging.getLogger("test.training_adoption")
    token = "stopped-token"
    with pz_stack.faults_set(job_delay=2):  # a training slow enough to be stopped
        arn, _ = create_or_adopt_solution_version(hook, group["solution"], "FULL", token, None, log)
        pz_stack.client("personalize").stop_solution_version_creation(solutionVersionArn=arn)
        hook.wait("solution_version", arn, "stopped", delay=FAST["waiter_delay"], max_attempts=600)
    assert hook.status("solution_version", arn) == "CREATE STOPPED"
    with caplog.at_level(logging.INFO, logger=log.name):
        again, adopted = _create_or_adopt(hook, group["solution"], token, log)
    assert not adopted and again != arn
    assert f"Not adopting {arn} from an earlier try: it is CREATE STOPPED" in caplog.messages


def test_the_same_tag_on_another_solution_is_not_adopted(pz_stack, aws_conn_id, group):
    other = ensure_once(aws_conn_id, "solution", "tk-train-pop-other", group["dataset_group"],
                        {"recipeArn": POPULARITY})  # fmt: skip
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    log = logging.getLogger("test.training_adoption")
    mine, _ = _create_or_adopt(hook, group["solution"], "shared-token", log)
    theirs, adopted = _create_or_adopt(hook, other, "shared-token", log)
    assert not adopted and theirs != mine
    assert _versions(pz_stack, other) == [theirs]
    assert mine in _versions(pz_stack, group["solution"])
    again, adopted = _create_or_adopt(hook, other, "shared-token", log)
    assert adopted and again == theirs


def test_adoption_looks_past_other_tasks_versions_and_failed_ones(pz_stack, aws_conn_id, group, caplog):
    """The version to adopt may be listed anywhere: after versions of other task runs, and after a failed version
    of the same task run (ListSolutionVersions promises no order)."""
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    log = logging.getLogger("test.training_adoption")
    mine, _ = _create_or_adopt(hook, group["solution"], "look-past-mine", log)
    _create_or_adopt(hook, group["solution"], "look-past-other", log)  # listed before mine (or after, in AWS)
    client = pz_stack.client("personalize")
    with pz_stack.faults_set(fail_next_training="Injected: the training instance was lost"):
        failed = client.create_solution_version(
            solutionArn=group["solution"], tags=[{"tagKey": RUN_TAG, "tagValue": "look-past-mine"}]
        )["solutionVersionArn"]
        with pytest.raises(PersonalizeResourceFailedError):
            hook.wait("solution_version", failed, "active", delay=FAST["waiter_delay"], max_attempts=600)
    before = _versions(pz_stack, group["solution"])
    with caplog.at_level(logging.INFO, logger=log.name):
        arn, adopted = create_or_adopt_solution_version(hook, group["solution"], "FULL", "look-past-mine", None, log)
    assert adopted and arn == mine
    assert _versions(pz_stack, group["solution"]) == before, "no new training"
    assert f"Adopting solution version {mine} started by an earlier try of this task" in caplog.messages


def test_a_new_training_has_its_name_mode_and_tags_and_says_so(pz_stack, aws_conn_id, group, caplog):
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    log = logging.getLogger("test.training_adoption")
    with caplog.at_level(logging.INFO, logger=log.name):
        arn, adopted = create_or_adopt_solution_version(
            hook, group["solution"], "FULL", "named-token", "nightly-2026-01-05", log, {"team": "recs"}
        )
    hook.wait("solution_version", arn, "active", delay=FAST["waiter_delay"], max_attempts=600)
    assert not adopted
    client = pz_stack.client("personalize")
    described = client.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
    assert described["name"] == "nightly-2026-01-05" and described["trainingMode"] == "FULL"
    tags = {t["tagKey"]: t["tagValue"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"team": "recs", RUN_TAG: "named-token"}
    assert f"Started training {arn} (FULL) of {group['solution']}" in caplog.messages


def test_run_identity_replaces_the_task_run_in_the_token(retrain_dag):
    """Tasks given the same run_identity share one training, whatever run they are in; another identity does not."""
    task = retrain_dag.get_task(TRAIN)
    own = task.token({"ti": ti(task)})
    task.run_identity = "backfill/2026-01"
    shared = task.token({"ti": ti(task)})
    assert shared == task.token({"ti": ti(task, run_id="manual__other", try_number=2)}) != own
    task.run_identity = "backfill/2026-02"
    assert task.token({"ti": ti(task)}) not in (shared, own)


def test_the_operator_trains_fully_by_default_with_its_name_and_tags(pz_stack, aws_conn_id, group):
    ctx = context(run_id="manual__default-mode")
    arn = PersonalizeCreateSolutionVersionOperator(
        task_id="train", solution_arn=group["solution"], name="weekly", tags={"team": "recs"}, aws_conn_id=aws_conn_id,
        **FAST,
    ).execute(ctx)  # fmt: skip
    client = pz_stack.client("personalize")
    described = client.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
    assert described["trainingMode"] == "FULL" and described["status"] == "ACTIVE" and described["name"] == "weekly"
    tags = {t["tagKey"]: t["tagValue"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags["team"] == "recs" and RUN_TAG in tags
    assert ctx["ti"].xcom["personalize_resource"]["arn"] == arn, "the task's console link opens the version"
