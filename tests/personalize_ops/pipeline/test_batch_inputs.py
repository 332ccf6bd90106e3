"""Batch-export input parts written to S3 (moto server over HTTP)."""

import json
from types import SimpleNamespace

from personalize_ops.pipeline import batch_export


def _cfg():
    return SimpleNamespace(dataset_group=SimpleNamespace(name="dg", bucket="batch-inputs", prefix="pz"))


def _lines(s3, uri):
    bucket, key = uri[5:].split("/", 1)
    return [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()]


def test_parts_split_users_and_carry_filter_values(local_stack, monkeypatch):
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="batch-inputs")
    monkeypatch.setattr(batch_export, "USERS_PER_FILE", 2)
    job = SimpleNamespace(name="daily", filter_values={"CATEGORY": '"fashion"'})
    parts = batch_export.write_inputs(s3, _cfg(), job, ["u1", "u2", "u3"], "tok123")
    assert [p.users for p in parts] == [2, 1]
    assert len({p.job_name for p in parts}) == 2
    lines = [line for p in parts for line in _lines(s3, p.input_path)]
    assert [line["userId"] for line in lines] == ["u1", "u2", "u3"]
    assert all(line["filterValues"] == {"CATEGORY": '"fashion"'} for line in lines)


def test_no_filter_values_means_plain_user_lines(local_stack):
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="batch-inputs")
    job = SimpleNamespace(name="plain", filter_values={})
    (part,) = batch_export.write_inputs(s3, _cfg(), job, ["u9"], "tok456")
    assert _lines(s3, part.input_path) == [{"userId": "u9"}]
