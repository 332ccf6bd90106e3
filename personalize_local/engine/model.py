"""A trained model directory loaded for serving: recommendations, ranking, filters, recent events.

Directory layout (written once by training.train, never modified): model.json (recipe ARN and kind,
hyperparameters, metrics), arrays.npz (ids, popularity, user histories and event types, each user's recent
items, and what the recipe's fit learned), items.parquet / users.parquet (metadata for filters, when provided).
What the lists are made of is the recipe's (recipes/); this module holds what every recipe shares.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from personalize_local.engine.algorithms.context import ContextAffinity
from personalize_local.engine.exploration import Exploration, candidates, explore
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


def _column(frame: pd.DataFrame | None, name: str) -> pd.Series | None:
    match = [c for c in (frame.columns if frame is not None else []) if c.upper() == name.upper()]
    return frame[match[0]] if match else None


def _same_rows(old: pd.DataFrame, new: pd.DataFrame, key: str) -> bool:
    """Whether `new` holds the rows of `old` (same ids, same columns, same values)."""
    if len(old) != len(new) or set(old.columns) != set(new.columns):
        return False
    a = old.astype({key: str}).set_index(key).sort_index()
    b = new.astype({key: str}).set_index(key).reindex(a.index)[a.columns]
    return a.astype("string").fillna("").equals(b.astype("string").fillna(""))


def _shared_value_weights(trained: pd.DataFrame, new: pd.DataFrame) -> sp.csr_matrix:
    """new items x trained items: row i averages, over new item i's categorical values, the indicator of the
    trained items holding that value divided by their number (an all-zero row: no value in common)."""
    rows, cols, vals = [], [], []
    columns = [c for c in trained.columns if c.upper() not in ("ITEM_ID", "CREATION_TIMESTAMP") and c in new.columns]
    holders: dict[tuple[str, str], np.ndarray] = {}
    for c in columns:
        if pd.api.types.is_numeric_dtype(trained[c]):
            continue
        exploded = trained[c].astype("string").str.split("|").explode().dropna()
        for value, idx in exploded.groupby(exploded).groups.items():
            holders[(c, str(value))] = np.unique(np.asarray(idx, dtype=np.int64))
    for i, row in new.iterrows():
        found = [
            holders[(c, v)] for c in columns for v in str(row[c]).split("|") if (c, v) in holders and pd.notna(row[c])
        ]
        for idx in found:
            rows.append(np.full(len(idx), i))
            cols.append(idx)
            vals.append(np.full(len(idx), 1.0 / (len(idx) * len(found))))
    if not rows:
        return sp.csr_matrix((len(new), len(trained)))
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(new), len(trained))
    )


_BLAS_LIMITED = False


@dataclass(frozen=True)
class Recommended:
    """One item of a recommendation list: its score as Personalize shows it, and the promotion that placed it."""

    item_id: str
    score: float
    promotion: str | None = None


@dataclass(frozen=True)
class Promotion:
    """A GetRecommendations promotion: `percent` of the list from the items `item_filter` allows (a FilterExpr,
    BoundFilter, mask or callable, as item_filter), marked with `name`."""

    name: str
    percent: int
    item_filter: object

    def count(self, num_results: int) -> int:
        """Places the promotion asks for: percent of numResults, rounded, at least one."""
        return max(1, int(math.floor(num_results * self.percent / 100 + 0.5))) if num_results else 0


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
            {str(u): k for k, u in enumerate(self.users["USER_ID"].astype(str))} if self.users is not None else {}
        )
        self._mask_cache: dict = {}
        self._lock = threading.Lock()
        self.recipe = RECIPES[self.kind](self.hyperparameters, a, self.popularity)
        self.recipe.prepare_serving()
        self.n_model_items = n_i  # items the recipe scores; with_items() may add more to the catalog
        self._context = ContextAffinity(a) if self.recipe.uses_context and "ctx_lift" in a else None
        self._new_item_weights: sp.csr_matrix | None = None
        self.latest_ts = float(a["latest_ts"][0]) if "latest_ts" in a else math.nan
        self.item_created = self._creation_times()

    def _creation_times(self) -> np.ndarray:
        """Epoch seconds each catalog item was created: CREATION_TIMESTAMP, else its first interaction, else NaN."""
        first = self.arrays.get("item_first_ts")
        created = (
            np.asarray(first, dtype=np.float64).copy() if first is not None else np.full(len(self.item_ids), np.nan)
        )
        column = _column(self.items, "CREATION_TIMESTAMP")
        if column is not None:
            given = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            created = np.where(np.isnan(given), created, given)
        return created

    def with_data(
        self, items: pd.DataFrame | None = None, users: pd.DataFrame | None = None, new_items: bool = False
    ) -> Model:
        """This model over the datasets as they are now (`items`, `users`: the current rows, None: unchanged),
        as Personalize updates filters with new item and user data without retraining: filters see the current
        metadata. With `new_items` (recipes that `explores`), items the model was not trained on join its
        catalog, as the automatic update of user-personalization adds them: a new item scores the mean score of
        the trained items sharing its categorical metadata values (no shared value: the lowest score).
        `self` when nothing differs from what the model was trained on."""
        out = copy.copy(self)
        changed = False
        if users is not None and "USER_ID" in users.columns and len(users):
            users = users.assign(USER_ID=users["USER_ID"].astype(str)).drop_duplicates("USER_ID", keep="last")
            if self.users is None or not _same_rows(self.users, users, "USER_ID"):
                out.users = users.reset_index(drop=True)
                out._user_meta_index = {u: k for k, u in enumerate(out.users["USER_ID"])}
                changed = True
        if items is not None and "ITEM_ID" in items.columns and len(items):
            items = items.assign(ITEM_ID=items["ITEM_ID"].astype(str)).drop_duplicates("ITEM_ID", keep="last")
            trained = self.items if self.items is not None else pd.DataFrame({"ITEM_ID": self.item_ids})
            known = items["ITEM_ID"].isin(self.item_index)
            new = items[~known].reset_index(drop=True) if new_items else items.iloc[0:0]
            current = items[known].set_index("ITEM_ID").reindex(pd.Index(self.item_ids, name="ITEM_ID"))
            current = current.combine_first(trained.set_index("ITEM_ID").reindex(current.index)).reset_index()
            if len(new) or not _same_rows(trained, current, "ITEM_ID"):
                out.items = pd.concat([current, new], ignore_index=True)
                changed = True
            if len(new):
                out.item_ids = np.concatenate([self.item_ids, new["ITEM_ID"].to_numpy(dtype=str)])
                out.known_items = out.item_ids.tolist()
                out.item_index = {iid: k for k, iid in enumerate(out.known_items)}
                out.popularity = np.concatenate([self.popularity, np.zeros(len(new))])
                created = _column(new, "CREATION_TIMESTAMP")
                created = (
                    pd.to_numeric(created, errors="coerce").to_numpy(dtype=np.float64)
                    if created is not None
                    else np.full(len(new), np.nan)
                )
                out.item_created = np.concatenate([self.item_created, created])
                out._new_item_weights = _shared_value_weights(trained, new)
        if not changed:
            return self
        out._mask_cache = {}
        out._lock = threading.Lock()
        return out

    def _with_new_items(self, scores: np.ndarray) -> np.ndarray:
        """Model scores (over the trained items) extended to the catalog's new items."""
        if self._new_item_weights is None:
            return scores
        finite = np.where(np.isfinite(scores), scores, np.nan)
        low = np.nanmin(finite) if np.isfinite(finite).any() else 0.0
        filled = np.where(np.isfinite(scores), scores, low)
        w = self._new_item_weights
        shared = np.asarray(w.sum(axis=1)).ravel() > 0
        extra = np.where(shared, w @ filled, low)
        return np.concatenate([scores, extra])

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
        raise TypeError("item_filter must be a FilterExpr, BoundFilter, bool mask or callable(item_id) -> bool")

    # ---- scoring ---------------------------------------------------------------------------
    def _trained_indices(self, recent: Sequence[RecentEvent]) -> list[int]:
        """Catalog indices of the recent events' items the recipe was trained on."""
        out = []
        for e in recent or ():
            k = self.item_index.get(str(e[0]))
            if k is not None and k < self.n_model_items:
                out.append(k)
        return out

    def _history_row(self, u: int | None, recent: Sequence[RecentEvent]) -> sp.csr_matrix:
        n = self.n_model_items
        if u is not None:
            lo, hi = self.history.indptr[u], self.history.indptr[u + 1]
            row = sp.csr_matrix(
                (self.history.data[lo:hi], self.history.indices[lo:hi], np.array([0, hi - lo])), shape=(1, n)
            )
        else:
            row = sp.csr_matrix((1, n), dtype=np.float32)
        rec = [k for k in self._trained_indices(recent)]
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

    def _in_context(self, scores: np.ndarray, context: dict | None) -> np.ndarray:
        """Scores over the trained items plus the contextual metadata's term (algorithms/context.py)."""
        extra = self._context.scores(context) if self._context is not None and context else None
        return scores if extra is None else scores + extra

    def user_scores(self, user_id, recent_events, context: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores over the catalog, indices of items the user interacted with): the recipe's, or the popular
        items for a user the model does not know and who has no recent events; `context` (contextual metadata,
        {"DEVICE": "mobile"}) counts where the recipe uses it."""
        u = self._user_index.get(str(user_id)) if user_id is not None else None
        if u is not None and not recent_events:  # the hot path: no sparse row needed, just the history
            h = None
            seen = self.history.indices[self.history.indptr[u] : self.history.indptr[u + 1]].astype(np.int64)
        else:
            h = self._history_row(u, recent_events)
            seen = h.indices.astype(np.int64)
        if u is None and h.nnz == 0:
            scores = self.popularity[: self.n_model_items].copy()
        else:
            scores = self.recipe.user_scores(self, u, h, recent_events)
        return self._with_new_items(self._in_context(scores, context)), seen

    def recent_items(self, u: int | None, recent: Sequence[RecentEvent]) -> np.ndarray:
        """Catalog indices of the user's most recent items, oldest first (training tail + recent events)."""
        a = self.arrays
        stored = a["recent_items"][a["recent_indptr"][u] : a["recent_indptr"][u + 1]] if u is not None else []
        rec = self._trained_indices(recent)
        return np.concatenate([np.asarray(stored, dtype=np.int64), np.asarray(rec, dtype=np.int64)])

    def recommend(
        self, user_id: str | None = None, item_id: str | None = None, num_results: int = 25, **options
    ) -> list[tuple[str, float]]:
        """Top `num_results` (item_id, score) for what the recipe's requests name: :meth:`recommendations` (its
        keyword ``options``: item_filter, recent_events, ...) as pairs."""
        recs = self.recommendations(user_id, item_id, num_results, **options)
        return [(r.item_id, r.score) for r in recs]

    def recommendations(
        self,
        user_id: str | None = None,
        item_id: str | None = None,
        num_results: int = 25,
        item_filter: FilterExpr | BoundFilter | Callable | None = None,
        recent_events: Sequence[RecentEvent] | None = None,
        exploration: Exploration | None = None,
        promotion: Promotion | None = None,
        seed: int | None = None,
        context: dict | None = None,
    ) -> list[Recommended]:
        """The list for what the recipe's requests name: an item_id (related items), or a user_id (unknown or None
        user -> popular items, or fold-in of recent_events), leaving out the user's items where the recipe says
        so. `exploration` (recipes that explore: user-personalization) gives places to new and rarely seen items
        (exploration.py); `promotion` takes its share of the places from the items its filter allows, at random
        places (`seed`), in score order among themselves, while `item_filter` applies to the other items (the
        developer guide, "Promoting items"); `context` is the request's contextual metadata. Raises ValueError on a
        wrong input."""
        recent_events = _in_time_order(recent_events)
        num_results = int(num_results)
        if self.recipe.query == "itemId":
            if item_id is None:
                raise ValueError("itemId is required for a similar-items (SIMS) recipe.")
            scores = self.recipe.item_scores(self, item_id)
            base = np.isfinite(scores)
        else:
            if item_id is not None and user_id is None:
                raise ValueError(f"Recipe {self.recipe_arn} recommends for a userId, not an itemId.")
            scores, seen = self.user_scores(user_id, recent_events, context)
            base = np.ones(len(scores), dtype=bool)
            if self.recipe.excludes_history:
                base[seen] = False
                base[[self.item_index[str(e[0])] for e in recent_events if str(e[0]) in self.item_index]] = False
        allowed = base & self._allowed(item_filter, user_id, recent_events, item_id)
        promoted = np.zeros(0, dtype=np.int64)
        if promotion is not None:
            promo_allowed = base & self._allowed(promotion.item_filter, user_id, recent_events, item_id)
            promoted = top_k(scores, promo_allowed, min(promotion.count(num_results), num_results))
            allowed[promoted] = False
        rest = num_results - len(promoted)
        if exploration is not None and self.recipe.explores and exploration.weight > 0:
            interacted = self.popularity
            eligible = candidates(self.item_created, interacted, self.latest_ts, exploration.age_cutoff_days)
            idx = explore(scores, allowed, eligible, interacted, exploration, rest)
        else:
            idx = top_k(scores, allowed, rest)
        order = list(idx)
        if len(promoted):
            rng = np.random.default_rng(seed)
            total = len(order) + len(promoted)
            places = np.sort(rng.choice(total, size=len(promoted), replace=False))
            for place, k in zip(places, promoted, strict=True):
                order.insert(int(place), ("promoted", k))
        items = np.array([o[1] if isinstance(o, tuple) else o for o in order], dtype=np.int64)
        shown = self._normalise(scores, items).tolist() if len(items) else []
        return [
            Recommended(self.known_items[k], score, promotion.name if isinstance(o, tuple) else None)
            for o, k, score in zip(order, items, shown, strict=True)
        ]

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
        context: dict | None = None,
    ) -> list[tuple[str, float]]:
        """Order `item_ids` for the user (best first). Filtered-out items are dropped; items the model
        does not know keep their input order at the end with score 0. Scores are a softmax over the list."""
        recent_events = _in_time_order(recent_events)
        scores = self.recipe.rank_scores(self, user_id, recent_events)
        if context and self._context is not None:
            scores = scores.copy()
            scores[: self.n_model_items] = self._in_context(scores[: self.n_model_items], context)
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
