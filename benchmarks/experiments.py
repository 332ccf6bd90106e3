"""Online experiments: false positives under daily looks, power for +10% click-through, and a MovieLens replay.

Usage: .venv/bin/python -m benchmarks.experiments [--aa-runs 400] [--power-runs 100] [--users 2000,4000,...]
       [--days 28] [--seed 0] [--no-poc]

1. A/A: two equal variants, looked at every day for ``--days`` days with ``analyze()`` (the always-valid
   confidence sequence, tuned at minimum_effect 5% and 10%; an experiment stops at its first final verdict, as
   the report DAG does). Reports how
   often a difference is declared (target <= 5%) with a Wilson 95% interval, how often the sample-ratio check
   fires, and, on the same data, the naive alternative: a fixed-alpha z-test (same delta-method variance) read
   every day and acted on at the first p < 0.05, and the same z-test read once at the end.
2. A/B with +10% relative click-through: power (share of experiments that declare the better variant the winner
   within ``--days`` days) against the number of users, with the mixture tuned at the default minimum_effect (5%)
   and at 10%; the median decision day; the fixed-horizon z-test's power for contrast; and the users needed for
   80% power (log-linear interpolation between grid points).
   Synthetic traffic (the recommender of each variant has a known CTR): each user gets a click propensity from a
   Beta distribution with mean 5% (users differ), sees Poisson(0.5) lists a day and clicks each with their
   propensity (x 1.1 in variant b). Users are assigned by the experiment hash.
3. MovieLens POC replay (needs ../shared/data/movielens-poc): the newest 20% of each user's interactions are
   held out as their future; popularity-count (control) and user-personalization are trained on the rest with
   personalize_local's engine, and the 610 users replay their future against their variant through the
   traffic simulator (position-biased clicks). Reports each variant's CTR and the verdict, and an A/A on
   popularity for comparison.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from personalize_ops.experiments.analysis import Moments, VariantData, Verdict, analyze
from personalize_ops.experiments.assignment import assign
from personalize_ops.experiments.config import Experiment
from personalize_ops.experiments.events import aggregate
from personalize_ops.experiments.simulator import simulate
from scipy import stats

from .recipes_vs_aws import DEFAULT_DATA

CTR, LISTS_PER_DAY, CONCENTRATION, LIFT = 0.05, 0.5, 20.0, 0.10
TUNINGS = (0.05, 0.10)  # minimum_effect: where the mixture is tuned


def experiment(name: str, days: int, min_users: int = 100, min_days: int = 1, minimum_effect: float = 0.05):
    """The benchmark's experiment: a/b on ctr, every daily look counts (min 1 day), alpha 0.05."""
    return Experiment.model_validate(
        {
            "name": name,
            "variants": [{"name": "a", "campaign": "a"}, {"name": "b", "campaign": "b"}],
            "primary_metric": {"kind": "ctr"},
            "minimum_effect": minimum_effect,
            "min_users_per_variant": min_users,
            "min_days": min_days,
            "max_days": days,
        }
    )


def synthetic_run(n_users: int, lift: float, days: int, seed: int) -> dict:
    """One experiment on synthetic traffic: the sequential verdicts (mixture tuned at a minimum effect of 5%, the
    default, and of 10%) and the fixed-alpha z-test's outcomes."""
    exps = {tuned: experiment(f"bench-{seed}-{n_users}-{round(lift * 100)}", days, minimum_effect=tuned)
            for tuned in TUNINGS}  # fmt: skip
    split = exps[TUNINGS[0]].split
    rng = np.random.default_rng(seed)
    is_b = np.array([assign(exps[TUNINGS[0]].name, f"user-{i}", split) == "b" for i in range(n_users)])
    p = rng.beta(CTR * CONCENTRATION, (1 - CTR) * CONCENTRATION, n_users) * np.where(is_b, 1 + lift, 1.0)
    p = np.minimum(p, 1.0)
    lists, clicks = np.zeros(n_users), np.zeros(n_users)
    seq = {t: {"verdict": Verdict.RUNNING, "winner": None, "day": None} for t in TUNINGS}
    out = {"seq": seq, "naive_any": False, "srm": False}
    for day in range(1, days + 1):
        shown = rng.poisson(LISTS_PER_DAY, n_users)
        lists += shown
        clicks += rng.binomial(shown, p)
        seen = lists > 0
        data = {}
        for name, mask in (("a", seen & ~is_b), ("b", seen & is_b)):
            data[name] = VariantData(name, int(mask.sum()), {"ctr": Moments.from_users(clicks[mask], lists[mask])})
        z_sig = _z_significant(data["a"].metrics["ctr"], data["b"].metrics["ctr"])
        out["naive_any"] |= z_sig
        if day == days:
            out["fixed_any"] = z_sig
            out["fixed"] = z_sig and data["b"].metrics["ctr"].value > data["a"].metrics["ctr"].value
        for tuned, exp in exps.items():
            if seq[tuned]["day"] is None:
                res = analyze(exp, data, day)
                out["srm"] |= res.verdict == Verdict.SRM
                if res.final:
                    seq[tuned].update(verdict=res.verdict, winner=res.winner, day=day)
    return out


def _z_significant(a: Moments, b: Moments, alpha: float = 0.05) -> bool:
    """The fixed-horizon test: |log ratio| / its delta-method standard error above the normal quantile."""
    if not (a.value > 0 and b.value > 0):
        return False
    se = math.sqrt(a.variance / a.value**2 + b.variance / b.value**2)
    return abs(math.log(b.value / a.value)) / se > stats.norm.ppf(1 - alpha / 2)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def aa_table(runs: int, n_users: int, days: int, seed: int) -> None:
    results = [synthetic_run(n_users, 0.0, days, seed + i) for i in range(runs)]
    rows = [
        *(
            (f"always-valid sequence (minimum_effect {t:.0%}), daily looks",
             sum(r["seq"][t]["verdict"] == Verdict.WINNER for r in results))
            for t in TUNINGS
        ),
        ("fixed-alpha z-test, daily looks (naive)", sum(r["naive_any"] for r in results)),
        (f"fixed-alpha z-test, one look at day {days}", sum(r["fixed_any"] for r in results)),
        ("sample-ratio mismatch flagged (any look, p < 0.001)", sum(r["srm"] for r in results)),
    ]  # fmt: skip
    print(f"\nA/A: {runs} experiments, {n_users:,} users, {days} daily looks, CTR {CTR:.0%}, alpha 0.05")
    print(f"{'declared different':58}{'rate':>8}{'Wilson 95%':>18}")
    for label, k in rows:
        lo, hi = wilson(k, runs)
        print(f"{label:58}{k / runs:>8.1%}{f'{lo:.1%} .. {hi:.1%}':>18}")
    t = TUNINGS[0]
    no_diff = sum(r["seq"][t]["verdict"] == Verdict.NO_DIFFERENCE for r in results)
    running = sum(r["seq"][t]["verdict"] == Verdict.RUNNING for r in results)
    print(f"always-valid verdicts ({t:.0%}): 'no difference' by day {days}: {no_diff}/{runs}; still running: {running}")


def power_table(runs: int, grid: list[int], days: int, seed: int) -> None:
    print(f"\nA/B: +{LIFT:.0%} relative CTR (b), {runs} experiments per size, {days} days, alpha 0.05")
    heads = [f"power (seq {t:.0%})" for t in TUNINGS] + [f"median day ({TUNINGS[0]:.0%})", "wrong winner"]
    heads.append(f"power (fixed, day {days})")
    print(f"{'users':>8}" + "".join(f"{h:>{len(h) + 3}}" for h in heads))
    powers: dict[float, list[float]] = {t: [] for t in TUNINGS}
    fixed_powers = []
    for n in grid:
        res = [synthetic_run(n, LIFT, days, seed + 10_000 + i) for i in range(runs)]
        cells = []
        for t in TUNINGS:
            won = [
                r["seq"][t] for r in res if r["seq"][t]["verdict"] == Verdict.WINNER and r["seq"][t]["winner"] == "b"
            ]
            powers[t].append(len(won) / runs)
            cells.append(f"{len(won) / runs:.0%}")
            if t == TUNINGS[0]:
                median = f"{statistics.median(w['day'] for w in won):g}" if won else "-"
        wrong = sum(
            r["seq"][t]["verdict"] == Verdict.WINNER and r["seq"][t]["winner"] == "a" for r in res for t in TUNINGS
        )
        fixed_powers.append(sum(r["fixed"] for r in res) / runs)
        cells += [median, str(wrong), f"{fixed_powers[-1]:.0%}"]
        print(f"{n:>8,}" + "".join(f"{c:>{len(h) + 3}}" for c, h in zip(cells, heads, strict=True)))
    for t in TUNINGS:
        print(f"users needed for 80% power (sequential, minimum_effect {t:.0%}): {_needed(grid, powers[t], 0.8)}")
    print(f"users needed for 80% power (fixed horizon, one look at day {days}): {_needed(grid, fixed_powers, 0.8)}")


def _needed(grid: list[int], powers: list[float], target: float) -> str:
    for (n0, p0), (n1, p1) in zip(zip(grid, powers, strict=True), zip(grid[1:], powers[1:], strict=True), strict=False):
        if p0 < target <= p1:
            t = (target - p0) / (p1 - p0)
            return f"~{round(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))), -2):,.0f}"
    return f"<= {grid[0]:,}" if powers and powers[0] >= target else f"> {grid[-1]:,}"


def poc_replay(data_dir: Path, days: int, seed: int) -> None:
    import pandas as pd

    from personalize_local.engine import TrainingData, load_model, train

    inter = pd.read_csv(data_dir / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(data_dir / "item-meta.csv", dtype={"ITEM_ID": str})
    inter = inter.sort_values(["USER_ID", "TIMESTAMP"], kind="stable")
    rank = inter.groupby("USER_ID").cumcount()
    size = inter.groupby("USER_ID")["ITEM_ID"].transform("size")
    held = rank >= (size * 0.8).astype(int)
    past, fut = inter[~held], inter[held]
    future = {u: list(dict.fromkeys(g.ITEM_ID)) for u, g in fut.groupby("USER_ID")}
    models, offline = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for short, recipe in (
            ("popularity", "aws-popularity-count"),
            ("user-personalization", "aws-user-personalization"),
        ):
            out = Path(tmp) / short
            offline[short] = train(
                f"arn:aws:personalize:::recipe/{recipe}", TrainingData(past, items), {}, out, seed=seed
            )
            models[short] = load_model(out)
        cache: dict[tuple[str, str], list[str]] = {}

        def recommender(name: str):
            def rec(user: str) -> list[str]:
                key = (name, user)
                if key not in cache:
                    cache[key] = [i for i, _ in models[name].recommend(user_id=user, num_results=10)]
                return cache[key]

            return rec

        print(
            f"\nMovieLens POC replay: {len(future)} users, newest 20% of each user's interactions held out, {days} days"
        )
        print(f"{'experiment':34}{'CTR a':>8}{'CTR b':>8}{'lift':>8}{'interval':>20}{'verdict':>22}{'day':>5}")
        for label, a, b in (
            ("popularity vs user-personalization", "popularity", "user-personalization"),
            ("A/A: popularity vs popularity", "popularity", "popularity"),
        ):
            exp = experiment(f"poc-{a}-{b}", days, min_users=100, min_days=7)
            exposures, calls, res = [], [], None
            recs = {"a": recommender(a), "b": recommender(b)}
            for day in simulate(exp.name, exp.split, recs, future, days, seed=seed):
                exposures += day.exposures
                calls += day.calls
                res = analyze(exp, aggregate(exp, exposures, calls), day.day + 1)
                if res.final:
                    break
            c = res.comparisons[0]
            interval = f"{c.low:+.1%} .. {c.high:+.1%}" if c.low is not None else "n/a"
            verdict = res.verdict.value + (f" ({res.winner})" if res.winner else "")
            print(
                f"{label:34}{c.control_value:>8.4f}{c.variant_value:>8.4f}{c.lift:>+8.1%}{interval:>20}{verdict:>22}{res.day:>5g}"
            )
        ndcg = "normalized_discounted_cumulative_gain_at_10"
        print(
            f"offline NDCG@10 on the same split: popularity {offline['popularity'][ndcg]:.4f}, "
            f"user-personalization {offline['user-personalization'][ndcg]:.4f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aa-runs", type=int, default=400)
    ap.add_argument("--aa-users", type=int, default=10_000)
    ap.add_argument("--power-runs", type=int, default=100)
    ap.add_argument("--users", default="2000,4000,8000,16000,32000", help="total users per A/B experiment")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--no-poc", action="store_true", help="skip the MovieLens replay")
    args = ap.parse_args()
    t = time.perf_counter()
    aa_table(args.aa_runs, args.aa_users, args.days, args.seed)
    power_table(args.power_runs, [int(x) for x in args.users.split(",")], args.days, args.seed)
    if not args.no_poc:
        if (args.data / "interactions.csv").exists():
            poc_replay(args.data, args.days, args.seed)
        else:
            print(f"\nMovieLens replay skipped: no {args.data / 'interactions.csv'}")
    print(f"\n{time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
