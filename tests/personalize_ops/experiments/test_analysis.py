"""The analysis: statistics checked against independent computations, and every verdict with its numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from personalize_ops.experiments.analysis import (
    ExperimentInputError,
    Moments,
    VariantData,
    Verdict,
    analyze,
    cs_radius,
    mixture_variance,
    optimal_mixture_ratio,
    relative_lift,
    render_result,
    srm_check,
)
from personalize_ops.experiments.config import Experiment
from scipy import stats

# --------------------------------------------------------------------------- Moments (delta method)


def test_a_per_user_mean_has_the_textbook_variance_of_a_mean():
    y = np.random.default_rng(0).exponential(3.0, 500)
    m = Moments.from_users(y)
    assert m.value == pytest.approx(y.mean())
    assert m.variance == pytest.approx(y.var(ddof=1) / len(y))


def test_a_proportion_has_the_binomial_variance():
    m = Moments.from_counts(120, 1000)
    assert m.value == 0.12
    assert m.variance == pytest.approx(0.12 * 0.88 / 1000, rel=2e-3)  # p(1-p)/n, up to n/(n-1)
    assert Moments.from_users([1] * 120 + [0] * 880) == m


def test_the_ratio_variance_matches_the_spread_of_the_ratio_over_repeated_samples():
    # Users see Poisson(5) lists and click each with their own propensity: repeated impressions of a user are
    # correlated. The delta-method variance must match the actual spread of sum(clicks) / sum(lists).
    rng = np.random.default_rng(1)
    n, reps = 400, 3000
    ratios, estimates = [], []
    for _ in range(reps):
        lists = rng.poisson(5, n) + 1
        clicks = rng.binomial(lists, rng.beta(1, 9, n))
        m = Moments.from_users(clicks, lists)
        ratios.append(m.value)
        estimates.append(m.variance)
    assert np.mean(estimates) == pytest.approx(np.var(ratios), rel=0.08)
    naive = Moments.from_counts(int(clicks.sum()), int(lists.sum())).variance  # impressions as independent
    assert naive < 0.8 * np.var(ratios)  # why per-user sums: the per-impression variance is too small


def test_moments_refuse_impossible_counts():
    with pytest.raises(ExperimentInputError, match="between 0 and trials"):
        Moments.from_counts(11, 10)
    with pytest.raises(ExperimentInputError, match="equal length"):
        Moments.from_users([1, 2], [1])
    assert math.isnan(Moments().value) and math.isnan(Moments.from_users([1.0]).variance)


# --------------------------------------------------------------------------- the confidence sequence


def test_the_radius_is_robbins_normal_mixture_boundary():
    # Sum of n unit-variance observations, mixing N(0, 1/rho): |S_n| <= sqrt((n + rho) log((n + rho) / (rho a^2))).
    alpha, tau2 = 0.05, 0.01
    rho = 1 / tau2
    for n in (1, 10, 100, 1000, 10**6):
        boundary = math.sqrt((n + rho) * math.log((n + rho) / (rho * alpha**2)))
        assert n * cs_radius(1 / n, tau2, alpha) == pytest.approx(boundary, rel=1e-12)


def test_at_the_radius_the_mixture_likelihood_ratio_is_one_over_alpha():
    # mSPRT: the N(0, tau2) mixture of N(d; theta, V) over the null density N(d; 0, V) is the ratio of two normal
    # densities; the sequence's edge is where it reaches 1/alpha.
    for variance, tau2, alpha in ((0.02, 0.001, 0.05), (1e-5, 4e-3, 0.01), (3.0, 1.0, 0.1)):
        d = cs_radius(variance, tau2, alpha)
        ratio = stats.norm.pdf(d, scale=math.sqrt(variance + tau2)) / stats.norm.pdf(d, scale=math.sqrt(variance))
        assert ratio == pytest.approx(1 / alpha, rel=1e-9)


def test_the_mixture_is_tuned_where_the_radius_equals_the_minimum_effect():
    for alpha in (0.05, 0.01):
        grid = np.exp(np.linspace(-3, 6, 200_001))
        width = (1 + 1 / grid) * (2 * math.log(1 / alpha) + np.log1p(grid))
        assert optimal_mixture_ratio(alpha) == pytest.approx(grid[np.argmin(width)], rel=1e-3)
        tau2 = mixture_variance(0.05, alpha)
        variance = tau2 / optimal_mixture_ratio(alpha)
        assert cs_radius(variance, tau2, alpha) == pytest.approx(math.log(1.05), rel=1e-9)
    assert math.isinf(cs_radius(0.0, 1.0, 0.05)) and math.isinf(cs_radius(math.nan, 1.0, 0.05))


def test_the_sequence_covers_the_truth_at_every_look_while_a_fixed_interval_does_not():
    # 4000 Gaussian random walks looked at 60 times: the sequence misses the true mean at any look in at most
    # alpha of them; the fixed-horizon 95% interval, looked at as often, misses far more often.
    rng = np.random.default_rng(7)
    walks, looks, per_look, alpha = 4000, 60, 50, 0.05
    sums = np.cumsum(rng.normal(0.3, 2.0, (walks, looks, per_look)).sum(axis=2), axis=1)
    n = per_look * np.arange(1, looks + 1)
    err = np.abs(sums / n - 0.3)
    tau2 = mixture_variance(0.05, alpha)
    radius = np.array([cs_radius(4.0 / k, tau2, alpha) for k in n])
    seq_miss = (err > radius).any(axis=1).mean()
    fixed_miss = (err > stats.norm.ppf(0.975) * np.sqrt(4.0 / n)).any(axis=1).mean()
    assert seq_miss <= alpha
    assert fixed_miss > 3 * alpha


def test_relative_lift_is_the_ratio_of_values_with_a_log_symmetric_interval():
    a, b = Moments.from_counts(5000, 100_000), Moments.from_counts(6000, 100_000)
    lift = relative_lift(a, b, 0.05, mixture_variance(0.05, 0.05))
    assert lift.lift == pytest.approx(0.2)
    assert math.log1p(lift.high) - math.log1p(lift.lift) == pytest.approx(math.log1p(lift.lift) - math.log1p(lift.low))
    assert lift.low > 0
    assert relative_lift(Moments.from_counts(0, 100), b, 0.05, 0.01) is None


# --------------------------------------------------------------------------- sample-ratio mismatch


@pytest.mark.parametrize(
    ("users", "split", "flagged"),
    [
        ({"a": 5000, "b": 5200}, {"a": 0.5, "b": 0.5}, False),
        ({"a": 5000, "b": 5400}, {"a": 0.5, "b": 0.5}, True),
        ({"a": 8000, "b": 1000, "c": 1000}, {"a": 0.8, "b": 0.1, "c": 0.1}, False),
        ({"a": 8000, "b": 1150, "c": 850}, {"a": 0.8, "b": 0.1, "c": 0.1}, True),
    ],
)
def test_srm_is_the_chi_square_goodness_of_fit(users, split, flagged):
    total = sum(users.values())
    statistic = sum((users[v] - total * s) ** 2 / (total * s) for v, s in split.items())
    p = stats.chi2.sf(statistic, len(split) - 1)
    check = srm_check(users, split)
    assert check.statistic == pytest.approx(statistic) and check.p_value == pytest.approx(p)
    assert check.flagged is flagged is bool(p < 0.001)
    assert srm_check({}, {"a": 0.5, "b": 0.5}).flagged is False


# --------------------------------------------------------------------------- verdicts


def experiment(**over) -> Experiment:
    base = {
        "name": "exp",
        "variants": [{"name": "champion", "campaign": "c1"}, {"name": "challenger", "campaign": "c2"}],
        "primary_metric": {"kind": "ctr"},
        "guardrails": [{"metric": {"kind": "conversion", "event_type": "purchase"}, "max_degradation": 0.05}],
        "min_users_per_variant": 1000,
        "min_days": 7,
        "max_days": 28,
    }
    return Experiment.model_validate({**base, **over})


def data(name: str, users: int, ctr: float, conversion: float, lists_per_user: int = 10) -> VariantData:
    """A variant's data: each user saw ``lists_per_user`` lists and clicked Binomial(lists, ctr) times (seeded by
    the variant's size); a ``conversion`` share of the users converted."""
    clicks = np.random.default_rng(users).binomial(lists_per_user, ctr, users)
    converted = (np.arange(users) < round(conversion * users)).astype(float)
    ctr_m = Moments.from_users(clicks, np.full(users, float(lists_per_user)))
    return VariantData(name, users, {"ctr": ctr_m, "conversion:purchase": Moments.from_users(converted)})


def test_running_before_the_minimum_duration_even_with_a_clear_effect():
    res = analyze(experiment(), [data("champion", 5000, 0.05, 0.1), data("challenger", 5000, 0.08, 0.1)], day=3)
    assert res.verdict == Verdict.RUNNING and res.winner is None and not res.final
    assert res.reason.startswith("running: day 3 of at least 7, users 5,000 / 5,000 of at least 1,000 per variant")
    assert res.comparisons[0].status == "better"  # the interim numbers are shown, not acted on


def test_running_before_the_minimum_users_and_no_difference_if_they_never_come():
    pair = [data("champion", 900, 0.05, 0.3), data("challenger", 910, 0.08, 0.3)]
    res = analyze(experiment(), pair, day=10)
    assert res.verdict == Verdict.RUNNING and "users 900 / 910 of at least 1,000" in res.reason
    end = analyze(experiment(), pair, day=28)
    assert end.verdict == Verdict.NO_DIFFERENCE and end.final
    assert "maximum duration reached (day 28) with too few users: 900 / 910 of at least 1,000" in end.reason


def test_a_clearly_better_challenger_wins_with_its_lift_and_interval_in_the_reason():
    pair = [data("champion", 20_000, 0.05, 0.3), data("challenger", 20_000, 0.06, 0.3)]
    res = analyze(experiment(guardrails=[{"metric": {"kind": "conversion", "event_type": "purchase"},
                                          "max_degradation": 0.1}]), pair, day=7)  # fmt: skip
    assert res.verdict == Verdict.WINNER and res.winner == "challenger" and res.final
    c = res.comparisons[0]
    assert c.status == "better" and c.low > 0 and c.lift == pytest.approx(c.variant_value / c.control_value - 1)
    assert f"{c.lift:+.1%}" in res.reason and f"{c.low:+.1%} .. {c.high:+.1%}" in res.reason
    assert res.guardrails[0].status == "ok" and res.guardrails[0].low > -0.1
    assert "ok: conversion:purchase challenger vs champion +0.0%" in res.reason and "allowed -10.0%" in res.reason


def test_the_control_wins_when_every_challenger_is_worse():
    res = analyze(experiment(), [data("champion", 5000, 0.06, 0.1), data("challenger", 5000, 0.04, 0.1)], day=8)
    assert (res.verdict, res.winner) == (Verdict.WINNER, "champion")
    assert "every challenger is worse" in res.reason


def test_equal_variants_end_as_no_difference_once_the_interval_is_within_the_minimum_effect():
    res = analyze(experiment(), [data("champion", 200_000, 0.05, 0.1), data("challenger", 200_000, 0.05, 0.1)], day=9)
    c = res.comparisons[0]
    assert -0.05 < c.low < 0 < c.high < 0.05 and c.status == "equivalent"
    assert res.verdict == Verdict.NO_DIFFERENCE and "every challenger is decided" in res.reason


def test_an_undecided_experiment_runs_until_the_maximum_duration_then_ends_as_no_difference():
    pair = [data("champion", 2000, 0.05, 0.1), data("challenger", 2000, 0.051, 0.1)]
    running = analyze(experiment(), pair, day=20)
    assert running.verdict == Verdict.RUNNING and "no conclusive interval yet, day 20 of at most 28" in running.reason
    done = analyze(experiment(), pair, day=28)
    assert done.verdict == Verdict.NO_DIFFERENCE and "maximum duration reached (day 28)" in done.reason
    assert "no challenger beats the control by a detectable margin; differences within +-5.0%" in done.reason


def test_a_sample_ratio_mismatch_blocks_every_verdict():
    res = analyze(experiment(), [data("champion", 5000, 0.05, 0.1), data("challenger", 5600, 0.08, 0.1)], day=10)
    assert res.verdict == Verdict.SRM and res.winner is None and not res.final
    assert res.srm.flagged and "users 5,000 / 5,600 vs expected 50% / 50%" in res.reason
    assert res.comparisons[0].status == "better"  # a clear "winner" that must not be trusted


def test_a_winner_on_the_primary_metric_that_breaks_a_guardrail_does_not_win():
    res = analyze(experiment(), [data("champion", 5000, 0.05, 0.20), data("challenger", 5000, 0.07, 0.12)], day=10)
    assert res.comparisons[0].status == "better" and res.guardrails[0].status == "violated"
    assert res.verdict == Verdict.GUARDRAIL and res.winner is None
    assert "guardrail violated, every challenger is decided: challenger: violated: conversion:purchase" in res.reason
    assert "allowed -5.0%" in res.reason


def test_a_guardrail_not_yet_shown_safe_keeps_the_experiment_running_then_no_winner():
    pair = [data("champion", 1500, 0.05, 0.02), data("challenger", 1500, 0.08, 0.02)]
    res = analyze(experiment(), pair, day=10)
    assert res.comparisons[0].status == "better" and res.guardrails[0].status == "inconclusive"
    assert res.verdict == Verdict.RUNNING
    end = analyze(experiment(), pair, day=28)
    assert end.verdict == Verdict.NO_DIFFERENCE
    assert "no challenger both beats the control and keeps its guardrails" in end.reason
    assert "challenger is better on ctr but a guardrail is not shown within its allowance" in end.reason


def test_with_two_challengers_alpha_is_split_and_the_largest_significant_lift_wins():
    exp = experiment(
        variants=[
            {"name": "champion", "campaign": "c1"},
            {"name": "small", "campaign": "c2"},
            {"name": "big", "campaign": "c3"},
        ],
        guardrails=[],
    )
    res = analyze(
        exp, [data("champion", 6000, 0.05, 0.1), data("small", 6000, 0.06, 0.1), data("big", 6000, 0.07, 0.1)], day=7
    )
    assert {c.confidence for c in res.comparisons} == {97.5}
    assert (res.verdict, res.winner) == (Verdict.WINNER, "big")
    assert "also better than the control: small" in res.reason


def test_a_variant_without_data_counts_as_zero_users_and_unknown_variants_are_refused():
    res = analyze(experiment(), [data("champion", 5000, 0.05, 0.1)], day=10)
    assert res.srm.users == {"champion": 5000, "challenger": 0} and res.verdict == Verdict.SRM
    with pytest.raises(ExperimentInputError, match="has no variant stranger"):
        analyze(experiment(), [data("stranger", 10, 0.1, 0.1)], day=1)
    with pytest.raises(ExperimentInputError, match="data for variant champion given twice"):
        analyze(experiment(), [data("champion", 10, 0.1, 0.1), data("champion", 10, 0.1, 0.1)], day=1)
    with pytest.raises(ExperimentInputError, match="users = -1 is negative"):
        analyze(experiment(), [VariantData("champion", -1)], day=1)
    with pytest.raises(ExperimentInputError, match="days since the experiment started"):
        analyze(experiment(), [], day=-1)


def test_equal_variants_are_rarely_declared_different_when_looked_at_daily():
    # 200 A/A experiments of 3,000 users (clustered clicks: users differ and see several lists), 14 daily looks
    # each, stopped at the first final verdict: the always-valid sequence keeps false winners at <= alpha.
    exp = experiment(min_users_per_variant=100, min_days=1, max_days=14, guardrails=[])
    false_winners = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        users = 3000
        half = rng.random(users) < 0.5
        p = rng.beta(1, 19, users)
        lists, clicks = np.zeros(users), np.zeros(users)
        for day in range(1, 15):
            shown = rng.poisson(0.5, users)
            lists, clicks = lists + shown, clicks + rng.binomial(shown, p)
            seen = lists > 0
            res = analyze(
                exp,
                [
                    VariantData(v, int(m.sum()), {"ctr": Moments.from_users(clicks[m], lists[m])})
                    for v, m in (("champion", seen & half), ("challenger", seen & ~half))
                ],
                day,
            )
            if res.final:
                false_winners += res.verdict == Verdict.WINNER
                break
    assert false_winners <= 0.05 * 200


# --------------------------------------------------------------------------- output


def test_the_record_is_json_and_the_table_shows_every_number():
    exp = experiment(guardrails=[{"metric": {"kind": "conversion", "event_type": "purchase"}, "max_degradation": 0.1}])
    res = analyze(exp, [data("champion", 20_000, 0.05, 0.3), data("challenger", 20_000, 0.06, 0.3)], day=7)
    record = json.loads(json.dumps(res.to_record(), allow_nan=False))
    assert record["verdict"] == "winner" and record["winner"] == "challenger"
    assert record["comparisons"][0]["lift"] == pytest.approx(res.comparisons[0].lift)
    assert record["srm"]["users"] == {"champion": 20_000, "challenger": 20_000}
    table = render_result(res)
    lines = table.splitlines()
    assert lines[0] == "experiment exp, day 7: winner (challenger)"
    v = res.variants[1]
    row = next(line for line in lines if line.startswith("challenger  20,000"))
    assert f"{v.value:.4g}" in row and f"{v.low:.4g} .. {v.high:.4g}" in row
    assert any(line.split()[:3] == ["challenger", "ctr", f"{res.comparisons[0].lift:+.1%}"] for line in lines)
    assert any(line.split()[:2] == ["challenger", "ctr"] and line.endswith("better") for line in lines)
    assert any("conversion:purchase (guardrail, >= -10.0%)" in line and line.endswith("ok") for line in lines)
    assert f"reason: {res.reason}" in lines and lines[-1].startswith("method: normal-mixture confidence sequence")
    empty = analyze(experiment(), [], day=0)
    assert "n/a" in render_result(empty) and json.dumps(empty.to_record(), allow_nan=False)
