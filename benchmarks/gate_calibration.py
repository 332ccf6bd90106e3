"""How often does each gate promote? An equal challenger (should be ~never) and a better one (power), per mode.

Usage: .venv/bin/python -m benchmarks.gate_calibration [--seeds 20] [--datasets poc,generated] [--data DIR]
       [--sample-size 1000] [--share 0.1]

For every seed and dataset (the MovieLens POC data when ``--data`` exists, and data from
``personalize_local.engine.synthetic.generate(seed)``), the timeline of two retrain runs is simulated with the
local engine: the newest ``--share`` of events arrived between the runs, so the champion was trained (last run)
on the events before the cut C, and this run's challenger on every event. Scenarios:

- equal: champion and challenger are user-personalization with the same hyperparameters, other training seeds;
- better: a popularity-count champion, a user-personalization challenger;
- crippled: a user-personalization champion, a crippled challenger (2 factors, 1 iteration, no sequence part).

Gates, on the same models:

- offline_metrics (``metrics.gate.decide``, the default ``min_improvement``, baseline = popularity): each
  version's own offline metrics from the engine's documented split (champion: trained before C; challenger and
  baseline: trained on every event, this run's random test users);
- backtest (``personalize_ops.evaluation`` with the config's gate defaults: sample size, confidence level, BCa,
  resamples, ``min_improvement``):
  the staged CSV is cut at C (``holdout.find_cut`` with the champion's cut-off: no leakage), the challenger is
  the same recipe trained on the events before C (with its seed), and champion, challenger and the popularity
  baseline score the same sampled users; the decision is ``decide_backtest``.

Prints one row per dataset x scenario x mode: promotions / seeds, the rate with its 95% Wilson interval, and the
median seconds of the gate's own work per decision (training excluded; the backtest's includes cutting the
file, sampling, scoring ``sample`` users with three models and the bootstrap). Takes ~15 min on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd
from personalize_ops.config import Gate
from personalize_ops.evaluation.comparison import compare_models
from personalize_ops.evaluation.decision import decide_backtest
from personalize_ops.evaluation.holdout import build_holdout, find_cut
from personalize_ops.evaluation.scoring import Recommendations
from personalize_ops.metrics.gate import decide
from scipy.stats import binomtest

from personalize_local.engine import TrainingData, load_model, train
from personalize_local.engine.synthetic import generate

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens-poc"
UP = "arn:aws:personalize:::recipe/aws-user-personalization"
POP = "arn:aws:personalize:::recipe/aws-popularity-count"
CRIPPLED = {"hidden_dimension": "2", "training_iterations": "1", "sequence_weight": "0", "metadata_weight": "0"}
METRIC = "normalized_discounted_cumulative_gain_at_10"
SCENARIOS = ("equal", "better", "crippled")
MODES = ("offline_metrics", "backtest")
DEFAULTS = Gate()  # the config's defaults: sample size, confidence level, resamples, min_improvement


def datasets(names: list[str], data_dir: Path, seed: int) -> dict[str, pd.DataFrame]:
    out = {}
    if "poc" in names and (data_dir / "interactions.csv").exists():
        out["poc"] = pd.read_csv(data_dir / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    if "generated" in names:
        out["generated"] = generate(n_users=1500, n_items=400, n_interactions=45000, seed=seed).interactions
    return out


def one_run(frame: pd.DataFrame, seed: int, work: Path, share: float, sample_size: int, gate: Gate = DEFAULTS) -> dict:
    """Decisions of both gates for each scenario on one dataset and seed: {(scenario, mode): (promoted, s)}."""
    csv = work / "interactions.csv"
    frame.to_csv(csv, index=False)
    requested = find_cut(csv, share=share, has_champion=False).cutoff
    champion_until = int(frame.TIMESTAMP[frame.TIMESTAMP < requested].max())
    t = time.perf_counter()
    cut = find_cut(csv, share=share, champion_trained_until=champion_until)  # leakage: none
    holdout, training = build_holdout(csv, cut, sample_size=sample_size, seed=seed, training_out=work / "before.csv")
    prep = time.perf_counter() - t
    before = TrainingData(pd.read_csv(training.path, dtype={"USER_ID": str, "ITEM_ID": str}))
    everything = TrainingData(frame)

    def fit(name, recipe, data, s, hp=None):
        params = {"solutionConfig": {"algorithmHyperParameters": hp}} if hp else {}
        return train(recipe, data, params, work / name, seed=s), work / name

    champ_up = fit("champ_up", UP, before, 1000 + seed)
    champ_pop = fit("champ_pop", POP, before, 1000 + seed)
    chal_up = fit("chal_up", UP, before, 2000 + seed)
    chal_crip = fit("chal_crip", UP, before, 2000 + seed, CRIPPLED)
    full = {"up": fit("full_up", UP, everything, 2000 + seed)[0],
            "crip": fit("full_crip", UP, everything, 2000 + seed, CRIPPLED)[0],
            "pop": fit("full_pop", POP, everything, 2000 + seed)[0]}  # fmt: skip

    cache: dict[Path, tuple[Recommendations, float]] = {}

    def score(model_dir: Path) -> tuple[Recommendations, float]:
        if model_dir not in cache:
            t0 = time.perf_counter()
            model = load_model(model_dir)
            lists = {u: tuple(i for i, _ in model.recommend(user_id=u, num_results=25)) for u in holdout.users}
            cache[model_dir] = (Recommendations(str(model_dir), "engine", "engine", 25, None, lists, {}),
                                time.perf_counter() - t0)  # fmt: skip
        return cache[model_dir]

    plans = {  # scenario: (champion, challenger before C, challenger's offline metrics on every event)
        "equal": (champ_up, chal_up, full["up"]),
        "better": (champ_pop, chal_up, full["up"]),
        "crippled": (champ_up, chal_crip, full["crip"]),
    }
    out = {}
    for scenario, (champion, challenger, challenger_full) in plans.items():
        t0 = time.perf_counter()
        offline = decide(champion[0], challenger_full, METRIC, gate.min_improvement, full["pop"])
        out[(scenario, "offline_metrics")] = (offline.promoted, time.perf_counter() - t0)
        recs = {role: score(m[1]) for role, m in (("challenger", challenger), ("champion", champion),
                                                  ("baseline", champ_pop))}  # fmt: skip
        t0 = time.perf_counter()
        ev = compare_models(holdout, {r: v[0] for r, v in recs.items()}, metric=METRIC, seed=seed,
                            confidence_level=gate.confidence_level, n_resamples=gate.resamples)  # fmt: skip
        decision = decide_backtest(ev, min_improvement=gate.min_improvement)
        seconds = prep + sum(v[1] for v in recs.values()) + time.perf_counter() - t0
        out[(scenario, "backtest")] = (decision.promoted, seconds)
    out["users"] = len(holdout.truth)
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--datasets", default="poc,generated")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--share", type=float, default=0.1, help="newest share of events that arrived between runs")
    ap.add_argument("--sample-size", type=int, default=DEFAULTS.holdout.sample_size)
    args = ap.parse_args()
    names = args.datasets.split(",")
    results: dict[tuple, list] = defaultdict(list)
    users: dict[str, list[int]] = defaultdict(list)
    started = time.perf_counter()
    for seed in range(args.seeds):
        for name, frame in datasets(names, args.data, seed).items():
            with tempfile.TemporaryDirectory() as tmp:
                run = one_run(frame, seed, Path(tmp), args.share, args.sample_size)
            users[name].append(run.pop("users"))
            for (scenario, mode), value in run.items():
                results[(name, scenario, mode)].append(value)
        print(f"seed {seed} done ({time.perf_counter() - started:.0f}s)", flush=True)
    print(f"\nnewest {args.share:g} of events held out; backtest: sample {args.sample_size}, "
          f"{DEFAULTS.confidence_level:.0%} BCa interval, {DEFAULTS.resamples} resamples, "
          f"min_improvement {DEFAULTS.min_improvement:g} (both gates); {args.seeds} seeds")  # fmt: skip
    for name in users:
        print(f"{name}: holdout users per seed, median {statistics.median(users[name]):.0f} "
              f"(min {min(users[name])}, max {max(users[name])})")  # fmt: skip
    header = (
        f"{'dataset':<10} {'scenario':<9} {'mode':<16} {'promoted':>9} {'rate':>6}  {'95% Wilson':<15} {'median s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in users:
        for scenario in SCENARIOS:
            for mode in MODES:
                values = results[(name, scenario, mode)]
                k, n = sum(p for p, _ in values), len(values)
                lo, hi = wilson(k, n)
                median = statistics.median(s for _, s in values)
                print(f"{name:<10} {scenario:<9} {mode:<16} {f'{k}/{n}':>9} {k / n:>6.0%}  "
                      f"{f'{lo:.0%} .. {hi:.0%}':<15} {median:>8.3f}")  # fmt: skip
    print("\nequal: should not be promoted (target <= 5%); better: should be (power); crippled: should not be.")


if __name__ == "__main__":
    main()
