"""train(): event selection, Personalize-style offline evaluation, final fit and the model directory.

Evaluation follows metrics.split_events: the model is fitted on the 90% training users, each held-out
user's oldest 90% of events is folded in as the model input (ALS fold-in / SIMS neighbours of the history /
popularity), 25 items are recommended excluding that input, and the metrics are computed against the newest
10%. The served model is then refitted on all events (so every user is known to it).
UPDATE mode (user-personalization, personalized-ranking) warm-starts ALS from the previous model's item
factors and runs 2 iterations instead of a full fit; it reports the previous version's offline metrics.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from personalize_local.engine import metrics as M
from personalize_local.engine.data import Encoded, TrainingData, check_sufficient, encode, select_events
from personalize_local.engine.features import event_weights, item_tokens, propagate_to_cold, user_item_matrix
from personalize_local.engine.model import top_k
from personalize_local.engine.recipes import (
    PERSONALIZED_RANKING,
    POPULARITY,
    SIMS,
    als,
    metadata,
    recipe_kind,
    sequence,
    sims,
)

SIMS_EVAL_HALF_LIFE = 2.0  # SIMS scores a held-out user from the neighbours of their most recent items
_UPDATE_ITERATIONS = 2


def _effective_hp(kind: str, hp: dict) -> dict:
    if kind == SIMS:
        return sims.hyperparameters(hp)
    if kind == POPULARITY:
        return {}
    return {**als.hyperparameters(hp), **sequence.hyperparameters(hp), **metadata.hyperparameters(hp)}


def _half_life(kind: str, eff: dict) -> float | None:
    return als.half_life(eff) if kind not in (SIMS, POPULARITY) else None


class _Fitted:
    """A fitted recipe over a catalog: scores rows of (recency-weighted) histories."""

    def __init__(self, kind: str, eff: dict, arrays: dict, popularity: np.ndarray):
        self.kind, self.eff, self.arrays, self.popularity = kind, eff, arrays, popularity
        if kind == SIMS:
            self.sim = sims.similarity_matrix(arrays["neighbors"], arrays["neighbor_scores"])
        elif kind != POPULARITY:
            self.seq = sequence.matrix(arrays)
            self.meta = metadata.matrix(arrays)

    def scores(self, h: sp.csr_matrix, h_seq: sp.csr_matrix | None = None) -> np.ndarray:
        """Scores (rows x catalog) for history rows `h`; `h_seq` = short-term recency weights (hybrid)."""
        n = h.shape[0]
        if self.kind == POPULARITY:
            return np.broadcast_to(self.popularity, (n, len(self.popularity))).copy()
        if self.kind == SIMS:
            s = np.asarray((h @ self.sim).todense())
            return s + 1e-6 * self.popularity / max(self.popularity.max(), 1.0)
        y = self.arrays["item_factors"]
        base = als.fold_in(y, h, self.eff) @ y.T
        if h_seq is None:
            return base
        meta = None if self.meta is None else metadata.affinity(h_seq, self.meta)
        seq = np.asarray((h_seq @ self.seq).todense())
        return sequence.combine(base, seq, self.eff["sequence_weight"], meta, self.eff["metadata_weight"])


def _fit(
    kind: str,
    eff: dict,
    x: sp.csr_matrix,
    tokens: sp.csr_matrix,
    seed: int,
    enc: Encoded,
    mask: np.ndarray,
    init_items: np.ndarray | None = None,
) -> _Fitted:
    """Fit the recipe on user x item weights `x` (events `mask` of `enc` for the sequence part)."""
    popularity = np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float64) if kind != POPULARITY else None
    if kind == POPULARITY:
        return _Fitted(kind, eff, {}, np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float64))
    if kind == SIMS:
        return _Fitted(kind, eff, sims.fit(x, eff), popularity)
    arrays = als.fit(x, eff, seed, init_items=init_items)
    warm = np.asarray((x > 0).sum(axis=0)).ravel() > 0
    arrays["item_factors"] = propagate_to_cold(arrays["item_factors"], tokens, warm).astype(np.float32)
    arrays.update(sequence.fit(enc.u[mask], enc.i[mask], enc.ts[mask], enc.n_items, eff))
    arrays.update(metadata.fit(tokens))
    return _Fitted(kind, eff, arrays, popularity)


def _weights(kind: str, eff: dict, enc: Encoded, mask: np.ndarray, half_life: float | None) -> sp.csr_matrix:
    u, i, ts = enc.u[mask], enc.i[mask], enc.ts[mask]
    w = event_weights(u, ts, half_life)
    return user_item_matrix(u, i, w, enc.n_users, enc.n_items)


def evaluate(kind: str, eff: dict, enc: Encoded, tokens: sp.csr_matrix, seed: int) -> dict:
    """Offline metrics on the documented split (see module docstring)."""
    split = M.split_events(enc.u, enc.i, enc.ts, enc.n_users, seed)
    return M.compute_metrics(_held_out_recommendations(kind, eff, enc, tokens, seed, split), split.truth, enc.n_items)


def cross_validate(
    recipe_arn: str, data: TrainingData, params: dict | None = None, seed: int = 42, n_folds: int = 10
) -> list[Fold]:
    """The documented evaluation repeated with every user held out once (metrics.user_folds; fold 0 is the
    split train() reports). One Fold per held-out set, ids as strings; for benchmarks: ~10x the users of one
    split, so recipe comparisons are far less noisy."""
    kind, eff, _, enc, tokens = _prepare(recipe_arn, data, params)
    folds = []
    for held_out in M.user_folds(enc.n_users, seed, n_folds):
        split = M.split_events(enc.u, enc.i, enc.ts, enc.n_users, seed, held_out=held_out)
        recs = _held_out_recommendations(kind, eff, enc, tokens, seed, split)
        ids = enc.item_ids
        folds.append(Fold(enc.user_ids[split.test_users], [ids[r] for r in recs], [ids[t] for t in split.truth]))
    return folds


class Fold(NamedTuple):
    """Held-out users that have ground truth, their 25 recommendations and their ground-truth items."""

    users: np.ndarray
    recommendations: list[np.ndarray]
    truth: list[np.ndarray]


def _prepare(recipe_arn: str, data: TrainingData, params: dict | None):
    """(kind, effective hyperparameters, event type, encoded selected events, item tokens) for a training."""
    kind = recipe_kind(recipe_arn)
    params = params or {}
    cfg = params.get("solutionConfig") or {}
    event_type = params.get("eventType") or None
    eff = _effective_hp(kind, cfg.get("algorithmHyperParameters") or {})
    selected = select_events(data.interactions, event_type, cfg.get("eventValueThreshold"))
    check_sufficient(selected, event_type)
    enc = encode(selected, data.items)
    return kind, eff, event_type, enc, item_tokens(data.items, enc.item_ids)


def _held_out_recommendations(
    kind: str, eff: dict, enc: Encoded, tokens: sp.csr_matrix, seed: int, split: M.Split
) -> list[np.ndarray]:
    """Top 25 item codes for each of split.test_users, from a model fitted on split.train."""
    hl = _half_life(kind, eff)
    fitted = _fit(kind, eff, _weights(kind, eff, enc, split.train, hl), tokens, seed, enc, split.train)
    eval_hl = SIMS_EVAL_HALF_LIFE if kind == SIMS else hl
    h_all = _weights(kind, eff, enc, split.test_input, eval_hl)[split.test_users]
    hs_all = None
    if kind not in (SIMS, POPULARITY):
        hs_all = _weights(kind, eff, enc, split.test_input, eff["sequence_half_life"])[split.test_users]
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


def _previous_item_factors(previous_dir: Path, enc: Encoded, tokens: sp.csr_matrix, k: int) -> np.ndarray:
    with np.load(Path(previous_dir) / "arrays.npz", allow_pickle=False) as z:
        prev_ids, prev_y = z["item_ids"], z["item_factors"]
    if prev_y.shape[1] != k:
        raise ValueError(f"UPDATE: previous model has hidden_dimension {prev_y.shape[1]}, requested {k}.")
    pos = pd.Index(prev_ids).get_indexer(enc.item_ids)
    known = pos >= 0
    y = np.zeros((enc.n_items, k), dtype=np.float32)
    y[known] = prev_y[pos[known]]
    return propagate_to_cold(y, tokens, known).astype(np.float32)


def _history_arrays(raw: pd.DataFrame, enc: Encoded, same_rows: bool) -> dict:
    """Every interaction (all event types) of known users on catalog items, grouped by user, for filters.
    `same_rows`: `raw` is exactly the encoded frame (no event selection), so enc's codes are reused."""
    if same_rows:
        u, i = enc.u.astype(np.int64), enc.i.astype(np.int64)
    else:
        u = pd.Index(enc.user_ids).get_indexer(raw["USER_ID"].astype(str))
        i = pd.Index(enc.item_ids).get_indexer(raw["ITEM_ID"].astype(str))
    types = raw["EVENT_TYPE"].astype(str).to_numpy() if "EVENT_TYPE" in raw.columns else np.full(len(raw), "")
    ok = (u >= 0) & (i >= 0)
    u, i, types = u[ok], i[ok], types[ok]
    codes, names = pd.factorize(types)
    order = np.argsort(u, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=enc.n_users))].astype(np.int64)
    return {
        "ev_indptr": indptr,
        "ev_items": i[order].astype(np.int32),
        "ev_types": codes[order].astype(np.int16),
        "event_type_names": np.asarray(names, dtype=str) if len(names) else np.array([""], dtype=str),
    }


def _recent_items(enc: Encoded, keep: int) -> dict:
    """The last `keep` items of each user in time order (short-term input of the hybrid at serving time)."""
    order = np.lexsort((np.arange(len(enc.u)), enc.ts, enc.u))
    uo = enc.u[order]
    counts = np.bincount(uo, minlength=enc.n_users)
    ends = np.cumsum(counts)
    from_end = np.repeat(ends, counts) - 1 - np.arange(len(uo))
    sel = order[from_end < keep]
    kept = np.minimum(counts, keep)
    return {
        "recent_indptr": np.r_[0, np.cumsum(kept)].astype(np.int64),
        "recent_items": enc.i[sel].astype(np.int32),
    }


def _write_metadata(df: pd.DataFrame | None, key: str, path: Path, order: np.ndarray | None = None) -> None:
    if df is None or key not in df.columns or not len(df):
        return
    out = df.drop_duplicates(key, keep="last").copy()
    out[key] = out[key].astype(str)
    if order is not None:
        out = out.set_index(key).reindex(pd.Index(order, name=key)).reset_index()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].astype("string")
    out.to_parquet(path, index=False)


def train(
    recipe_arn: str,
    data: TrainingData,
    params: dict,
    out_dir: Path,
    previous_dir: Path | None = None,
    seed: int = 42,
) -> dict:
    """Train a solution version into `out_dir` and return its offline metrics (GetSolutionMetrics names).

    params: {"eventType", "solutionConfig": {"eventValueThreshold", "algorithmHyperParameters"},
    "trainingMode": "FULL" | "UPDATE"}. Raises InsufficientDataError, UnsupportedRecipeError, ValueError."""
    started = time.time()
    mode = str((params or {}).get("trainingMode") or "FULL").upper()
    kind, eff, event_type, enc, tokens = _prepare(recipe_arn, data, params)
    hl = _half_life(kind, eff)
    everything = np.ones(len(enc.u), dtype=bool)
    x = _weights(kind, eff, enc, everything, hl)

    update = mode == "UPDATE" and kind not in (SIMS, POPULARITY)
    if update:
        if previous_dir is None or not (Path(previous_dir) / "arrays.npz").exists():
            raise ValueError("trainingMode UPDATE needs a previous ACTIVE solution version of this solution.")
        init = _previous_item_factors(previous_dir, enc, tokens, eff["hidden_dimension"])
        upd = {**eff, "training_iterations": _UPDATE_ITERATIONS}
        fitted = _fit(kind, upd, x, tokens, seed, enc, everything, init_items=init)
        metrics = json.loads((Path(previous_dir) / "model.json").read_text()).get("metrics", {})
    else:
        metrics = evaluate(kind, eff, enc, tokens, seed)
        fitted = _fit(kind, eff, x, tokens, seed, enc, everything)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float64)
    arrays = {
        "item_ids": enc.item_ids.astype(str),
        "user_ids": enc.user_ids.astype(str),
        "popularity": fitted.popularity if kind == POPULARITY else counts,
        "hist_indptr": x.indptr,
        "hist_indices": x.indices,
        "hist_data": x.data,
        **_history_arrays(data.interactions, enc, len(enc.u) == len(data.interactions)),
        **_recent_items(enc, eff.get("sequence_window", 20)),
        **fitted.arrays,
    }
    if kind == SIMS:
        arrays.update(tok_indptr=tokens.indptr, tok_indices=tokens.indices, tok_shape=np.array(tokens.shape))
    np.savez(out / "arrays.npz", **arrays)
    _write_metadata(data.items, "ITEM_ID", out / "items.parquet", enc.item_ids)
    _write_metadata(data.users, "USER_ID", out / "users.parquet")
    meta = {
        "format": 1,
        "recipe_arn": recipe_arn,
        "kind": kind,
        "hyperparameters": eff,
        "half_life": hl,
        "event_type": event_type,
        "training_mode": "UPDATE" if update else "FULL",
        "seed": seed,
        "metrics": metrics,
        "n_users": enc.n_users,
        "n_items": enc.n_items,
        "n_interactions": int(len(enc.u)),
        "training_seconds": round(time.time() - started, 3),
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return dict(metrics)


__all__ = ["train", "evaluate", "PERSONALIZED_RANKING"]
