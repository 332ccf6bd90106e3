"""The values the pipeline's tasks exchange survive Airflow's XCom serialisation as the same typed values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from personalize_ops.pipeline.values import (
    VALUES,
    BacktestCut,
    BatchPart,
    ExportPlan,
    GateOutcome,
    ImportPlan,
    StagedDataset,
    TrainedVersion,
    TrainingPlan,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = [
    StagedDataset("interactions", 120, 118, "ab" * 32, "s3://b/p/staging/g/interactions/x.csv", True),
    StagedDataset("items", 10, 10, "cd" * 32),  # a dry run: nothing staged
    ImportPlan("items", "items-abc-123", False, "s3://b/k.csv"),
    TrainingPlan("demo-up", "reuse", "data and configuration unchanged", "ef" * 32, "arn:sol/v1"),
    TrainedVersion("demo-up", "aws-user-personalization", "arn:sol", "arn:sol/v1",
                   {"normalized_discounted_cumulative_gain_at_10": 0.0923, "coverage": 0.3657}, "automatic"),
    GateOutcome("c", None, "arn:sol", True, "promoted: no champion yet", "arn:sol/v1", None, 0.09, None, skipped=True),
    BacktestCut(StagedDataset("interactions", 120, 118, "ab" * 32, "s3://b/full.csv", True, 1_700_000_000),
                StagedDataset("interactions", 118, 100, "ef" * 32, "s3://b/before.csv", True, 1_699_000_000),
                1_699_000_001, {"c": {"cutoff": 1_699_000_001, "leakage": "none", "champion_trained_until": None}},
                {"c": None}),
    ExportPlan("daily", "arn:sol/v1", "newest ACTIVE version", None,
               [BatchPart("daily-1-0", "s3://b/in/0.jsonl", "s3://b/out/0/", 2), BatchPart("daily-1-1", "s3://b/in/1.jsonl",
                                                                                    "s3://b/out/1/", 1)], 3),
]  # fmt: skip


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip_through_xcom_serialisation(value):
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.execution_time.comms import XComResult

    stored = json.loads(json.dumps(BaseXCom.serialize_value(value)))  # what the metadata DB holds
    assert stored["__classname__"] == f"personalize_ops.pipeline.values.{type(value).__name__}"
    back = BaseXCom.deserialize_value(XComResult(key="return_value", value=stored))
    assert back == value and type(back) is type(value)
    if isinstance(value, ExportPlan):
        assert all(type(p) is BatchPart for p in back.parts)
        assert [k["job_name"] for k in back.job_kwargs()] == ["daily-1-0", "daily-1-1"]
    if isinstance(value, BacktestCut):
        assert type(back.full) is type(back.training) is StagedDataset and back.trained_until == 1_699_000_000


def test_a_process_allows_them_because_it_imported_them():
    """Airflow deserialises only allow-listed classes (default ``airflow.*``): a process that parsed a DAG file
    (which imports the values module) allows them; one that did not is refused."""
    from airflow.sdk.bases.xcom import BaseXCom

    stored = json.dumps(BaseXCom.serialize_value(SAMPLES[2]))
    code = """
import json, sys
from airflow.sdk.serde import deserialize
stored = json.loads(sys.argv[1])
try:
    deserialize(stored)
    print("before: allowed")
except ImportError as err:
    print("before: refused")
import personalize_ops.pipeline.values
print("after:", repr(deserialize(stored)))
"""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
    out = subprocess.run([sys.executable, "-c", code, stored], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()[-2:]
    assert lines == ["before: refused", f"after: {SAMPLES[2]!r}"]


def test_every_value_is_a_frozen_dataclass_with_a_version():
    import dataclasses

    for cls in VALUES:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls
        assert cls.__version__ >= 1
