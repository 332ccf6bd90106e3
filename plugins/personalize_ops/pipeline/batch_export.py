"""Batch-inference exports: pick the version, build the job input, flatten Personalize's output to a table."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from personalize_ops import s3_layout
from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.gate_task import serving_version
from personalize_ops.pipeline.imports import last_active_import
from personalize_ops.pipeline.naming import promoted_asset
from personalize_ops.pipeline.requests import dataset_name
from personalize_ops.pipeline.s3csv import read_csv_columns
from personalize_ops.pipeline.values import BatchPart, ExportPlan
from personalize_ops.resources import KINDS

log = logging.getLogger(__name__)
#: Users per input file: well inside Personalize's batch input limits (1 GB per file).
USERS_PER_FILE = 500_000
VERSION = KINDS["solution_version"]


class ExportError(RuntimeError):
    """The export does not account for every input user, or a version/input could not be resolved."""


def schedule(cfg):
    """The export DAG's schedule: ``schedules.batch_export`` (cron), or a promotion of any of the pipeline's campaigns
    (their Assets, :func:`personalize_ops.pipeline.naming.promoted_asset`), whichever comes first."""
    from airflow.sdk import AssetAny, AssetOrTimeSchedule, CronTriggerTimetable

    promoted = [promoted_asset(cfg.dataset_group.name, c.name) for c in cfg.campaigns]
    cron = cfg.schedules.batch_export
    if cron and promoted:
        return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=AssetAny(*promoted))
    return cron or (AssetAny(*promoted) if promoted else None)


def plan_export(hook, s3, cfg, job, token: str) -> ExportPlan:
    """The batch-export DAG's ``build_input``: the version to use, the filter's ARN, the input parts in S3."""
    version = resolve_version(hook, cfg, job)
    log.info("%s: using %s (%s)", job.name, version["solution_version_arn"], version["why"])
    filter_arn = None
    if job.filter:
        group_arn = hook.find_by_name("dataset_group", cfg.dataset_group.name)
        filter_arn = group_arn and hook.find_by_name("filter", job.filter, group_arn)
        if not filter_arn:
            raise ExportError(f"{job.name}: filter {job.filter!r} does not exist; run the retrain DAG first")
    users = input_users(s3, hook, cfg, job)
    parts = write_inputs(s3, cfg, job, users, token)
    return ExportPlan(job=job.name, version=version["solution_version_arn"], why=version["why"],
                      filter_arn=filter_arn, parts=parts, users=len(users))  # fmt: skip


def resolve_version(hook, cfg, job) -> dict:
    """The version the job's campaign serves, else the newest ACTIVE version of its solution."""
    group_arn = hook.find_by_name("dataset_group", cfg.dataset_group.name)
    solution_arn = group_arn and hook.find_by_name("solution", job.solution, group_arn)
    if not solution_arn:
        raise ExportError(f"batch job {job.name}: solution {job.solution!r} does not exist yet; run the retrain DAG")
    for campaign in (c for c in cfg.campaigns if c.solution == job.solution):
        _, version = serving_version(hook, campaign.name, solution_arn)
        if version:
            return {"solution_version_arn": version, "why": f"served by campaign {campaign.name}"}
    active = [v for v in hook.list(VERSION, solution_arn) if VERSION.is_ready(v)]
    if not active:
        raise ExportError(f"batch job {job.name}: solution {job.solution} has no ACTIVE version yet")
    newest = max(active, key=lambda v: v.get("creationDateTime") or 0)
    return {"solution_version_arn": newest["solutionVersionArn"], "why": "newest ACTIVE version"}


def input_users(s3, hook, cfg, job) -> list[str]:
    """The users to score: from the imported interactions, a configured list, or an S3 file (one per line)."""
    if isinstance(job.users, list):
        return list(dict.fromkeys(job.users))
    if job.users == "interactions":
        group_arn = hook.find_by_name("dataset_group", cfg.dataset_group.name)
        ds_arn = group_arn and hook.find_by_name("dataset", dataset_name(cfg, "interactions"), group_arn)
        last = ds_arn and last_active_import(hook, ds_arn)
        if not last:
            raise ExportError(f"batch job {job.name}: no ACTIVE interactions import to take users from")
        uri = last["dataSource"]["dataLocation"]
        return sorted(set(read_csv_columns(s3, uri, ("USER_ID",))["USER_ID"]))
    bucket, key = s3uri.split(job.users)
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    users = [json.loads(x)["userId"] if x.lstrip().startswith("{") else x.strip() for x in text.splitlines()]
    return list(dict.fromkeys(u for u in users if u))


def write_inputs(s3, cfg, job, users: list[str], token: str) -> list[BatchPart]:
    """Upload the users as JSON Lines parts; one batch job per part. Returns the parts' input/output paths."""
    group = cfg.dataset_group
    if not users:
        raise ExportError(f"batch job {job.name}: no users to score")
    parts = []
    for i in range(0, len(users), USERS_PER_FILE):
        n = i // USERS_PER_FILE
        key = s3_layout.batch_key(group.prefix, group.name, job.name, token, "input", f"part-{n:05d}.jsonl")
        extra = {"filterValues": dict(job.filter_values)} if job.filter_values else {}
        body = "".join(json.dumps({"userId": u, **extra}) + "\n" for u in users[i : i + USERS_PER_FILE])
        s3.put_object(Bucket=group.bucket, Key=key, Body=body.encode())
        out_key = s3_layout.batch_key(group.prefix, group.name, job.name, token, "output", f"part-{n:05d}")
        out = f"s3://{group.bucket}/{out_key}/"
        parts.append(BatchPart(job_name=f"{job.name}-{token[:10]}-{n}"[:63], input_path=f"s3://{group.bucket}/{key}",
                               output_path=out, users=len(users[i : i + USERS_PER_FILE])))  # fmt: skip
    return parts


def output_lines(s3, input_path: str, output_path: str) -> list[dict]:
    """The parsed JSON Lines a batch inference job wrote for ``input_path``: ``<output_path><input name>.out``."""
    in_name = input_path.rsplit("/", 1)[-1]
    bucket, key = s3uri.split(output_path.rstrip("/") + "/" + in_name + ".out")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def export_stamp(run_after: datetime, run_id: str) -> str:
    """The file-name stamp of one DAG run's export: ``<run_after UTC>-<run id>``, safe for file and S3 names.

    Every run has a ``run_after`` and a unique run id (asset-triggered runs have no logical date, so a
    ``ts_nodash`` stamp would be the same ``None`` for all of them). A run keeps both for good, so a retried or
    cleared export task gets the same stamp and finds its own files. Characters other than letters, digits,
    ``.``, ``_`` and ``-`` become ``_``; then a short hash of the real run id keeps two run ids apart.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._-")[:80]
    if safe != run_id:
        safe += "-" + hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"{run_after.astimezone(UTC):%Y%m%dT%H%M%SZ}-{safe}"


def flatten(s3, parts: list[BatchPart], expected_users: int, output_format: str, destination: str,
            stamp: str) -> dict:  # fmt: skip
    """``.out`` JSON Lines -> one table (user_id, rank, item_id, score) plus an errors file; counts checked.

    Files are ``recommendations-<stamp>.<fmt>`` and, only when some users failed, ``errors-<stamp>.csv``
    (``stamp`` from :func:`export_stamp`). They are created, never replaced: a retry of the same run reuses a
    file whose content is the same and fails on a different one (:func:`_write_once`).
    """
    import pyarrow as pa

    rows = {"user_id": [], "rank": [], "item_id": [], "score": []}
    errors, answered = [], set()
    for part in parts:
        for rec in output_lines(s3, part.input_path, part.output_path):
            inp = rec.get("input")  # a failed line may echo input that was not a JSON object
            user = inp.get("userId") if isinstance(inp, dict) else None
            if rec.get("error") or not rec.get("output"):
                errors.append({"user_id": user, "error": rec.get("error") or "no output"})
                continue
            items = rec["output"].get("recommendedItems") or []
            scores = rec["output"].get("scores") or [None] * len(items)
            answered.add(user)
            for rank, (item, score) in enumerate(zip(items, scores, strict=False), start=1):
                rows["user_id"].append(user)
                rows["rank"].append(rank)
                rows["item_id"].append(item)
                rows["score"].append(score)
    if len(answered) + len(errors) != expected_users:
        raise ExportError(
            f"export accounts for {len(answered)} answered + {len(errors)} failed users, "
            f"but {expected_users} were sent: output files are incomplete ({[p.output_path for p in parts]})"
        )
    table = pa.table(rows, schema=pa.schema([("user_id", pa.string()), ("rank", pa.int32()),
                                             ("item_id", pa.string()), ("score", pa.float64())]))  # fmt: skip
    path = _write_once(s3, _encode(table, output_format), destination, f"recommendations-{stamp}.{output_format}")
    err_name = f"errors-{stamp}.csv"
    err_path = None
    if errors:
        err_path = _write_once(s3, _encode(pa.Table.from_pylist(errors), "csv"), destination, err_name)
    elif _exists(s3, destination, err_name):
        raise ExportError(
            f"{_join(destination, err_name)} exists, but this attempt of the run has no failed users: an earlier "
            "attempt wrote it from different batch output. Not deleting it; remove it on purpose and retry."
        )
    summary = {"path": path, "errors_path": err_path, "rows": table.num_rows, "users_answered": len(answered),
               "users_failed": len(errors), "users_sent": expected_users}  # fmt: skip
    log.info("Exported %s", summary)
    return summary


def _encode(table, fmt: str) -> bytes:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buf)
    else:
        pcsv.write_csv(table, buf)
    return buf.getvalue()


def _join(destination: str, name: str) -> str:
    return destination.rstrip("/") + "/" + name if destination.startswith("s3://") else str(Path(destination) / name)


def _exists(s3, destination: str, name: str) -> bool:
    if not destination.startswith("s3://"):
        return (Path(destination) / name).exists()
    from botocore.exceptions import ClientError

    bucket, key = s3uri.split(_join(destination, name))
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _write_once(s3, body: bytes, destination: str, name: str) -> str:
    """Create ``destination/name`` holding ``body``; never replace an existing file.

    S3: a conditional put (``If-None-Match: *``; S3 answers 412 when the key exists, 409 when a concurrent
    conditional write is in flight, which is retried). Local: the body goes to a temporary file that is then
    hard-linked to the name (the link fails if the name exists; readers never see a partial file); where
    hard links are not supported, ``open(name, "xb")`` (O_EXCL). An existing file with the same bytes is
    reused (a retry of the same run); different bytes raise :class:`ExportError` and the file stays as it is.
    """
    target = _join(destination, name)
    if destination.startswith("s3://"):
        created = _put_if_absent(s3, target, body)
    else:
        created = _create_local(Path(target), body)
    if created:
        return target
    existing = _read(s3, target)
    if existing != body:
        raise ExportError(
            f"{target} already exists with different content ({len(existing):,} bytes, this export "
            f"{len(body):,}); exports are never overwritten. Delete it on purpose and retry, if it is wrong."
        )
    log.info("%s exists with the same content (a retry of this run): reused", target)
    return target


def _put_if_absent(s3, uri: str, body: bytes, attempts: int = 5) -> bool:
    from botocore.exceptions import ClientError

    bucket, key = s3uri.split(uri)
    for attempt in range(1, attempts + 1):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            return True
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412"):
                return False
            if code != "ConditionalRequestConflict" or attempt == attempts:
                raise
            time.sleep(attempt)  # another conditional write to this key is in flight; AWS says: retry
    return False


def _create_local(path: Path, body: bytes) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system: exclusive create instead
            try:
                with open(path, "xb") as fh:
                    fh.write(body)
                return True
            except FileExistsError:
                return False
    finally:
        os.unlink(tmp)


def _read(s3, target: str) -> bytes:
    if not target.startswith("s3://"):
        return Path(target).read_bytes()
    bucket, key = s3uri.split(target)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
