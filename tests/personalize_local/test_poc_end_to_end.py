"""The MovieLens POC through unmodified boto3 clients: import, train all four recipes, metrics, campaigns,
recommendations, an INCLUDE-genre and an EXCLUDE-watched filter, PutEvents, ranking, batch inference."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.personalize_local.helpers import ITEMS_SCHEMA, batch_inference, make_bucket, put, uid, wait_status

POC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "movielens-poc"
RECIPES = ("aws-user-personalization", "aws-sims", "aws-personalized-ranking", "aws-popularity-count")
pytestmark = pytest.mark.skipif(not POC.is_dir(), reason=f"reference data folder {POC} is absent")


@pytest.fixture(scope="module")
def poc(sc):
    """A group with the POC imported, the four recipes trained (in parallel) and a campaign per version."""
    group, bucket = sc.group(), make_bucket(sc.s3, "poc")
    jobs = [
        sc.import_job(
            sc.dataset(group),
            put(sc.s3, bucket, "interactions.csv", (POC / "interactions.csv").read_bytes()),
            wait=False,
        ),
        sc.import_job(
            sc.dataset(group, "ITEMS", schema=sc.schema(ITEMS_SCHEMA)),
            put(sc.s3, bucket, "item-meta.csv", (POC / "item-meta.csv").read_bytes()),
            wait=False,
        ),
    ]
    for arn in jobs:
        job = wait_status(lambda a=arn: sc.pz.describe_dataset_import_job(datasetImportJobArn=a), "datasetImportJob")
        assert job["status"] == "ACTIVE", job
    pending = {
        r: sc.pz.create_solution_version(solutionArn=sc.solution(group, recipe=r))["solutionVersionArn"]
        for r in RECIPES
    }
    versions = {}
    for recipe, arn in pending.items():
        desc = wait_status(
            lambda a=arn: sc.pz.describe_solution_version(solutionVersionArn=a), "solutionVersion", timeout=120
        )
        assert desc["status"] == "ACTIVE", desc
        versions[recipe] = arn
    campaigns = {r: sc.campaign(v) for r, v in versions.items()}
    yield {"group": group, "bucket": bucket, "versions": versions, "campaigns": campaigns}
    for arn in campaigns.values():
        sc.pz.delete_campaign(campaignArn=arn)


@pytest.fixture(scope="module")
def interactions() -> pd.DataFrame:
    return pd.read_csv(POC / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})


@pytest.fixture(scope="module")
def genres() -> dict[str, set[str]]:
    items = pd.read_csv(POC / "item-meta.csv", dtype={"ITEM_ID": str, "GENRE": str})
    return {i: set(str(g).split("|")) for i, g in zip(items.ITEM_ID, items.GENRE, strict=True)}


def flt(sc, group: str, expression: str) -> str:
    arn = sc.pz.create_filter(name=uid("f"), datasetGroupArn=group, filterExpression=expression)["filterArn"]
    assert wait_status(lambda: sc.pz.describe_filter(filterArn=arn), "filter")["status"] == "ACTIVE"
    return arn


def test_every_recipe_reports_the_documented_metrics(sc, poc):
    for recipe, version in poc["versions"].items():
        metrics = sc.pz.get_solution_metrics(solutionVersionArn=version)["metrics"]
        assert {"coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_10"} <= set(
            metrics
        ), recipe
        assert all(0 <= v <= 1 for v in metrics.values()), (recipe, metrics)
    up = sc.pz.get_solution_metrics(solutionVersionArn=poc["versions"]["aws-user-personalization"])["metrics"]
    pop = sc.pz.get_solution_metrics(solutionVersionArn=poc["versions"]["aws-popularity-count"])["metrics"]
    assert up["normalized_discounted_cumulative_gain_at_10"] > pop["normalized_discounted_cumulative_gain_at_10"]


def test_recommendations_similar_items_and_ranking(local_stack, poc, interactions):
    rt = local_stack.client("personalize-runtime")
    recs = rt.get_recommendations(campaignArn=poc["campaigns"]["aws-user-personalization"], userId="1")["itemList"]
    seen = set(interactions.ITEM_ID[interactions.USER_ID == "1"])
    assert len(recs) == 25 and not {r["itemId"] for r in recs} & seen  # history is not recommended
    similar = rt.get_recommendations(campaignArn=poc["campaigns"]["aws-sims"], itemId="1", numResults=10)["itemList"]
    assert len(similar) == 10 and "1" not in {r["itemId"] for r in similar}
    candidates = ["1", "50", "296", "356", "2571", "no-such-item"]
    ranked = rt.get_personalized_ranking(
        campaignArn=poc["campaigns"]["aws-personalized-ranking"], userId="1", inputList=candidates
    )["personalizedRanking"]
    assert sorted(r["itemId"] for r in ranked) == sorted(candidates)
    scores = [r.get("score", 0.0) for r in ranked]
    assert scores == sorted(scores, reverse=True)


def test_include_genre_filter(sc, local_stack, poc, genres):
    rt = local_stack.client("personalize-runtime")
    arn = flt(sc, poc["group"], "INCLUDE ItemID WHERE Items.GENRE IN ($GENRES)")
    recs = rt.get_recommendations(
        campaignArn=poc["campaigns"]["aws-user-personalization"],
        userId="1",
        numResults=20,
        filterArn=arn,
        filterValues={"GENRES": '"Documentary"'},
    )["itemList"]
    assert len(recs) == 20 and all("Documentary" in genres[r["itemId"]] for r in recs)


def test_exclude_watched_filter(sc, local_stack, poc, interactions):
    """Popularity-count does not drop history by itself, so the filter is what removes watched items: the 100
    newest of each event type, as Personalize's filters consider them (the default quota)."""
    rt = local_stack.client("personalize-runtime")
    campaign = poc["campaigns"]["aws-popularity-count"]
    arn = flt(sc, poc["group"], 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")')

    def watched(user: str) -> list[str]:
        events = interactions[(interactions.USER_ID == user) & (interactions.EVENT_TYPE == "watch")]
        return events.sort_values("TIMESTAMP", kind="stable").ITEM_ID.tolist()

    def recs(user: str, **kw) -> set[str]:
        return {r["itemId"] for r in rt.get_recommendations(campaignArn=campaign, userId=user, **kw)["itemList"]}

    fan = set(watched("72"))  # 43 watches, 19 of them among the 25 most popular items
    assert recs("72") & fan
    filtered = recs("72", filterArn=arn)
    assert len(filtered) == 25 and not filtered & fan
    history = watched("414")  # the most active POC user: 1459 watches; the filter sees the newest 100
    filtered = recs("414", filterArn=arn)
    assert not filtered & set(history[-100:]) and filtered & set(history[:-100])


def test_put_events_change_the_next_recommendation(sc, local_stack, poc):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    campaign = poc["campaigns"]["aws-user-personalization"]
    tracker = sc.event_tracker(poc["group"])
    try:
        before = [r["itemId"] for r in rt.get_recommendations(campaignArn=campaign, userId="7")["itemList"]]
        now = time.time()
        ev.put_events(
            trackingId=tracker["trackingId"],
            userId="7",
            sessionId="s-7",
            eventList=[
                {"eventType": "watch", "itemId": item, "sentAt": now + k}
                for k, item in enumerate(["1", "2355", "3114", "78499", "4886"])  # Pixar films
            ],
        )
        after = [r["itemId"] for r in rt.get_recommendations(campaignArn=campaign, userId="7")["itemList"]]
    finally:
        sc.pz.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
    assert after != before and not {"1", "2355", "3114", "78499", "4886"} & set(after)


def test_batch_inference_output_parses(sc, poc):
    bucket = poc["bucket"]
    users = ["1", "2", "3", "never-seen"]
    put(sc.s3, bucket, "batch/in.json", "".join(json.dumps({"userId": u}) + "\n" for u in users).encode())
    version = poc["versions"]["aws-user-personalization"]
    job = batch_inference(sc.pz, version, f"s3://{bucket}/batch/in.json", f"s3://{bucket}/batch/out/", numResults=10)
    assert job["status"] == "ACTIVE", job
    body = sc.s3.get_object(Bucket=bucket, Key="batch/out/in.json.out")["Body"].read().decode()
    lines = [json.loads(line) for line in body.splitlines()]
    assert [line["input"]["userId"] for line in lines] == users
    assert all(len(line["output"]["recommendedItems"]) == 10 and line["error"] is None for line in lines)
