"""Automatic training ("Configuring automatic training"): versions the service trains on a solution's schedule
(trainingType AUTOMATIC), the first within an hour after the solution is ACTIVE, only when interaction data
arrived since the last training; UpdateSolution turns it on and off and changes the frequency."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from personalize_local import autotraining
from personalize_local.backend import Backend
from personalize_local.stack import LocalStack
from tests.fixtures.stack import MIN_DELAY
from tests.personalize_local.helpers import (
    INTERACTIONS_SCHEMA,
    Scenario,
    interactions_csv,
    put,
    wait_status,
    wait_update,
)

DAY = 100.0  # seconds of a day in the in-process tests (the ticker is driven by hand)
RECIPE = "arn:aws:personalize:::recipe/aws-popularity-count"


# -- the schedule, in-process ---------------------------------------------------------------------------------
@pytest.fixture()
def backend(tmp_path):
    b = Backend(tmp_path / "data", min_delay=0.0, runners={}, auto_training_day_seconds=DAY)
    yield b
    b.close()


def _group(backend: Backend) -> str:
    group = backend.call("CreateDatasetGroup", {"name": "g"})["datasetGroupArn"]
    backend.lifecycle.tick(), backend.lifecycle.tick()
    schema = backend.call("CreateSchema", {"name": "i", "schema": INTERACTIONS_SCHEMA})["schemaArn"]
    backend.call(
        "CreateDataset", {"name": "i", "datasetGroupArn": group, "datasetType": "INTERACTIONS", "schemaArn": schema}
    )
    backend.lifecycle.tick(), backend.lifecycle.tick()
    return group


def _solution(backend: Backend, group: str, name: str, **params) -> str:
    arn = backend.call("CreateSolution", {"name": name, "datasetGroupArn": group, "recipeArn": RECIPE, **params})[
        "solutionArn"
    ]
    backend.lifecycle.tick(), backend.lifecycle.tick()
    assert backend.store.get(arn)["status"] == "ACTIVE"
    return arn


def _event(backend: Backend, group: str, at: float) -> None:
    backend.events.add([{"grp": group, "user_id": "u1", "item_id": "i1", "event_type": "watch", "sent_at": at,
                         "received_at": at}])  # fmt: skip


def _versions(backend: Backend, solution: str) -> list[dict]:
    return backend.call("ListSolutionVersions", {"solutionArn": solution})["solutionVersions"]


def _due(backend: Backend, solution: str) -> float | None:
    return backend.store.get(solution)["_auto_next"]


def test_first_automatic_training_an_hour_after_active_then_on_the_schedule_with_new_data(backend):
    group = _group(backend)
    started = time.time()
    _event(backend, group, started)
    solution = _solution(
        backend, group, "auto", solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(2 days)"}}
    )
    first = _due(backend, solution)
    assert started + DAY / 24 <= first <= time.time() + DAY / 24  # one hour after ACTIVE
    autotraining.tick(backend, first - 0.001)
    assert _versions(backend, solution) == []
    autotraining.tick(backend, first)
    [auto] = _versions(backend, solution)
    assert (auto["trainingType"], auto["trainingMode"], auto["status"]) == ("AUTOMATIC", "FULL", "CREATE PENDING")
    assert _due(backend, solution) == first + 2 * DAY  # the schedule runs from the training's start
    backend.set_fields(auto["solutionVersionArn"], status="ACTIVE")

    autotraining.tick(backend, first + 2 * DAY)  # no interaction data since the last training: skipped
    assert len(_versions(backend, solution)) == 1 and _due(backend, solution) == first + 4 * DAY
    _event(backend, group, time.time() + 1)
    autotraining.tick(backend, first + 4 * DAY)
    newest = _versions(backend, solution)[0]
    assert len(_versions(backend, solution)) == 2 and newest["trainingType"] == "AUTOMATIC"
    autotraining.tick(backend, first + 6 * DAY)  # one still training: no second one at the same time
    assert len(_versions(backend, solution)) == 2


def test_a_manual_version_within_the_hour_replaces_the_first_automatic_training(backend):
    group = _group(backend)
    _event(backend, group, time.time())
    solution = _solution(backend, group, "manual-first")
    first = _due(backend, solution)
    manual = backend.call("CreateSolutionVersion", {"solutionArn": solution})["solutionVersionArn"]
    assert backend.store.get(manual)["trainingType"] == "MANUAL"
    due = _due(backend, solution)
    assert due >= first + 7 * DAY - DAY / 24  # rate(7 days), the default, from the manual training
    autotraining.tick(backend, first)
    assert [v["solutionVersionArn"] for v in _versions(backend, solution)] == [manual]


def test_a_new_frequency_resets_the_schedule_with_a_training_within_the_hour(backend):
    """"Updating a solution": changing the training frequency resets the schedule; a new version starts training
    within the hour after the update, then the new frequency counts from it. The same frequency again changes
    nothing."""
    group = _group(backend)
    _event(backend, group, time.time())
    solution = _solution(backend, group, "refreq")
    first = _due(backend, solution)
    autotraining.tick(backend, first)
    [auto] = _versions(backend, solution)
    backend.set_fields(auto["solutionVersionArn"], status="ACTIVE")
    assert _due(backend, solution) == first + 7 * DAY

    def update(expression: str) -> float:
        config = {"autoTrainingConfig": {"schedulingExpression": expression}}
        backend.call("UpdateSolution", {"solutionArn": solution, "solutionUpdateConfig": config})
        before = time.time()
        backend.lifecycle.tick(), backend.lifecycle.tick()
        return before

    before = update("rate(2 days)")
    reset = _due(backend, solution)
    assert before + DAY / 24 <= reset <= time.time() + DAY / 24 < first + 7 * DAY
    _event(backend, group, time.time() + 1)
    autotraining.tick(backend, reset)
    assert len(_versions(backend, solution)) == 2 and _due(backend, solution) == reset + 2 * DAY
    update("rate(2 days)")
    assert _due(backend, solution) == reset + 2 * DAY


def test_update_solution_turns_automatic_training_on_and_off(backend):
    group = _group(backend)
    _event(backend, group, time.time())
    solution = _solution(backend, group, "off", performAutoTraining=False)
    assert backend.store.get(solution).get("_auto_next") is None
    autotraining.tick(backend, time.time() + 100 * DAY)
    assert _versions(backend, solution) == []

    config = {"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}}
    backend.call(
        "UpdateSolution", {"solutionArn": solution, "performAutoTraining": True, "solutionUpdateConfig": config}
    )
    before = time.time()
    backend.lifecycle.tick(), backend.lifecycle.tick()
    desc = backend.call("DescribeSolution", {"solutionArn": solution})["solution"]
    assert desc["latestSolutionUpdate"]["status"] == "ACTIVE" and desc["performAutoTraining"] is True
    assert desc["latestSolutionUpdate"]["solutionUpdateConfig"] == config
    assert desc["solutionConfig"]["autoTrainingConfig"] == config["autoTrainingConfig"]
    first = _due(backend, solution)
    assert before + DAY / 24 <= first <= time.time() + DAY / 24  # within an hour after the update completed
    autotraining.tick(backend, first)
    assert [v["trainingType"] for v in _versions(backend, solution)] == ["AUTOMATIC"]
    assert _due(backend, solution) == first + 3 * DAY

    backend.call("UpdateSolution", {"solutionArn": solution, "performAutoTraining": False})
    backend.lifecycle.tick(), backend.lifecycle.tick()
    assert _due(backend, solution) is None
    _event(backend, group, time.time() + 1)
    autotraining.tick(backend, first + 30 * DAY)
    assert len(_versions(backend, solution)) == 1


# -- over boto3 ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fast_days(tmp_path_factory):
    """A stack whose days last one second: rate(1 day) trains every second, the first version 1/24 s after the
    solution is ACTIVE."""
    with LocalStack(
        tmp_path_factory.mktemp("auto-training"), min_delay=MIN_DELAY, auto_training_seconds_per_day=1
    ) as st:
        yield Scenario(st)


def _wait_versions(pz, solution: str, count: int, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        versions = pz.list_solution_versions(solutionArn=solution)["solutionVersions"]
        if len(versions) >= count:
            return versions
        assert time.monotonic() < deadline, f"{len(versions)} versions after {timeout}s: {versions}"
        time.sleep(0.05)


def test_the_service_trains_automatic_versions_on_schedule(fast_days):
    sc, pz = fast_days, fast_days.pz
    group, bucket = sc.populated_group()
    solution = sc.solution(group, solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(1 day)"}})
    [auto] = _wait_versions(pz, solution, 1)
    assert (auto["trainingType"], auto["trainingMode"]) == ("AUTOMATIC", "FULL")
    done = wait_status(
        lambda: pz.describe_solution_version(solutionVersionArn=auto["solutionVersionArn"]), "solutionVersion"
    )
    assert done["status"] == "ACTIVE" and done["trainingType"] == "AUTOMATIC", done
    assert (
        pz.describe_solution(solutionArn=solution)["solution"]["latestSolutionVersion"]["solutionVersionArn"]
        == (auto["solutionVersionArn"])
    )
    # new interactions: the next scheduled training picks them up
    interactions = pz.list_datasets(datasetGroupArn=group)["datasets"][0]["datasetArn"]
    job = sc.import_job(
        interactions, put(sc.s3, bucket, "in/more.csv", interactions_csv(ts0=1_700_000_000)), "INCREMENTAL"
    )
    assert job["status"] == "ACTIVE", job
    newest = _wait_versions(pz, solution, 2)[0]
    assert newest["trainingType"] == "AUTOMATIC" and newest["solutionVersionArn"] != auto["solutionVersionArn"]
    # turned off: the solution says so, and its schedule ends
    pz.update_solution(solutionArn=solution, performAutoTraining=False)
    desc = wait_update(lambda: pz.describe_solution(solutionArn=solution)["solution"], "latestSolutionUpdate")
    assert desc["performAutoTraining"] is False and desc["latestSolutionUpdate"]["performAutoTraining"] is False


@pytest.mark.parametrize("expression", ["rate(0 days)", "rate(31 days)"])
def test_a_frequency_outside_1_to_30_days_is_refused(sc, trained, expression):
    config = {"autoTrainingConfig": {"schedulingExpression": expression}}
    with pytest.raises(ClientError) as err:
        sc.pz.create_solution(
            name="bad-rate", datasetGroupArn=trained["group"], recipeArn=RECIPE, solutionConfig=config
        )
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "between 1 and 30" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        sc.pz.update_solution(solutionArn=trained["solution"], solutionUpdateConfig=config)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert json.dumps(expression)[1:-1] in err.value.response["Error"]["Message"]
