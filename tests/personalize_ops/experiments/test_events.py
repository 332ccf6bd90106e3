"""Exposures and PutEvents calls -> per-variant Moments: what counts, what is ignored."""

from __future__ import annotations

import json

from personalize_ops.experiments.config import Experiment
from personalize_ops.experiments.events import Exposure, aggregate

EXP = Experiment.model_validate(
    {
        "name": "exp",
        "variants": [{"name": "a", "campaign": "c1"}, {"name": "b", "campaign": "c2"}],
        "primary_metric": {"kind": "ctr"},
        "guardrails": [
            {"metric": {"kind": "conversion", "event_type": "purchase"}, "max_degradation": 0.1},
            {"metric": {"kind": "revenue", "event_type": "purchase"}, "max_degradation": 0.1},
            {
                "metric": {"kind": "revenue", "event_type": "purchase", "field": "properties.price"},
                "max_degradation": 0.1,
            },
        ],
    }
)


def shown(variant: str, user: str, rid: str, *items: str, experiment: str = "exp") -> Exposure:
    return Exposure(experiment, variant, user, f"s-{user}", rid, items, 1.7e9)


def call(user: str, *events: dict) -> dict:
    return {"userId": user, "sessionId": f"s-{user}", "eventList": list(events)}


def ev(kind: str, item: str, rid: str | None = None, source: str | None = None, **extra) -> dict:
    out = {"eventType": kind, "itemId": item, "sentAt": 1.7e9, **extra}
    if rid:
        out["recommendationId"] = rid
    if source:
        out["metricAttribution"] = {"eventAttributionSource": source}
    return out


def test_clicks_conversions_and_revenue_per_user_and_variant():
    exposures = [
        shown("a", "u1", "r1", "i1", "i2"),
        shown("a", "u1", "r2", "i3"),
        shown("a", "u2", "r3", "i1"),
        shown("b", "u3", "r4", "i5", "i6"),
        shown("b", "u9", "r9", "i5", experiment="other"),  # another experiment's exposure
    ]
    calls = [
        call("u1", ev("click", "i2", "r1", "exp:a"), ev("click", "i3", "r2", "exp:a"), ev("click", "i9", "r1")),
        call("u1", ev("purchase", "i2", "r1", "exp:a", eventValue=10.0),
             ev("purchase", "i3", source="exp:a", eventValue=5.0)),
        call("u1", ev("purchase", "i3", source="other:a", eventValue=99.0), ev("purchase", "i3", eventValue=99.0)),
        call("u2", ev("click", "i1", "r1", "exp:a")),  # u2 clicking u1's list: not u2's exposure
        call("u3", ev("click", "i5", "r4", "exp:b"), ev("click", "i6", "r4", "exp:b"),
             ev("click", "i5", "r4", "exp:b")),
        call("u3", ev("purchase", "i5", "r4", "exp:b", properties=json.dumps({"price": 7.5}), eventValue=3.0)),
        call("u4", ev("purchase", "i5", source="exp:b", eventValue=50.0)),  # never exposed: ignored
    ]  # fmt: skip
    out = aggregate(EXP, exposures, calls)
    assert (out["a"].users, out["b"].users) == (2, 1)
    a, b = out["a"].metrics, out["b"].metrics
    # ctr: u1 2 clicks / 2 lists, u2 0 / 1
    assert (a["ctr"].n, a["ctr"].sum_y, a["ctr"].sum_x, a["ctr"].sum_yy, a["ctr"].sum_xx, a["ctr"].sum_xy) == (
        2, 2.0, 3.0, 4.0, 5.0, 4.0,
    )  # fmt: skip
    assert a["ctr"].value == 2 / 3 and b["ctr"].value == 3.0  # every click on a shown item counts, repeats too
    assert (a["conversion:purchase"].sum_y, a["conversion:purchase"].n) == (1.0, 2)
    assert a["revenue:purchase"].sum_y == 15.0 and a["revenue:purchase"].value == 7.5
    assert b["revenue:purchase"].sum_y == 3.0 and b["revenue:purchase:properties.price"].sum_y == 7.5
    assert a["revenue:purchase:properties.price"].sum_y == 0.0  # no price property: counts as 0


def test_no_data_gives_empty_variants():
    out = aggregate(EXP, [], [])
    assert {k: v.users for k, v in out.items()} == {"a": 0, "b": 0}
    assert out["a"].metrics["ctr"].n == 0
