"""SIMS / similar-items: item-to-item co-occurrence in user histories.

sim(i, j) = co(i, j) / (n_i ** 0.5 * n_j ** d) where co counts users who interacted with both, n_x is the
number of users of x and d = popularity_discount_factor (0 keeps popular items, 1 discounts them fully).
Pairs with co < min_cointeraction_count are dropped; the top `max_neighbors` neighbours per item are kept.
A request names an item: its neighbours first (never the item itself), then popular items; an item without
neighbours (a cold item) gets the items sharing its metadata tokens instead. How AWS scores a held-out user
offline is not documented: the evaluation scores the neighbours of the user's most recent items (half-life
2 events).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from personalize_local.engine.recipes.base import AwsRecipe, HyperParameter, Recipe, TrainingSet

EVALUATION_HALF_LIFE = 2.0


class Sims(Recipe):
    name = "sims"
    aws_recipes = (
        AwsRecipe("aws-similar-items", "RELATED_ITEMS", "Items similar to a given item (co-occurrence and metadata)."),
        AwsRecipe("aws-sims", "RELATED_ITEMS", "Item-to-item similarities from co-occurrence in user histories."),
    )
    hyperparameters = (
        HyperParameter("popularity_discount_factor", 0.5, aws=True),
        HyperParameter("min_cointeraction_count", 3, aws=True),
        HyperParameter("max_neighbors", 100),
    )
    query = "itemId"
    excludes_history = False

    @classmethod
    def evaluation_half_life(cls, params: dict) -> float | None:
        return EVALUATION_HALF_LIFE

    @classmethod
    def fit_arrays(cls, params: dict, data: TrainingSet, seed: int, previous_dir: Path | None = None) -> dict:
        tokens = data.tokens  # kept for the cold-item fallback
        return {
            **neighbours(data.x, params),
            "tok_indptr": tokens.indptr,
            "tok_indices": tokens.indices,
            "tok_shape": np.array(tokens.shape),
        }

    @cached_property
    def _similarity(self) -> sp.csr_matrix:
        return similarity_matrix(self.arrays["neighbors"], self.arrays["neighbor_scores"])

    @cached_property
    def _popularity_score(self) -> np.ndarray:
        return self.popularity / max(self.popularity.max(), 1.0)

    def scores(self, h: sp.csr_matrix, h_seq: sp.csr_matrix | None = None) -> np.ndarray:
        s = np.asarray((h @ self._similarity).todense())
        return s + 1e-6 * self.popularity / max(self.popularity.max(), 1.0)

    def prepare_serving(self) -> None:
        a = self.arrays
        self._tokens = sp.csr_matrix(
            (np.ones(len(a["tok_indices"]), dtype=np.float32), a["tok_indices"], a["tok_indptr"]),
            shape=(len(a["neighbors"]), int(a["tok_shape"][1])),
        )

    def item_scores(self, model, item_id: str) -> np.ndarray:
        k = model.item_index.get(str(item_id))
        scores = self._popularity_score * 1e-3
        if k is None:
            return scores
        nb, sc = self.arrays["neighbors"][k], self.arrays["neighbor_scores"][k]
        ok = nb >= 0
        if ok.any():
            scores[nb[ok]] += 1.0 + sc[ok] / max(float(sc[ok].max()), 1e-12)
        elif self._tokens.shape[1]:
            overlap = np.asarray((self._tokens @ self._tokens[k].T).todense()).ravel()
            scores += overlap / max(float(overlap.max()), 1.0)
        scores[k] = -np.inf
        return scores

    def rank_scores(self, model, user_id: str | None, recent: list) -> np.ndarray:
        return self._popularity_score.copy()


def neighbours(x: sp.csr_matrix, params: dict, block: int = 1024) -> dict:
    """Top neighbours per item as (neighbors int32 [n, K], neighbor_scores float32 [n, K], -1 = none)."""
    b = x.copy().tocsr()
    b.data[:] = 1.0
    bt = b.T.tocsr()
    n_items = b.shape[1]
    users_per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
    k = min(params["max_neighbors"], max(n_items - 1, 1))
    nbrs = np.full((n_items, k), -1, dtype=np.int32)
    scores = np.zeros((n_items, k), dtype=np.float32)
    disc = np.power(np.maximum(users_per_item, 1), params["popularity_discount_factor"])
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        co = (bt[start:stop] @ b).toarray().astype(np.float32)
        co[np.arange(stop - start), np.arange(start, stop)] = 0
        co[co < params["min_cointeraction_count"]] = 0
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


RECIPE = Sims
