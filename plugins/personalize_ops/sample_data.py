"""Seeded synthetic e-commerce data in a RAW form that needs mapping (so the demo needs no download).

``python -m personalize_ops generate-sample --interactions N --out DIR --seed S`` writes
  DIR/interactions.csv  event_id,session_id,customer,product,ts_ms,action   (epoch *milliseconds*)
  DIR/items.csv         product,category,tags,price,created_at            (tags ';'-separated, ISO-8601)
  DIR/users.jsonl       {"customer", "age_band", "membership", "country", "signup"}
Realism: power-law item popularity inside each category, log-normal user activity, sessions of
several events over a year, four event types, and real signal: every user has one or two favourite
categories that receive ~85% of their events, so collaborative recipes beat popularity.
About 0.2% of events are fired twice (exact duplicate rows; the total stays N) to exercise
de-duplication.
Interactions are generated and written in chunks (bounded memory for any N, 10k..100M); items and
users are small in comparison (N/20 and N/40 rows) and are also streamed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATEGORIES = ["books", "music", "movies", "games", "electronics", "home", "garden", "toys", "sports",
              "beauty", "fashion", "grocery"]  # fmt: skip
ACTIONS = np.array(["view", "click", "add_to_cart", "purchase"])
ACTION_P = [0.62, 0.24, 0.09, 0.05]
T0, T1 = 1_704_067_200, 1_735_689_600  # 2024-01-01 .. 2025-01-01 UTC
CHUNK = 1_000_000


@dataclass(frozen=True)
class World:
    """Users, items and the hidden preferences every chunk samples from."""

    n_users: int
    n_items: int
    cat_of_item: np.ndarray  # item index -> category
    cat_start: np.ndarray  # first item index of each category (items are grouped by category)
    cat_size: np.ndarray
    item_code: np.ndarray  # item index -> public numeric code (shuffled)
    user_cdf: np.ndarray  # cumulative activity weights
    fav: np.ndarray  # (n_users, 2) favourite categories


def make_world(n_interactions: int, seed: int) -> World:
    rng = np.random.default_rng([seed, 0])
    n_users, n_items = max(60, n_interactions // 40), max(120, n_interactions // 20)
    cat_w = rng.dirichlet(np.full(len(CATEGORIES), 2.0))
    cat_size = np.maximum(5, np.floor(cat_w * n_items).astype(np.int64))
    n_items = int(cat_size.sum())
    cat_start = np.concatenate([[0], np.cumsum(cat_size)[:-1]])
    activity = rng.lognormal(0.0, 1.2, n_users)
    fav = np.stack(
        [rng.choice(len(CATEGORIES), n_users, p=cat_w), rng.integers(0, len(CATEGORIES), n_users)], 1
    )
    return World(
        n_users=n_users,
        n_items=n_items,
        cat_of_item=np.repeat(np.arange(len(CATEGORIES)), cat_size),
        cat_start=cat_start,
        cat_size=cat_size,
        item_code=rng.permutation(n_items),
        user_cdf=np.cumsum(activity) / activity.sum(),
        fav=fav,
    )


def _ids(prefix: str, codes: np.ndarray, width: int):
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.utf8_lpad(pc.cast(pa.array(codes), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, s, "")


def interactions_chunk(w: World, seed: int, chunk_no: int, rows: int, first_event: int):
    """One chunk of raw interactions as a pyarrow Table (deterministic per (seed, chunk_no))."""
    import pyarrow as pa

    rng = np.random.default_rng([seed, 1, chunk_no])
    n_sessions = rows // 3 + 1
    lens = 1 + rng.geometric(0.4, n_sessions)
    lens = lens[: np.searchsorted(np.cumsum(lens), rows) + 1]
    lens[-1] -= lens.sum() - rows
    users = np.searchsorted(w.user_cdf, rng.random(len(lens)))
    users = np.minimum(users, w.n_users - 1)
    start = rng.integers(T0, T1, len(lens))
    user = np.repeat(users, lens)
    session = np.repeat(first_event + np.arange(len(lens)), lens)
    gap = rng.exponential(45.0, rows)
    first = np.repeat(np.cumsum(lens) - lens, lens)
    csum = np.cumsum(gap)
    offset = csum - csum[first]
    ts_ms = (np.repeat(start, lens) + offset).astype(np.int64) * 1000 + rng.integers(0, 1000, rows)
    prefer = rng.random(rows)
    cat = np.where(prefer < 0.6, w.fav[user, 0], np.where(prefer < 0.85, w.fav[user, 1], -1))
    rand_cat = w.cat_of_item[rng.integers(0, w.n_items, rows)]
    cat = np.where(cat < 0, rand_cat, cat)
    rank = np.floor(w.cat_size[cat] * rng.random(rows) ** 2.2).astype(np.int64)
    item = w.item_code[w.cat_start[cat] + rank]
    action = ACTIONS[rng.choice(len(ACTIONS), rows, p=ACTION_P)]
    event = first_event + np.arange(rows)
    dup = np.flatnonzero(rng.random(rows) < 0.002)  # double-fired events
    order = np.sort(np.concatenate([np.arange(rows), dup]), kind="stable")[:rows]
    return pa.table(
        {
            "event_id": _ids("e", event[order], 10),
            "session_id": _ids("s", session[order], 9),
            "customer": _ids("u", user[order], 7),
            "product": _ids("sku-", item[order], 7),
            "ts_ms": pa.array(ts_ms[order]),
            "action": pa.array(action[order]),
        }
    )


def _iso(epoch: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s").astype(object) + "Z"


def _write_items(w: World, seed: int, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng([seed, 2])
    idx = np.argsort(w.item_code)  # write in public-code order
    cats = np.array(CATEGORIES)[w.cat_of_item[idx]]
    n_tags = rng.integers(1, 4, w.n_items)
    tag_pool = np.array([f"t{i:02d}" for i in range(40)])
    tags = [";".join(tag_pool[rng.integers(0, 40, k)]) for k in n_tags]
    price = np.round(rng.lognormal(3.0, 0.8, w.n_items), 2)
    created = _iso(rng.integers(T0 - 3 * 365 * 86400, T1, w.n_items))
    table = pa.table(
        {
            "product": _ids("sku-", w.item_code[idx], 7),
            "category": pa.array(cats),
            "tags": pa.array(tags),
            "price": pa.array(price),
            "created_at": pa.array(created, pa.string()),
        }
    )
    pcsv.write_csv(table, path)


def _write_users(w: World, seed: int, path: Path) -> None:
    rng = np.random.default_rng([seed, 3])
    bands = np.array(["18-24", "25-34", "35-44", "45-54", "55+"])
    tiers = np.array(["free", "silver", "gold"])
    countries = np.array(["US", "DE", "FR", "GB", "JP", "BR", "IN"])
    signup = _iso(rng.integers(T0 - 5 * 365 * 86400, T0, w.n_users))
    with open(path, "w", encoding="utf-8") as f:
        for lo in range(0, w.n_users, CHUNK):
            hi = min(lo + CHUNK, w.n_users)
            b, t, c = (rng.integers(0, len(a), hi - lo) for a in (bands, tiers, countries))
            f.writelines(
                json.dumps({"customer": f"u{u:07d}", "age_band": bands[b[i]], "membership": tiers[t[i]],
                            "country": countries[c[i]], "signup": signup[u]}) + "\n"
                for i, u in enumerate(range(lo, hi))
            )  # fmt: skip


def generate(out_dir: str | Path, interactions: int, seed: int = 42, chunk_rows: int = CHUNK) -> dict:
    """Write the three raw files into ``out_dir``; returns their paths and row counts."""
    import pyarrow.csv as pcsv

    if interactions < 1:
        raise ValueError("interactions must be positive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = make_world(interactions, seed)
    path = out / "interactions.csv"
    written, chunk_no, writer = 0, 0, None
    try:
        while written < interactions:
            rows = min(chunk_rows, interactions - written)
            t = interactions_chunk(w, seed, chunk_no, rows, written)
            if writer is None:
                writer = pcsv.CSVWriter(str(path), t.schema)
            writer.write_table(t)
            written, chunk_no = written + rows, chunk_no + 1
    finally:
        if writer is not None:
            writer.close()
    _write_items(w, seed, out / "items.csv")
    _write_users(w, seed, out / "users.jsonl")
    return {
        "interactions": str(path),
        "items": str(out / "items.csv"),
        "users": str(out / "users.jsonl"),
        "events": written,
        "n_items": w.n_items,
        "n_users": w.n_users,
    }
