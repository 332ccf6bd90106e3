"""The fused serving hybrid gives the numbers of the batch form used by the offline evaluation."""

import numpy as np
import pytest
import scipy.sparse as sp

from personalize_local.engine.algorithms import metadata, sequence
from personalize_local.engine.algorithms.hybrid import HybridScorer


def _case(rng, n_items=500, k=16, n_tokens=12):
    y = rng.standard_normal((n_items, k)).astype(np.float32)
    tokens = sp.csr_matrix((rng.random((n_items, n_tokens)) < 0.2).astype(np.float32))
    vectors = metadata.matrix(metadata.fit(tokens))
    return y, vectors


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("meta_weight", [0.0, 1.0, 2.5])
def test_fused_scores_equal_combine(monkeypatch, dense, meta_weight):
    monkeypatch.setattr(metadata.ItemAffinity, "DENSE_MAX", metadata.ItemAffinity.DENSE_MAX if dense else 0)
    rng = np.random.default_rng(int(meta_weight * 10) + dense)
    y, vectors = _case(rng)
    hp = {"sequence_weight": 3.0, "metadata_weight": meta_weight}
    scorer = HybridScorer(y, hp, metadata.ItemAffinity(vectors))
    for _ in range(20):
        vec = rng.standard_normal(y.shape[1])
        short = np.where(rng.random(len(y)) < 0.05, rng.random(len(y)), 0.0)
        items = rng.choice(len(y), 8, replace=False)
        w = np.power(0.5, np.arange(8)[::-1] / 3.0)
        recent = sp.csr_matrix((w, (np.zeros(8, dtype=int), items)), shape=(1, len(y)))
        expected = sequence.combine(y @ vec, short, 3.0, metadata.affinity(recent, vectors), meta_weight)[0]
        got = scorer.scores(vec, short, items, w)
        assert np.allclose(got, expected, atol=1e-4)
        assert np.array_equal(np.argsort(-got)[:5], np.argsort(-expected)[:5])


def test_recent_items_without_metadata_add_nothing():
    rng = np.random.default_rng(3)
    y, _ = _case(rng)
    tokens = sp.csr_matrix(np.r_[np.zeros((10, 4)), (rng.random((490, 4)) < 0.3)].astype(np.float32))
    scorer = HybridScorer(y, {"sequence_weight": 2.0, "metadata_weight": 1.0}, metadata.ItemAffinity(
        metadata.matrix(metadata.fit(tokens))))
    plain = HybridScorer(y, {"sequence_weight": 2.0, "metadata_weight": 0.0})
    vec, short = rng.standard_normal(y.shape[1]), np.zeros(len(y))
    items, w = np.arange(3), np.ones(3)  # three items without any metadata token
    assert np.allclose(scorer.scores(vec, short, items, w), plain.scores(vec, short, items, w), atol=1e-5)
