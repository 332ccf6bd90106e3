"""Analysis of an online experiment: per-variant metrics, an always-valid test, the sample-ratio check, the verdict.

Pure functions of the cumulative per-user sums (``Moments``) of each variant; no I/O. The method
(docs/experiments.md explains the choice):

- every metric is a ratio of per-user sums, ``sum(y) / sum(x)`` over the users of a variant (CTR: clicks / lists
  shown; conversion: converted / exposed users; revenue: revenue / exposed users); its variance comes from the
  delta method over users, the unit of randomization, so repeated impressions of one user are not counted as
  independent;
- each challenger is compared with the control on the log of the ratio of their values (the relative lift) with a
  normal-mixture confidence sequence (Robbins' mixture; the mixture sequential probability ratio test of Johari et
  al.; the asymptotic confidence sequences of Waudby-Smith et al.): an interval that holds at every look at once
  with probability >= 1 - alpha, so the experiment can be read daily and stopped at the first conclusive look;
- the mixture (a normal prior on the log lift) is fixed before any data from ``minimum_effect`` and ``alpha``: the
  sequence is narrowest when it is as narrow as the minimum effect; with more than one challenger alpha is split
  equally (Bonferroni) between the comparisons; each variant's own value gets the same kind of sequence (on the
  log of the value, at level alpha);
- sample-ratio mismatch: a chi-square goodness-of-fit test of the users per variant against the configured split,
  flagged at p < 0.001; while flagged, no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, stats

from personalize_ops.experiments.config import Experiment
from personalize_ops.value_checks import repeated

SRM_THRESHOLD = 0.001
METHOD = (
    "normal-mixture confidence sequence on the log ratio of per-user ratio metrics (delta method), valid at every "
    "look; Bonferroni across challengers; chi-square sample-ratio check at p < 0.001"
)


class ExperimentInputError(ValueError):
    """The data handed to the analysis does not fit the experiment (unknown variant, negative counts, ...)."""


class Verdict(StrEnum):
    RUNNING = "running"
    WINNER = "winner"
    NO_DIFFERENCE = "no_difference"
    GUARDRAIL = "guardrail_violated"
    SRM = "sample_ratio_mismatch"


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of a ratio metric over ``n`` users: sums of each user's numerator ``y`` and
    denominator ``x``, of their squares and of their product."""

    n: int = 0
    sum_y: float = 0.0
    sum_x: float = 0.0
    sum_yy: float = 0.0
    sum_xx: float = 0.0
    sum_xy: float = 0.0

    def __post_init__(self):
        if self.n < 0 or self.sum_x < 0 or self.sum_yy < 0 or self.sum_xx < 0:
            raise ExperimentInputError(f"negative count or sum of squares in {self}")

    @classmethod
    def from_users(cls, y: Sequence[float] | np.ndarray, x: Sequence[float] | np.ndarray | None = None) -> Moments:
        """From per-user numerators ``y`` and denominators ``x`` (default: 1 per user, a per-user mean)."""
        y = np.asarray(y, dtype=float)
        x = np.ones_like(y) if x is None else np.asarray(x, dtype=float)
        if y.shape != x.shape or y.ndim != 1:
            raise ExperimentInputError(f"y and x must be 1-d and of equal length, got {y.shape} and {x.shape}")
        return cls(len(y), float(y.sum()), float(x.sum()), float(y @ y), float(x @ x), float(x @ y))

    @classmethod
    def from_counts(cls, successes: float, trials: int) -> Moments:
        """From totals only (e.g. an attribution report's event counts): each trial is taken as an independent
        unit with a 0/1 outcome. Understates the variance when one user makes many trials; prefer
        :meth:`from_users` where per-user data exists."""
        if not 0 <= successes <= trials:
            raise ExperimentInputError(f"successes ({successes}) must be between 0 and trials ({trials})")
        return cls(int(trials), float(successes), float(trials), float(successes), float(trials), float(successes))

    @property
    def value(self) -> float:
        """``sum(y) / sum(x)``; nan without data."""
        return self.sum_y / self.sum_x if self.sum_x > 0 else math.nan

    @property
    def variance(self) -> float:
        """Variance of :attr:`value` by the delta method (sample variances over users); nan below 2 users."""
        n = self.n
        if n < 2 or self.sum_x <= 0:
            return math.nan
        my, mx = self.sum_y / n, self.sum_x / n
        var_y = max(self.sum_yy - n * my * my, 0.0) / (n - 1)
        var_x = max(self.sum_xx - n * mx * mx, 0.0) / (n - 1)
        cov = (self.sum_xy - n * mx * my) / (n - 1)
        r = my / mx
        return max(var_y - 2 * r * cov + r * r * var_x, 0.0) / (n * mx * mx)


@dataclass(frozen=True)
class VariantData:
    """What the analysis needs of one variant: its exposed users and, per metric label, the Moments."""

    name: str
    users: int
    metrics: Mapping[str, Moments] = field(default_factory=dict)


# --------------------------------------------------------------------------- the confidence sequence


@lru_cache
def optimal_mixture_ratio(alpha: float) -> float:
    """The ``r = tau**2 / variance`` at which the normal-mixture boundary is narrowest relative to the standard
    error: the minimizer of ``(1 + 1/r) * (2 log(1/alpha) + log(1 + r))`` (about 8.2 for alpha = 0.05)."""
    c = 2 * math.log(1 / alpha)
    res = optimize.minimize_scalar(
        lambda t: (1 + math.exp(-t)) * (c + math.log1p(math.exp(t))), bounds=(-10, 10), method="bounded"
    )
    return math.exp(res.x)


def mixture_variance(minimum_effect: float, alpha: float) -> float:
    """The mixing variance ``tau**2`` for the log lift, fixed before any data: the sequence is then narrowest
    (relative to its standard error) when its radius equals ``log(1 + minimum_effect)``, the precision at which
    an effect of that size can be told from none."""
    r = optimal_mixture_ratio(alpha)
    width2 = (1 + 1 / r) * (2 * math.log(1 / alpha) + math.log1p(r))  # radius**2 / variance at the optimum
    return r * math.log1p(minimum_effect) ** 2 / width2


def cs_radius(variance: float, tau2: float, alpha: float) -> float:
    """Half-width of the two-sided normal-mixture confidence sequence of an asymptotically normal estimate with
    ``variance``, mixing ``N(0, tau2)``: the set where the mixture likelihood ratio (the mSPRT statistic
    ``sqrt(V / (V + tau2)) * exp(tau2 * d**2 / (2 V (V + tau2)))``) stays below ``1 / alpha``:
    ``sqrt(V * (1 + V / tau2) * (2 log(1/alpha) + log(1 + tau2 / V)))``. By Ville's inequality it covers the true
    value at every look at once with probability >= 1 - alpha. Inf without a finite positive variance."""
    if not (0 < variance < math.inf and tau2 > 0 and 0 < alpha < 1):
        return math.inf
    return math.sqrt(variance * (1 + variance / tau2) * (2 * math.log(1 / alpha) + math.log1p(tau2 / variance)))


@dataclass(frozen=True)
class Lift:
    """Relative difference ``variant / control - 1`` with its confidence sequence ``[low, high]``."""

    lift: float
    low: float
    high: float


def relative_lift(control: Moments, variant: Moments, alpha: float, tau2: float) -> Lift | None:
    """The confidence sequence for the relative lift, from the log ratio of the two values (delta method); None
    while either value is 0 or undefined (no log ratio yet)."""
    a, b = control.value, variant.value
    va, vb = control.variance, variant.variance
    if not (a > 0 and b > 0 and math.isfinite(va) and math.isfinite(vb)):
        return None
    d = math.log(b) - math.log(a)
    rad = cs_radius(vb / b**2 + va / a**2, tau2, alpha)
    return Lift(math.expm1(d), math.expm1(d - rad), math.expm1(d + rad))


# --------------------------------------------------------------------------- sample-ratio mismatch


@dataclass(frozen=True)
class SrmCheck:
    users: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    threshold: float
    flagged: bool

    def describe(self) -> str:
        users = " / ".join(f"{u:,}" for u in self.users.values())
        shares = " / ".join(f"{s:.0%}" for s in self.expected.values())
        return (
            f"users {users} vs expected {shares}: chi-square {self.statistic:.2f}, p = {self.p_value:.2g} "
            f"({'below' if self.flagged else 'not below'} {self.threshold:g})"
        )


def srm_check(users: Mapping[str, int], split: Mapping[str, float], threshold: float = SRM_THRESHOLD) -> SrmCheck:
    """Chi-square goodness of fit of the users per variant against the configured shares."""
    names = list(split)
    obs = np.array([users.get(n, 0) for n in names], dtype=float)
    total = obs.sum()
    if total == 0:
        return SrmCheck({n: 0 for n in names}, dict(split), 0.0, 1.0, threshold, False)
    expected = total * np.array([split[n] for n in names]) / math.fsum(split.values())
    stat, p = stats.chisquare(obs, expected)
    return SrmCheck(
        {n: int(users.get(n, 0)) for n in names}, dict(split), float(stat), float(p), threshold, bool(p < threshold)
    )


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class VariantResult:
    """A variant's users and its primary metric with its confidence sequence ``[low, high]`` (nan while the value is
    0); ``metrics``: every metric's value."""

    name: str
    users: int
    value: float
    low: float
    high: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Comparison:
    """A challenger against the control on one metric. Primary ``status``: better | worse | equivalent |
    undecided; guardrail ``status`` (``max_degradation`` set): ok | violated | inconclusive."""

    variant: str
    control: str
    metric: str
    control_value: float
    variant_value: float
    lift: float | None
    low: float | None
    high: float | None
    confidence: float
    status: str
    max_degradation: float | None = None

    def describe(self) -> str:
        if self.lift is None:
            return f"{self.metric} {self.variant} vs {self.control}: not enough data for a ratio yet"
        return (
            f"{self.metric} {self.variant} vs {self.control} {_pct(self.lift)} "
            f"({self.confidence:.4g}% CS {_pct(self.low)} .. {_pct(self.high)}; "
            f"{_num(self.variant_value)} vs {_num(self.control_value)})"
        )


@dataclass(frozen=True)
class ExperimentResult:
    """The outcome of :func:`analyze`; ``reason`` states the numbers that led to the verdict."""

    experiment: str
    verdict: Verdict
    winner: str | None
    reason: str
    day: float
    primary_metric: str
    variants: tuple[VariantResult, ...]
    comparisons: tuple[Comparison, ...]
    guardrails: tuple[Comparison, ...]
    srm: SrmCheck
    alpha: float
    minimum_effect: float
    method: str = METHOD

    @property
    def final(self) -> bool:
        """A verdict to act on (winner, no difference, guardrail); running and SRM are not."""
        return self.verdict in (Verdict.WINNER, Verdict.NO_DIFFERENCE, Verdict.GUARDRAIL)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (nan -> None) for the experiment history."""
        return _json_ready(asdict(self))


def _json_ready(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_ready(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_ready(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return str(v) if isinstance(v, StrEnum) else v


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:+.1%}"


def _num(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.4g}"


def _as_mapping(experiment: Experiment, data: Mapping[str, VariantData] | Sequence[VariantData]):
    items = list(data.values()) if isinstance(data, Mapping) else list(data)
    known = [v.name for v in experiment.variants]
    unknown = sorted({d.name for d in items} - set(known))
    if unknown:
        raise ExperimentInputError(
            f"experiment {experiment.name!r} has no variant {', '.join(unknown)} (variants: {', '.join(known)})"
        )
    twice = repeated(d.name for d in items)
    if twice:
        raise ExperimentInputError(f"data for variant {', '.join(twice)} given twice; merge it first")
    out = {d.name: d for d in items}
    for d in items:
        if d.users < 0:
            raise ExperimentInputError(f"variant {d.name!r}: users = {d.users} is negative")
    return {n: out.get(n, VariantData(n, 0)) for n in known}


def _primary_status(lift: Lift | None, minimum_effect: float) -> str:
    if lift is None:
        return "undecided"
    if lift.low > 0:
        return "better"
    if lift.high < 0:
        return "worse"
    if lift.low > -minimum_effect and lift.high < minimum_effect:
        return "equivalent"
    return "undecided"


def _guardrail_status(lift: Lift | None, max_degradation: float) -> str:
    if lift is None:
        return "inconclusive"
    if lift.low >= -max_degradation:
        return "ok"
    if lift.high < -max_degradation:
        return "violated"
    return "inconclusive"


def analyze(
    experiment: Experiment, data: Mapping[str, VariantData] | Sequence[VariantData], day: float
) -> ExperimentResult:
    """The verdict on ``experiment`` after ``day`` days, from each variant's cumulative data (see module docstring).

    - ``sample_ratio_mismatch``: the users per variant do not fit the split; nothing else is concluded.
    - ``running``: before ``min_days`` / ``min_users_per_variant``, or while no verdict below is reached.
    - ``winner``: a challenger is better than the control on the primary metric (the confidence sequence of the
      lift excludes 0) and every guardrail is shown not degraded beyond its allowance (the winner is the one with
      the largest lift if several are); or every challenger is worse, and the control wins.
    - ``guardrail_violated``: every challenger is decided and one degrades a guardrail beyond its allowance (the
      whole interval lies below ``-max_degradation``), or the maximum duration is reached with such a violation.
    - ``no_difference``: every challenger is decided (equivalent: the interval lies within +-``minimum_effect``;
      or worse) without a winner, or ``max_days`` is reached without a winner (also when the minimum number of
      users was never reached).
    """
    if not (day >= 0 and math.isfinite(day)):
        raise ExperimentInputError(f"day = {day!r}: the days since the experiment started, >= 0")
    variants = _as_mapping(experiment, data)
    control = experiment.control.name
    challengers = [v.name for v in experiment.variants[1:]]
    alpha_pair = experiment.alpha / len(challengers)
    confidence = 100 * (1 - alpha_pair)
    n_min = experiment.min_users_per_variant
    primary = experiment.primary_metric.label
    tau2 = mixture_variance(experiment.minimum_effect, alpha_pair)
    tau2_one = mixture_variance(experiment.minimum_effect, experiment.alpha)

    def moments(name: str, label: str) -> Moments:
        return variants[name].metrics.get(label, Moments())

    def compare(name: str, label: str, max_degradation: float | None) -> Comparison:
        c, v = moments(control, label), moments(name, label)
        lift = relative_lift(c, v, alpha_pair, tau2)
        status = (
            _primary_status(lift, experiment.minimum_effect)
            if max_degradation is None
            else _guardrail_status(lift, max_degradation)
        )
        return Comparison(
            name, control, label, c.value, v.value,
            *((lift.lift, lift.low, lift.high) if lift else (None, None, None)),
            confidence, status, max_degradation,
        )  # fmt: skip

    results = []
    for name, d in variants.items():
        m = moments(name, primary)
        rad = cs_radius(m.variance / m.value**2, tau2_one, experiment.alpha) if m.value > 0 else math.nan
        values = {g.label: moments(name, g.label).value for g in experiment.metrics}
        results.append(VariantResult(name, d.users, m.value, m.value * math.exp(-rad), m.value * math.exp(rad), values))
    comparisons = tuple(compare(n, primary, None) for n in challengers)
    guardrails = tuple(
        compare(n, g.metric.label, g.max_degradation) for n in challengers for g in experiment.guardrails
    )
    srm = srm_check({n: d.users for n, d in variants.items()}, experiment.split)

    def result(verdict: Verdict, winner: str | None, why: str) -> ExperimentResult:
        return ExperimentResult(
            experiment.name, verdict, winner, why, float(day), primary, tuple(results), comparisons, guardrails,
            srm, experiment.alpha, experiment.minimum_effect,
        )  # fmt: skip

    numbers = "; ".join(c.describe() for c in comparisons)
    if srm.flagged:
        return result(
            Verdict.SRM, None,
            f"sample ratio mismatch, no verdict: {srm.describe()}; find why one variant gets more users (assignment, "
            f"logging, bots, a variant that fails) before reading any metric ({numbers})",
        )  # fmt: skip
    short = [n for n, d in variants.items() if d.users < n_min]
    users = " / ".join(f"{d.users:,}" for d in variants.values())
    if short and day >= experiment.max_days:
        return result(
            Verdict.NO_DIFFERENCE, None,
            f"no difference, maximum duration reached (day {day:g}) with too few users: {users} of at least "
            f"{n_min:,} per variant ({numbers})",
        )  # fmt: skip
    if day < experiment.min_days or short:
        return result(
            Verdict.RUNNING, None,
            f"running: day {day:g} of at least {experiment.min_days}, users {users} of at least {n_min:,} per variant "
            f"({numbers})",
        )  # fmt: skip

    def guards(name: str) -> list[Comparison]:
        return [g for g in guardrails if g.variant == name]

    def guard_text(name: str) -> str:
        gs = guards(name)
        return "; ".join(f"{g.status}: {g.describe()}, allowed {-g.max_degradation:.1%}" for g in gs) or "none"

    by_name = {c.variant: c for c in comparisons}
    winners = [c for c in comparisons if c.status == "better" and all(g.status == "ok" for g in guards(c.variant))]
    harmed = [n for n in challengers if any(g.status == "violated" for g in guards(n))]
    if winners:
        best = max(winners, key=lambda c: c.lift or 0.0)
        also = [c.variant for c in winners if c is not best]
        return result(
            Verdict.WINNER, best.variant,
            f"winner: {best.variant} ({best.describe()}); guardrails: {guard_text(best.variant)}"
            + (f"; also better than the control: {', '.join(also)}" if also else ""),
        )  # fmt: skip
    if all(c.status == "worse" for c in comparisons):
        return result(Verdict.WINNER, control, f"winner: the control {control}, every challenger is worse ({numbers})")
    decided = all(by_name[n].status in ("worse", "equivalent") or n in harmed for n in challengers)
    if decided or day >= experiment.max_days:
        when = "every challenger is decided" if decided else f"maximum duration reached (day {day:g})"
        if harmed:
            return result(
                Verdict.GUARDRAIL, None,
                f"guardrail violated, {when}: "
                + "; ".join(f"{n}: {guard_text(n)}" for n in harmed)
                + f" ({numbers})",
            )  # fmt: skip
        pending = [
            f"{c.variant} is better on {primary} but a guardrail is not shown within its allowance "
            f"({guard_text(c.variant)})"
            for c in comparisons
            if c.status == "better"
        ]
        what = (
            "no challenger both beats the control and keeps its guardrails" if pending
            else "no challenger beats the control by a detectable margin"
        )  # fmt: skip
        return result(
            Verdict.NO_DIFFERENCE, None,
            f"no difference, {when}: {what}; differences within +-{experiment.minimum_effect:.1%} count as none "
            f"({numbers})" + "".join(f"; {p}" for p in pending),
        )  # fmt: skip
    return result(
        Verdict.RUNNING, None,
        f"running: no conclusive interval yet, day {day:g} of at most {experiment.max_days} ({numbers})",
    )  # fmt: skip


# --------------------------------------------------------------------------- rendering


def render_result(result: ExperimentResult) -> str:
    """The result as an aligned text table for task logs: variants, comparisons, guardrails, SRM, reason."""
    metrics = list(result.variants[0].metrics) if result.variants else []
    level = f"{100 * (1 - result.alpha):.4g}% CS"
    head = ["variant", "users", result.primary_metric, level, *metrics[1:]]
    rows = [
        [
            v.name, f"{v.users:,}", _num(v.value),
            f"{_num(v.low)} .. {_num(v.high)}" if math.isfinite(v.low) and math.isfinite(v.high) else "n/a",
            *(_num(v.metrics[m]) for m in metrics[1:]),
        ]
        for v in result.variants
    ]  # fmt: skip
    out = [
        f"experiment {result.experiment}, day {result.day:g}: {result.verdict.value}"
        + (f" ({result.winner})" if result.winner else ""),
        "",
        *_table(head, rows),
        "",
    ]
    comp_rows = [
        [c.variant, c.metric + ("" if c.max_degradation is None else f" (guardrail, >= {-c.max_degradation:.1%})"),
         _pct(c.lift), "n/a" if c.lift is None else f"{_pct(c.low)} .. {_pct(c.high)}", f"{c.confidence:.4g}%",
         c.status]
        for c in (*result.comparisons, *result.guardrails)
    ]  # fmt: skip
    head = [f"vs {result.variants[0].name}", "metric", "lift", "interval", "level", "status"]
    out += _table(head, comp_rows, left=2)
    out += ["", f"sample ratio: {result.srm.describe()}", f"reason: {result.reason}", f"method: {result.method}"]
    return "\n".join(out)


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Aligned rows: the first ``left`` columns flush left, the others flush right."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        cols = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in cols).rstrip()

    return [line(head), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
