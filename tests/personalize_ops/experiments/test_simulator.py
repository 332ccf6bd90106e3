"""The traffic simulator: deterministic, PutEvents-shaped, position-biased, and a better model earns more clicks."""

from __future__ import annotations

import botocore.session
import numpy as np
import pytest
from botocore.validate import ParamValidator
from personalize_ops.experiments.analysis import Verdict, analyze
from personalize_ops.experiments.config import Experiment
from personalize_ops.experiments.events import aggregate
from personalize_ops.experiments.simulator import ClickModel, Recommendation, default_price, simulate
from scipy import stats

ITEMS = [f"item-{i}" for i in range(400)]
SPLIT = {"control": 0.5, "challenger": 0.5}


def world(users: int = 600, seed: int = 3) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    return {f"user-{u}": list(rng.choice(ITEMS, 40, replace=False)) for u in range(users)}


def random_model(seed: int = 5):
    rng = np.random.default_rng(seed)
    return lambda user: list(rng.choice(ITEMS, 10, replace=False))


def oracle(future: dict[str, list[str]]):
    return lambda user: future[user][:10]  # what the user will really do next, first


def run(recommenders, future, days=5, **kw):
    return list(simulate("sim", SPLIT, recommenders, future, days, **kw))


def test_the_same_seed_gives_the_same_traffic_and_another_seed_other_traffic():
    future = world(200)
    first = run({"control": oracle(future), "challenger": oracle(future)}, future, seed=11)
    again = run({"control": oracle(future), "challenger": oracle(future)}, future, seed=11)
    other = run({"control": oracle(future), "challenger": oracle(future)}, future, seed=12)
    assert first == again
    assert [d.calls for d in first] != [d.calls for d in other]
    assert sum(len(d.exposures) for d in first) > 500  # ~1 visit per user per day


def test_the_future_is_not_modified():
    future = world(50)
    before = {u: list(v) for u, v in future.items()}
    run({"control": oracle(future), "challenger": oracle(future)}, future)
    assert future == before


def test_events_are_valid_put_events_requests():
    future = world(100)
    days = run({"control": oracle(future), "challenger": random_model()}, future, days=2, list_length=25)
    model = botocore.session.get_session().get_service_model("personalize-events")
    shape = model.operation_model("PutEvents").input_shape
    validator = ParamValidator()
    calls = [c for d in days for c in d.calls]
    assert calls
    for c in calls:
        report = validator.validate({"trackingId": "tracking-id", **c}, shape)
        assert not report.has_errors(), report.generate_report()
        for e in c["eventList"]:
            exposure = next(x for d in days for x in d.exposures if x.recommendation_id == e["recommendationId"])
            assert e["impression"] == list(exposure.items) and e["itemId"] in exposure.items
            assert e["metricAttribution"] == {"eventAttributionSource": f"sim:{exposure.variant}"}
            assert len(e["recommendationId"]) <= 40 and exposure.user_id == c["userId"]
    assert {e["eventType"] for c in calls for e in c["eventList"]} == {"click", "purchase"}


def test_purchases_follow_relevant_clicks_and_carry_the_price():
    future = world(300)
    days = run({"control": oracle(future), "challenger": oracle(future)}, future, days=3)
    events = [e for d in days for c in d.calls for e in c["eventList"]]
    buys = [e for e in events if e["eventType"] == "purchase"]
    assert buys and all(e["eventValue"] == default_price(e["itemId"]) for e in buys)
    clicks = {e["eventId"].removesuffix("-c") for e in events if e["eventType"] == "click"}
    assert all(e["eventId"].removesuffix("-p") in clicks for e in buys)
    user_future = {u: set(v) for u, v in future.items()}
    by_id = {e["eventId"]: c["userId"] for d in days for c in d.calls for e in c["eventList"]}
    assert all(e["itemId"] in user_future[by_id[e["eventId"]]] for e in buys)


@pytest.mark.parametrize("model", [ClickModel(decay="log"), ClickModel(decay="geometric", gamma=0.7)])
def test_clicks_by_rank_follow_the_examination_curve(model):
    # Relevance switched off (same click chance for every examined item): clicks per rank ~ examination(k).
    flat = ClickModel(model.decay, model.gamma, relevant_click=0.5, other_click=0.5, conversion=0.0)
    future = world(400)
    days = run({"control": random_model(1), "challenger": random_model(2)}, future, days=6, click_model=flat)
    ranks = [e["impression"].index(e["itemId"]) for d in days for c in d.calls for e in c["eventList"]]
    observed = np.bincount(ranks, minlength=10)
    expected = flat.examination(10) / flat.examination(10).sum() * len(ranks)
    assert stats.chisquare(observed, expected).pvalue > 0.01, (observed, expected.round())
    assert observed[0] > observed[4] > observed[9]


def test_a_better_model_earns_a_higher_click_through_and_wins():
    future = world(1200)
    exp = Experiment.model_validate(
        {
            "name": "sim",
            "variants": [{"name": "control", "campaign": "c1"}, {"name": "challenger", "campaign": "c2"}],
            "primary_metric": {"kind": "ctr"},
            "min_users_per_variant": 300,
            "min_days": 3,
            "max_days": 10,
        }
    )
    exposures, calls, res = [], [], None
    for day in simulate("sim", exp.split, {"control": random_model(), "challenger": oracle(future)}, future, 10):
        exposures += day.exposures
        calls += day.calls
        res = analyze(exp, aggregate(exp, exposures, calls), day.day + 1)
        if res.final:
            break
    assert (res.verdict, res.winner) == (Verdict.WINNER, "challenger"), res.reason
    c = res.comparisons[0]
    assert c.variant_value > 2 * c.control_value and c.low > 0
    assert res.day == exp.min_days  # so clear that the first allowed look decides it


def test_a_logging_loss_in_one_variant_shows_up_as_a_sample_ratio_mismatch():
    future = world(3000)
    exp = Experiment.model_validate(
        {
            "name": "sim",
            "variants": [{"name": "control", "campaign": "c1"}, {"name": "challenger", "campaign": "c2"}],
            "primary_metric": {"kind": "ctr"},
            "min_users_per_variant": 100,
            "min_days": 1,
        }
    )
    recs = {"control": random_model(), "challenger": random_model()}
    (day,) = simulate("sim", exp.split, recs, future, 1, exposure_loss={"challenger": 0.3})
    res = analyze(exp, aggregate(exp, day.exposures, day.calls), 1)
    assert res.verdict == Verdict.SRM and res.srm.p_value < 0.001
    (clean,) = simulate("sim", exp.split, recs, future, 1)
    assert not analyze(exp, aggregate(exp, clean.exposures, clean.calls), 1).srm.flagged


def test_a_recommendation_id_from_the_recommender_is_used_as_is():
    future = world(20)
    days = run({v: (lambda user: Recommendation(future[user][:5], f"RID-{user}")) for v in SPLIT}, future, days=1)
    assert {x.recommendation_id for d in days for x in d.exposures} <= {f"RID-{u}" for u in future}


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"list_length": 26}, "1..25"),
        ({"visits_per_day": -1}, "visits_per_day"),
        ({"click_model": None}, None),
    ],
)
def test_bad_settings_are_refused(kw, message):
    future = world(5)
    if message is None:
        with pytest.raises(ValueError, match="must be a probability"):
            ClickModel(relevant_click=1.5)
        with pytest.raises(ValueError, match="no recommend function for variant"):
            next(simulate("sim", SPLIT, {"control": oracle(future)}, future, 1))
        return
    with pytest.raises(ValueError, match=message):
        next(simulate("sim", SPLIT, {v: oracle(future) for v in SPLIT}, future, 1, **kw))


def test_the_simulator_drives_real_campaigns_and_put_events(local_stack, served):
    # The recommend functions call GetRecommendations on the local stack's campaigns; every PutEvents call the
    # simulator yields is accepted as is.
    campaigns, tracking_id = served
    runtime, events = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")

    def campaign(arn: str):
        def recommend(user: str) -> Recommendation:
            response = runtime.get_recommendations(campaignArn=arn, userId=user, numResults=10)
            return Recommendation([i["itemId"] for i in response["itemList"]], response["recommendationId"])

        return recommend

    future = {f"u{u}": [f"i{(u + k) % 40}" for k in range(12)] for u in range(30)}
    split = {"champion": 0.5, "challenger": 0.5}
    recs = {v: campaign(arn) for v, arn in campaigns.items()}
    days = list(simulate("stack", split, recs, future, 2, seed=4, click_model=ClickModel(other_click=0.2)))
    calls = [c for d in days for c in d.calls]
    assert calls and {x.variant for d in days for x in d.exposures} == set(split)
    for c in calls:
        response = events.put_events(trackingId=tracking_id, **c)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    exposure_ids = {x.recommendation_id for d in days for x in d.exposures}
    assert all(e["recommendationId"] in exposure_ids for c in calls for e in c["eventList"])
