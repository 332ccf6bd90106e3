"""One active run per dataset group: a lock object in S3 shared by the retrain (full), incremental and deletion DAGs.

``max_active_runs=1`` keeps each DAG to one run; this lock keeps the DAGs *of one dataset group* from overlapping
(an INCREMENTAL import must not run while a FULL import replaces the data, an UPDATE training must not start
while a FULL training of the same solution runs, a deletion must not race an import). An Airflow pool cannot do
this: a pool limits task instances, not runs, so the tasks of two runs would interleave, and a deferred task gives
up its slot while it waits.

- **acquire**: a conditional put (``If-None-Match: *``) of ``cadence/<group>/lock.json`` (:mod:`personalize_ops.
  s3_layout`) naming the run's DAG and run id. S3 answers 412 when the lock exists, so of two runs starting at
  once exactly one gets it. The run that holds it acquiring again (a retry) keeps it. A lock whose run Airflow no
  longer reports as queued or running (its release task never ran, e.g. the run was marked failed by hand) is
  stale: it is replaced with a put conditional on its ETag (``If-Match``), so two runs cannot both take it over.
  When Airflow cannot tell the holder's state, the lock counts as held (delete the object by hand to free it).
- **release**: each DAG's last task (trigger rule ``all_done``, so also after a failure) deletes the lock when
  this run holds it (a delete conditional on the ETag it read).
- **busy**: the full retrain and the deletion DAG wait for the lock (a sensor in reschedule mode: no worker slot
  is held while waiting); the incremental DAG skips its run and says who holds the lock (a full run imports every
  event anyway, and the next incremental run imports whatever is still new).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from personalize_ops.s3_layout import lock_key

log = logging.getLogger(__name__)
ACTIVE_RUN_STATES = ("queued", "running")
_TAKEN = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


@dataclass(frozen=True)
class Holder:
    """The run holding a dataset group's lock."""

    dag_id: str
    run_id: str
    since: float

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"{self.dag_id} run {self.run_id} (since {since})"


def _code(err) -> str:
    return str(err.response.get("Error", {}).get("Code"))


def read(s3, bucket: str, key: str) -> tuple[Holder | None, str | None]:
    """The holder of the lock and the lock object's ETag; (None, None) when nobody holds it."""
    from botocore.exceptions import ClientError

    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _code(err) in _MISSING:
            return None, None
        raise
    body = json.loads(obj["Body"].read())
    return Holder(body["dag_id"], body["run_id"], float(body["since"])), obj["ETag"]


def try_acquire(s3, cfg, dag_id: str, run_id: str, run_state: Callable[[str, str], str | None]) -> tuple[bool, Holder]:
    """Take the group's lock for ``dag_id``/``run_id``: (True, this run) or (False, the run that holds it).

    ``run_state(dag_id, run_id)`` is Airflow's state of a run (None when unknown), used to recognise a stale lock."""
    from botocore.exceptions import ClientError

    group = cfg.dataset_group
    bucket, key = group.bucket, lock_key(group.prefix, group.name)
    me = Holder(dag_id, run_id, time.time())
    body = json.dumps(asdict(me)).encode()
    for _ in range(3):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            log.info("Lock s3://%s/%s taken by %s", bucket, key, me.describe())
            return True, me
        except ClientError as err:
            if _code(err) not in _TAKEN:
                raise
        held, etag = read(s3, bucket, key)
        if held is None:
            continue  # released in between: try again
        if (held.dag_id, held.run_id) == (dag_id, run_id):
            return True, held  # a retry of the task of the run that holds it
        state = run_state(held.dag_id, held.run_id)
        if state in ACTIVE_RUN_STATES:
            return False, held
        log.warning("Lock held by %s, which is %s: taking it over", held.describe(), state or "unknown to Airflow")
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=etag)
            return True, me
        except ClientError as err:
            if _code(err) not in (*_TAKEN, *_MISSING):
                raise
    held, _ = read(s3, bucket, key)
    return False, held or me


def release(s3, cfg, dag_id: str, run_id: str) -> bool:
    """Delete the group's lock if ``dag_id``/``run_id`` holds it; True when it did."""
    from botocore.exceptions import ClientError

    group = cfg.dataset_group
    bucket, key = group.bucket, lock_key(group.prefix, group.name)
    held, etag = read(s3, bucket, key)
    if held is None or (held.dag_id, held.run_id) != (dag_id, run_id):
        log.info("Lock s3://%s/%s not held by this run (holder: %s); nothing to release", bucket, key,
                 held.describe() if held else "none")  # fmt: skip
        return False
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as err:
        if _code(err) not in (*_TAKEN, *_MISSING):
            raise
        return False
    log.info("Lock s3://%s/%s released by %s", bucket, key, held.describe())
    return True


def airflow_run_state(ti) -> Callable[[str, str], str | None]:
    """``run_state`` for :func:`try_acquire` from a running task instance (the Task SDK's execution API)."""

    def state(dag_id: str, run_id: str) -> str | None:
        try:
            return str(ti.get_dagrun_state(dag_id=dag_id, run_id=run_id)).lower()
        except Exception as err:  # noqa: BLE001 - cannot tell: the lock counts as held
            log.warning("State of %s run %s unknown (%s); the lock counts as held", dag_id, run_id, err)
            return "running"

    return state
