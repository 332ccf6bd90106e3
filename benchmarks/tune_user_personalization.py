"""Choose user-personalization defaults on a validation split carved from the TRAINING users only.

Usage: .venv/bin/python -m benchmarks.tune_user_personalization [--data DIR] [--seeds 1,2,3] [--grid JSON]

The held-out test users of the benchmark split (metrics.split_events with seed 42, as recipes_vs_aws uses)
are removed first, so nothing here ever sees them. On the remaining users, each candidate setting is
evaluated with the same documented procedure (10% of those users held out, their newest 10% as truth),
averaged over several validation seeds, next to popularity-count on the same validation splits.
Prints one row per setting (validation NDCG@10, MRR@25 and their ratios to popularity), best MRR last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from personalize_local.engine import metrics as M
from personalize_local.engine.data import encode, select_events
from personalize_local.engine.features import item_tokens
from personalize_local.engine.recipes import POPULARITY, USER_PERSONALIZATION
from personalize_local.engine.training import _effective_hp, evaluate

from .recipes_vs_aws import DEFAULT_DATA

DEFAULT_GRID = {"sequence_weight": ["1", "2", "3"], "sequence_half_life": ["1", "2", "3"]}


def training_users_only(inter: pd.DataFrame, items: pd.DataFrame, test_seed: int) -> pd.DataFrame:
    """Interactions minus every user that the benchmark split (seed `test_seed`) holds out."""
    enc = encode(select_events(inter, None, None), items)
    split = M.split_events(enc.u, enc.i, enc.ts, enc.n_users, test_seed)
    held_out = set(enc.user_ids[np.unique(enc.u[~split.train])].astype(str))
    return inter[~inter.USER_ID.astype(str).isin(held_out)], len(held_out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--test-seed", type=int, default=42, help="seed of the split whose test users are removed")
    ap.add_argument("--seeds", default="1,2,3", help="validation split seeds")
    ap.add_argument("--grid", type=json.loads, default=DEFAULT_GRID, help="{hyperparameter: [values]}")
    args = ap.parse_args()
    inter = pd.read_csv(args.data / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(args.data / "item-meta.csv", dtype={"ITEM_ID": str})
    train_inter, n_removed = training_users_only(inter, items, args.test_seed)
    enc = encode(select_events(train_inter, None, None), items)
    tokens = item_tokens(items, enc.item_ids)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"removed {n_removed} test users; validating on {enc.n_users} training users, seeds {seeds}")
    pop = [evaluate(POPULARITY, {}, enc, tokens, s) for s in seeds]
    pop_ndcg = np.mean([m["normalized_discounted_cumulative_gain_at_10"] for m in pop])
    pop_mrr = np.mean([m["mean_reciprocal_rank_at_25"] for m in pop])
    print(f"popularity-count validation: NDCG@10 {pop_ndcg:.4f}  MRR@25 {pop_mrr:.4f}")
    names = list(args.grid)
    rows = []
    for values in itertools.product(*(args.grid[n] for n in names)):
        hp = dict(zip(names, values, strict=True))
        eff = _effective_hp(USER_PERSONALIZATION, hp)
        t = time.perf_counter()
        ms = [evaluate(USER_PERSONALIZATION, eff, enc, tokens, s) for s in seeds]
        ndcg = np.mean([m["normalized_discounted_cumulative_gain_at_10"] for m in ms])
        mrr = np.mean([m["mean_reciprocal_rank_at_25"] for m in ms])
        rows.append((mrr, ndcg, hp, time.perf_counter() - t))
    rows.sort(key=lambda r: (r[0], r[1]))
    print(f"{'setting':60}{'NDCG@10':>9}{'ratio':>7}{'MRR@25':>9}{'ratio':>7}{'s':>6}")
    for mrr, ndcg, hp, secs in rows:
        print(f"{json.dumps(hp):60}{ndcg:9.4f}{ndcg / pop_ndcg:7.2f}{mrr:9.4f}{mrr / pop_mrr:7.2f}{secs:6.1f}")


if __name__ == "__main__":
    main()
