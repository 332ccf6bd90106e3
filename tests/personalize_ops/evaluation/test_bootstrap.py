"""Paired bootstrap of the relative improvement: real differences found, noise and degenerate inputs refused."""

import json
import math

import numpy as np
import pytest
from personalize_ops.evaluation.bootstrap import Interval, compare


def per_user(rng, n, mean):
    """Zero-inflated per-user metric values like NDCG@10 (most users 0)."""
    return rng.random(n) * (rng.random(n) < mean * 2)


def test_a_clear_improvement_has_a_lower_bound_above_zero():
    rng = np.random.default_rng(1)
    base = per_user(rng, 800, 0.1)
    better = np.clip(base * 1.5 + 0.02, 0, 1)
    iv = compare(better, base, metric="ndcg", versus="champion", seed=3)
    assert iv.signal and iv.method == "BCa" and iv.n_resamples == 5000
    assert iv.estimate == pytest.approx(better.mean() / base.mean() - 1)
    assert 0 < iv.low < iv.estimate < iv.high
    assert iv.clears(0.0) and iv.clears(iv.low) and not iv.clears(iv.low + 1e-9)


def test_equal_models_are_not_significant_and_the_interval_holds_the_truth():
    rng = np.random.default_rng(2)
    a, b = per_user(rng, 500, 0.1), per_user(rng, 500, 0.1)
    iv = compare(a, b, metric="ndcg", versus="champion", seed=0)
    assert iv.signal and iv.low < 0 < iv.high and not iv.clears(0.0)


def test_seeded_and_level_dependent():
    rng = np.random.default_rng(4)
    a, b = per_user(rng, 300, 0.1), per_user(rng, 300, 0.1)
    first, again = (compare(a, b, metric="m", versus="champion", seed=7) for _ in range(2))
    assert first == again
    narrow = compare(a, b, metric="m", versus="champion", seed=7, confidence_level=0.9)
    assert narrow.low > first.low and narrow.high < first.high and first.confidence_level == 0.99


@pytest.mark.parametrize(
    ("a", "b", "note"),
    [
        ([], [], "no users"),
        ([0.5], [0.1], "a single user"),
        ([0.2, 0.0, 0.7], [0.2, 0.0, 0.7], "identical per-user values"),
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], "identical per-user values"),
    ],
)
def test_degenerate_inputs_give_no_signal_never_nan(a, b, note):
    iv = compare(np.array(a), np.array(b), metric="m", versus="champion")
    assert not iv.signal and note in iv.note and not iv.clears(0.0)
    assert all(v is None or math.isfinite(v) for v in (iv.estimate, iv.low, iv.high))
    json.dumps(iv.to_dict(), allow_nan=False)


def test_other_model_all_zero_uses_the_absolute_difference():
    a = np.array([0.0, 0.3, 0.0, 0.5, 0.2, 0.4])
    iv = compare(a, np.zeros(6), metric="m", versus="baseline")
    assert iv.scale == "absolute" and iv.estimate == pytest.approx(a.mean())
    assert iv.signal and iv.low > 0 and iv.clears(0.5), "any positive absolute gain is an unbounded relative one"
    assert "absolute" in iv.describe()


def test_a_lower_bound_of_exactly_zero_is_a_tie():
    a = np.array([0.0, 0.0, 1.0])  # resamples without the third user give 0/0: no difference
    iv = compare(a, np.array([0.0, 0.0, 0.5]), metric="m", versus="champion")
    assert iv.signal and iv.low == 0.0 and not iv.clears(0.0)


def test_unbounded_above_is_recorded_as_none():
    iv = compare(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), metric="m", versus="champion")
    assert iv.signal and iv.high is None and "unbounded above" in iv.note and "+inf" in iv.describe()
    assert Interval.from_dict(json.loads(json.dumps(iv.to_dict(), allow_nan=False))) == iv


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same users"):
        compare(np.zeros(3), np.zeros(4), metric="m", versus="champion")
    with pytest.raises(ValueError, match="finite"):
        compare(np.array([np.nan, 1.0]), np.zeros(2), metric="m", versus="champion")
