"""End to end over boto3: train on CreateSolutionVersion, serve through a campaign (personalize-runtime),
filters that filter, PutEvents that change the next recommendation, PutItems/PutUsers (personalize-events)."""

from __future__ import annotations

import json
import time

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from personalize_local.paths import dataset_file
from tests.personalize_local.helpers import batch_inference, put, uid, wait_status


@pytest.fixture(scope="module")
def served(sc, trained):
    """A user-personalization campaign over the shared trained group, plus an event tracker and a filter."""
    solution = sc.solution(trained["group"], recipe="aws-user-personalization")
    version = sc.version(solution)
    assert version["status"] == "ACTIVE", version
    metrics = sc.pz.get_solution_metrics(solutionVersionArn=version["solutionVersionArn"])["metrics"]
    campaign = sc.campaign(version["solutionVersionArn"])
    tracker = sc.pz.create_event_tracker(name=uid("trk"), datasetGroupArn=trained["group"])
    wait_status(lambda: sc.pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker")
    flt = sc.pz.create_filter(
        name=uid("genre"),
        datasetGroupArn=trained["group"],
        filterExpression="INCLUDE ItemID WHERE Items.GENRE IN ($GENRES)",
    )["filterArn"]
    wait_status(lambda: sc.pz.describe_filter(filterArn=flt), "filter")
    yield {
        **trained,
        "campaign": campaign,
        "tracking_id": tracker["trackingId"],
        "filter": flt,
        "metrics": metrics,
        "up_version": version["solutionVersionArn"],
    }
    sc.pz.delete_campaign(campaignArn=campaign)
    sc.pz.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
    sc.pz.delete_filter(filterArn=flt)


def test_training_reports_metrics(served):
    assert served["metrics"] and all(isinstance(v, float) for v in served["metrics"].values())


def test_get_recommendations_and_ranking(local_stack, served):
    rt = local_stack.client("personalize-runtime")
    recs = rt.get_recommendations(campaignArn=served["campaign"], userId="u1", numResults=7)
    assert len(recs["itemList"]) == 7 and recs["recommendationId"]
    assert all(item["itemId"].startswith("i") and 0 <= item["score"] <= 1 for item in recs["itemList"])
    ranked = rt.get_personalized_ranking(
        campaignArn=served["campaign"], userId="u1", inputList=["i1", "i2", "i3", "unknown"]
    )["personalizedRanking"]
    assert sorted(r["itemId"] for r in ranked) == ["i1", "i2", "i3", "unknown"]
    with pytest.raises(ClientError) as err:
        rt.get_recommendations(campaignArn=served["campaign"].replace("campaign/", "campaign/nope-"), userId="u1")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_filter_with_values_filters(local_stack, served):
    rt = local_stack.client("personalize-runtime")
    recs = rt.get_recommendations(
        campaignArn=served["campaign"],
        userId="u2",
        numResults=10,
        filterArn=served["filter"],
        filterValues={"GENRES": '"Comedy"'},
    )["itemList"]
    comedy = {f"i{i}" for i in range(40) if i % 4 == 1}  # helpers.items_csv: genre = genres[i % 4]
    assert recs and {r["itemId"] for r in recs} <= comedy


def test_put_events_changes_the_next_recommendation(local_stack, served):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    before = [
        r["itemId"]
        for r in rt.get_recommendations(campaignArn=served["campaign"], userId="newcomer", numResults=10)["itemList"]
    ]
    now = time.time()
    ev.put_events(
        trackingId=served["tracking_id"],
        userId="newcomer",
        sessionId="s1",
        eventList=[
            {"eventType": "watch", "itemId": item, "sentAt": now} for item in ("i5", "i12", "i19", "i26", "i33")
        ],
    )
    after = [
        r["itemId"]
        for r in rt.get_recommendations(campaignArn=served["campaign"], userId="newcomer", numResults=10)["itemList"]
    ]
    assert after != before
    with pytest.raises(ClientError) as err:
        ev.put_events(trackingId="no-such-tracker", sessionId="s", eventList=[{"eventType": "x", "sentAt": now}])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_put_items_and_users_upsert(local_stack, sc, served):
    ev = local_stack.client("personalize-events")
    items = [
        d["datasetArn"]
        for d in sc.pz.list_datasets(datasetGroupArn=served["group"])["datasets"]
        if d["datasetType"] == "ITEMS"
    ][0]
    ev.put_items(
        datasetArn=items,
        items=[
            {"itemId": "i1", "properties": json.dumps({"genre": "Western", "year": 1961})},
            {"itemId": "brand-new", "properties": json.dumps({"genre": "Drama"})},
        ],
    )
    frame = pq.read_table(dataset_file(local_stack.data_dir, items)).to_pandas().set_index("ITEM_ID")
    assert frame.loc["i1", "GENRE"] == "Western" and frame.loc["i1", "YEAR"] == 1961 and "brand-new" in frame.index
    with pytest.raises(ClientError) as err:
        ev.put_items(datasetArn=items, items=[{"itemId": "x", "properties": json.dumps({"colour": "red"})}])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    with pytest.raises(ClientError) as err:
        ev.put_users(datasetArn=items, users=[{"userId": "u1", "properties": "{}"}])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_batch_inference_with_a_filter_and_per_line_values(sc, served):
    bucket = served["bucket"]
    body = b'{"userId": "u3", "filterValues": {"GENRES": "\\"Drama\\""}}\n{"userId": "u4"}\n'
    put(sc.s3, bucket, "batch-f/in.json", body)
    job = batch_inference(
        sc.pz, served["up_version"], f"s3://{bucket}/batch-f/in.json", f"s3://{bucket}/batch-f/out",
        filterArn=served["filter"], numResults=4,
    )  # fmt: skip
    assert job["status"] == "ACTIVE", job
    lines = sc.s3.get_object(Bucket=bucket, Key="batch-f/out/in.json.out")["Body"].read().decode().splitlines()
    first, second = (json.loads(line) for line in lines)
    drama = {f"i{i}" for i in range(40) if i % 4 == 2}
    assert first["output"]["recommendedItems"] and set(first["output"]["recommendedItems"]) <= drama
    assert second["input"] == {"userId": "u4"} and "output" in second  # no $GENRES value: engine's rule
