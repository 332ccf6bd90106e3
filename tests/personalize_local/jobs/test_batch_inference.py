"""Batch inference jobs: JSON lines from (moto) S3 in, Personalize's output format out, one file per input."""

from __future__ import annotations

import json

from tests.personalize_local.helpers import put, uid, wait_status


def test_batch_inference_job_writes_output(sc, trained):
    pz, s3 = sc.pz, sc.s3
    bucket = trained["bucket"]
    put(s3, bucket, "batch/in/users.json", b'{"userId": "u1"}\n{"userId": "u2"}\n')
    arn = pz.create_batch_inference_job(
        jobName=uid("batch"),
        solutionVersionArn=trained["version"],
        numResults=5,
        jobInput={"s3DataSource": {"path": f"s3://{bucket}/batch/in/users.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{bucket}/batch/out/"}},
        roleArn="arn:aws:iam::000000000000:role/p",
    )["batchInferenceJobArn"]
    first = pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]["status"]
    assert first in ("CREATE PENDING", "CREATE IN_PROGRESS")
    job = wait_status(lambda: pz.describe_batch_inference_job(batchInferenceJobArn=arn), "batchInferenceJob")
    assert job["status"] == "ACTIVE", job
    listed = pz.list_batch_inference_jobs(solutionVersionArn=trained["version"])["batchInferenceJobs"]
    assert arn in [j["batchInferenceJobArn"] for j in listed]
    out = s3.get_object(Bucket=bucket, Key="batch/out/users.json.out")["Body"].read().decode().splitlines()
    rows = [json.loads(line) for line in out]
    assert [r["input"]["userId"] for r in rows] == ["u1", "u2"]
    assert all(len(r["output"]["recommendedItems"]) == 5 for r in rows)
