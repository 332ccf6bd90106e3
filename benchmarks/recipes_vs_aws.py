"""Offline metrics of every local recipe on the MovieLens POC data, side by side with Amazon Personalize's.

Usage: .venv/bin/python -m benchmarks.recipes_vs_aws [--data DIR] [--seed 42] [--other-seeds 1,2,3,4,5]
Trains each recipe with default settings on interactions.csv + item-meta.csv (the documented 90/10 user
split inside train()) and prints our metric next to the one AWS reported (aws_recorded_metrics.json).
With 610 users the held-out 10% is ~60 users, so one split is noisy: --other-seeds repeats the
user-personalization / popularity-count comparison on other random splits and prints each ratio and the median.
--folds N (default 10, 0 = off) repeats the documented procedure with every user held out once (fold 0 is the
split above) and prints the pooled ratio over all users; every ratio comes with a paired bootstrap 95% interval
(users resampled, the same users for both recipes).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from personalize_local.engine import TrainingData, evaluation_note, train
from personalize_local.engine.evaluation import cross_validate
from personalize_local.engine.metrics import METRIC_NAMES, per_user_metrics

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens-poc"
RECIPES = ["aws-user-personalization", "aws-sims", "aws-personalized-ranking", "aws-popularity-count"]
RATIO_METRICS = ("normalized_discounted_cumulative_gain_at_10", "mean_reciprocal_rank_at_25")
SHORT = {
    "coverage": "coverage",
    "mean_reciprocal_rank_at_25": "MRR@25",
    "normalized_discounted_cumulative_gain_at_5": "NDCG@5",
    "normalized_discounted_cumulative_gain_at_10": "NDCG@10",
    "normalized_discounted_cumulative_gain_at_25": "NDCG@25",
    "precision_at_5": "P@5",
    "precision_at_10": "P@10",
    "precision_at_25": "P@25",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--other-seeds", default="", help="comma-separated split seeds for the ratio table")
    ap.add_argument("--folds", type=int, default=10, help="cross-validation folds for the pooled ratio (0 = off)")
    args = ap.parse_args()
    inter = pd.read_csv(args.data / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(args.data / "item-meta.csv", dtype={"ITEM_ID": str})
    aws = json.loads((args.data / "aws_recorded_metrics.json").read_text())["solutions"]
    data = TrainingData(inter, items)
    ours, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in RECIPES:
            t = time.perf_counter()
            arn = f"arn:aws:personalize:::recipe/{name}"
            ours[name] = train(arn, data, {}, Path(tmp) / name, seed=args.seed)
            seconds[name] = time.perf_counter() - t
    print(f"MovieLens POC: {len(inter)} interactions, {inter.USER_ID.nunique()} users, seed {args.seed}")
    cols = []  # (label, metrics, training seconds or None)
    for name in RECIPES:
        short = name.replace("aws-", "")
        cols.append((short + " local", ours[name], seconds[name]))
        if name in aws:
            cols.append((short + " AWS", aws[name], None))
    width = max(len(c[0]) for c in cols) + 1
    print("metric".ljust(9) + "".join(c[0].rjust(width) for c in cols))
    for m in METRIC_NAMES:
        print(SHORT[m].ljust(9) + "".join(f"{c[1][m]:.4f}".rjust(width) for c in cols))
    print("train s".ljust(9) + "".join((f"{c[2]:.1f}" if c[2] is not None else "-").rjust(width) for c in cols))
    for name in RECIPES:
        note = evaluation_note(f"arn:aws:personalize:::recipe/{name}")
        if note:
            print(f"note: {note}")
    if args.folds:
        pooled_ratios(data, args.seed, args.folds)
    else:
        up, pop = ours["aws-user-personalization"], ours["aws-popularity-count"]
        for m in RATIO_METRICS:
            print(f"user-personalization / popularity-count {SHORT[m]}: {up[m] / max(pop[m], 1e-12):.2f}x")
    if args.other_seeds:
        ratio_table(data, [int(x) for x in args.other_seeds.split(",")])


def pooled_ratios(data: TrainingData, seed: int, n_folds: int) -> None:
    """user-personalization / popularity-count on the benchmark split (fold 0) and pooled over all folds."""
    per_user = {}
    for name in ("aws-user-personalization", "aws-popularity-count"):
        folds = cross_validate(f"arn:aws:personalize:::recipe/{name}", data, seed=seed, n_folds=n_folds)
        per_user[name] = [per_user_metrics(f.recommendations, f.truth) for f in folds]
    up, pop = per_user["aws-user-personalization"], per_user["aws-popularity-count"]
    n_users = sum(len(f[RATIO_METRICS[0]]) for f in up)
    for label, sel in (
        (f"split seed {seed} ({len(up[0][RATIO_METRICS[0]])} users)", slice(0, 1)),
        (f"{n_folds} folds pooled ({n_users} users)", slice(None)),
    ):
        for m in RATIO_METRICS:
            a = np.concatenate([f[m] for f in up[sel]])
            b = np.concatenate([f[m] for f in pop[sel]])
            ratio = a.mean() / max(b.mean(), 1e-12)
            lo, hi = paired_bootstrap_ratio(a, b)
            verdict = "OK" if ratio >= 2 else "BELOW"
            print(
                f"user-personalization / popularity-count {SHORT[m]}, {label}: {a.mean():.4f} / {b.mean():.4f} = "
                f"{ratio:.2f}x ({verdict} the 2x target; 95% interval {lo:.2f}-{hi:.2f}x)"
            )


def paired_bootstrap_ratio(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of mean(a) / mean(b) with users (rows of a and b together) resampled."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), (n, len(a)))
    ratios = a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-12)
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def ratio_table(data: TrainingData, seeds: list[int]) -> None:
    """user-personalization / popularity-count NDCG@10 and MRR@25 on each split seed, and the medians."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            up, pop = (
                train(f"arn:aws:personalize:::recipe/{name}", data, {}, Path(tmp) / f"{name}-{seed}", seed=seed)
                for name in ("aws-user-personalization", "aws-popularity-count")
            )
            rows.append([up[m] / max(pop[m], 1e-12) for m in RATIO_METRICS])
    print("split seed  " + "".join(f"{SHORT[m]} ratio".rjust(15) for m in RATIO_METRICS))
    for seed, row in zip(seeds, rows, strict=True):
        print(f"{seed:<12}" + "".join(f"{r:.2f}x".rjust(15) for r in row))
    medians = np.median(np.array(rows), axis=0)
    print("median".ljust(12) + "".join(f"{r:.2f}x".rjust(15) for r in medians))


if __name__ == "__main__":
    main()
