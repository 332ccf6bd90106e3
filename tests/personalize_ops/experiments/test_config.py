"""The experiments: config section: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

from datetime import date

import pytest
from personalize_ops.experiments.config import Experiment, reference_problems
from pydantic import ValidationError


def raw(**over) -> dict:
    base = {
        "name": "up-vs-pop",
        "variants": [{"name": "champion", "campaign": "main"}, {"name": "challenger", "campaign": "challenger"}],
        "primary_metric": {"kind": "ctr"},
    }
    return {**base, **over}


def errors(data: dict) -> list[str]:
    with pytest.raises(ValidationError) as e:
        Experiment.model_validate(data)
    return [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.value.errors()]


def test_a_minimal_experiment_gets_an_equal_split_and_documented_defaults():
    exp = Experiment.model_validate(raw())
    assert exp.split == {"champion": 0.5, "challenger": 0.5}
    assert exp.control.name == "champion"
    assert (exp.alpha, exp.minimum_effect, exp.min_users_per_variant, exp.min_days, exp.max_days) == (
        0.05, 0.05, 1000, 7, 28,
    )  # fmt: skip
    assert exp.on_end == "report" and exp.promote_to is None and exp.guardrails == []
    assert [m.label for m in exp.metrics] == ["ctr"]


def test_a_full_experiment_with_every_metric_kind():
    exp = Experiment.model_validate(
        raw(
            variants=[
                {"name": "champion", "campaign": "main", "traffic": 0.8},
                {"name": "challenger", "campaign": "challenger", "traffic": 0.1},
                {"name": "baseline", "campaign": "popular", "traffic": 0.1},
            ],
            primary_metric={"kind": "revenue", "event_type": "purchase", "field": "properties.price"},
            guardrails=[
                {"metric": {"kind": "ctr", "click_event_type": "tap"}, "max_degradation": 0.02},
                {"metric": {"kind": "conversion", "event_type": "purchase"}, "max_degradation": 0.05},
            ],
            start_date="2025-03-01",
            on_end="promote",
            promote_to="main",
        )
    )
    assert exp.split == {"champion": 0.8, "challenger": 0.1, "baseline": 0.1}
    assert [m.label for m in exp.metrics] == ["revenue:purchase:properties.price", "ctr:tap", "conversion:purchase"]
    assert exp.start_date == date(2025, 3, 1)


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"variants": [{"name": "a", "campaign": "x", "traffic": 0.6}, {"name": "b", "campaign": "y", "traffic": 0.3}]},
         "traffic must sum to 1: 0.6 + 0.3 = 0.9"),
        ({"variants": [{"name": "a", "campaign": "x", "traffic": 0.5}, {"name": "b", "campaign": "y"}]},
         "set traffic on every variant or on none"),
        ({"variants": [{"name": "a", "campaign": "x"}, {"name": "a", "campaign": "y"}]},
         "variant names must be unique; listed twice: a"),
        ({"variants": [{"name": "a", "campaign": "x"}]}, "at least 2 items"),
        ({"primary_metric": {"kind": "conversion"}}, "primary_metric.conversion.event_type: Field required"),
        ({"primary_metric": {"kind": "clicks"}},
         "does not match any of the expected tags: 'ctr', 'conversion', 'revenue'"),
        ({"primary_metric": {"kind": "revenue", "event_type": "buy", "field": "price"}},
         "field 'price' must be 'eventValue' or 'properties.<key>'"),
        ({"min_days": 14, "max_days": 7}, "max_days (7) is shorter than min_days (14)"),
        ({"on_end": "promote"}, "on_end: promote needs promote_to"),
        ({"alpha": 0.5}, "alpha: Input should be less than or equal to 0.2"),
        ({"name": "no spaces"}, "name 'no spaces' must be 1-63 letters"),
        ({"guardrails": [{"metric": {"kind": "ctr"}, "max_degradation": 0.1}]},
         "a metric is both primary and guardrail"),
        ({"traffic_split": [0.5, 0.5]}, "traffic_split: Extra inputs are not permitted"),
        ({"variants": [{"name": "a", "campaign": "x", "weight": 1}, {"name": "b", "campaign": "y"}]},
         "variants.0.weight: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_mistakes_are_refused_with_the_field_and_what_to_do(over, expected):
    assert any(expected in e for e in errors(raw(**over))), errors(raw(**over))


def test_reference_problems_name_the_key_and_the_known_campaigns():
    experiments = [
        raw(promote_to="main", on_end="promote"),
        raw(variants=[{"name": "a", "campaign": "main"}, {"name": "b", "campaign": "gone"}], promote_to="nowhere"),
        raw(variants=[{"name": "a", "campaign": "main"}, {"name": "b", "campaign": "challenger"}],
            promote_to="challenger"),
        "not a mapping",
        {"name": 3, "variants": "broken"},
    ]  # fmt: skip
    expected = [
        (("experiments", 1, "name"), "duplicate experiment name 'up-vs-pop' (also experiments[0])"),
        (("experiments", 1, "variants", 1, "campaign"), "unknown campaign 'gone' (known: main, challenger)"),
        (("experiments", 1, "promote_to"), "unknown campaign 'nowhere' (known: main, challenger)"),
        (("experiments", 2, "name"), "duplicate experiment name 'up-vs-pop' (also experiments[0])"),
        (
            ("experiments", 2, "promote_to"),
            "'challenger' serves a challenger variant; promote to the campaign that serves everyone else "
            "(usually the control's)",
        ),
    ]
    assert reference_problems(experiments, ["main", "challenger"]) == expected
    validated = [Experiment.model_validate(e) for e in experiments[:3]]
    assert reference_problems(validated, ["main", "challenger"]) == expected
    assert reference_problems([raw()], ["main", "challenger"]) == []
    assert reference_problems([raw()], []) == [
        (("experiments", 0, "variants", 0, "campaign"), "unknown campaign 'main' (known: none)"),
        (("experiments", 0, "variants", 1, "campaign"), "unknown campaign 'challenger' (known: none)"),
    ]
    assert reference_problems(None, []) == [] and reference_problems("text", []) == []
