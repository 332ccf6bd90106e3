"""Data deletion jobs ("Deleting users and their data with a data deletion job"): the users' rows leave the
group's datasets and event log; the next training no longer knows them."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from personalize_local.backend import Backend
from personalize_local.paths import dataset_file
from tests.personalize_local.helpers import make_bucket, put, uid, wait_status, wait_update

USERS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Users",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": "USER_ID", "type": "string"}, {"name": "AGE", "type": ["null", "int"]}],
    }
)
ROLE = "arn:aws:iam::000000000000:role/p"
NO_EXPLORATION = {"itemExplorationConfig": {"explorationWeight": "0"}}


def deletion_job(pz, group: str, location: str, wait: bool = True) -> dict:
    arn = pz.create_data_deletion_job(
        jobName=uid("forget"), datasetGroupArn=group, dataSource={"dataLocation": location}, roleArn=ROLE
    )["dataDeletionJobArn"]
    if not wait:
        return {"dataDeletionJobArn": arn}
    return wait_status(
        lambda: pz.describe_data_deletion_job(dataDeletionJobArn=arn), "dataDeletionJob", until=("COMPLETED", "FAILED")
    )


def recommendations(sc, campaign: str, user: str) -> list[str]:
    runtime = sc.stack.client("personalize-runtime")
    return [r["itemId"] for r in runtime.get_recommendations(campaignArn=campaign, userId=user)["itemList"]]


def test_deleted_users_leave_the_datasets_and_events_and_the_next_training(sc):
    pz = sc.pz
    group, bucket = sc.populated_group(with_items=True)
    users = sc.dataset(group, "USERS", schema=sc.schema(USERS_SCHEMA))
    ages = "USER_ID,AGE\n" + "\n".join(f"u{u},{20 + u}" for u in range(60)) + "\n"
    assert sc.import_job(users, put(sc.s3, bucket, "in/users.csv", ages.encode()))["status"] == "ACTIVE"
    tracker = sc.event_tracker(group, name="t")
    events = sc.stack.client("personalize-events")
    events.put_events(
        trackingId=tracker["trackingId"],
        userId="u7",
        sessionId="s-7",
        eventList=[{"eventType": "watch", "itemId": f"i{i}", "sentAt": 1_800_000_000 + i} for i in (8, 9)],
    )
    events.put_events(  # anonymous events of u7's session belong to u7
        trackingId=tracker["trackingId"],
        sessionId="s-7",
        eventList=[{"eventType": "watch", "itemId": "i10", "sentAt": 1_800_000_100}],
    )
    solution = sc.solution(group, "aws-user-personalization", performAutoTraining=False)
    before = sc.version(solution)
    campaign = pz.create_campaign(
        name=uid("camp"), solutionVersionArn=before["solutionVersionArn"], campaignConfig=NO_EXPLORATION
    )["campaignArn"]
    wait_status(lambda: pz.describe_campaign(campaignArn=campaign), "campaign")
    cold = recommendations(sc, campaign, "never-seen")
    assert recommendations(sc, campaign, "u7") != cold  # a history shapes u7's list

    interactions = dataset_file(sc.stack.data_dir, _dataset(pz, group, "INTERACTIONS"))
    rows_before = _rows(interactions, "u7")
    assert rows_before > 0
    location = put(sc.s3, bucket, "forget/users.csv", b"USER_ID\nu7\nnobody-of-that-name\n")
    arn = deletion_job(pz, group, location, wait=False)["dataDeletionJobArn"]
    seen = {pz.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]["status"]}
    job = wait_status(
        lambda: pz.describe_data_deletion_job(dataDeletionJobArn=arn), "dataDeletionJob", until=("COMPLETED", "FAILED")
    )
    seen.add(job["status"])
    assert seen <= {"PENDING", "IN_PROGRESS", "COMPLETED"} and job["status"] == "COMPLETED", job
    assert job["numDeleted"] == rows_before + 1 + 3  # interactions, the Users row, 3 events
    assert job["datasetGroupArn"] == group and job["dataSource"] == {"dataLocation": location}
    listed = pz.list_data_deletion_jobs(datasetGroupArn=group)["dataDeletionJobs"]
    assert [(j["dataDeletionJobArn"], j["status"]) for j in listed] == [(arn, "COMPLETED")]
    assert _rows(interactions, "u7") == 0 and _rows(dataset_file(sc.stack.data_dir, users), "u7") == 0
    assert _rows(interactions, "u8") > 0  # the others stay

    # the model trained before is not changed until a new version is trained (as the guide says)
    assert recommendations(sc, campaign, "u7") != cold
    after = sc.version(solution)
    assert after["status"] == "ACTIVE", after
    pz.update_campaign(campaignArn=campaign, solutionVersionArn=after["solutionVersionArn"])
    wait_update(lambda: pz.describe_campaign(campaignArn=campaign)["campaign"], "latestCampaignUpdate")
    assert recommendations(sc, campaign, "u7") == recommendations(sc, campaign, "never-seen")


def test_a_file_without_the_user_id_column_fails_the_job_with_the_reason(sc, trained):
    location = put(sc.s3, trained["bucket"], "forget/bad.csv", b"USER,REASON\nu1,asked\n")
    job = deletion_job(sc.pz, trained["group"], location)
    assert job["status"] == "FAILED" and "a single USER_ID column" in job["failureReason"], job
    assert "numDeleted" not in job
    missing = deletion_job(sc.pz, trained["group"], f"s3://{make_bucket(sc.s3)}/none.csv")
    assert missing["status"] == "FAILED" and "does not exist" in missing["failureReason"]


def test_a_group_takes_at_most_5_pending_deletion_jobs(tmp_path):
    backend = Backend(tmp_path / "data", min_delay=0.0, runners={})
    try:
        group = backend.call("CreateDatasetGroup", {"name": "g"})["datasetGroupArn"]
        backend.lifecycle.tick(), backend.lifecycle.tick()
        params = {"datasetGroupArn": group, "dataSource": {"dataLocation": "s3://b/u.csv"}, "roleArn": ROLE}
        for n in range(5):
            backend.call("CreateDataDeletionJob", {"jobName": f"j{n}", **params})
        with pytest.raises(Exception, match="5") as err:
            backend.call("CreateDataDeletionJob", {"jobName": "sixth", **params})
        assert err.value.code == "LimitExceededException"
        jobs = backend.call("ListDataDeletionJobs", {"datasetGroupArn": group})["dataDeletionJobs"]
        assert [j["jobName"] for j in jobs] == ["j4", "j3", "j2", "j1", "j0"]  # the most recent first
        assert {j["status"] for j in jobs} == {"PENDING"}
    finally:
        backend.close()


def test_bad_requests_are_refused(sc, trained):
    with pytest.raises(ClientError) as err:
        sc.pz.create_data_deletion_job(
            jobName=uid("forget"),
            datasetGroupArn=trained["group"] + "-missing",
            dataSource={"dataLocation": "s3://b/u.csv"},
            roleArn=ROLE,
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _dataset(pz, group: str, dtype: str) -> str:
    return next(
        d["datasetArn"] for d in pz.list_datasets(datasetGroupArn=group)["datasets"] if d["datasetType"] == dtype
    )


def _rows(path, user: str) -> int:
    return int((pq.read_table(path).column("USER_ID").to_pandas().astype(str) == user).sum())
