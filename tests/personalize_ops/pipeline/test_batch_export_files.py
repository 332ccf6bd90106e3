"""Batch-export files: one set per DAG run (also for runs without a logical date), created and never replaced.

S3 is a moto server over HTTP; local destinations are a temp folder.
"""

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from personalize_ops.pipeline import batch_export
from personalize_ops.pipeline.batch_export import ExportError, export_stamp, flatten
from personalize_ops.pipeline.values import BatchPart

from tests.fixtures.moto_server import fresh_bucket, moto_server, s3_client

# Two asset-triggered runs (Airflow 3: no logical date; run ids as the scheduler makes them).
RUN_A = (datetime(2026, 11, 30, 10, 0, 0, 123456, tzinfo=UTC), "asset_triggered__2026-11-30T10:00:00.123456+00:00_AbC")
RUN_B = (datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC), "asset_triggered__2026-11-30T10:00:05+00:00_xYz")


@pytest.fixture(scope="module")
def s3():
    with moto_server() as endpoint:
        yield s3_client(endpoint)


@pytest.fixture
def bucket(s3):
    return fresh_bucket(s3, "exports")


@pytest.fixture(params=["s3", "local"])
def destination(request, s3, bucket, tmp_path):
    return f"s3://{bucket}/exports/daily/" if request.param == "s3" else str(tmp_path / "exports" / "daily")


def batch_output(s3, bucket: str, answers: dict[str, list[str] | None]) -> list[BatchPart]:
    """One part of Personalize batch output: a user's items, or None for a user Personalize failed."""
    tag = uuid.uuid4().hex[:8]
    lines = [{"input": {"userId": u}, **({"output": {"recommendedItems": items, "scores": [0.5] * len(items)}}
              if items is not None else {"error": "user not found"})} for u, items in answers.items()]  # fmt: skip
    s3.put_object(Bucket=bucket, Key=f"batch/{tag}/output/part-00000/part-00000.jsonl.out",
                  Body="".join(json.dumps(x) + "\n" for x in lines).encode())  # fmt: skip
    return [BatchPart(job_name=f"job-{tag}", input_path=f"s3://{bucket}/batch/{tag}/input/part-00000.jsonl",
                      output_path=f"s3://{bucket}/batch/{tag}/output/part-00000/", users=len(answers))]  # fmt: skip


def read(s3, target: str) -> bytes:
    if target.startswith("s3://"):
        b, k = target[5:].split("/", 1)
        return s3.get_object(Bucket=b, Key=k)["Body"].read()
    with open(target, "rb") as fh:
        return fh.read()


def listing(s3, destination: str) -> set[str]:
    if destination.startswith("s3://"):
        b, prefix = destination[5:].split("/", 1)
        return {o["Key"].rsplit("/", 1)[-1] for o in s3.list_objects_v2(Bucket=b, Prefix=prefix).get("Contents", [])}
    from pathlib import Path

    return {p.name for p in Path(destination).iterdir()}


def test_stamp_is_the_run_after_and_a_file_safe_run_id():
    stamp = export_stamp(*RUN_A)
    digest = hashlib.sha256(RUN_A[1].encode()).hexdigest()[:8]
    assert stamp == f"20261130T100000Z-asset_triggered__2026-11-30T10_00_00.123456_00_00_AbC-{digest}"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stamp)
    assert export_stamp(*RUN_A) == stamp  # a retry of the same run: the same name
    assert export_stamp(*RUN_B) != stamp
    when = RUN_A[0]
    assert export_stamp(when, "manual_1") == "20261130T100000Z-manual_1"  # already safe: kept as it is
    assert export_stamp(when, "a:b") != export_stamp(when, "a/b")  # same once sanitised, different runs
    assert export_stamp(when.astimezone(timezone(timedelta(hours=2))), "r") == "20261130T100000Z-r"
    assert len(export_stamp(when, "x" * 500)) < 120


def test_two_runs_without_logical_date_keep_their_own_files(s3, bucket, destination):
    first = flatten(s3, batch_output(s3, bucket, {"u1": ["i1", "i2"], "u2": None}), 2, "csv", destination,
                    export_stamp(*RUN_A))  # fmt: skip
    first_bytes = {p: read(s3, p) for p in (first["path"], first["errors_path"])}
    second = flatten(s3, batch_output(s3, bucket, {"u1": ["i3"], "u2": ["i4"]}), 2, "csv", destination,
                     export_stamp(*RUN_B))  # fmt: skip
    assert first["path"] != second["path"]
    assert {p: read(s3, p) for p in first_bytes} == first_bytes  # the second run replaced nothing
    assert b'"u2","user not found"' in first_bytes[first["errors_path"]]
    assert second["errors_path"] is None and second["users_failed"] == 0  # a clean run points to no errors file
    assert read(s3, second["path"]).decode().splitlines()[1:] == ['"u1",1,"i3",0.5', '"u2",1,"i4",0.5']
    a, b = export_stamp(*RUN_A), export_stamp(*RUN_B)
    assert listing(s3, destination) == {f"recommendations-{a}.csv", f"errors-{a}.csv", f"recommendations-{b}.csv"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_retry_of_the_same_run_reuses_identical_files_and_refuses_different_ones(s3, bucket, destination, fmt):
    stamp = export_stamp(*RUN_A)
    parts = batch_output(s3, bucket, {"u1": ["i1"], "u2": None})
    first = flatten(s3, parts, 2, fmt, destination, stamp)
    before = {p: read(s3, p) for p in (first["path"], first["errors_path"])}
    assert flatten(s3, parts, 2, fmt, destination, stamp) == first  # idempotent: same run, same output
    assert {p: read(s3, p) for p in before} == before

    changed = batch_output(s3, bucket, {"u1": ["i9"], "u2": None})
    with pytest.raises(ExportError, match=r"already exists with different content.*never overwritten"):
        flatten(s3, changed, 2, fmt, destination, stamp)
    clean = batch_output(s3, bucket, {"u1": ["i1"], "u2": ["i2"]})
    with pytest.raises(ExportError, match="already exists with different content"):
        flatten(s3, clean, 2, fmt, destination, stamp)
    assert {p: read(s3, p) for p in before} == before  # nothing replaced
    assert not [n for n in listing(s3, destination) if n.endswith(".tmp")]  # no temporary files left


def test_a_clean_attempt_never_points_past_an_errors_file_of_its_run(s3, bucket, destination):
    stamp = export_stamp(*RUN_A)
    flatten(s3, batch_output(s3, bucket, {"u1": ["i1"], "u2": None}), 2, "csv", destination, stamp)
    # the recommendations file of the failed attempt is gone (deleted on purpose); the errors file is not
    rec = f"{destination.rstrip('/')}/recommendations-{stamp}.csv"
    if rec.startswith("s3://"):
        s3.delete_object(Bucket=bucket, Key=rec.split("/", 3)[3])
    else:
        import os

        os.remove(rec)
    with pytest.raises(ExportError, match=rf"errors-{re.escape(stamp)}\.csv exists, but this attempt .* no failed"):
        flatten(s3, batch_output(s3, bucket, {"u1": ["i1"]}), 1, "csv", destination, stamp)


def test_s3_writes_are_conditional(s3, bucket):
    """An object another writer created between our checks is not replaced: the put itself is conditional."""
    key = "exports/x/recommendations-r.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"someone else's")
    assert batch_export._put_if_absent(s3, f"s3://{bucket}/{key}", b"ours") is False
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"someone else's"
    assert batch_export._put_if_absent(s3, f"s3://{bucket}/exports/x/new.csv", b"ours") is True


def test_flatten_reads_failed_lines_as_personalize_writes_them(s3, bucket, destination):
    """A failed line keeps "output": {"recommendedItems": []} and says "User error: ..."; an input that was not a
    JSON object is echoed as it was."""
    tag = uuid.uuid4().hex[:8]
    lines = [
        {"input": {"userId": "u1"}, "output": {"recommendedItems": ["i1"], "scores": [0.9]}, "error": None},
        {"input": {"itemId": "x"}, "output": {"recommendedItems": []},
         "error": "User error: Required fields for the provided recipe are userId"},
        {"input": "not json", "output": {"recommendedItems": []}, "error": "User error: invalid JSON"},
    ]  # fmt: skip
    s3.put_object(Bucket=bucket, Key=f"batch/{tag}/output/part-00000/part-00000.jsonl.out",
                  Body="".join(json.dumps(x) + "\n" for x in lines).encode())  # fmt: skip
    parts = [BatchPart(job_name=f"job-{tag}", input_path=f"s3://{bucket}/batch/{tag}/input/part-00000.jsonl",
                       output_path=f"s3://{bucket}/batch/{tag}/output/part-00000/", users=3)]  # fmt: skip
    summary = flatten(s3, parts, 3, "csv", destination, "20260101T000000Z-aws-shape")
    assert (summary["users_answered"], summary["users_failed"], summary["rows"]) == (1, 2, 1)
