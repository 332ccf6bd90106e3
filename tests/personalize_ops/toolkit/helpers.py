"""Shared bits of the toolkit integration tests: data, a minimal task context, fault switches."""

from __future__ import annotations

import random
from contextlib import contextmanager

from tests.avro_schemas import avro_record

INTERACTIONS_SCHEMA = avro_record("Interactions", ("USER_ID", "string"), ("ITEM_ID", "string"), ("TIMESTAMP", "long"))
ROLE = "arn:aws:iam::000000000000:role/PersonalizeRole"


def interactions_csv(users: int = 60, items: int = 40, per_user: int = 25, seed: int = 7) -> bytes:
    """Clustered synthetic interactions (>= 1000 rows, as Personalize requires for a FULL import)."""
    rng = random.Random(seed)
    rows = ["USER_ID,ITEM_ID,TIMESTAMP"]
    for u in range(users):
        group = u % 4
        for j in range(per_user):
            item = rng.randrange(items // 4) * 4 + group if rng.random() < 0.8 else rng.randrange(items)
            rows.append(f"u{u},i{item},{1_700_000_000 + u * 1000 + j}")
    return ("\n".join(rows) + "\n").encode()


def put_s3(stack, bucket: str, key: str, body: bytes) -> str:
    s3 = stack.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


@contextmanager
def throttling(stack, fraction: float = 0.3, error500: float = 0.0, seed: int = 11):
    """personalize_local answers ThrottlingException to ``fraction`` of requests (and HTTP 500 to ``error500``)."""
    with stack.faults_set(throttle_fraction=fraction, error500_fraction=error500, seed=seed):
        yield


class RecordingTI:
    """The part of a TaskInstance operators touch when run with ``op.execute(context)``: XCom push."""

    def __init__(self, dag_id: str = "toolkit", run_id: str = "manual__1", task_id: str = "t", map_index=-1):
        self.dag_id, self.run_id, self.task_id, self.map_index = dag_id, run_id, task_id, map_index
        self.xcom: dict = {}

    def xcom_push(self, key, value, **_):
        self.xcom[key] = value


def context(**ti_kwargs) -> dict:
    return {"ti": RecordingTI(**ti_kwargs)}


FAST = {"waiter_delay": 0.3, "waiter_max_attempts": 600, "deferrable": False}
POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"


def ensure_once(conn, kind, name, parent_arn=None, config=None, **kw):
    """Run PersonalizeEnsureResourceOperator(kind, name, ...) once with blocking, fast polling."""
    from personalize_ops.operators import PersonalizeEnsureResourceOperator

    op = PersonalizeEnsureResourceOperator(
        task_id=kind,
        kind=kind,
        name=name,
        parent_arn=parent_arn,
        config=config,
        aws_conn_id=conn,
        **FAST | kw,
    )
    return op.execute(context())
