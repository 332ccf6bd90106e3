"""In-process latency of Model.recommend() / rank() on a model trained on the MovieLens POC data.

Usage: .venv/bin/python -m benchmarks.serving_engine [--requests 2000]
Reports median and p99 (wall and thread CPU) in milliseconds without a filter, with an item-metadata
filter with a $PARAM (cached mask), with an Interactions filter (per-user mask), with recent events
(fold-in) and for ranking.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from personalize_local.engine import load_model, parse_filter, train
from personalize_local.engine.data import TrainingData

from .recipes_vs_aws import DEFAULT_DATA

ARN = "arn:aws:personalize:::recipe/"


def _time(fn, n: int) -> tuple[float, float, float]:
    """(median wall ms, p99 wall ms, p99 thread-CPU ms); CPU time excludes preemption on a busy machine."""
    lat, cpu = [], []
    for k in range(n):
        t, c = time.perf_counter(), time.thread_time()
        fn(k)
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    return statistics.median(lat), float(np.percentile(lat, 99)), float(np.percentile(cpu, 99))


def main() -> None:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    inter = pd.read_csv(DEFAULT_DATA / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(DEFAULT_DATA / "item-meta.csv", dtype={"ITEM_ID": str})
    data = TrainingData(inter, items)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        up_dir, sims_dir = Path(tmp) / "up", Path(tmp) / "sims"
        train(ARN + "aws-user-personalization", data, {}, up_dir)
        train(ARN + "aws-sims", data, {}, sims_dir)
        up, sims = load_model(up_dir), load_model(sims_dir)
        users = rng.choice(up.user_ids, args.requests)
        item_ids = np.array(up.known_items)
        genre = parse_filter("EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE)").bind(
            {"GENRE": '"Horror","Drama"'}
        )
        seen = parse_filter(
            'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch") | '
            "INCLUDE ItemID WHERE Items.YEAR >= 1990"
        )
        recent = [
            [(str(i), "watch", 1_700_000_000) for i in rng.choice(item_ids, 3)] for _ in range(args.requests)
        ]
        lists = [rng.choice(item_ids, 50, replace=False).tolist() for _ in range(args.requests)]
        cases = {
            "UP recommend, no filter": lambda k: up.recommend(user_id=users[k]),
            "UP recommend, Items filter ($PARAM)": lambda k: up.recommend(
                user_id=users[k], item_filter=genre
            ),
            "UP recommend, Interactions + Items": lambda k: up.recommend(user_id=users[k], item_filter=seen),
            "UP recommend, 3 recent events": lambda k: up.recommend(
                user_id=users[k], recent_events=recent[k]
            ),
            "UP rank 50 items": lambda k: up.rank(users[k], lists[k]),
            "SIMS recommend, no filter": lambda k: sims.recommend(item_id=item_ids[k % len(item_ids)]),
            "SIMS recommend, Items filter": lambda k: sims.recommend(
                item_id=item_ids[k % len(item_ids)], item_filter=genre
            ),
        }
        print(
            f"Model.recommend latency: {args.requests} requests each, 25 results, {len(item_ids)} items"
        )
        print(f"{'case':<40} {'median ms':>10} {'p99 ms':>8} {'p99 CPU ms':>11}")
        for name, fn in cases.items():
            fn(0)  # warm caches
            med, p99, cpu99 = _time(fn, args.requests)
            print(f"{name:<40} {med:>10.3f} {p99:>8.3f} {cpu99:>11.3f}")


if __name__ == "__main__":
    main()
