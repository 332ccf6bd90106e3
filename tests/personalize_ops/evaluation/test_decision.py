"""The backtest decision: promotes only beyond noise, refuses leakage, records and prints what it decided."""

import json

import numpy as np
import pytest
from personalize_ops.evaluation.comparison import Evaluation, compare_models
from personalize_ops.evaluation.decision import decide_backtest, render_table
from personalize_ops.evaluation.holdout import Cut, Holdout
from personalize_ops.evaluation.scoring import Recommendations
from personalize_ops.metrics.history import validate_gate_record

NDCG = "normalized_discounted_cumulative_gain_at_10"
T0 = 1_700_000_000


def holdout(n_users=300, leakage="none", seed=0, n_items=200):
    rng = np.random.default_rng(seed)
    cut = Cut(T0, "newest 604800s", T0, T0 - 10**7, T0 + 604799, 10**5, T0 - 1, leakage)
    truth = {f"u{i:04d}": tuple(f"i{x}" for x in rng.choice(n_items, 3, replace=False)) for i in range(n_users)}
    return Holdout(cut, seed, n_users, None, 9 * 10**4, 10**4, n_users * 2, 0, n_items, truth)


def model(h, hit_rate, seed, arn="arn:aws:personalize:us-east-1:000000000000:solution/s/v", path="batch"):
    """Lists whose first item is one of the user's truth items with probability ``hit_rate``."""
    rng = np.random.default_rng(seed)
    lists = {}
    for u, items in h.truth.items():
        filler = [f"x{seed}-{k}" for k in range(24)]
        lists[u] = tuple(([items[0]] if rng.random() < hit_rate else [f"miss{seed}"]) + filler)
    return Recommendations(arn + str(seed), path, "arn:job", 25, None, lists, {})


def evaluate(h, **roles):
    return compare_models(h, roles, metric=NDCG, trained_until={"challenger": T0 - 1, "champion": T0 - 5},
                          seed=1)  # fmt: skip


def test_clearly_better_challenger_is_promoted_and_recorded():
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.6, 1), champion=model(h, 0.2, 2), baseline=model(h, 0.1, 3))
    d = decide_backtest(ev, min_improvement=0.05)
    assert d.promoted and d.reason.startswith("promoted: challenger beats champion by +")
    assert ev.versus_champion.low > 0.05 and "interval" in d.reason and "needed lower bound >= +5.0%" in d.reason
    assert d.challenger_value == ev.model("challenger").metrics[NDCG] > d.champion_value > d.baseline_value
    record = d.to_record(campaign="c", champion_arn="old", challenger_arn="new", run_id="r1")
    stored = validate_gate_record(json.loads(json.dumps(record)))
    assert stored["evaluation"]["mode"] == "backtest" and stored["promoted"] is True
    assert stored["evaluation"]["holdout"]["n_users"] == 300 and "truth" not in stored["evaluation"]["holdout"]
    assert Evaluation.from_dict({k: v for k, v in stored["evaluation"].items() if k != "mode"}) == ev


def test_equal_challenger_is_not_significant():
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.3, 1), champion=model(h, 0.3, 2), baseline=model(h, 0.05, 3))
    d = decide_backtest(ev)
    iv = ev.versus_champion
    assert not d.promoted and d.reason.startswith("not promoted: not significant against the champion")
    assert iv.low < 0 < iv.high and f"{iv.low:+.1%}" in d.reason


def test_crippled_challenger_is_refused_as_worse():
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.05, 1), champion=model(h, 0.4, 2))
    d = decide_backtest(ev)
    assert not d.promoted and d.reason.startswith("not promoted: challenger is worse than the champion")


def test_baseline_must_be_beaten_the_same_way():
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.3, 1), champion=model(h, 0.1, 2), baseline=model(h, 0.29, 3))
    d = decide_backtest(ev)
    assert not d.promoted and "against the popularity baseline" in d.reason


def test_no_champion_compares_to_the_baseline_only():
    h = holdout(leakage="no champion")
    promoted = decide_backtest(evaluate(h, challenger=model(h, 0.5, 1), baseline=model(h, 0.1, 3)))
    assert promoted.promoted and "no champion yet" in promoted.reason and "beats the baseline" in promoted.reason
    refused = decide_backtest(evaluate(h, challenger=model(h, 0.1, 1), baseline=model(h, 0.1, 4)))
    assert not refused.promoted and "baseline" in refused.reason
    alone = decide_backtest(evaluate(h, challenger=model(h, 0.1, 1)))
    assert alone.promoted and alone.champion_value is None and alone.baseline_value is None


@pytest.mark.parametrize(("leakage", "words"), [("refused", "was trained on events until"), ("unknown", "unknown")])
def test_leakage_refuses_the_comparison(leakage, words):
    h = holdout(leakage=leakage)
    ev = evaluate(h, challenger=model(h, 0.9, 1), baseline=model(h, 0.1, 3))  # the champion was not scored
    d = decide_backtest(ev)
    assert not d.promoted and d.reason.startswith("not promoted: leakage:") and words in d.reason


def test_degenerate_holdouts_never_promote():
    empty = holdout(n_users=0)
    d = decide_backtest(evaluate(empty, challenger=model(empty, 1, 1), champion=model(empty, 0, 2)))
    assert not d.promoted and "no signal: no sampled users" in d.reason
    one = holdout(n_users=1)
    d = decide_backtest(evaluate(one, challenger=model(one, 1, 1), champion=model(one, 0, 2)))
    assert not d.promoted and "a single user" in d.reason
    h = holdout()
    same = model(h, 0.3, 1)
    d = decide_backtest(evaluate(h, challenger=same, champion=same))
    assert not d.promoted and "identical per-user values" in d.reason
    zeros = decide_backtest(evaluate(h, challenger=model(h, 0, 1), champion=model(h, 0, 2)))
    assert not zeros.promoted and "identical" in zeros.reason


def test_inconsistent_inputs_are_errors():
    h = holdout()
    with pytest.raises(ValueError, match="no champion scores"):
        decide_backtest(evaluate(h, challenger=model(h, 0.5, 1)))
    with pytest.raises(ValueError, match="min_improvement"):
        decide_backtest(evaluate(h, challenger=model(h, 0.5, 1), champion=model(h, 0.1, 2)), min_improvement=-1)
    with pytest.raises(ValueError, match="not a per-user metric"):
        compare_models(h, {"challenger": model(h, 0.5, 1)}, metric="coverage")
    with pytest.raises(ValueError, match="need 'challenger'"):
        compare_models(h, {"champion": model(h, 0.5, 1)}, metric=NDCG)


def test_log_table_lists_every_model_and_the_decision():
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.6, 1), champion=model(h, 0.2, 2, path="runtime"), baseline=model(h, 0.1, 3))
    d = decide_backtest(ev)
    table = render_table(d)
    lines = table.splitlines()
    assert lines[0].startswith("Backtest gate on ndcg@10: cut 2023-11-14T22:13:20Z (newest 604800s; leakage: none)")
    assert "300 users sampled (seed 0" in lines[1]
    header = lines[2].split()
    assert header[:4] == ["model", "trained", "until", "path"] and "recall@10" in header and "hit@10" in header
    rows = {line.split()[0]: line.split() for line in lines[4:7]}
    assert set(rows) == {"challenger", "champion", "baseline"} and rows["champion"][2] == "runtime"
    assert rows["challenger"][3] == f"{ev.model('challenger').metrics[NDCG]:.4f}"
    assert any(line.startswith("challenger vs champion: +") for line in lines)
    assert lines[-1] == f"decision: {d.reason}"


@pytest.mark.parametrize(
    ("kwargs", "path", "why"),
    [
        ({"scoring": "batch", "campaign_arn": "c"}, "batch", "scoring: batch"),
        ({"campaign_arn": None}, "batch", "no campaign serves this version"),
        ({"campaign_arn": "c", "has_event_tracker": True}, "batch", "real-time events"),
        ({"campaign_arn": "c", "campaign_explores": True}, "batch", "the campaign explores"),
        ({"campaign_arn": "c", "n_users": 501}, "batch", "501 users > runtime_max_users 500"),
        ({"campaign_arn": "c"}, "runtime", "100 users <= runtime_max_users 500, served by c"),
        ({"campaign_arn": "c", "has_event_tracker": True, "scoring": "runtime"}, "runtime", "scoring: runtime"),
        ({"campaign_arn": None, "scoring": "runtime"}, "batch", "no campaign"),
    ],
)
def test_scoring_path_rule(kwargs, path, why):
    """Batch unless runtime is cheaper and sees the same list a batch job would."""
    from personalize_ops.evaluation.scoring import choose_path

    args = {"n_users": 100, "has_event_tracker": False, "runtime_max_users": 500, "campaign_explores": False,
            **kwargs}  # fmt: skip
    chosen, reason = choose_path(**args)
    assert chosen == path and why in reason


@pytest.mark.parametrize(
    ("config", "explores"),
    [
        (None, True),  # AWS's default exploration weight (0.3) applies
        ({"itemExplorationConfig": {"explorationWeight": "0"}}, False),
        ({"itemExplorationConfig": {"explorationWeight": "0.0"}}, False),
        ({"itemExplorationConfig": {"explorationWeight": "0.1"}}, True),
        ({"itemExplorationConfig": {"explorationItemAgeCutOff": "7"}}, True),
        ({"itemExplorationConfig": {"explorationWeight": "junk"}}, True),
    ],
)
def test_campaign_explores(config, explores):
    from personalize_ops.evaluation.scoring import campaign_explores

    campaign = {"campaignArn": "c"} if config is None else {"campaignArn": "c", "campaignConfig": config}
    assert campaign_explores(campaign) is explores
