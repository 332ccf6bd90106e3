"""top_k (every recommendation list goes through it) against a full sort, ties and masks included."""

import numpy as np
import pytest

from personalize_local.engine.top_k import top_k


def _reference(scores, allowed, k):
    cand = np.flatnonzero(allowed)
    return cand[np.lexsort((cand, -scores[cand]))][:k]


def _scores(shape, rng, n):
    if shape == "normal":
        return rng.standard_normal(n)
    if shape == "few values":
        return rng.integers(0, 5, n).astype(float)
    if shape == "all equal":
        return np.zeros(n)
    return np.where(rng.random(n) < 0.3, -np.inf, rng.standard_normal(n))


@pytest.mark.parametrize("shape", ["normal", "few values", "all equal", "with -inf"])
def test_top_k_equals_a_full_stable_sort(shape):
    rng = np.random.default_rng(7)
    for _ in range(400):
        n, k = int(rng.integers(1, 3000)), int(rng.integers(0, 60))
        scores = _scores(shape, rng, n)
        allowed = rng.random(n) < rng.random()
        assert np.array_equal(top_k(scores, allowed, k), _reference(scores, allowed, k))


def test_top_k_with_thousands_tied_at_the_cut_returns_k_distinct_best():
    scores = np.r_[np.arange(10.0, 0.0, -1.0), np.zeros(20_000)]
    got = top_k(scores, np.ones(len(scores), dtype=bool), 25)
    assert got[:10].tolist() == list(range(10)) and len(set(got.tolist())) == 25
    assert (scores[got[10:]] == 0).all()
