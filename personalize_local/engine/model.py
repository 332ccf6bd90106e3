"""A trained model directory loaded for serving: recommendations, ranking, filters, recent events.

Directory layout (written once by training.train, never modified): model.json (recipe ARN and kind,
hyperparameters, metrics), arrays.npz (ids, popularity, user histories and event types, each user's recent
items, and what the recipe's fit learned), items.parquet / users.parquet (metadata for filters, when provided).
What the lists are made of is the recipe's (recipes/); this module holds what every recipe shares.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from personalize_local.engine.filters import BoundFilter, FilterContext, FilterExpr
from personalize_local.engine.recipes import RECIPES
from personalize_local.engine.top_k import top_k

RecentEvent = tuple  # (item_id, event_type, timestamp)
_MASK_CACHE_MAX = 512


def _in_time_order(recent: Sequence[RecentEvent] | None) -> list:
    """Recent events sorted by timestamp (stable; events without a usable timestamp keep their place)."""
    events = list(recent or [])

    def key(e):
        try:
            return float(e[2].timestamp() if hasattr(e[2], "timestamp") else e[2])
        except (IndexError, TypeError, ValueError):
            return float("-inf")

    return sorted(events, key=key) if len(events) > 1 else events


_BLAS_LIMITED = False


def _single_threaded_blas() -> None:
    """Serving does many tiny mat-vec products: multi-threaded BLAS only adds latency (10x under load)."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _BLAS_LIMITED = True


class Model:
    """Immutable trained model. Safe to share between threads. Loading one limits BLAS to 1 thread."""

    def __init__(self, path: Path):
        _single_threaded_blas()
        self.path = Path(path)
        self.meta = json.loads((self.path / "model.json").read_text())
        with np.load(self.path / "arrays.npz", allow_pickle=False) as z:
            self.arrays = {k: z[k] for k in z.files}
        self.recipe_arn: str = self.meta["recipe_arn"]
        self.kind: str = self.meta["kind"]
        self.hyperparameters: dict = self.meta["hyperparameters"]
        self.metrics: dict = self.meta.get("metrics", {})
        a = self.arrays
        self.item_ids: np.ndarray = a["item_ids"]
        self.user_ids: np.ndarray = a["user_ids"]
        self.known_items: list[str] = self.item_ids.tolist()
        self.item_index = {iid: k for k, iid in enumerate(self.known_items)}
        self._user_index = {uid: k for k, uid in enumerate(self.user_ids.tolist())}
        n_u, n_i = len(self.user_ids), len(self.item_ids)
        self.history = sp.csr_matrix((a["hist_data"], a["hist_indices"], a["hist_indptr"]), shape=(n_u, n_i))
        self.event_type_names = a["event_type_names"]
        self.popularity = a["popularity"].astype(np.float64)
        self.items = self._read_parquet("items.parquet")
        self.users = self._read_parquet("users.parquet")
        self._user_meta_index = (
            {str(u): k for k, u in enumerate(self.users["USER_ID"].astype(str))}
            if self.users is not None
            else {}
        )
        self._mask_cache: dict = {}
        self._lock = threading.Lock()
        self.recipe = RECIPES[self.kind](self.hyperparameters, a, self.popularity)
        self.recipe.prepare_serving()

    def _read_parquet(self, name: str) -> pd.DataFrame | None:
        p = self.path / name
        return pd.read_parquet(p) if p.exists() else None

    # ---- histories and filters -------------------------------------------------------------
    def _user_events(self, u: int | None, recent: Sequence[RecentEvent]) -> tuple[np.ndarray, np.ndarray]:
        a = self.arrays
        items, types = [], []
        if u is not None:
            lo, hi = a["ev_indptr"][u], a["ev_indptr"][u + 1]
            items.append(a["ev_items"][lo:hi].astype(np.int64))
            types.append(self.event_type_names[a["ev_types"][lo:hi]].astype(object))
        rec = [
            (self.item_index[str(e[0])], str(e[1]) if len(e) > 1 and e[1] is not None else "")
            for e in recent or ()
            if str(e[0]) in self.item_index
        ]
        if rec:
            items.append(np.array([r[0] for r in rec], dtype=np.int64))
            types.append(np.array([r[1] for r in rec], dtype=object))
        if not items:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
        return np.concatenate(items), np.concatenate(types)

    def filter_context(
        self,
        user_id: str | None = None,
        recent_events: Sequence[RecentEvent] = (),
        item_id: str | None = None,
    ) -> FilterContext:
        """The FilterContext of one request (item metadata, the user's interactions and metadata)."""
        u = self._user_index.get(str(user_id)) if user_id is not None else None
        items, types = self._user_events(u, recent_events)
        user = None
        if user_id is not None and str(user_id) in self._user_meta_index:
            user = self.users.iloc[self._user_meta_index[str(user_id)]].to_dict()
        current = None
        if item_id is not None and self.items is not None and str(item_id) in self.item_index:
            current = self.items.iloc[self.item_index[str(item_id)]].to_dict()
        return FilterContext(
            item_ids=self.item_ids,
            items=self.items,
            user_items=items,
            user_event_types=types,
            user=user,
            current_item=current,
            cache=self._mask_cache,
        )

    def _allowed(self, item_filter, user_id, recent_events, item_id=None) -> np.ndarray:
        n = len(self.item_ids)
        if item_filter is None:
            return np.ones(n, dtype=bool)
        if isinstance(item_filter, np.ndarray):
            return item_filter.astype(bool)
        if len(self._mask_cache) > _MASK_CACHE_MAX:
            with self._lock:
                self._mask_cache.clear()
        if isinstance(item_filter, FilterExpr):
            item_filter = item_filter.bind({})
        if isinstance(item_filter, BoundFilter):
            ctx = self.filter_context(user_id, recent_events, item_id)
            ctx.values = item_filter.values
            return item_filter.expr.mask(ctx)
        if callable(item_filter):
            return np.fromiter((bool(item_filter(i)) for i in self.known_items), dtype=bool, count=n)
        raise TypeError(
            "item_filter must be a FilterExpr, BoundFilter, bool mask or callable(item_id) -> bool"
        )

    # ---- scoring ---------------------------------------------------------------------------
    def _history_row(self, u: int | None, recent: Sequence[RecentEvent]) -> sp.csr_matrix:
        n = len(self.item_ids)
        if u is not None:
            lo, hi = self.history.indptr[u], self.history.indptr[u + 1]
            row = sp.csr_matrix(
                (self.history.data[lo:hi], self.history.indices[lo:hi], np.array([0, hi - lo])), shape=(1, n)
            )
        else:
            row = sp.csr_matrix((1, n), dtype=np.float32)
        rec = [self.item_index[str(e[0])] for e in recent or () if str(e[0]) in self.item_index]
        if not rec:
            return row
        hl = self.meta.get("half_life")
        if hl:
            row = row * float(0.5 ** (len(rec) / hl))
            w = np.power(0.5, np.arange(len(rec))[::-1] / hl)
        else:
            w = np.ones(len(rec))
        add = sp.csr_matrix((w.astype(np.float32), (np.zeros(len(rec), dtype=int), rec)), shape=(1, n))
        return (row + add).tocsr()

    def user_scores(self, user_id, recent_events) -> tuple[np.ndarray, np.ndarray]:
        """(scores over the catalog, indices of items the user interacted with): the recipe's, or the popular
        items for a user the model does not know and who has no recent events."""
        u = self._user_index.get(str(user_id)) if user_id is not None else None
        if u is not None and not recent_events:  # the hot path: no sparse row needed, just the history
            h = None
            seen = self.history.indices[self.history.indptr[u] : self.history.indptr[u + 1]].astype(np.int64)
        else:
            h = self._history_row(u, recent_events)
            seen = h.indices.astype(np.int64)
        if u is None and h.nnz == 0:
            return self.popularity.copy(), seen
        return self.recipe.user_scores(self, u, h, recent_events), seen

    def recent_items(self, u: int | None, recent: Sequence[RecentEvent]) -> np.ndarray:
        """Catalog indices of the user's most recent items, oldest first (training tail + recent events)."""
        a = self.arrays
        stored = a["recent_items"][a["recent_indptr"][u] : a["recent_indptr"][u + 1]] if u is not None else []
        rec = [self.item_index[str(e[0])] for e in recent or () if str(e[0]) in self.item_index]
        return np.concatenate([np.asarray(stored, dtype=np.int64), np.asarray(rec, dtype=np.int64)])

    def recommend(
        self,
        user_id: str | None = None,
        item_id: str | None = None,
        num_results: int = 25,
        item_filter: FilterExpr | BoundFilter | Callable | None = None,
        recent_events: Sequence[RecentEvent] | None = None,
    ) -> list[tuple[str, float]]:
        """Top `num_results` (item_id, score) for what the recipe's requests name: an item_id (related items),
        or a user_id (unknown or None user -> popular items, or fold-in of recent_events), leaving out the
        user's items where the recipe says so. Raises ValueError on a wrong input."""
        recent_events = _in_time_order(recent_events)
        if self.recipe.query == "itemId":
            if item_id is None:
                raise ValueError("itemId is required for a similar-items (SIMS) recipe.")
            scores = self.recipe.item_scores(self, item_id)
            allowed = np.isfinite(scores)
        else:
            if item_id is not None and user_id is None:
                raise ValueError(f"Recipe {self.recipe_arn} recommends for a userId, not an itemId.")
            scores, seen = self.user_scores(user_id, recent_events)
            allowed = np.ones(len(scores), dtype=bool)
            if self.recipe.excludes_history:
                allowed[seen] = False
        allowed &= self._allowed(item_filter, user_id, recent_events, item_id)
        idx = top_k(scores, allowed, int(num_results))
        return list(zip(self.item_ids[idx].tolist(), self._normalise(scores, idx).tolist(), strict=True))

    def _normalise(self, scores: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Scores as Personalize shows them: a softmax over the catalog where the recipe says so, else max-scaled."""
        if self.recipe.softmax_scores:
            finite = scores[np.isfinite(scores)]
            m = finite.max() if len(finite) else 0.0
            z = np.exp(finite - m).sum()
            return np.round((np.exp(scores[idx] - m) / z).astype(np.float64), 7)
        top = scores[idx]
        m = max(float(np.max(scores[np.isfinite(scores)])), 1e-12)
        return np.round(np.clip(top / m, 0, 1).astype(np.float64), 7)

    def rank(
        self,
        user_id: str,
        item_ids: Sequence[str],
        item_filter=None,
        recent_events: Sequence[RecentEvent] | None = None,
    ) -> list[tuple[str, float]]:
        """Order `item_ids` for the user (best first). Filtered-out items are dropped; items the model
        does not know keep their input order at the end with score 0. Scores are a softmax over the list."""
        recent_events = _in_time_order(recent_events)
        scores = self.recipe.rank_scores(self, user_id, recent_events)
        allowed = self._allowed(item_filter, user_id, recent_events)
        known, unknown = [], []
        for iid in dict.fromkeys(str(x) for x in item_ids):
            k = self.item_index.get(iid)
            if k is None:
                unknown.append(iid)
            elif allowed[k]:
                known.append(k)
        if known:
            ks = np.array(known)
            s = scores[ks].astype(np.float64)
            order = np.lexsort((np.arange(len(ks)), -s))
            p = np.exp(s - s.max())
            p /= p.sum()
            ranked = [(self.known_items[ks[o]], round(float(p[o]), 7)) for o in order]
        else:
            ranked = []
        return ranked + [(iid, 0.0) for iid in unknown]


@lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> Model:
    return Model(Path(path))


def load_model(path: str | Path) -> Model:
    """Load (and cache) the model stored in directory `path`."""
    p = Path(path).resolve()
    return _load(str(p), (p / "model.json").stat().st_mtime)
