"""Batch-inference exports: pick the version, build the job input, flatten Personalize's output to a table."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from personalize_ops import s3_layout
from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.gate_task import serving_version
from personalize_ops.pipeline.imports import last_active_import
from personalize_ops.pipeline.requests import dataset_name

log = logging.getLogger(__name__)
#: Users per input file: well inside Personalize's batch input limits (1 GB per file).
USERS_PER_FILE = 500_000


class ExportError(RuntimeError):
    """The export does not account for every input user, or a version/input could not be resolved."""


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
    active = [v for v in hook.list("solution_version", solution_arn) if v.get("status") == "ACTIVE"]
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
        return _column_values(s3, uri, "USER_ID")
    bucket, key = s3uri.split(job.users)
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    users = [json.loads(x)["userId"] if x.lstrip().startswith("{") else x.strip() for x in text.splitlines()]
    return list(dict.fromkeys(u for u in users if u))


def _column_values(s3, uri: str, column: str) -> list[str]:
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    bucket, key = s3uri.split(uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    table = pcsv.read_csv(body, convert_options=pcsv.ConvertOptions(
        include_columns=[column], column_types={column: "string"}))  # fmt: skip
    return sorted(pc.unique(table[column]).to_pylist())


def write_inputs(s3, cfg, job, users: list[str], token: str) -> list[dict]:
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
        parts.append({"job_name": f"{job.name}-{token[:10]}-{n}"[:63], "input_path": f"s3://{group.bucket}/{key}",
                      "output_path": out, "users": len(users[i : i + USERS_PER_FILE])})  # fmt: skip
    return parts


def output_lines(s3, input_path: str, output_path: str) -> list[dict]:
    """The parsed JSON Lines a batch inference job wrote for ``input_path``: ``<output_path><input name>.out``."""
    in_name = input_path.rsplit("/", 1)[-1]
    bucket, key = s3uri.split(output_path.rstrip("/") + "/" + in_name + ".out")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def flatten(s3, parts: list[dict], expected_users: int, output_format: str, destination: str, stamp: str) -> dict:
    """``.out`` JSON Lines -> one table (user_id, rank, item_id, score) plus an errors file; counts checked."""
    import pyarrow as pa

    rows = {"user_id": [], "rank": [], "item_id": [], "score": []}
    errors, answered = [], set()
    for part in parts:
        for rec in output_lines(s3, part["input_path"], part["output_path"]):
            user = (rec.get("input") or {}).get("userId")
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
            f"but {expected_users} were sent: output files are incomplete ({[p['output_path'] for p in parts]})"
        )
    table = pa.table(rows, schema=pa.schema([("user_id", pa.string()), ("rank", pa.int32()),
                                             ("item_id", pa.string()), ("score", pa.float64())]))  # fmt: skip
    path = _write(s3, table, output_format, destination, f"recommendations-{stamp}")
    err_path = None
    if errors:
        err_path = _write(s3, pa.Table.from_pylist(errors), "csv", destination, f"errors-{stamp}")
    summary = {"path": path, "errors_path": err_path, "rows": table.num_rows, "users_answered": len(answered),
               "users_failed": len(errors), "users_sent": expected_users}  # fmt: skip
    log.info("Exported %s", summary)
    return summary


def _write(s3, table, fmt: str, destination: str, stem: str) -> str:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buf)
    else:
        pcsv.write_csv(table, buf)
    name = f"{stem}.{fmt}"
    if destination.startswith("s3://"):
        bucket, key = s3uri.split(destination.rstrip("/") + "/" + name)
        s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
        return f"s3://{bucket}/{key}"
    path = Path(destination) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return str(path)
