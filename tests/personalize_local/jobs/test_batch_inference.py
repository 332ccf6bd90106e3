"""Batch inference jobs: JSON lines from (moto) S3 in, Personalize's output format out, one file per input."""

from __future__ import annotations

import json

from tests.personalize_local.helpers import batch_inference, put, uid, wait_status


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


def test_an_input_path_without_a_slash_is_a_prefix_of_every_file_read(sc, trained):
    """AWS: "s3://bucket/folderName" reads the files of folderName/ and of folderName_test/ alike; a path ending in
    '/' reads that folder only. Each file gets its own <name>.out."""
    pz, s3 = sc.pz, sc.s3
    bucket, base = trained["bucket"], uid("prefix")
    put(s3, bucket, f"{base}/in/a.json", b'{"userId": "u1"}\n')
    put(s3, bucket, f"{base}/in_test/b.json", b'{"userId": "u2"}\n{"itemId": "x"}\n')

    def run(path: str, out: str) -> dict:
        return batch_inference(pz, trained["version"], f"s3://{bucket}/{path}", f"s3://{bucket}/{base}/{out}/",
                               numResults=3)  # fmt: skip

    assert run(f"{base}/in", "out-prefix")["status"] == "ACTIVE"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{base}/out-prefix/")["Contents"])
    assert keys == [f"{base}/out-prefix/a.json.out", f"{base}/out-prefix/b.json.out"]
    lines = [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=keys[1])["Body"].read().splitlines()]
    assert lines[1] == {
        "input": {"itemId": "x"},
        "output": {"recommendedItems": []},
        "error": "User error: Required fields for the provided recipe are userId",
    }
    assert run(f"{base}/in/", "out-folder")["status"] == "ACTIVE"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{base}/out-folder/")["Contents"]]
    assert keys == [f"{base}/out-folder/a.json.out"]
    failed = run(f"{base}/nothing-here", "out-none")
    assert failed["status"] == "CREATE FAILED" and "No files found with the prefix" in failed["failureReason"]
