"""Offline metrics of solution versions: durable history in S3, log tables, champion/challenger gate.

Pure helpers; the S3 functions take a boto3-like S3 client (in a DAG: ``S3Hook(aws_conn_id).get_conn()``).
"""

from personalize_ops.metrics.gate import GateDecision, GateInputError, decide
from personalize_ops.metrics.history import (
    HistoryConflictError,
    HistoryRecordError,
    gate_key,
    history_key,
    load_gate_decisions,
    load_history,
    make_version_record,
    record_gate_decision,
    record_version,
)
from personalize_ops.metrics.names import METRIC_NAMES, SHORT_LABELS
from personalize_ops.metrics.table import render_metrics_table

__all__ = [
    "METRIC_NAMES",
    "SHORT_LABELS",
    "GateDecision",
    "GateInputError",
    "HistoryConflictError",
    "HistoryRecordError",
    "decide",
    "gate_key",
    "history_key",
    "load_gate_decisions",
    "load_history",
    "make_version_record",
    "record_gate_decision",
    "record_version",
    "render_metrics_table",
]
