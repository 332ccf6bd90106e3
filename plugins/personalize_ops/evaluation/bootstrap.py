"""Paired bootstrap interval of the challenger's improvement over another model, with ``scipy.stats.bootstrap``.

Both models scored the same users, so the users are resampled *in pairs* (``paired=True``): the interval
reflects how much the comparison depends on which users happened to be sampled, not the (much larger)
user-to-user spread of each model's metric. The statistic is the relative improvement of the means,
``mean(challenger) / mean(other) - 1`` (when the other model scores 0 for every user it is undefined and the
absolute difference ``mean(challenger) - mean(other)`` is used instead).

Method: BCa (bias-corrected and accelerated, scipy's default). A ratio of means is biased and skewed in
small samples; BCa corrects both and is second-order accurate, where the percentile interval is not. When
the acceleration cannot be estimated (the jackknife is degenerate, e.g. the other model hits for a single
user) the percentile interval is used and named in the result. The interval is two-sided at
``confidence_level``; the gate reads its lower bound, so user sampling alone lets an equally good challenger clear
``min_improvement = 0`` with probability about ``(1 - confidence_level) / 2`` (0.5% at the default 0.99). The
default is stricter than 0.95 because two trainings of the same recipe on the same data also differ by their
random initialisation, which no resampling of users can see (docs/gate.md, benchmarks.gate_calibration).

Degenerate inputs never raise and never yield NaN: no users, a single user, identical per-user values and an
everywhere-zero metric return an :class:`Interval` with ``signal=False`` and a note saying why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from personalize_ops.evaluation.records import DictRecord

RELATIVE, ABSOLUTE = "relative", "absolute"
#: Resampled values held in memory at once (resamples x users), bounding memory for large samples.
_CELLS_PER_BATCH = 20_000_000


@dataclass(frozen=True)
class Interval(DictRecord):
    """Point estimate and interval of the challenger's improvement over ``versus`` on ``metric``."""

    metric: str
    versus: str
    n_users: int
    challenger_mean: float
    other_mean: float
    scale: str
    estimate: float | None
    low: float | None
    high: float | None  # None with signal: unbounded above
    confidence_level: float
    method: str
    n_resamples: int
    seed: int
    signal: bool
    note: str = ""

    def clears(self, threshold: float) -> bool:
        """Is the lower bound above 0 and at least ``threshold``? (A bound of exactly 0 is a tie: never enough.)

        On the absolute scale (the other model scores 0 everywhere) any positive lower bound is an unbounded
        relative improvement, so only ``> 0`` is checked.
        """
        if not self.signal or self.low is None or self.low <= 0:
            return False
        return self.low >= threshold if self.scale == RELATIVE else True

    def describe(self) -> str:
        """e.g. ``+4.1% (99% interval -1.2% .. +9.8%, BCa, 5000 resamples, 400 users)``."""
        if not self.signal or self.low is None:
            return f"no signal ({self.note})"

        def fmt(v: float | None) -> str:
            if v is None:
                return "+inf"
            return f"{v:+.1%}" if self.scale == RELATIVE else f"{v:+.4f}"

        level = f"{self.confidence_level:.0%}" if round(self.confidence_level * 100, 6).is_integer() else (
            f"{self.confidence_level:.1%}")  # fmt: skip
        scale = "" if self.scale == RELATIVE else " absolute"
        return (
            f"{fmt(self.estimate)}{scale} ({level} interval {fmt(self.low)} .. {fmt(self.high)}, {self.method}, "
            f"{self.n_resamples} resamples, {self.n_users} users)"
        )


def _relative(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """mean(a) / mean(b) - 1; in a resample where mean(b) is 0: 0 when mean(a) is 0 too, else +inf."""
    ma, mb = np.mean(a, axis=axis), np.mean(b, axis=axis)
    ratio = ma / np.where(mb > 0, mb, 1.0) - 1.0
    return np.where(mb > 0, ratio, np.where(ma > 0, np.inf, 0.0))


def _absolute(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _interval(a, b, statistic, method: str, level: float, n_resamples: int, seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DegenerateDataWarning / RuntimeWarning: NaN bounds are checked below
        res = bootstrap(
            (a, b),
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=n_resamples,
            batch=max(1, _CELLS_PER_BATCH // len(a)),
            confidence_level=level,
            method=method,
            rng=np.random.default_rng(seed),
        )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare(
    challenger: np.ndarray,
    other: np.ndarray,
    *,
    metric: str,
    versus: str,
    confidence_level: float = 0.99,
    n_resamples: int = 5000,
    seed: int = 0,
) -> Interval:
    """Paired bootstrap of the challenger's improvement over ``other`` (per-user values, same user order)."""
    a, b = np.asarray(challenger, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need the same users: shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"{metric}: per-user values must be finite numbers")
    if not 0 < confidence_level < 1 or n_resamples < 1:
        raise ValueError(f"confidence_level={confidence_level} must be in (0, 1), n_resamples={n_resamples} >= 1")
    n = len(a)
    mean_a, mean_b = (float(a.mean()), float(b.mean())) if n else (0.0, 0.0)
    scale = RELATIVE if mean_b > 0 or mean_a == 0 else ABSOLUTE
    common = dict(metric=metric, versus=versus, n_users=n, challenger_mean=mean_a, other_mean=mean_b, scale=scale,
                  confidence_level=confidence_level, n_resamples=n_resamples, seed=seed)  # fmt: skip

    def no_signal(note: str, estimate: float | None = None, bound: float | None = None) -> Interval:
        return Interval(**common, estimate=estimate, low=bound, high=bound, method="none", signal=False, note=note)

    if n == 0:
        return no_signal("no users in the holdout")
    if n == 1:
        return no_signal("a single user: no interval can be estimated")
    if np.array_equal(a, b):
        return no_signal("identical per-user values: the two models answer alike on this holdout", 0.0, 0.0)
    if mean_a == 0 and mean_b == 0:
        return no_signal(f"both models score 0 on {metric} for every user")
    statistic = _relative if scale == RELATIVE else _absolute
    estimate = float(statistic(a, b))
    for method in ("BCa", "percentile"):
        low, high = _interval(a, b, statistic, method, confidence_level, n_resamples, seed)
        if np.isfinite(low) and not np.isnan(high):
            notes = [] if method == "BCa" else ["BCa acceleration undefined for these values; percentile interval"]
            if not np.isfinite(high):
                notes.append("unbounded above: in some resamples the other model scores 0 for every user")
            return Interval(**common, estimate=None if not np.isfinite(estimate) else estimate, low=low,
                            high=high if np.isfinite(high) else None, method=method, signal=True,
                            note="; ".join(notes))  # fmt: skip
    return no_signal("the bootstrap distribution is degenerate (too few users with a non-zero value)", estimate)
