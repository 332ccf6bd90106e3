"""Create the S3 buckets the pipeline config names, in the local S3 stand-in (the `local` compose profile).

The buckets are the ones Airflow will use: the configs are found and read the way the DAGs find and read them
(``personalize_ops.pipeline.registry``: every pipeline's file, and the ``${VAR}``s it expands), so the staging bucket
(``dataset_group.bucket``) and every ``s3://`` batch-export destination exist before the first retrain.
Idempotent: an existing bucket is left as it is. Refuses to run without ``AWS_ENDPOINT_URL_S3`` (it never
creates buckets in a real AWS account).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse


def configured_buckets(cfg) -> list[str]:
    """The staging bucket, then the buckets of s3:// batch-export destinations (no duplicates)."""
    buckets = [cfg.dataset_group.bucket]
    for job in cfg.batch_jobs:
        if job.destination.startswith("s3://"):
            buckets.append(urlparse(job.destination).netloc)
    return list(dict.fromkeys(buckets))


def ensure_bucket(s3, bucket: str, region: str) -> str:
    """Create ``bucket`` unless it exists; return what happened."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return "exists"
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    args = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **args)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
        return "exists"
    return "created"


def main() -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from personalize_ops.pipeline.registry import discover

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    if not endpoint:
        print(
            "create_buckets: AWS_ENDPOINT_URL_S3 is not set; this creates buckets in the local S3 only", file=sys.stderr
        )
        return 2
    found = discover()
    for broken in found.broken:
        print(f"create_buckets: {broken.message}", file=sys.stderr)
    for pipeline in found.good:
        cfg = pipeline.config
        region = cfg.dataset_group.region
        s3 = boto3.client("s3", region_name=region)
        for bucket in configured_buckets(cfg):
            try:
                print(f"s3://{bucket} at {endpoint}: {ensure_bucket(s3, bucket, region)}")
            except (BotoCoreError, ClientError) as err:
                print(f"create_buckets: s3://{bucket} at {endpoint}: {err}", file=sys.stderr)
                return 1
    return 1 if found.broken or not found.good else 0


if __name__ == "__main__":
    sys.exit(main())
