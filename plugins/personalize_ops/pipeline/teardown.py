"""Teardown of one dataset group: discover everything under it, plan deletes in the table's order, execute.

The order comes from ``resources.TEARDOWN_ORDER`` (dependents first). Only resources under the named dataset
group are touched; a schema is ours if one of our datasets uses it, and it is kept (and reported) when a
dataset of another group uses it too. A schema a schema change replaced is ours too when its name is one the pipeline
gives this group's schemas (``requests.schema_name``) and no dataset uses it.

S3 is deleted per area (:mod:`personalize_ops.s3_layout`), each only when its own option asks for it
(:data:`S3_OPTIONS`): deleting staged files never deletes the metric history, the gate decisions or the exports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from personalize_ops import s3_layout
from personalize_ops.pipeline import requests, s3uri
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.resources import KINDS, TEARDOWN_ORDER

log = logging.getLogger(__name__)
CHILD_KINDS = [k for k in KINDS.values() if k.parent == "dataset_group" and k.deletable]


@dataclass
class Step:
    kind: str
    arn: str
    name: str
    action: str  # delete | stop | keep
    reason: str = ""
    objects: int | None = None  # S3 areas: how many objects are there

    def to_dict(self) -> dict:
        return asdict(self)


def _find_group(hook, name: str) -> str | None:
    return hook.find_by_name("dataset_group", name)


def discover(hook, group_name: str) -> list[dict]:
    """The plan: every resource under ``group_name`` with what teardown will do to it, in delete order."""
    group_arn = _find_group(hook, group_name)
    if not group_arn:
        log.info("Dataset group %s does not exist: nothing to tear down", group_name)
        return []
    found: dict[str, list[Step]] = {k: [] for k in TEARDOWN_ORDER}
    found["solution_version"] = []
    for k in CHILD_KINDS:
        for s in hook.list(k, group_arn):
            found[k.key].append(Step(k.key, s[k.arn_member], s.get(k.name_member, ""), "delete"))
    for sol in found["solution"]:
        for c in hook.list("campaign", sol.arn):
            found["campaign"].append(Step("campaign", c["campaignArn"], c["name"], "delete"))
        for v in hook.list("solution_version", sol.arn):
            if v.get("status") in KINDS["solution_version"].in_progress:
                found["solution_version"].append(
                    Step("solution_version", v["solutionVersionArn"], "", "stop", f"training {v['status']}")
                )
    found["schema"] = _our_schemas(hook, group_arn, [d.arn for d in found["dataset"]], group_name)
    found["dataset_group"].append(Step("dataset_group", group_arn, group_name, "delete"))
    order = [*TEARDOWN_ORDER[: TEARDOWN_ORDER.index("solution")], "solution_version",
             *TEARDOWN_ORDER[TEARDOWN_ORDER.index("solution"):]]  # fmt: skip
    return [step.to_dict() for key in order for step in found[key]]


def _our_schemas(hook, group_arn: str, our_datasets: list[str], group_name: str) -> list[Step]:
    ours = {hook.describe("dataset", d)["schemaArn"] for d in our_datasets}
    users: dict[str, set[str]] = {}
    for g in hook.list("dataset_group"):
        if g["datasetGroupArn"] == group_arn:
            continue
        for d in hook.list("dataset", g["datasetGroupArn"]):
            schema = hook.describe("dataset", d["datasetArn"])["schemaArn"]
            users.setdefault(schema, set()).add(g["name"])
    steps = []
    for arn in sorted(ours):
        name = hook.describe("schema", arn).get("name", "")
        if arn in users:
            why = f"also used by dataset group(s) {', '.join(sorted(users[arn]))}"
            steps.append(Step("schema", arn, name, "keep", why))
        else:
            steps.append(Step("schema", arn, name, "delete"))
    for s in hook.list("schema"):
        arn, name = s["schemaArn"], s.get("name", "")
        if arn not in ours and arn not in users and requests.is_schema_name_of(group_name, name):
            steps.append(Step("schema", arn, name, "delete", "replaced by a schema change; no dataset uses it"))
    return steps


def execute(hook, steps: list[dict], delay: float = 5, max_attempts: int = 720) -> list[dict]:
    """Delete (or stop) each step in order, waiting until done; already-gone resources count as done."""
    done = []
    for step in steps:
        kind, arn = step["kind"], step["arn"]
        if step["action"] == "keep":
            done.append({**step, "result": "kept"})
            continue
        if step["action"] == "stop":
            hook.stop_training(arn)
            hook.wait(kind, arn, "stopped", delay=delay, max_attempts=max_attempts)
            status = (hook.describe_or_none(kind, arn) or {}).get("status", "gone")
            log.info("Stopped %s %s: %s", kind, arn, status)  # ACTIVE / CREATE FAILED: it ended before the stop
            done.append({**step, "result": status})
            continue
        existed = hook.delete(kind, arn, timeout=delay * max_attempts)
        hook.wait(kind, arn, "deleted", delay=delay, max_attempts=max_attempts)
        log.info("%s %s %s", "Deleted" if existed else "Already gone:", kind, arn)
        done.append({**step, "result": "deleted" if existed else "already gone"})
    return done


def plan(hook, s3, cfg, params: Mapping) -> list[dict]:
    """The teardown DAG's ``plan``: refuse a real run without confirmation, then the resources and the S3 areas."""
    group = cfg.dataset_group.name
    if not params["dry_run"] and params["confirm"] != group:
        raise TeardownError(
            f"refusing to delete: param confirm={params['confirm']!r} must equal the dataset group name "
            f"{group!r} (or run with dry_run=true to only list what would be deleted)"
        )
    steps = discover(hook, group) + plan_s3(s3, cfg, params)
    log.info(("DRY RUN: would do\n" if params["dry_run"] else "Plan:\n") + report(steps))
    return steps


def report(rows: list[dict]) -> str:
    """A fixed-width table of what was (or would be) deleted and what was kept, and why."""
    if not rows:
        return "nothing to tear down"
    header = ("kind", "name", "action", "objects", "result", "reason", "arn")
    table = [header] + [tuple("" if r.get(c) is None else str(r[c]) for c in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table)


# --------------------------------------------------------------------------- S3 areas


class TeardownError(PipelineError):
    """A teardown that must not run as asked (unconfirmed, or an export destination overlapping the pipeline's
    areas); not retried."""


class S3DeleteError(RuntimeError):
    """S3 refused to delete some objects (``delete_objects`` answered with ``Errors``)."""


@dataclass(frozen=True)
class S3Option:
    """One DAG param that deletes one kind of S3 area; all default to false."""

    param: str
    area: str  # an s3_layout area, or "exports" (each batch job's destination)
    description: str


S3_OPTIONS = (
    S3Option("delete_staging", "staging", "Delete the S3 staging area of this dataset group (prepared files)."),
    S3Option("delete_batch_work", "batch",
             "Delete the batch-inference work area of this dataset group (job inputs and raw outputs)."),
    S3Option("delete_exports", "exports", "Delete the batch exports at every batch job's s3:// destination."),
    S3Option("delete_metric_history", "history", "Delete the metric history of this dataset group."),
    S3Option("delete_gate_decisions", "gate", "Delete the gate decisions of this dataset group."),
)  # fmt: skip


@dataclass(frozen=True)
class S3Area:
    area: str
    option: str
    location: str  # s3://bucket/key-prefix/ (an export destination may also be a local path)


def s3_areas(cfg) -> list[S3Area]:
    """The S3 areas of the config's dataset group, each with the option that deletes it."""
    group, out = cfg.dataset_group, []
    for opt in S3_OPTIONS:
        if opt.area == "exports":
            destinations = dict.fromkeys(j.destination.rstrip("/") + "/" for j in cfg.batch_jobs)
            out += [S3Area(opt.area, opt.param, d) for d in destinations]
        else:
            key = s3_layout.area(group.prefix, opt.area, group.name)
            out.append(S3Area(opt.area, opt.param, f"s3://{group.bucket}/{key}"))
    return out


def _check_export_destination(cfg, location: str) -> None:
    """Refuse to delete an export destination that is a whole bucket or overlaps the pipeline's own areas."""
    group = cfg.dataset_group
    bucket, key = s3uri.split(location)
    jobs = ", ".join(j.name for j in cfg.batch_jobs if j.destination.rstrip("/") + "/" == location)
    where = f"delete_exports: batch job(s) {jobs} export to {location}"
    if not key.strip("/"):
        raise TeardownError(f"{where}, a whole bucket; refusing to empty it. Delete those exports by hand.")
    for root in s3_layout.roots(group.prefix) if bucket == group.bucket else []:
        if key.startswith(root) or root.startswith(key):
            raise TeardownError(
                f"{where}, which overlaps s3://{bucket}/{root} where the pipelines under prefix "
                f"{group.prefix!r} keep staged data, batch work and metric history; refusing to delete it. "
                f"Give batch_jobs[].destination a prefix of its own (e.g. "
                f"{s3uri.join(group.bucket, group.prefix, 'exports', group.name)}/), or delete those exports by hand."
            )


def count_objects(s3, location: str) -> int:
    """Objects under ``location``; 0 when its bucket does not exist (yet)."""
    from botocore.exceptions import ClientError

    bucket, key = s3uri.split(location)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        return sum(len(page.get("Contents", [])) for page in pages)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return 0
        raise TeardownError(f"cannot list {location} ({code}): the connection needs s3:ListBucket on it") from err


def plan_s3(s3, cfg, options: Mapping[str, bool]) -> list[dict]:
    """One row per non-empty S3 area: ``delete`` if its option is on, else ``keep``; with its object count."""
    rows = []
    for a in s3_areas(cfg):
        wanted = bool(options.get(a.option))
        kind = f"s3:{a.area}"
        if not a.location.startswith("s3://"):
            if wanted:
                rows.append(Step(kind, "", a.location, "keep", "not in S3: teardown deletes S3 objects only"))
            continue
        if wanted and a.area == "exports":
            _check_export_destination(cfg, a.location)
        n = count_objects(s3, a.location)
        if n:
            reason = a.option if wanted else f"{a.option} is false"
            rows.append(Step(kind, "", a.location, "delete" if wanted else "keep", reason, objects=n))
    return [r.to_dict() for r in rows]


def delete_objects_under(s3, location: str) -> tuple[int, list[dict]]:
    """Delete every object under ``location`` (a key prefix ending in '/'); ``(deleted, errors)``.

    ``delete_objects`` answers per key: what it deleted and, under ``Errors``, what it did not (key, code).
    """
    bucket, key = s3uri.split(location)
    if not key.strip("/") or not key.endswith("/"):
        raise TeardownError(f"refusing to delete under {location}: not a folder-like key prefix")
    deleted, errors = 0, []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if not keys:
            continue
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": False})
        deleted += len(answer.get("Deleted", []))
        errors += [{"key": e.get("Key"), "code": e.get("Code"), "message": e.get("Message", "")}
                   for e in answer.get("Errors", [])]  # fmt: skip
    return deleted, errors


def execute_s3(s3, steps: list[dict]) -> list[dict]:
    """Delete the S3 areas planned for deletion; every row says how many objects went and which did not."""
    rows = []
    for step in steps:
        if step["action"] != "delete":
            rows.append({**step, "result": "kept"})
            continue
        deleted, errors = delete_objects_under(s3, step["name"])
        result = f"{deleted} objects deleted" + (f", {len(errors)} NOT deleted" if errors else "")
        log.info("%s: %s", step["name"], result)
        rows.append({**step, "result": result, **({"errors": errors} if errors else {})})
    return rows


def s3_failures(rows: list[dict], shown: int = 20) -> str | None:
    """What S3 refused to delete (keys and error codes), or None."""
    errors = [(r["name"], e) for r in rows for e in r.get("errors", [])]
    if not errors:
        return None
    lines = [f"  {e['key']}: {e['code']} {e['message']}".rstrip() for _, e in errors[:shown]]
    more = [f"  ... and {len(errors) - shown} more"] if len(errors) > shown else []
    areas = ", ".join(dict.fromkeys(name for name, _ in errors))
    hint = "Fix the cause (permissions, bucket policy, object lock) and run the teardown again."
    return "\n".join([f"S3 did not delete {len(errors)} object(s) under {areas}:", *lines, *more, hint])


def run(hook, s3, steps: list[dict], *, dry_run: bool, delay: float = 5) -> list[dict]:
    """Carry out a plan: Personalize resources in order, then the S3 areas; logs the report.

    Raises :class:`S3DeleteError` (after the report) when S3 refused to delete some objects.
    """
    if dry_run:
        rows = [{**s, "result": "dry run"} for s in steps]
        log.info("DRY RUN: nothing deleted\n%s", report(rows))
        return rows
    is_s3 = [s["kind"].startswith("s3:") for s in steps]
    rows = execute(hook, [s for s, x in zip(steps, is_s3, strict=True) if not x], delay=delay)
    rows += execute_s3(s3, [s for s, x in zip(steps, is_s3, strict=True) if x])
    log.info("Teardown:\n%s", report(rows))
    failures = s3_failures(rows)
    if failures:
        raise S3DeleteError(failures)
    return rows
