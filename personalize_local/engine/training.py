"""train(): offline evaluation, the final fit on every selected event, and the model directory.

The metrics come from evaluation.evaluate (a fit on the training users only); the served model is then
refitted on all events, so every user is known to it. trainingMode UPDATE, where the recipe supports it,
starts from the previous model instead of a full fit and reports the previous version's offline metrics.
The directory layout is model.py's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from personalize_local.engine.algorithms import context
from personalize_local.engine.data import Encoded, TrainingData
from personalize_local.engine.evaluation import evaluate, evaluation_note, prepare, weights
from personalize_local.engine.recipes.base import TrainingSet


def _history_arrays(raw: pd.DataFrame, enc: Encoded, same_rows: bool) -> dict:
    """Every interaction (all event types) of known users on catalog items, grouped by user, oldest first (filters
    count each event type's newest interactions). `same_rows`: `raw` is exactly the encoded frame (no event
    selection), so enc's codes are reused."""
    if same_rows:
        u, i, ts = enc.u.astype(np.int64), enc.i.astype(np.int64), enc.ts
    else:
        u = pd.Index(enc.user_ids).get_indexer(raw["USER_ID"].astype(str))
        i = pd.Index(enc.item_ids).get_indexer(raw["ITEM_ID"].astype(str))
        ts = pd.to_numeric(raw["TIMESTAMP"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    types = raw["EVENT_TYPE"].astype(str).to_numpy() if "EVENT_TYPE" in raw.columns else np.full(len(raw), "")
    ok = (u >= 0) & (i >= 0)
    u, i, types, ts = u[ok], i[ok], types[ok], ts[ok]
    codes, names = pd.factorize(types)
    order = np.lexsort((np.arange(len(u)), ts, u))
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


def _item_first_seen(raw: pd.DataFrame, enc: Encoded) -> dict:
    """Each catalog item's first interaction time (NaN: none) and the newest interaction time of the data: item
    age for exploration when the items dataset has no CREATION_TIMESTAMP."""
    ts = pd.to_numeric(raw["TIMESTAMP"], errors="coerce")
    first = ts.groupby(raw["ITEM_ID"].astype(str)).min()
    return {
        "item_first_ts": first.reindex(pd.Index(enc.item_ids)).to_numpy(dtype=np.float64),
        "latest_ts": np.array([float(ts.max()) if len(ts) else np.nan]),
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
    p = prepare(recipe_arn, data, params)
    recipe, eff, enc = p.recipe, p.params, p.enc
    hl = recipe.recency_half_life(eff)
    everything = np.ones(len(enc.u), dtype=bool)
    x = weights(enc, everything, hl)
    training_set = TrainingSet(x, enc, everything, p.tokens)

    update = mode == "UPDATE" and recipe.supports_update
    if update:
        if previous_dir is None or not (Path(previous_dir) / "arrays.npz").exists():
            raise ValueError("trainingMode UPDATE needs a previous ACTIVE solution version of this solution.")
        fitted = recipe.fit(eff, training_set, seed, previous_dir=Path(previous_dir))
        metrics = json.loads((Path(previous_dir) / "model.json").read_text()).get("metrics", {})
    else:
        metrics = evaluate(p, seed)
        fitted = recipe.fit(eff, training_set, seed)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "item_ids": enc.item_ids.astype(str),
        "user_ids": enc.user_ids.astype(str),
        "popularity": fitted.popularity,
        "hist_indptr": x.indptr,
        "hist_indices": x.indices,
        "hist_data": x.data,
        **_history_arrays(data.interactions, enc, len(enc.u) == len(data.interactions)),
        **_recent_items(enc, eff.get("sequence_window", 20)),
        **_item_first_seen(data.interactions, enc),
        **fitted.arrays,
        **(context.fit(data.interactions, enc.item_ids) if recipe.uses_context else {}),
    }
    np.savez(out / "arrays.npz", **arrays)
    _write_metadata(data.items, "ITEM_ID", out / "items.parquet", enc.item_ids)
    _write_metadata(data.users, "USER_ID", out / "users.parquet")
    meta = {
        "format": 1,
        "recipe_arn": recipe_arn,
        "kind": recipe.name,
        "hyperparameters": eff,
        "half_life": hl,
        "event_type": p.event_type,
        "training_mode": "UPDATE" if update else "FULL",
        "seed": seed,
        "metrics": metrics,
        "evaluation_note": evaluation_note(recipe_arn),
        "n_users": enc.n_users,
        "n_items": enc.n_items,
        "n_interactions": int(len(enc.u)),
        "training_seconds": round(time.time() - started, 3),
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return dict(metrics)
