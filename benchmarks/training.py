"""Training time and peak memory of user-personalization (full training incl. offline evaluation), and the
time of an UPDATE training (trainingMode UPDATE: warm start from the full model, no evaluation) on the same data.

Usage: .venv/bin/python -m benchmarks.training [--sizes poc,10m] [--runs 3]
Sizes: `poc` (MovieLens POC data from ../shared), or a synthetic size such as `1m`, `10m` (interactions;
users = n/50, items = n/200 capped at 100k, power-law item popularity, generated with numpy).
Each run is a fresh subprocess so its peak RSS (ru_maxrss, includes loading the data) is its own; data
generation/reading is not part of the wall time. Prints the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_POC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens-poc"
RECIPE = "arn:aws:personalize:::recipe/aws-user-personalization"


def _parse_size(size: str) -> int:
    s = size.lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in "km" else s) * mult)


def load(size: str):
    import pandas as pd

    from personalize_local.engine import TrainingData
    from personalize_local.engine.synthetic import generate

    if size == "poc":
        inter = pd.read_csv(DEFAULT_POC / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
        items = pd.read_csv(DEFAULT_POC / "item-meta.csv", dtype={"ITEM_ID": str})
        return TrainingData(inter, items)
    n = _parse_size(size)
    return generate(
        n_users=max(n // 50, 100),
        n_items=min(max(n // 200, 100), 100_000),
        n_interactions=n,
        n_genres=20,
        seed=0,
        string_ids=False,
    )


def child(size: str) -> None:
    from personalize_local.engine import train

    data = load(size)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        metrics = train(RECIPE, data, {}, Path(tmp) / "model")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        train(RECIPE, data, {"trainingMode": "UPDATE"}, Path(tmp) / "update", previous_dir=Path(tmp) / "model")
        update_wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "update_wall": update_wall,
                "rss_mb": rss_mb,
                "n": len(data.interactions),
                "ndcg10": metrics["normalized_discounted_cumulative_gain_at_10"],
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="poc,10m")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for size in args.sizes.split(","):
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.training", "--child", size],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  {size}: {runs[-1]}", file=sys.stderr, flush=True)
        rows.append(
            (
                size,
                runs[0]["n"],
                statistics.median(r["wall"] for r in runs),
                statistics.median(r["cpu"] for r in runs),
                statistics.median(r["update_wall"] for r in runs),
                max(r["rss_mb"] for r in runs),
                runs[0]["ndcg10"],
            )
        )
    print(f"user-personalization training, median of {args.runs} runs (wall includes offline evaluation;")
    print("UPDATE s: trainingMode UPDATE on the same data, warm-started from that full model)")
    head = ("size", 6), ("interactions", 13), ("wall s", 8), ("cpu s", 8), ("UPDATE s", 9), ("peak RSS MB", 12)
    print(" ".join(f"{name:>{width}}" for name, width in head), f"{'NDCG@10':>8}")
    for size, n, wall, cpu, update, rss, ndcg in rows:
        print(f"{size:>6} {n:>13,} {wall:>8.1f} {cpu:>8.1f} {update:>9.1f} {rss:>12.0f} {ndcg:>8.4f}")


if __name__ == "__main__":
    main()
