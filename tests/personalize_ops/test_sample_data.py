"""Sample data generator: seeded, raw (needs mapping), skewed, and with real signal beyond popularity."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pandas as pd
from personalize_ops.sample_data import generate

from tests.personalize_ops.transform.dataprep_helpers import REPO


def digest(folder) -> str:
    return "".join(hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in sorted(os.listdir(folder)))


def test_seeded_deterministic_and_raw(tmp_path):
    a = generate(tmp_path / "a", 12_000, seed=7, chunk_rows=5_000)
    generate(tmp_path / "b", 12_000, seed=7, chunk_rows=5_000)
    generate(tmp_path / "c", 12_000, seed=8, chunk_rows=5_000)
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")
    df = pd.read_csv(a["interactions"])
    assert len(df) == 12_000 and list(df.columns) == [
        "event_id",
        "session_id",
        "customer",
        "product",
        "ts_ms",
        "action",
    ]
    assert df["ts_ms"].min() > 1e12  # epoch milliseconds: the mapping must convert
    assert set(df["action"]) == {"view", "click", "add_to_cart", "purchase"}
    assert df.duplicated().sum() > 0  # double-fired events exist
    items = pd.read_csv(a["items"])
    assert items["tags"].str.contains(";").any() and items["created_at"].str.endswith("Z").all()
    users = pd.read_json(a["users"], lines=True)
    assert len(users) == a["n_users"] and set(users.columns) >= {"customer", "age_band", "membership"}


def test_skew_and_signal(tmp_path):
    info = generate(tmp_path, 60_000, seed=1)
    df = pd.read_csv(info["interactions"]).sort_values("ts_ms")
    cats = pd.read_csv(info["items"]).set_index("product")["category"]
    item_counts = df["product"].value_counts()
    assert item_counts.iloc[: len(item_counts) // 100].sum() > 0.1 * len(
        df
    )  # top 1% of items: >10% of events
    per_user = df["customer"].value_counts()
    assert per_user.quantile(0.9) > 3 * per_user.median()  # skewed activity
    # hold out each user's last event; category-aware popularity must beat global popularity
    last = df.groupby("customer").tail(1)
    train = df.drop(last.index)
    df_cat = train.assign(cat=train["product"].map(cats))
    top_global = set(train["product"].value_counts().index[:10])
    top_by_cat = {c: list(g["product"].value_counts().index[:10]) for c, g in df_cat.groupby("cat")}
    fav = df_cat.groupby("customer")["cat"].agg(lambda s: s.value_counts().index[0])
    held = last[last["customer"].isin(fav.index)]
    hit_pop = held["product"].isin(top_global).mean()
    hit_cat = sum(
        p in top_by_cat[fav[u]] for u, p in zip(held["customer"], held["product"], strict=True)
    ) / len(held)
    assert hit_cat > 1.5 * hit_pop, (hit_cat, hit_pop)


def test_cli_generate_sample(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "personalize_ops",
            "generate-sample",
            "--interactions",
            "10000",
            "--out",
            str(tmp_path),
            "--seed",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0 and "wrote 10,000 interactions" in out.stdout
    assert (tmp_path / "interactions.csv").exists() and (tmp_path / "users.jsonl").exists()
