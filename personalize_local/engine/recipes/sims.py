"""SIMS / similar-items: item-to-item co-occurrence in user histories.

sim(i, j) = co(i, j) / (n_i ** 0.5 * n_j ** d) where co counts users who interacted with both, n_x is the
number of users of x and d = popularity_discount_factor (0 keeps popular items, 1 discounts them fully).
Pairs with co < min_cointeraction_count are dropped; the top `max_neighbors` neighbours per item are kept.
Items without neighbours (cold items) fall back to metadata-token overlap, then popularity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from personalize_local.engine.recipes.params import get_float, get_int

MAX_NEIGHBORS = 100


def hyperparameters(hp: dict) -> dict:
    return {
        "popularity_discount_factor": get_float(hp, ("popularity_discount_factor",), 0.5),
        "min_cointeraction_count": get_int(hp, ("min_cointeraction_count",), 3),
        "max_neighbors": get_int(hp, ("max_neighbors",), MAX_NEIGHBORS),
    }


def fit(x: sp.csr_matrix, eff: dict, block: int = 1024) -> dict:
    """Top neighbours per item as (neighbors int32 [n, K], neighbor_scores float32 [n, K], -1 = none)."""
    b = x.copy().tocsr()
    b.data[:] = 1.0
    bt = b.T.tocsr()
    n_items = b.shape[1]
    users_per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
    k = min(eff["max_neighbors"], max(n_items - 1, 1))
    nbrs = np.full((n_items, k), -1, dtype=np.int32)
    scores = np.zeros((n_items, k), dtype=np.float32)
    disc = np.power(np.maximum(users_per_item, 1), eff["popularity_discount_factor"])
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        co = (bt[start:stop] @ b).toarray().astype(np.float32)
        co[np.arange(stop - start), np.arange(start, stop)] = 0
        co[co < eff["min_cointeraction_count"]] = 0
        sim = co / np.sqrt(np.maximum(users_per_item[start:stop], 1))[:, None] / disc[None, :]
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < n_items else np.argsort(-sim, axis=1)[:, :k]
        vals = np.take_along_axis(sim, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top, vals = np.take_along_axis(top, order, axis=1), np.take_along_axis(vals, order, axis=1)
        top[vals <= 0] = -1
        nbrs[start:stop], scores[start:stop] = top, np.where(vals > 0, vals, 0)
    return {"neighbors": nbrs, "neighbor_scores": scores}


def similarity_matrix(neighbors: np.ndarray, scores: np.ndarray) -> sp.csr_matrix:
    """Sparse items x items matrix of the kept neighbour similarities."""
    n, k = neighbors.shape
    ok = neighbors >= 0
    rows = np.repeat(np.arange(n), k)[ok.ravel()]
    return sp.csr_matrix((scores[ok], (rows, neighbors[ok])), shape=(n, n), dtype=np.float32)
