"""Reading and writing S3 objects named by s3:// URLs: a single object, every object under a folder/, or (batch
inference input, as AWS documents it) every object whose key starts with a prefix."""

from __future__ import annotations

from personalize_local.jobs.context import JobFailed


def split_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise JobFailed(f"{url!r} is not an s3://bucket/key URL")
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def read_objects(s3, url: str, prefix: bool = False, max_files: int | None = None) -> list[tuple[str, bytes]]:
    """[(url, bytes)] of the object at `url`, or of every non-empty object under it if it ends with '/'; with
    `prefix`, of every non-empty object whose key starts with the URL's key, '/' or not ("s3://b/in" reads
    in/a.json and in_test/b.json, as AWS's batch inference does). More than `max_files` objects: JobFailed."""
    bucket, key = split_url(url)
    try:
        if key and not key.endswith("/") and not prefix:
            try:
                return [(url, s3.get_object(Bucket=bucket, Key=key)["Body"].read())]
            except s3.exceptions.NoSuchKey as exc:
                raise JobFailed(
                    f"Input file {url} does not exist. For a folder of CSV parts end the path with '/'."
                ) from exc
        keys = [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            for obj in page.get("Contents", [])
            if obj["Size"] > 0 and not obj["Key"].endswith("/")
        ]
        if not keys:
            raise JobFailed(f"No files found {'with the prefix' if prefix else 'under'} {url}.")
        if max_files is not None and len(keys) > max_files:
            raise JobFailed(
                f"{url} matches {len(keys)} files; Amazon Personalize reads at most {max_files} input files in one "
                "job. Split the input across jobs, or end the path with '/' to read one folder only."
            )
        return [(f"s3://{bucket}/{k}", s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in sorted(keys)]
    except s3.exceptions.NoSuchBucket as exc:
        raise JobFailed(f"Bucket {bucket} does not exist (reading {url}).") from exc


def write_object(s3, url: str, body: bytes) -> None:
    bucket, key = split_url(url)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    except s3.exceptions.NoSuchBucket as exc:
        raise JobFailed(f"Output bucket {bucket} does not exist (writing {url}).") from exc
