"""user-personalization: a hybrid of long-term taste, short-term intent and item metadata.

Implicit ALS on recency-weighted confidences (long-term taste; exact ALS fold-in for recent events and unknown
users), sequential item neighbours of the user's last items (short-term intent, standing in for AWS's HRNN),
and the affinity of those last items' metadata to each item (genre, binned numbers). Items without
interactions get factors from their metadata tokens (cold start). Recommendations leave out what the user
interacted with (history and recent events); an unknown user without events gets the popular items.
trainingMode UPDATE refreshes the previous model instead of retraining it (as Personalize documents UPDATE: new
items, not a full retraining): the items it knew keep their factors, new items get factors from their
interactions (one ALS item step against the users' factors) or, without any, from their metadata; users with
new interactions (and new users) are folded in against the item factors, the others keep theirs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from personalize_local.engine.algorithms import als, hybrid, metadata, sequence
from personalize_local.engine.features import propagate_to_cold
from personalize_local.engine.recipes.base import AwsRecipe, HyperParameter, Recipe, TrainingSet


class UserPersonalization(Recipe):
    name = "user-personalization"
    aws_recipes = (
        AwsRecipe(
            "aws-user-personalization",
            "USER_PERSONALIZATION",
            "Personalized recommendations from user history.",
            allows_update=True,
        ),
        AwsRecipe(
            "aws-user-personalization-v2",
            "USER_PERSONALIZATION",
            "Personalized recommendations, scales to larger catalogs (v2).",
        ),
    )
    hyperparameters = (
        # ALS (algorithms/als.py)
        HyperParameter("hidden_dimension", 64, aliases=("factors",), aws=True),
        HyperParameter("regularization", 0.1, aliases=("lambda",)),
        HyperParameter("training_iterations", 15, aliases=("iterations",)),
        HyperParameter("alpha", 16.0),  # confidence scale
        HyperParameter("recency_mask", True, aws=True),  # newer events weigh more
        HyperParameter("bptt", 16, aws=True),  # recency half-life in events
        # sequential neighbours (algorithms/sequence.py)
        HyperParameter("sequence_weight", 3.0),
        HyperParameter("sequence_window", 20),
        HyperParameter("sequence_decay", 0.9),
        HyperParameter("sequence_half_life", 3.0),
        HyperParameter("sequence_neighbors", 100),
        HyperParameter("sequence_backward_weight", 0.5),
        # item metadata (algorithms/metadata.py); 0 turns the term off
        HyperParameter("metadata_weight", 1.0),
    )
    softmax_scores = True
    supports_update = True
    explores = True
    uses_context = True

    # -- training ----------------------------------------------------------------------------------------
    @classmethod
    def recency_half_life(cls, params: dict) -> float | None:
        return float(params["bptt"]) if params["recency_mask"] else None

    @classmethod
    def short_term_half_life(cls, params: dict) -> float | None:
        return params["sequence_half_life"]

    @classmethod
    def fit_arrays(cls, params: dict, data: TrainingSet, seed: int, previous_dir: Path | None = None) -> dict:
        x, enc, mask = data.x, data.enc, data.mask
        if previous_dir is not None:
            arrays = _refresh(previous_dir, params, data)
        else:
            arrays = als.fit(x, params, seed)
            warm = np.asarray((x > 0).sum(axis=0)).ravel() > 0
            arrays["item_factors"] = propagate_to_cold(arrays["item_factors"], data.tokens, warm).astype(np.float32)
        arrays.update(sequence.fit(enc.u[mask], enc.i[mask], enc.ts[mask], enc.n_items, params))
        arrays.update(metadata.fit(data.tokens))
        return arrays

    # -- offline evaluation: many users at once, the batch form of the hybrid ----------------------------
    @cached_property
    def _sequence_matrix(self) -> sp.csr_matrix:
        return sequence.matrix(self.arrays)

    @cached_property
    def _metadata_matrix(self) -> sp.csr_matrix | None:
        return metadata.matrix(self.arrays)

    def scores(self, h: sp.csr_matrix, h_seq: sp.csr_matrix | None = None) -> np.ndarray:
        y = self.arrays["item_factors"]
        base = als.fold_in(y, h, self.params) @ y.T
        if h_seq is None:
            return base
        meta = None if self._metadata_matrix is None else metadata.affinity(h_seq, self._metadata_matrix)
        seq = np.asarray((h_seq @ self._sequence_matrix).todense())
        return sequence.combine(base, seq, self.params["sequence_weight"], meta, self.params["metadata_weight"])

    # -- serving: one user, the fused form (hybrid.py) ---------------------------------------------------
    def prepare_serving(self) -> None:
        y = self.arrays["item_factors"].astype(np.float64)
        self._yty = y.T @ y
        vectors = metadata.matrix(self.arrays)
        meta = None if vectors is None else metadata.ItemAffinity(vectors)
        self._hybrid = hybrid.HybridScorer(self.arrays["item_factors"], self.params, meta)

    def user_scores(self, model, u: int | None, h: sp.csr_matrix | None, recent: list) -> np.ndarray:
        y = self.arrays["item_factors"]
        if recent or u is None:
            vec = als.fold_in(y, h, self.params, self._yty)[0]
        else:
            vec = self.arrays["user_factors"][u]
        seq_items = model.recent_items(u, recent) if "seq_neighbors" in self.arrays else []
        if not len(seq_items):
            return y @ vec
        w = np.power(0.5, np.arange(len(seq_items))[::-1] / float(self.params["sequence_half_life"]))
        nb = self.arrays["seq_neighbors"][seq_items]
        wt = self.arrays["seq_scores"][seq_items] * w[:, None]
        ok = nb >= 0
        short = np.bincount(nb[ok], weights=wt[ok], minlength=len(y))
        return self._hybrid.scores(vec, short, seq_items, w)


def _refresh(previous_dir: Path, params: dict, data: TrainingSet) -> dict:
    """trainingMode UPDATE: the previous model's factors, extended to new items and refreshed for changed users
    (see the module docstring); no factor of a known item moves."""
    with np.load(Path(previous_dir) / "arrays.npz", allow_pickle=False) as z:
        prev = {name: z[name] for name in ("item_ids", "item_factors", "user_ids", "user_factors")}
        prev_x = sp.csr_matrix(
            (z["hist_data"], z["hist_indices"], z["hist_indptr"]), shape=(len(z["user_ids"]), len(z["item_ids"]))
        )
    k = params["hidden_dimension"]
    if prev["item_factors"].shape[1] != k:
        raise ValueError(f"UPDATE: previous model has hidden_dimension {prev['item_factors'].shape[1]}, requested {k}.")
    x, enc = data.x, data.enc
    pos = pd.Index(prev["item_ids"]).get_indexer(enc.item_ids)
    known = pos >= 0
    y = np.zeros((enc.n_items, k), dtype=np.float32)
    y[known] = prev["item_factors"][pos[known]]
    y = propagate_to_cold(y, data.tokens, known).astype(np.float32)  # new items' first estimate: metadata

    upos = pd.Index(prev["user_ids"]).get_indexer(enc.user_ids)
    users = np.zeros((enc.n_users, k), dtype=np.float32)
    same = _same_history(x, enc.item_ids, upos, prev_x, prev["item_ids"])
    users[same] = prev["user_factors"][upos[same]]
    changed = np.flatnonzero(~same)
    if len(changed):
        users[changed] = als.fold_in(y, x[changed], params)
    interacted = np.asarray((x > 0).sum(axis=0)).ravel() > 0
    new_items = np.flatnonzero(~known & interacted)
    if len(new_items):  # the ALS item step for the new items only, against every user's factors
        y[new_items] = als.fold_in(users, x.T.tocsr()[new_items], params)
        if len(changed):
            users[changed] = als.fold_in(y, x[changed], params)
    y = propagate_to_cold(y, data.tokens, known | interacted).astype(np.float32)
    return {"user_factors": users, "item_factors": y}


def _same_history(x: sp.csr_matrix, item_ids, upos: np.ndarray, prev_x: sp.csr_matrix, prev_item_ids) -> np.ndarray:
    """Per user of `x`: whether the previous model knew the user with the same weighted history (the same items
    at the same weights, compared through a per-row signature)."""

    def signature(m: sp.csr_matrix, ids) -> np.ndarray:
        h = (pd.util.hash_array(np.asarray(ids, dtype=object)) % 1_000_003).astype(np.float64) + 1.0
        m = m.tocsr()
        return np.column_stack([np.diff(m.indptr), m @ np.ones(m.shape[1]), m @ h])

    same = upos >= 0
    if not same.any():
        return same
    now, before = signature(x, item_ids), signature(prev_x, prev_item_ids)
    rows = np.flatnonzero(same)
    same[rows] = np.isclose(now[rows], before[upos[rows]], rtol=1e-6, atol=1e-9).all(axis=1)
    return same


RECIPE = UserPersonalization
