"""Content-addressed S3 staging of prepared Personalize files.

A prepared file is stored once under its content address in the dataset group's staging area
(:func:`personalize_ops.s3_layout.staging_key`): the same bytes map to the same key, so re-running a task re-uses
the object and an unchanged dataset is recognisable by its S3 location.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from personalize_ops.s3_layout import staging_key

__all__ = ["StagedFile", "StagingError", "sha256_of", "stage_file", "staging_key"]
_CHUNK = 8 * 1024 * 1024


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in bounded chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class StagedFile:
    """Where a prepared file lives in S3 and whether this call uploaded it."""

    dataset: str
    uri: str
    sha256: str
    uploaded: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _exists(s3, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


class StagingError(RuntimeError):
    """The staging bucket cannot be used (missing, or no access)."""


def _check_bucket(s3, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        what = "does not exist" if code in ("404", "NoSuchBucket", "NotFound") else f"is not accessible ({code})"
        raise StagingError(
            f"S3 bucket {bucket!r} (dataset_group.bucket in the pipeline config) {what}: create it, or point the "
            f"config at a bucket the connection can write to"
        ) from err


def stage_file(
    s3, bucket: str, prefix: str, dataset: str, path: str | Path, sha256: str | None = None, *, group: str
) -> StagedFile:
    """Upload ``path`` under its content address in ``group``'s staging area unless that object already exists."""
    _check_bucket(s3, bucket)
    digest = sha256 or sha256_of(path)
    key = staging_key(prefix, group, dataset, digest)
    uploaded = False
    if not _exists(s3, bucket, key):
        s3.upload_file(str(path), bucket, key)
        uploaded = True
    return StagedFile(dataset=dataset, uri=f"s3://{bucket}/{key}", sha256=digest, uploaded=uploaded)
