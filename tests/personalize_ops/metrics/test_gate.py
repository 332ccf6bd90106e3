"""Champion/challenger gate: pure decisions and their reasons."""

import pytest
from personalize_ops.metrics import GateInputError, decide

M = "normalized_discounted_cumulative_gain_at_10"


def m(v):
    return {M: v, "coverage": 0.1}


def test_no_champion_promotes():
    d = decide(None, m(0.2), M)
    assert d.promoted and "no champion" in d.reason and d.champion_value is None


@pytest.mark.parametrize(
    ("champion", "challenger", "margin", "promoted"),
    [
        (0.30, 0.30, 0.0, False),  # tie never promotes
        (0.30, 0.301, 0.0, True),
        (0.30, 0.305, 0.02, False),  # +1.7% < 2%
        (0.50, 0.51, 0.02, True),  # exactly +2% (float-safe)
        (0.30, 0.25, 0.0, False),
        (0.0, 0.01, 0.5, True),
    ],
)
def test_margin(champion, challenger, margin, promoted):
    assert decide(m(champion), m(challenger), M, margin).promoted is promoted


def test_reason_has_both_numbers_and_the_baseline():
    d = decide(m(0.30), m(0.33), M, 0.02, baseline=m(0.12))
    assert d.promoted
    for text in ("0.3300", "0.3000", "0.1200", "2.0%", M):
        assert text in d.reason


def test_baseline_beating_challenger_blocks_promotion_even_without_champion():
    d = decide(None, m(0.10), M, baseline=m(0.12))
    assert not d.promoted and "popularity baseline" in d.reason
    assert decide(None, m(0.12), M, baseline=m(0.12)).promoted  # equal to baseline is allowed


def test_missing_metric_names_metric_and_available():
    with pytest.raises(GateInputError, match=r"champion metrics have no 'precision_at_5'; available: cov"):
        decide({"coverage": 0.1}, {"precision_at_5": 0.1}, "precision_at_5")
    with pytest.raises(GateInputError, match="challenger metrics have no"):
        decide(None, {}, M)
    with pytest.raises(GateInputError, match="expected a number"):
        decide(None, {M: None}, M)
    with pytest.raises(GateInputError, match="min_improvement"):
        decide(None, m(0.1), M, -0.1)


def test_to_record_has_documented_fields():
    rec = decide(m(0.3), m(0.4), M).to_record(
        campaign="c", champion_arn="a1", challenger_arn="a2", run_id="r"
    )
    assert set(rec) == {
        "campaign", "champion_arn", "challenger_arn", "metric", "champion_value", "challenger_value",
        "baseline_value", "margin", "promoted", "reason", "run_id", "decided_at",
    }
