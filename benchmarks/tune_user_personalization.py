"""Choose user-personalization defaults on the TRAINING users only, cross-validated.

Usage: .venv/bin/python -m benchmarks.tune_user_personalization [--data DIR] [--folds 10] [--fold-seed 7]
       [--grid JSON]

The held-out test users of the benchmark split (metrics.split_events with seed 42, as recipes_vs_aws uses)
are removed first, so nothing here ever sees them. On the remaining users, each candidate setting is
evaluated with the documented procedure repeated so that every user is held out once (evaluation.cross_validate)
and pooled: ~550 users instead of one ~55-user split, next to popularity-count on the same folds.
Prints one row per setting (pooled NDCG@10, MRR@25, their ratios to popularity and a paired bootstrap 95%
interval of MRR@25 relative to the first setting of the grid), best MRR last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from personalize_local.engine import TrainingData
from personalize_local.engine import metrics as M
from personalize_local.engine.data import encode, select_events
from personalize_local.engine.evaluation import cross_validate

from .recipes_vs_aws import DEFAULT_DATA, paired_bootstrap_ratio

DEFAULT_GRID = {"sequence_weight": ["2", "3"], "metadata_weight": ["0", "1"]}
MRR, NDCG = "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_10"
RECIPE = "arn:aws:personalize:::recipe/"


def training_users_only(inter: pd.DataFrame, items: pd.DataFrame, test_seed: int) -> pd.DataFrame:
    """Interactions minus every user that the benchmark split (seed `test_seed`) holds out."""
    enc = encode(select_events(inter, None, None), items)
    split = M.split_events(enc.u, enc.i, enc.ts, enc.n_users, test_seed)
    held_out = set(enc.user_ids[np.unique(enc.u[~split.train])].astype(str))
    return inter[~inter.USER_ID.astype(str).isin(held_out)], len(held_out)


def pooled(recipe: str, data: TrainingData, hp: dict, seed: int, n_folds: int) -> dict[str, np.ndarray]:
    """Per-user MRR@25 and NDCG@10 over all folds."""
    folds = cross_validate(RECIPE + recipe, data, {"solutionConfig": {"algorithmHyperParameters": hp}}, seed, n_folds)
    per = [M.per_user_metrics(f.recommendations, f.truth) for f in folds]
    return {m: np.concatenate([p[m] for p in per]) for m in (MRR, NDCG)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--test-seed", type=int, default=42, help="seed of the split whose test users are removed")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--fold-seed", type=int, default=7)
    ap.add_argument("--grid", type=json.loads, default=DEFAULT_GRID, help="{hyperparameter: [values]}")
    args = ap.parse_args()
    inter = pd.read_csv(args.data / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(args.data / "item-meta.csv", dtype={"ITEM_ID": str})
    train_inter, n_removed = training_users_only(inter, items, args.test_seed)
    data = TrainingData(train_inter, items)
    print(f"removed {n_removed} test users; cross-validating on {train_inter.USER_ID.nunique()} training users")
    pop = pooled("aws-popularity-count", data, {}, args.fold_seed, args.folds)
    print(f"popularity-count: NDCG@10 {pop[NDCG].mean():.4f}  MRR@25 {pop[MRR].mean():.4f}")
    names = list(args.grid)
    rows, first = [], None
    for values in itertools.product(*(args.grid[n] for n in names)):
        hp = dict(zip(names, values, strict=True))
        t = time.perf_counter()
        up = pooled("aws-user-personalization", data, hp, args.fold_seed, args.folds)
        first = up if first is None else first
        lo, hi = paired_bootstrap_ratio(up[MRR], first[MRR])
        rows.append((up[MRR].mean(), up[NDCG].mean(), hp, lo, hi, time.perf_counter() - t))
    rows.sort(key=lambda r: (r[0], r[1]))
    print(f"{'setting':56}{'NDCG@10':>9}{'ratio':>7}{'MRR@25':>9}{'ratio':>7}{'vs first (95%)':>17}{'s':>6}")
    for mrr, ndcg, hp, lo, hi, secs in rows:
        ratios = f"{ndcg / pop[NDCG].mean():7.2f}{mrr:9.4f}{mrr / pop[MRR].mean():7.2f}"
        print(f"{json.dumps(hp):56}{ndcg:9.4f}{ratios}{f'{lo:.3f}-{hi:.3f}':>17}{secs:6.1f}")


if __name__ == "__main__":
    main()
