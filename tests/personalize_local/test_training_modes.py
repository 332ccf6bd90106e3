"""trainingMode UPDATE as Personalize documents it (User-Personalization only, after an ACTIVE FULL version, new
data required), and the trainingMode / trainingType every version reports."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.personalize_local.helpers import interactions_csv, put

UPDATE_RULE = "can only be used when the input solution was trained with the User-Personalization recipe"


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "recipe", ["aws-popularity-count", "aws-sims", "aws-personalized-ranking", "aws-user-personalization-v2"]
)
def test_update_is_refused_for_recipes_other_than_user_personalization(sc, trained, recipe):
    solution = trained["solution"] if recipe == "aws-popularity-count" else sc.solution(trained["group"], recipe)
    code, message = error_of(lambda: sc.pz.create_solution_version(solutionArn=solution, trainingMode="UPDATE"))
    assert code == "InvalidInputException" and UPDATE_RULE in message, message
    code, message = error_of(lambda: sc.pz.create_solution_version(solutionArn=solution, trainingMode="AUTOTRAIN"))
    assert code == "InvalidInputException" and "use FULL (the default) or UPDATE" in message, message


@pytest.mark.parametrize("recipe", ["aws-user-personalization"])
def test_update_refreshes_after_new_data_and_fails_without(sc, recipe):
    pz = sc.pz
    group, bucket = sc.populated_group(with_items=True)
    solution = sc.solution(group, recipe, performAutoTraining=False)
    full = sc.version(solution)
    assert full["status"] == "ACTIVE", full
    assert (full["trainingMode"], full["trainingType"]) == ("FULL", "MANUAL")

    unchanged = sc.version(solution, trainingMode="UPDATE")
    assert unchanged["status"] == "CREATE FAILED", unchanged
    assert "There is no new data to update solution version " + full["solutionVersionArn"] in unchanged["failureReason"]

    interactions = next(
        d["datasetArn"]
        for d in pz.list_datasets(datasetGroupArn=group)["datasets"]
        if d["datasetType"] == "INTERACTIONS"
    )
    fresh = interactions_csv(rows=1200, users=70, items=45, ts0=1_700_000_000)  # new users u60-u69, items i40-i44
    job = sc.import_job(interactions, put(sc.s3, bucket, "in/more.csv", fresh), mode="INCREMENTAL")
    assert job["status"] == "ACTIVE", job
    update = sc.version(solution, trainingMode="UPDATE")
    assert update["status"] == "ACTIVE", update
    assert (update["trainingMode"], update["trainingType"]) == ("UPDATE", "MANUAL")
    summaries = {
        v["solutionVersionArn"]: v for v in pz.list_solution_versions(solutionArn=solution)["solutionVersions"]
    }
    assert summaries[update["solutionVersionArn"]]["trainingMode"] == "UPDATE"
    assert summaries[update["solutionVersionArn"]]["trainingType"] == "MANUAL"
    # an UPDATE reports the offline metrics of the version it refreshed (no new evaluation)
    assert (
        pz.get_solution_metrics(solutionVersionArn=update["solutionVersionArn"])["metrics"]
        == pz.get_solution_metrics(solutionVersionArn=full["solutionVersionArn"])["metrics"]
    )
    # events recorded since count as new data too
    again = sc.version(solution, trainingMode="UPDATE")
    assert again["status"] == "CREATE FAILED" and update["solutionVersionArn"] in again["failureReason"]
    tracker = sc.event_tracker(group, name="t")
    events = sc.stack.client("personalize-events")
    events.put_events(
        trackingId=tracker["trackingId"],
        userId="u3",
        sessionId="s-u3",
        eventList=[{"eventType": "watch", "itemId": "i41", "sentAt": 1_800_000_000}],
    )
    assert sc.version(solution, trainingMode="UPDATE")["status"] == "ACTIVE"


def test_update_needs_an_active_full_version(sc):
    group, _ = sc.populated_group()
    solution = sc.solution(group, "aws-user-personalization", performAutoTraining=False)
    version = sc.version(solution, trainingMode="UPDATE")
    assert version["status"] == "CREATE FAILED"
    assert "using the FULL option" in version["failureReason"], version
