"""Metric history store against a moto S3 server over HTTP."""

import json
from datetime import UTC, datetime

import pytest
from personalize_ops.metrics import (
    HistoryConflictError,
    HistoryRecordError,
    decide,
    history_key,
    load_gate_decisions,
    load_history,
    make_version_record,
    record_gate_decision,
    record_version,
)

ARN = "arn:aws:personalize:us-east-1:000000000000:solution/{}/{}"


def rec(solution="sol-up", version="v1", when="2026-11-01T10:00:00Z", ndcg=0.25, **kw):
    return make_version_record(
        dataset_group="dg",
        solution=solution,
        recipe=kw.pop("recipe", "arn:aws:personalize:::recipe/aws-user-personalization"),
        solution_version_arn=ARN.format(solution, version),
        run_id=kw.pop("run_id", f"manual__{version}"),
        data_hash="abc123",
        created_at=when,
        metrics={"normalized_discounted_cumulative_gain_at_10": ndcg, "coverage": 0.1},
    )


def test_record_writes_documented_key_and_json(s3, bucket):
    key = record_version(s3, bucket, "pz/", rec())
    assert key == "pz/metrics/history/dg/sol-up/v1.json"
    stored = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored["created_at"] == "2026-11-01T10:00:00+00:00"
    assert stored["metrics"]["coverage"] == 0.1
    assert set(stored) == {
        "dataset_group", "solution", "recipe", "solution_version_arn", "run_id", "data_hash", "created_at",
        "metrics",
    }


def test_record_is_idempotent_and_refuses_a_different_record(s3, bucket):
    first = record_version(s3, bucket, "pz", rec())
    assert record_version(s3, bucket, "pz", rec()) == first
    with pytest.raises(HistoryConflictError, match="already holds a different record"):
        record_version(s3, bucket, "pz", rec(ndcg=0.99))
    # a retry (new created_at) or a later run re-logging the version keeps the first record
    assert record_version(s3, bucket, "pz", rec(when="2026-12-01T00:00:00Z", run_id="later")) == first
    assert load_history(s3, bucket, "pz", "dg")[0]["run_id"] == "manual__v1"
    stored = load_history(s3, bucket, "pz", "dg")[0]["metrics"]
    assert stored["normalized_discounted_cumulative_gain_at_10"] == 0.25


def test_load_history_sorted_by_created_at_and_filtered(s3, bucket):
    record_version(s3, bucket, "", rec("sol-b", "v2", "2026-11-03T00:00:00+00:00"))
    record_version(s3, bucket, "", rec("sol-a", "v1", "2026-11-01T00:00:00+01:00"))
    record_version(s3, bucket, "", rec("sol-a", "v3", datetime(2026, 11, 2, tzinfo=UTC)))
    other = rec("sol-a", "v9")
    other["dataset_group"] = "other-dg"
    record_version(s3, bucket, "", other)
    hist = load_history(s3, bucket, "", "dg")
    assert [r["solution_version_arn"].rsplit("/", 1)[1] for r in hist] == ["v1", "v3", "v2"]
    assert [r["solution"] for r in load_history(s3, bucket, "", "dg", solution="sol-a")] == ["sol-a"] * 2
    assert load_history(s3, bucket, "", "nothing-here") == []


def test_bad_records_name_the_field(s3, bucket):
    bad = rec()
    del bad["run_id"]
    with pytest.raises(HistoryRecordError, match="missing run_id"):
        record_version(s3, bucket, "pz", bad)
    with pytest.raises(HistoryRecordError, match="metrics.coverage"):
        record_version(s3, bucket, "pz", {**rec(), "metrics": {"coverage": "high"}})
    with pytest.raises(HistoryRecordError, match="created_at"):
        record_version(s3, bucket, "pz", {**rec(), "created_at": "yesterday"})
    s3.put_object(Bucket=bucket, Key="pz/metrics/history/dg/x/broken.json", Body=b"{not json")
    with pytest.raises(HistoryRecordError, match="broken.json: not valid JSON"):
        load_history(s3, bucket, "pz", "dg")


def test_key_parts_cannot_escape_the_layout():
    with pytest.raises(HistoryRecordError, match="dataset_group"):
        history_key("p", "a/b", "s", "arn:x/v1")


def test_gate_decisions_round_trip(s3, bucket):
    d1 = decide(None, {"ndcg": 0.2}, "ndcg").to_record(
        campaign="camp", champion_arn=None, challenger_arn="arn:v1", run_id="r1",
        decided_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    d2 = decide({"ndcg": 0.2}, {"ndcg": 0.21}, "ndcg", 0.1, {"ndcg": 0.1}).to_record(
        campaign="camp", champion_arn="arn:v1", challenger_arn="arn:v2", run_id="r2",
        decided_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    k2 = record_gate_decision(s3, bucket, "pz", "dg", d2)
    record_gate_decision(s3, bucket, "pz", "dg", d1)
    assert k2 == "pz/metrics/gate/dg/camp/r2.json"
    assert record_gate_decision(s3, bucket, "pz", "dg", d2) == k2
    assert record_gate_decision(s3, bucket, "pz", "dg", {**d2, "decided_at": "2026-11-03T00:00:00Z"}) == k2
    loaded = load_gate_decisions(s3, bucket, "pz", "dg")
    assert [(d["run_id"], d["promoted"]) for d in loaded] == [("r1", True), ("r2", False)]
    assert loaded[1]["baseline_value"] == 0.1 and loaded[1]["margin"] == 0.1
    assert load_gate_decisions(s3, bucket, "pz", "dg", campaign="other") == []
    with pytest.raises(HistoryConflictError):
        record_gate_decision(s3, bucket, "pz", "dg", {**d2, "promoted": True})


def test_record_from_personalize_responses_and_table_rows(s3, bucket):
    from personalize_ops.metrics import history_rows, render_metrics_table, version_record_from_api

    arn = ARN.format("sol-up", "abc123")
    described = {
        "solutionVersionArn": arn,
        "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization",
        "creationDateTime": datetime(2026, 11, 5, 12, 30, tzinfo=UTC),
        "status": "ACTIVE",
    }
    metrics = {"solutionVersionArn": arn, "metrics": {"coverage": 0.0791, "precision_at_5": 0.075}}
    rec = version_record_from_api(dataset_group="dg", solution="sol-up", solution_version=described,
                                  solution_metrics=metrics, run_id="r1", data_hash="h")  # fmt: skip
    assert rec["created_at"] == "2026-11-05T12:30:00+00:00" and rec["metrics"]["coverage"] == 0.0791
    record_version(s3, bucket, "pz", rec)
    table = render_metrics_table(history_rows(load_history(s3, bucket, "pz", "dg")))
    assert "sol-up/abc123" in table and "0.0791" in table
    with pytest.raises(HistoryRecordError, match="same solution version"):
        other = {**metrics, "solutionVersionArn": "other"}
        version_record_from_api(dataset_group="dg", solution="sol-up", solution_version=described,
                                solution_metrics=other, run_id="r1")  # fmt: skip


def test_a_versions_training_cut_off_is_kept_and_read_back(s3, bucket):
    from personalize_ops.metrics import load_version

    record_version(s3, bucket, "p", {**rec(version="cut"), "trained_until": 1_700_000_000})
    back = load_version(s3, bucket, "p", "dg", "sol-up", ARN.format("sol-up", "cut"))
    assert back["trained_until"] == 1_700_000_000
    assert load_version(s3, bucket, "p", "dg", "sol-up", ARN.format("sol-up", "never")) is None
    assert "trained_until" not in rec(version="old")  # unknown: the backtest's leakage rule refuses such a champion
    with pytest.raises(HistoryRecordError, match="trained_until='2024'"):
        record_version(s3, bucket, "p", {**rec(version="bad"), "trained_until": "2024"})
