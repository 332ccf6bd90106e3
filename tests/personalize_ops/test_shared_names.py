"""Metric names and quality rule names have one home each; the config model and the rule table read them there."""

import pytest
from personalize_ops.config import Gate, Quality
from personalize_ops.config.resources import BACKTEST_METRICS
from personalize_ops.metrics.names import DEFAULT_GATE_METRIC, METRIC_NAMES
from personalize_ops.quality.rule_names import PARSE_RULES, ROW_RULES
from personalize_ops.quality.rules import row_rules
from pydantic import ValidationError

AVRO = {
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "GENRE", "type": ["null", "string"], "categorical": True},
    ]
}


def test_the_gate_accepts_exactly_the_metrics_personalize_reports():
    """offline_metrics: the GetSolutionMetrics names; backtest: the per-user ones (coverage is not per user)."""
    assert Gate().metric == DEFAULT_GATE_METRIC in METRIC_NAMES
    for metric in METRIC_NAMES:
        assert Gate(evaluation="offline_metrics", metric=metric).metric == metric
    for metric in (*METRIC_NAMES, *BACKTEST_METRICS):
        if metric != "coverage":
            assert Gate(evaluation="backtest", metric=metric).metric == metric
    for evaluation, metric in (("offline_metrics", "recall_at_10"), ("backtest", "coverage"),
                               ("backtest", "accuracy"), ("offline_metrics", "accuracy")):  # fmt: skip
        with pytest.raises(ValidationError):
            Gate(evaluation=evaluation, metric=metric)


def test_the_config_names_exactly_the_row_rules_the_rule_table_builds():
    built = {r.name for r in row_rules("interactions", AVRO, ["TIMESTAMP"], (0, 2**31))}
    assert built == set(ROW_RULES) - set(PARSE_RULES)  # the parse rules are found by the reader
    assert Quality(rules=dict.fromkeys(ROW_RULES, "quarantine")).action(ROW_RULES[0]) == "quarantine"
