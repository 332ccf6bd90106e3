"""Offline metrics of solution versions: durable history in S3, log tables, champion/challenger gate.

Pure helpers; the S3 functions take a boto3-like S3 client (in a DAG: ``S3Hook(aws_conn_id).get_conn()``)::

    rec = version_record_from_api(dataset_group=dg, solution=name, run_id=run_id, data_hash=h,
                                  solution_version=pz.describe_solution_version(solutionVersionArn=arn)[
                                      "solutionVersion"],
                                  solution_metrics=pz.get_solution_metrics(solutionVersionArn=arn))
    record_version(s3, bucket, prefix, rec)
    log.info("\n%s", render_metrics_table(history_rows(load_history(s3, bucket, prefix, dg))))
    decision = decide(champion_metrics_or_None, rec["metrics"], cfg_metric, min_improvement, baseline_metrics)
    record_gate_decision(s3, bucket, prefix, dg, decision.to_record(campaign=..., champion_arn=...,
                         challenger_arn=arn, run_id=run_id))
"""

from personalize_ops.metrics.gate import GateDecision, GateInputError, decide
from personalize_ops.metrics.history import (
    HistoryConflictError,
    HistoryRecordError,
    Scan,
    gate_key,
    history_key,
    history_rows,
    load_gate_decision,
    load_gate_decisions,
    load_history,
    load_version,
    make_version_record,
    record_gate_decision,
    record_version,
    scan_gate_decisions,
    scan_history,
    version_record_from_api,
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
    "Scan",
    "decide",
    "gate_key",
    "history_key",
    "history_rows",
    "load_gate_decision",
    "load_gate_decisions",
    "load_history",
    "load_version",
    "make_version_record",
    "record_gate_decision",
    "record_version",
    "render_metrics_table",
    "scan_gate_decisions",
    "scan_history",
    "version_record_from_api",
]
