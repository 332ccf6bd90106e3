"""Sequence-aware item neighbours, the short-term half of the user-personalization hybrid.

AWS's user-personalization is a recurrent (HRNN) model: what a user does next depends strongly on what they
did last. We approximate that with item-to-next-item co-occurrence: for every pair of events by the same user
at most `sequence_window` events apart (time order), count a -> b with weight decay ** (distance - 1)
(backward pairs count `sequence_backward_weight`, default half), normalise by popularity,
keep the top neighbours per item. At scoring time the
user's recent items (weights 0.5 ** (events since / sequence_half_life)) vote for their neighbours.
The hybrid score is z-scored ALS + sequence_weight * 3 * (sequence score / its max) + metadata_weight * the
item-metadata affinity (metadata.py) of the same recent items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

PAIR_BUDGET = 60_000_000  # cap on co-occurrence pairs (window shrinks on very large data)


def fit(u: np.ndarray, i: np.ndarray, ts: np.ndarray, n_items: int, eff: dict) -> dict:
    """Top sequential neighbours per item: seq_neighbors (int32, -1 = none) and seq_scores."""
    order = np.lexsort((np.arange(len(u)), ts, u))
    uo, io = u[order], i[order].astype(np.int32)
    window = max(1, min(eff["sequence_window"], PAIR_BUDGET // max(len(u), 1)))
    total = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    for dist in range(1, window + 1):
        same = uo[dist:] == uo[:-dist]
        a, b = io[:-dist][same], io[dist:][same]
        w = np.full(len(a), eff["sequence_decay"] ** (dist - 1), dtype=np.float32)
        m = sp.csr_matrix((w, (a, b)), shape=(n_items, n_items), dtype=np.float32)
        total = total + m + eff["sequence_backward_weight"] * m.T
    total.setdiag(0)
    total.eliminate_zeros()
    users_per_item = np.bincount(i, minlength=n_items).astype(np.float64)
    norm = sp.diags(1 / np.sqrt(np.maximum(users_per_item, 1))) @ total
    norm = (norm @ sp.diags(1 / np.power(np.maximum(users_per_item, 1), 0.25))).tocsr()
    return _top_per_row(norm.astype(np.float32), eff["sequence_neighbors"])


def _top_per_row(m: sp.csr_matrix, k: int) -> dict:
    n = m.shape[0]
    nbrs = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    for r in range(n):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        if lo == hi:
            continue
        idx, val = m.indices[lo:hi], m.data[lo:hi]
        if len(val) > k:
            part = np.argpartition(-val, k - 1)[:k]
            idx, val = idx[part], val[part]
        o = np.argsort(-val, kind="stable")
        nbrs[r, : len(o)], scores[r, : len(o)] = idx[o], val[o]
    return {"seq_neighbors": nbrs, "seq_scores": scores}


def matrix(arrays: dict) -> sp.csr_matrix:
    nb, sc = arrays["seq_neighbors"], arrays["seq_scores"]
    n, k = nb.shape
    ok = nb >= 0
    rows = np.repeat(np.arange(n), k)[ok.ravel()]
    return sp.csr_matrix((sc[ok], (rows, nb[ok])), shape=(n, n), dtype=np.float32)


def combine(
    als_scores: np.ndarray,
    seq_scores: np.ndarray,
    weight: float,
    meta_affinity: np.ndarray | None = None,
    meta_weight: float = 0.0,
) -> np.ndarray:
    """Row-wise hybrid: z-scored ALS scores + weight * 3 * seq / max(seq) [+ meta_weight * metadata affinity]."""
    a = np.atleast_2d(als_scores).astype(np.float64)
    s = np.atleast_2d(seq_scores).astype(np.float64)
    a = (a - a.mean(axis=1, keepdims=True)) / (a.std(axis=1, keepdims=True) + 1e-9)
    s = s / (s.max(axis=1, keepdims=True) + 1e-12)
    out = a + weight * 3.0 * s
    if meta_affinity is not None and meta_weight:
        out += meta_weight * np.atleast_2d(meta_affinity)
    return out
