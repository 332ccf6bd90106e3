"""What a job runner gets (JobContext) and how it fails (JobFailed)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path


class JobFailed(Exception):
    """Raised by a job runner: the job ends CREATE FAILED with this message as failureReason."""


class JobContext:
    """What a job runner sees: its own document, read access to others, the data dir, PutEvents events and S3.

    `backend` is the personalize_local.backend.Backend running the job."""

    def __init__(self, backend, doc: dict):
        self.backend = backend
        self.doc = doc
        self.data_dir: Path = backend.data_dir
        self.s3_endpoint: str | None = backend.s3_endpoint

    def get(self, arn: str) -> dict | None:
        return self.backend.store.get(arn)

    def children(self, kind: str, member: str, arn: str) -> list[dict]:
        return [copy.deepcopy(d) for d in self.backend.linked(kind, member, arn)]

    def events(self, group_arn: str):
        """The PutEvents events of a dataset group as an interactions frame (events.EventLog.frame)."""
        return self.backend.events.frame(group_arn)

    def forget_users(self, group_arn: str, user_ids: set[str]) -> int:
        """Delete these users' PutEvents events in the group (events.EventLog.forget_users); returns the count."""
        return self.backend.events.forget_users(group_arn, user_ids)

    def s3(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


Runner = Callable[[JobContext], dict | None]
