"""End to end over boto3: train on CreateSolutionVersion, serve through a campaign (personalize-runtime),
filters that filter, PutEvents that change the next recommendation, PutItems/PutUsers (personalize-events)."""

from __future__ import annotations

import json
import sqlite3
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
    tracker = sc.event_tracker(trained["group"])
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


# -- what GetRecommendations takes besides a user: metadata, promotions, exploration, filters' rules --------------


def _campaign(sc, version: str, config: dict | None = None) -> str:
    extra = {"campaignConfig": config} if config is not None else {}
    arn = sc.pz.create_campaign(name=uid("camp"), solutionVersionArn=version, **extra)["campaignArn"]
    wait_status(lambda: sc.pz.describe_campaign(campaignArn=arn), "campaign")
    return arn


def _filter(sc, group: str, expression: str) -> str:
    arn = sc.pz.create_filter(name=uid("flt"), datasetGroupArn=group, filterExpression=expression)["filterArn"]
    wait_status(lambda: sc.pz.describe_filter(filterArn=arn), "filter")
    return arn


GENRES = {f"i{i}": ["Action", "Comedy", "Drama|Romance", "Animation|Children"][i % 4] for i in range(40)}


@pytest.fixture(scope="module")
def group(sc):
    """A group of its own (campaign and filter quotas): interactions + items, user-personalization and SIMS
    versions, campaigns with metadata on, with exploration at weight 1, and a SIMS campaign."""
    arn, _bucket = sc.populated_group(with_items=True)
    up = sc.version(sc.solution(arn, recipe="aws-user-personalization"))["solutionVersionArn"]
    sims = sc.version(sc.solution(arn, recipe="aws-sims"))["solutionVersionArn"]
    items = [
        d["datasetArn"] for d in sc.pz.list_datasets(datasetGroupArn=arn)["datasets"] if d["datasetType"] == "ITEMS"
    ]
    tracker = sc.event_tracker(arn)
    return {
        "group": arn,
        "items": items[0],
        "up": up,
        "tracking_id": tracker["trackingId"],
        "metadata": _campaign(sc, up, {"enableMetadataWithRecommendations": True}),
        "explore": _campaign(
            sc, up, {"itemExplorationConfig": {"explorationWeight": "1", "explorationItemAgeCutOff": "30"}}
        ),
        "sims": _campaign(sc, sims),
    }


def test_metadata_columns_only_where_the_campaign_enables_them(local_stack, group):
    rt = local_stack.client("personalize-runtime")
    recs = rt.get_recommendations(
        campaignArn=group["metadata"], userId="u1", numResults=5, metadataColumns={"ITEMS": ["GENRE", "YEAR"]}
    )["itemList"]
    assert len(recs) == 5
    for r in recs:
        n = int(r["itemId"][1:])
        assert r["metadata"] == {"GENRE": GENRES[r["itemId"]], "YEAR": str(1990 + n)}
    plain = rt.get_recommendations(campaignArn=group["metadata"], userId="u1", numResults=5)["itemList"]
    assert all("metadata" not in r for r in plain)
    for campaign, kw, reason in [
        (group["explore"], {"metadataColumns": {"ITEMS": ["GENRE"]}}, "enableMetadataWithRecommendations"),
        (group["metadata"], {"metadataColumns": {"ITEMS": ["COLOUR"]}}, "not columns of the Items dataset"),
        (group["metadata"], {"metadataColumns": {"USERS": ["AGE"]}}, "use ITEMS"),
        (group["metadata"], {"metadataColumns": {"ITEMS": ["GENRE"]}, "numResults": 51}, "the maximum is 50"),
        (group["metadata"], {"numResults": 501}, "the maximum is 500"),
    ]:
        with pytest.raises(ClientError) as err:
            rt.get_recommendations(campaignArn=campaign, userId="u1", **{"numResults": 5, **kw})
        assert err.value.response["Error"]["Code"] == "InvalidInputException" and reason in str(err.value), kw
    ranked = rt.get_personalized_ranking(
        campaignArn=group["metadata"], userId="u1", inputList=["i1", "i2"], metadataColumns={"ITEMS": ["GENRE"]}
    )["personalizedRanking"]
    assert {r["itemId"]: r["metadata"] for r in ranked} == {"i1": {"GENRE": "Comedy"}, "i2": {"GENRE": "Drama|Romance"}}


def test_promotion_takes_its_share_of_the_list(local_stack, sc, group):
    rt = local_stack.client("personalize-runtime")
    comedy = _filter(sc, group["group"], "INCLUDE ItemID WHERE Items.GENRE IN ($G)")
    no_comedy = _filter(sc, group["group"], 'EXCLUDE ItemID WHERE Items.GENRE IN ("Comedy")')
    recs = rt.get_recommendations(
        campaignArn=group["metadata"],
        userId="u3",
        numResults=10,
        filterArn=no_comedy,
        promotions=[
            {"name": "laughs", "percentPromotedItems": 40, "filterArn": comedy, "filterValues": {"G": '"Comedy"'}}
        ],
    )["itemList"]
    promoted = [r for r in recs if r.get("promotionName") == "laughs"]
    assert len(recs) == 10 and len(promoted) == 4
    assert {GENRES[r["itemId"]] for r in promoted} == {"Comedy"}
    assert "Comedy" not in {GENRES[r["itemId"]] for r in recs if "promotionName" not in r}
    with pytest.raises(ClientError) as err:  # an INCLUDE expression needs all its values
        rt.get_recommendations(
            campaignArn=group["metadata"],
            userId="u3",
            promotions=[{"name": "p", "percentPromotedItems": 10, "filterArn": comedy}],
        )
    assert "no value for $G" in str(err.value)
    with pytest.raises(ClientError) as err:
        rt.get_recommendations(
            campaignArn=group["metadata"], userId="u3", promotions=[{"name": "p", "filterArn": comedy}]
        )
    assert "promotions[0].percentPromotedItems is required" in str(err.value)


def test_current_item_filters_for_related_items_only(local_stack, sc, group):
    rt = local_stack.client("personalize-runtime")
    older_same_genre = _filter(
        sc, group["group"], "INCLUDE ItemID WHERE Items.YEAR < CurrentItem.YEAR AND Items.GENRE IN CurrentItem.GENRE"
    )
    recs = rt.get_recommendations(campaignArn=group["sims"], itemId="i30", numResults=10, filterArn=older_same_genre)
    ids = [r["itemId"] for r in recs["itemList"]]
    assert ids and all(int(i[1:]) < 30 and GENRES[i] == "Drama|Romance" for i in ids)  # i30: Drama|Romance, 2020
    with pytest.raises(ClientError) as err:
        rt.get_recommendations(campaignArn=group["metadata"], userId="u1", filterArn=older_same_genre)
    assert err.value.response["Error"]["Code"] == "InvalidInputException" and "related-items" in str(err.value)


def test_filters_as_personalize_defines_them(local_stack, sc, group):
    rt = local_stack.client("personalize-runtime")
    not_comedy = _filter(sc, group["group"], 'INCLUDE ItemID WHERE Items.GENRE != "Comedy"')
    recs = rt.get_recommendations(campaignArn=group["metadata"], userId="u2", numResults=10, filterArn=not_comedy)
    assert recs["itemList"] and "Comedy" not in {GENRES[r["itemId"]] for r in recs["itemList"]}
    segment = _filter(sc, group["group"], "INCLUDE UserID WHERE Users.AGE > 20")  # accepted: a user-segment filter
    with pytest.raises(ClientError) as err:
        rt.get_recommendations(campaignArn=group["metadata"], userId="u2", filterArn=segment)
    assert "recommendations take an ItemID filter" in str(err.value)
    for expression, reason in [
        ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") AND Items.GENRE IN ("Comedy")', "first condition"),
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 18", "only be used in the IF condition"),
        ("EXCLUDE ActionID WHERE Actions.CATEGORY IN ($C)", "not supported by the local service"),
    ]:
        with pytest.raises(ClientError) as err:
            sc.pz.create_filter(name=uid("bad"), datasetGroupArn=group["group"], filterExpression=expression)
        assert err.value.response["Error"]["Code"] == "InvalidInputException" and reason in str(err.value)


def test_exploration_weight_from_the_campaign_config(local_stack, group):
    rt = local_stack.client("personalize-runtime")
    relevant = [
        r["itemId"]
        for r in rt.get_recommendations(campaignArn=group["metadata"], userId="u4", numResults=8)["itemList"]
    ]
    explored = [
        r["itemId"] for r in rt.get_recommendations(campaignArn=group["explore"], userId="u4", numResults=8)["itemList"]
    ]
    assert explored != relevant and len(explored) == 8
    # weight 1: every place goes to the least seen of the (all young) items the user has not seen
    frame = pq.read_table(
        dataset_file(local_stack.data_dir, group["items"].replace("ITEMS", "INTERACTIONS"))
    ).to_pandas()
    users = frame.groupby("ITEM_ID")["USER_ID"].nunique()
    unseen = users.drop(frame.loc[frame["USER_ID"] == "u4", "ITEM_ID"].unique())
    assert users[explored].max() <= unseen.sort_values().iloc[7]


def test_items_put_after_training_are_recommended_without_retraining(local_stack, sc, group):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    ev.put_items(
        datasetArn=group["items"],
        items=[{"itemId": "fresh-1", "properties": json.dumps({"genre": "Noir", "year": 2026})}],
    )
    explored = [
        r["itemId"] for r in rt.get_recommendations(campaignArn=group["explore"], userId="u5", numResults=5)["itemList"]
    ]
    assert "fresh-1" in explored  # never seen: explored first
    noir = rt.get_recommendations(
        campaignArn=group["metadata"],
        userId="u5",
        filterArn=_filter(sc, group["group"], 'INCLUDE ItemID WHERE Items.GENRE IN ("Noir")'),
        metadataColumns={"ITEMS": ["GENRE"]},
    )["itemList"]
    assert noir == [{"itemId": "fresh-1", "score": noir[0]["score"], "metadata": {"GENRE": "Noir"}}]


def _stored_events(local_stack, group_arn):
    db = sqlite3.connect(f"file:{local_stack.data_dir / 'events.sqlite'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM events WHERE grp = ? ORDER BY rowid", (group_arn,))]
    finally:
        db.close()


def test_put_events_keeps_every_member(local_stack, group):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    rid = rt.get_recommendations(campaignArn=group["metadata"], userId="u6", numResults=3)
    shown = [r["itemId"] for r in rid["itemList"]]
    now = time.time()
    ev.put_events(
        trackingId=group["tracking_id"],
        userId="u6",
        sessionId="sess-6",
        eventList=[
            {
                "eventId": "ev-1",
                "eventType": "watch",
                "itemId": shown[0],
                "sentAt": now,
                "eventValue": 4.0,
                "recommendationId": rid["recommendationId"],
                "impression": ["i1", "i2"],
                "metricAttribution": {"eventAttributionSource": "home-carousel"},
            },
            {"eventType": "click", "itemId": shown[1], "sentAt": now, "recommendationId": rid["recommendationId"]},
        ],
    )
    first, second = _stored_events(local_stack, group["group"])[-2:]
    assert {
        k: first[k] for k in ("event_id", "session_id", "impression", "recommendation_id", "attribution_source")
    } == {
        "event_id": "ev-1",
        "session_id": "sess-6",
        "impression": "i1|i2",  # explicit impressions win
        "recommendation_id": rid["recommendationId"],
        "attribution_source": "home-carousel",
    }
    assert second["impression"] == "|".join(shown)  # implicit: what that recommendation showed
    for properties, reason in [
        ('{"userId": "x"}', "cannot name"),
        ('{"numberOfRatings": "12"}', "not fields of the Interactions schema"),
        ("[1]", "must be a JSON object"),
        ("{oops", "is not JSON"),
    ]:
        with pytest.raises(ClientError) as err:
            ev.put_events(
                trackingId=group["tracking_id"],
                sessionId="s",
                eventList=[{"eventType": "click", "itemId": "i1", "sentAt": now, "properties": properties}],
            )
        assert err.value.response["Error"]["Code"] == "InvalidInputException" and reason in str(err.value)


def test_anonymous_session_personalizes_its_requests_and_joins_the_user_at_training(local_stack, sc, group):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")

    def recs(campaign, user):
        return [
            r["itemId"] for r in rt.get_recommendations(campaignArn=campaign, userId=user, numResults=10)["itemList"]
        ]

    before = recs(group["metadata"], "anon-7")
    watched = ["i3", "i7", "i11", "i15", "i19"]
    now = time.time()
    ev.put_events(
        trackingId=group["tracking_id"],
        sessionId="anon-7",
        eventList=[{"eventType": "watch", "itemId": i, "sentAt": now} for i in watched],
    )
    during = recs(group["metadata"], "anon-7")  # the sessionId as the userId
    assert during != before and not set(watched) & set(during)
    ev.put_events(  # the visitor signs in: one event with both ids
        trackingId=group["tracking_id"],
        userId="member-7",
        sessionId="anon-7",
        eventList=[{"eventType": "watch", "itemId": "i23", "sentAt": now + 1}],
    )
    retrained = sc.version(
        sc.pz.describe_solution_version(solutionVersionArn=group["up"])["solutionVersion"]["solutionArn"]
    )
    campaign = _campaign(sc, retrained["solutionVersionArn"])
    after = recs(campaign, "member-7")
    assert after and not (set(watched) | {"i23"}) & set(after)  # the session's history is the member's now
    sc.pz.delete_campaign(campaignArn=campaign)


def test_context_is_validated_as_the_api_defines_it(local_stack, group):
    rt = local_stack.client("personalize-runtime")
    recs = rt.get_recommendations(
        campaignArn=group["metadata"], userId="u1", numResults=3, context={"DEVICE": "mobile"}
    )
    assert len(recs["itemList"]) == 3  # no DEVICE field in this group's interactions: no effect, no error
    for context in ({"DEVICE-TYPE": "mobile"}, {"DEVICE": "x" * 1001}, {f"K{i}": "v" for i in range(151)}):
        with pytest.raises(ClientError) as err:
            rt.get_recommendations(campaignArn=group["metadata"], userId="u1", context=context)
        assert err.value.response["Error"]["Code"] == "InvalidInputException", context


def test_filters_see_item_data_put_after_training(local_stack, sc, group):
    rt, ev = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    silent = _filter(sc, group["group"], 'INCLUDE ItemID WHERE Items.GENRE IN ("Silent")')
    assert rt.get_recommendations(campaignArn=group["sims"], itemId="i30", filterArn=silent)["itemList"] == []
    ev.put_items(datasetArn=group["items"], items=[{"itemId": "i5", "properties": json.dumps({"genre": "Silent"})}])
    recs = rt.get_recommendations(campaignArn=group["sims"], itemId="i30", filterArn=silent)["itemList"]
    assert [r["itemId"] for r in recs] == ["i5"]  # a SIMS campaign: the catalog stays, the metadata is current
