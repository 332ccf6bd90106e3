"""The gate section of the pipeline config: backtest keys, defaults, and errors naming the key."""

import copy

import pytest
from personalize_ops.config import ConfigError, load_config

from tests.personalize_ops.test_config import write
from tests.personalize_ops.transform.dataprep_helpers import BASE


def config(tmp_path, gate=None, **extra):
    cfg = copy.deepcopy(BASE)
    cfg["solutions"].append({"name": "pop", "recipe": "aws-popularity-count"})
    cfg["campaigns"] = [{"name": "c", "solution": "s", **({"gate": gate} if gate is not None else {})}]
    cfg.update(extra)
    return load_config(write(tmp_path, cfg))


def errors(tmp_path, gate, **extra):
    with pytest.raises(ConfigError) as ei:
        config(tmp_path, gate, **extra)
    return [line.split(": ", 1)[1] for line in str(ei.value).splitlines()]


def test_defaults(tmp_path):
    gate = config(tmp_path).campaigns[0].gate
    assert gate.evaluation == "backtest" and gate.metric == "normalized_discounted_cumulative_gain_at_10"
    assert gate.holdout.window is None and gate.holdout.share is None and gate.holdout.window_seconds == 7 * 86400
    assert gate.holdout.sample_size == 1000 and gate.holdout.event_types is None
    assert (gate.confidence_level, gate.resamples, gate.seed) == (0.99, 5000, 42)
    assert (gate.refit, gate.leakage, gate.scoring, gate.runtime_max_users) == ("full", "shrink", "auto", 500)
    assert gate.filter is None and gate.min_improvement == 0.0


def test_backtest_settings_load(tmp_path):
    gate = config(
        tmp_path,
        {"metric": "recall_at_25", "holdout": {"share": 0.1, "sample_size": 300, "event_types": ["purchase"]},
         "confidence_level": 0.9, "resamples": 5000, "seed": 7, "refit": "none", "leakage": "refuse",
         "scoring": "batch", "filter": "f", "filter_values": {"CAT": '"a"'}},
        filters=[{"name": "f", "expression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")'}],
    ).campaigns[0].gate  # fmt: skip
    assert gate.holdout.share == 0.1 and gate.holdout.window_seconds is None
    assert gate.holdout.event_types == ["purchase"] and gate.filter == "f" and gate.refit == "none"
    assert config(tmp_path, {"holdout": {"window": "36h"}}).campaigns[0].gate.holdout.window_seconds == 36 * 3600
    assert config(tmp_path, {"evaluation": "offline_metrics", "metric": "coverage"}).campaigns[0].gate.metric


def test_errors_name_the_key(tmp_path):
    errs = errors(tmp_path, {"holdout": {"window": "1w", "share": 1.5, "sample_size": 1}, "resamples": 10,
                             "confidence_level": 1.0, "refit": "half", "evaluation": "vibes"})  # fmt: skip
    assert any(e.startswith("campaigns[0].gate.holdout.window: window '1w': use a whole number") for e in errs)
    assert any(e.startswith("campaigns[0].gate.holdout.share:") for e in errs)
    assert any(e.startswith("campaigns[0].gate.holdout.sample_size:") for e in errs)
    assert any(e.startswith("campaigns[0].gate.resamples:") for e in errs)
    assert any(e.startswith("campaigns[0].gate.confidence_level:") for e in errs)
    assert any(e.startswith("campaigns[0].gate.refit:") for e in errs)
    assert any(e.startswith("campaigns[0].gate.evaluation:") for e in errs)
    both = errors(tmp_path, {"holdout": {"window": "7d", "share": 0.1}})
    assert "campaigns[0].gate.holdout: give either window or share, not both" in both


def test_metric_must_fit_the_mode_and_filter_must_exist(tmp_path):
    assert any("not a per-user metric" in e for e in errors(tmp_path, {"metric": "coverage"}))
    errs = errors(tmp_path, {"evaluation": "offline_metrics", "metric": "recall_at_10"})
    assert any("exists only in evaluation: backtest" in e for e in errs)
    assert any(
        e.startswith("campaigns[0].gate.metric: unknown metric 'ndcg'") for e in errors(tmp_path, {"metric": "ndcg"})
    )
    assert "campaigns[0].gate.filter: unknown filter 'nope' (known: none)" in errors(tmp_path, {"filter": "nope"})


def test_every_backtest_metric_the_config_accepts_is_computed_per_user():
    from personalize_ops.config import BACKTEST_METRICS
    from personalize_ops.evaluation.metrics import PER_USER_METRICS
    from personalize_ops.metrics.names import METRIC_NAMES as METRICS

    assert {*METRICS, *BACKTEST_METRICS} - {"coverage"} == set(PER_USER_METRICS)
