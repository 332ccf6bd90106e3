"""Offline evaluation as Personalize documents it, for any recipe.

The recipe is fitted on the training users of metrics.split_events; each held-out user's oldest 90% of events
is the model input (recency-weighted as the recipe's `evaluation_half_life` says), 25 items are recommended
excluding that input, and the metrics are computed against the newest 10%.

AWS documents this one procedure for every recipe type but USER_SEGMENTATION, and nothing of its own for
PERSONALIZED_RANKING (which list a ranking solution ranks offline is not documented). personalized-ranking trains
user-personalization's model here, so both report the same metrics; `evaluation_note` says so wherever metrics
are shown (the service's training log, model.json, the recipes-vs-AWS benchmark).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from personalize_local.engine import metrics as M
from personalize_local.engine.data import Encoded, TrainingData, check_sufficient, encode, select_events
from personalize_local.engine.features import event_weights, item_tokens, user_item_matrix
from personalize_local.engine.recipes import recipe_for
from personalize_local.engine.recipes.base import Recipe, TrainingSet
from personalize_local.engine.top_k import top_k


class Prepared(NamedTuple):
    """A training's inputs: the recipe, its effective hyperparameters, the event type, the encoded selected
    events and the item metadata tokens."""

    recipe: type[Recipe]
    params: dict
    event_type: str | None
    enc: Encoded
    tokens: sp.csr_matrix


def prepare(recipe_arn: str, data: TrainingData, params: dict | None) -> Prepared:
    """Resolve the recipe and hyperparameters, select the events a solution trains on, check there are enough."""
    recipe = recipe_for(recipe_arn)
    params = params or {}
    cfg = params.get("solutionConfig") or {}
    event_type = params.get("eventType") or None
    eff = recipe.effective(cfg.get("algorithmHyperParameters") or {})
    selected = select_events(data.interactions, event_type, cfg.get("eventValueThreshold"))
    check_sufficient(selected, event_type)
    enc = encode(selected, data.items)
    return Prepared(recipe, eff, event_type, enc, item_tokens(data.items, enc.item_ids))


# recipe name -> (recipe whose metrics it reports, why)
SAME_METRICS_AS = {
    "personalized-ranking": (
        "user-personalization",
        "personalized-ranking trains user-personalization's model and is evaluated by the same documented "
        "procedure (25 recommendations from the whole catalog per held-out user); AWS documents no other offline "
        "evaluation for ranking recipes, so its metrics equal user-personalization's. AWS's own ranking metrics "
        "are much lower (MovieLens POC NDCG@10 0.0707 vs 0.2687): compare ranking solutions with each other only.",
    ),
}


def evaluation_note(recipe_arn: str) -> str | None:
    """Why this recipe's offline metrics are another recipe's, where they are (else None)."""
    same = SAME_METRICS_AS.get(recipe_for(recipe_arn).name)
    return same[1] if same else None


def weights(enc: Encoded, mask: np.ndarray, half_life: float | None) -> sp.csr_matrix:
    """User x item sums of the recency weights of the events `mask` selects."""
    u, i, ts = enc.u[mask], enc.i[mask], enc.ts[mask]
    return user_item_matrix(u, i, event_weights(u, ts, half_life), enc.n_users, enc.n_items)


def evaluate(p: Prepared, seed: int) -> dict:
    """Offline metrics on the documented split (see module docstring)."""
    split = M.split_events(p.enc.u, p.enc.i, p.enc.ts, p.enc.n_users, seed)
    return M.compute_metrics(_held_out_recommendations(p, seed, split), split.truth, p.enc.n_items)


class Fold(NamedTuple):
    """Held-out users that have ground truth, their 25 recommendations and their ground-truth items."""

    users: np.ndarray
    recommendations: list[np.ndarray]
    truth: list[np.ndarray]


def cross_validate(
    recipe_arn: str, data: TrainingData, params: dict | None = None, seed: int = 42, n_folds: int = 10
) -> list[Fold]:
    """The documented evaluation repeated with every user held out once (metrics.user_folds; fold 0 is the
    split train() reports). One Fold per held-out set, ids as strings; for benchmarks: ~10x the users of one
    split, so recipe comparisons are far less noisy."""
    p = prepare(recipe_arn, data, params)
    enc = p.enc
    folds = []
    for held_out in M.user_folds(enc.n_users, seed, n_folds):
        split = M.split_events(enc.u, enc.i, enc.ts, enc.n_users, seed, held_out=held_out)
        recs = _held_out_recommendations(p, seed, split)
        ids = enc.item_ids
        folds.append(Fold(enc.user_ids[split.test_users], [ids[r] for r in recs], [ids[t] for t in split.truth]))
    return folds


def _held_out_recommendations(p: Prepared, seed: int, split: M.Split) -> list[np.ndarray]:
    """Top 25 item codes for each of split.test_users, from a model fitted on split.train."""
    recipe, eff, enc = p.recipe, p.params, p.enc
    x = weights(enc, split.train, recipe.recency_half_life(eff))
    fitted = recipe.fit(eff, TrainingSet(x, enc, split.train, p.tokens), seed)
    h_all = weights(enc, split.test_input, recipe.evaluation_half_life(eff))[split.test_users]
    short = recipe.short_term_half_life(eff)
    hs_all = None if short is None else weights(enc, split.test_input, short)[split.test_users]
    recs = []
    chunk = int(max(32, min(1024, 20_000_000 // max(enc.n_items, 1))))  # bounded dense score blocks
    for start in range(0, h_all.shape[0], chunk):
        h = h_all[start : start + chunk]
        s = fitted.scores(h, None if hs_all is None else hs_all[start : start + chunk])
        for r in range(h.shape[0]):
            allowed = np.ones(s.shape[1], dtype=bool)
            allowed[h.indices[h.indptr[r] : h.indptr[r + 1]]] = False
            recs.append(top_k(s[r], allowed, M.K_MAX))
    return recs
