"""Champion/challenger gate: pure decisions and their reasons."""

import math
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from personalize_ops.metrics import GateInputError, decide
from personalize_ops.metrics.gate import GateDecision

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
    with pytest.raises(GateInputError, match="expected a finite number"):
        decide(None, {M: None}, M)
    with pytest.raises(GateInputError, match="min_improvement"):
        decide(None, m(0.1), M, -0.1)


def test_to_record_has_documented_fields():
    rec = decide(m(0.3), m(0.4), M).to_record(
        campaign="c", champion_arn="a1", challenger_arn="a2", run_id="r"
    )
    assert set(rec) == {
        "campaign", "champion_arn", "challenger_arn", "metric", "champion_value", "challenger_value",
        "baseline_value", "margin", "promoted", "reason", "run_id", "decided_at", "skipped", "already_serving",
    }


# --- boundaries of the rule (module docstring of personalize_ops.metrics.gate) -------------------------------


@pytest.mark.parametrize(
    ("challenger", "promoted"),
    [
        (0.11, True),  # exactly +10%, although 0.1 * 1.1 == 0.11000000000000001 in binary floating point
        (0.10999, False),  # +9.99%
        (0.1101, True),
    ],
)
def test_relative_margin_that_is_not_exact_in_binary(challenger, promoted):
    assert 0.1 * (1 + 0.1) > 0.11  # the premise: a plain >= comparison would refuse exactly +10%
    d = decide(m(0.1), m(challenger), M, 0.1)
    assert d.promoted is promoted, d.reason
    assert d.reason.startswith("promoted: challenger beats champion" if promoted else "not promoted: challenger")


def test_tie_and_the_smallest_step_above_it():
    tie = decide(m(0.3), m(0.3), M)
    above = decide(m(0.3), m(math.nextafter(0.3, 1.0)), M)
    below = decide(m(0.3), m(math.nextafter(0.3, 0.0)), M)
    assert (tie.promoted, above.promoted, below.promoted) == (False, True, False)
    zero = decide(m(0.0), m(0.0), M, 0.5)
    assert not zero.promoted, "0 vs 0 is a tie, whatever the margin"


@pytest.mark.parametrize("with_champion", [False, True])
def test_baseline_boundary_on_both_sides(with_champion):
    """Below the popularity baseline never promotes; equal to it is allowed (rule 1 of the module docstring)."""
    champion = m(0.01) if with_champion else None
    base = m(0.12)
    equal = decide(champion, m(0.12), M, baseline=base)
    below = decide(champion, m(math.nextafter(0.12, 0.0)), M, baseline=base)
    assert equal.promoted, equal.reason
    assert not below.promoted and "below the popularity baseline" in below.reason


def test_baseline_blocks_a_challenger_that_beats_the_champion():
    d = decide(m(0.05), m(0.10), M, 0.02, baseline=m(0.12))
    assert not d.promoted and "below the popularity baseline" in d.reason
    assert (d.challenger_value, d.champion_value, d.baseline_value) == (0.10, 0.05, 0.12)


def test_baseline_does_not_rescue_a_challenger_worse_than_the_champion():
    d = decide(m(0.30), m(0.20), M, baseline=m(0.10))
    assert not d.promoted and "vs champion" in d.reason


def test_decision_carries_each_number_in_its_own_field():
    d = decide(m(0.30), m(0.33), M, 0.02, baseline=m(0.12))
    assert (d.challenger_value, d.champion_value, d.baseline_value, d.margin, d.metric) == (0.33, 0.30, 0.12, 0.02, M)
    assert d.reason.index("challenger 0.3300") < d.reason.index("champion 0.3000")


@pytest.mark.parametrize(
    ("champion", "challenger", "baseline", "role"),
    [
        (None, m(float("nan")), None, "challenger"),
        (m(float("nan")), m(0.5), None, "champion"),
        (m(0.1), m(0.5), m(float("nan")), "baseline"),
        (None, m(float("inf")), None, "challenger"),
        (m(float("-inf")), m(0.5), None, "champion"),
        (None, m(True), None, "challenger"),
        (None, m("0.5"), None, "challenger"),
        (m(0.1), {"coverage": 0.5}, None, "challenger"),
        (m(0.1), m(0.5), {"coverage": 0.5}, "baseline"),
    ],
)
def test_a_metric_that_is_not_a_finite_number_is_an_error_never_a_promotion(champion, challenger, baseline, role):
    with pytest.raises(GateInputError, match=rf"^{role} metric"):
        decide(champion, challenger, M, 0.0, baseline)


@pytest.mark.parametrize("margin", [-0.01, float("nan")])
def test_a_negative_or_nan_margin_is_an_error(margin):
    with pytest.raises(GateInputError, match="min_improvement"):
        decide(m(0.1), m(0.5), M, margin)


def test_integer_metrics_are_numbers():
    assert decide({M: 0}, {M: 1}, M).promoted


@pytest.mark.parametrize(("champion", "challenger"), [(0.30, 0.20), (0.30, 0.40), (None, 0.2)])
def test_skip_promotes_whatever_the_comparison_said_and_says_so(champion, challenger):
    compared = decide(champion and m(champion), m(challenger), M, 0.0, m(0.25))
    d = decide(champion and m(champion), m(challenger), M, 0.0, m(0.25), skip=True)
    assert d.promoted and d.skipped and not d.already_serving
    assert d.reason == f"promoted: skip_gate set (gate said: {compared.reason})"
    assert not compared.skipped
    record = d.to_record(campaign="c", champion_arn=None, challenger_arn="v", run_id="r")
    assert record["skipped"] is True


@pytest.mark.parametrize("skip", [False, True])
def test_a_campaign_already_serving_the_challenger_is_left_alone_even_with_skip(skip):
    d = decide(m(0.30), m(0.30), M, 0.0, m(0.50), skip=skip, already_serving="arn:v2")
    assert (d.promoted, d.already_serving, d.skipped) == (False, True, False)
    assert d.reason == "campaign already serves arn:v2"


def test_already_serving_does_not_excuse_a_metric_that_is_not_a_number():
    with pytest.raises(GateInputError):
        decide(m(0.3), m(math.nan), M, already_serving="arn:v2")


# --- each decision exactly: every field, the reason word for word -----------------------------------------------


def numbers(new, old, base, margin):
    return f"({M}: challenger {new}, champion {old}, popularity baseline {base}, required margin {margin})"


@pytest.mark.parametrize(
    ("champion", "challenger", "margin", "baseline", "promoted", "why"),
    [
        (None, 0.2, 0.0, None, True, "promoted: no champion yet (campaign does not exist)"),
        (None, 0.1, 0.0, 0.12, False, "not promoted: challenger scores below the popularity baseline"),
        (0.3, 0.33, 0.02, 0.12, True, "promoted: challenger beats champion by +10.0% (needed 0.3060)"),
        (0.3, 0.305, 0.02, None, False, "not promoted: challenger +1.7% vs champion, needed >= 0.3060"),
        (0.3, 0.25, 0.125, None, False, "not promoted: challenger -16.7% vs champion, needed >= 0.3375"),
        (0.0, 0.01, 0.5, None, True, "promoted: challenger beats champion by +inf% (needed 0.0000)"),
        (0.0, 0.0, 0.0, None, False, "not promoted: challenger +0.0% vs champion, needed >= 0.0000"),
    ],
)
def test_each_decision_field_by_field(champion, challenger, margin, baseline, promoted, why):
    d = decide(champion if champion is None else m(champion), m(challenger), M, margin,
               baseline if baseline is None else m(baseline))  # fmt: skip

    def fmt(v):
        return "n/a" if v is None else f"{v:.4f}"

    reason = f"{why} {numbers(fmt(challenger), fmt(champion), fmt(baseline), f'{margin * 100:.1f}%')}"
    assert d == GateDecision(promoted, reason, M, challenger, champion, baseline, margin)
    assert (d.skipped, d.already_serving) == (False, False)


def test_numbers_given_as_integers_are_recorded_as_floats():
    d = decide({M: 1}, {M: 3}, M, 1, {M: 0})
    assert d.promoted and d.reason.startswith("promoted: challenger beats champion by +200.0% (needed 2.0000)")
    for value in (d.challenger_value, d.champion_value, d.baseline_value, d.margin):
        assert type(value) is float
    served = decide({M: 1}, {M: 3}, M, 1, already_serving="arn:v")
    skipped = decide({M: 1}, {M: 3}, M, 1, skip=True)
    assert type(served.margin) is float and type(skipped.margin) is float


def test_already_serving_and_skip_decisions_exactly():
    served = decide(m(0.3), m(0.4), M, 0.1, m(0.2), already_serving="arn:v2")
    assert served == GateDecision(False, "campaign already serves arn:v2", M, 0.4, 0.3, 0.2, 0.1, already_serving=True)
    skipped = decide(m(0.3), m(0.2), M, 0.1, m(0.25), skip=True)
    below = "not promoted: challenger scores below the popularity baseline"
    said = f"{below} {numbers('0.2000', '0.3000', '0.2500', '10.0%')}"
    assert skipped == GateDecision(True, f"promoted: skip_gate set (gate said: {said})", M, 0.2, 0.3, 0.25, 0.1,
                                   skipped=True)  # fmt: skip
    assert decide(m(0.3), m(0.4), M, already_serving="").already_serving is False, "an empty ARN serves nothing"


def test_record_is_the_decision_plus_where_and_when():
    d = decide(m(0.3), m(0.4), M)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rec = d.to_record(campaign="c", champion_arn="a1", challenger_arn="a2", run_id="r", decided_at=at)
    assert rec == {**asdict(d), "campaign": "c", "champion_arn": "a1", "challenger_arn": "a2", "run_id": "r",
                   "decided_at": "2026-01-02T03:04:05+00:00"}  # fmt: skip
    before = datetime.now(UTC)
    stamped = datetime.fromisoformat(d.to_record(campaign="c", champion_arn=None, challenger_arn="a2",
                                                 run_id="r")["decided_at"])  # fmt: skip
    assert stamped.utcoffset() == timedelta(0) and before <= stamped <= datetime.now(UTC)


def test_input_errors_word_for_word():
    with pytest.raises(GateInputError) as err:
        decide({"zeta": 1, "coverage": 0.1}, {"precision_at_5": 0.1}, "precision_at_5")
    assert str(err.value) == "champion metrics have no 'precision_at_5'; available: coverage, zeta"
    with pytest.raises(GateInputError) as err:
        decide(None, {}, M)
    assert str(err.value) == f"challenger metrics have no '{M}'; available: none"
    with pytest.raises(GateInputError) as err:
        decide(None, m(0.1), M, baseline={M: False})
    assert str(err.value) == f"baseline metric '{M}' is False, expected a finite number"
    with pytest.raises(GateInputError) as err:
        decide(None, m(0.1), M, -0.5)
    assert str(err.value) == "min_improvement=-0.5: must be >= 0 (0.02 means 2% better)"


def test_tiny_metrics_meet_the_margin_within_an_absolute_tolerance_of_1e_12():
    """For metrics below ~1e-3 the relative tolerance (1e-9) is below 1e-12; a shortfall of at most 1e-12 (absolute)
    still counts as meeting the margin, so rounding in ``champion * (1 + margin)`` never refuses a tiny challenger
    that meets it; a larger shortfall does not."""
    required = 1e-6 * 1.1
    assert decide(m(1e-6), m(required - 5e-13), M, 0.1).promoted
    assert not decide(m(1e-6), m(required - 5e-12), M, 0.1).promoted
