"""Metric names and quality rule names have one home each; the config model and the rule table read them there."""

from typing import get_args

from personalize_ops.config import Gate, Quality
from personalize_ops.metrics.names import DEFAULT_GATE_METRIC, METRIC_NAMES
from personalize_ops.quality.rule_names import ROW_RULES
from personalize_ops.quality.rules import row_rules

AVRO = {
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "GENRE", "type": ["null", "string"], "categorical": True},
    ]
}


def test_the_gate_accepts_exactly_the_metrics_personalize_reports():
    assert get_args(Gate.model_fields["metric"].annotation) == METRIC_NAMES
    assert Gate().metric == DEFAULT_GATE_METRIC in METRIC_NAMES


def test_the_config_names_exactly_the_row_rules_the_rule_table_builds():
    built = {r.name for r in row_rules("interactions", AVRO, ["TIMESTAMP"], (0, 2**31))}
    assert built == set(ROW_RULES)
    assert Quality(rules=dict.fromkeys(ROW_RULES, "quarantine")).action(ROW_RULES[0]) == "quarantine"
