"""Teardown of one dataset group: discover everything under it, plan deletes in the table's order, execute.

The order comes from ``resources.TEARDOWN_ORDER`` (dependents first). Only resources under the named dataset
group are touched; a schema is ours only if one of our datasets uses it, and it is kept (and reported) when a
dataset of another group uses it too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

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
                    Step("solution_version", v["solutionVersionArn"], "", "stop", "training in progress")
                )
    found["schema"] = _our_schemas(hook, group_arn, [d.arn for d in found["dataset"]])
    found["dataset_group"].append(Step("dataset_group", group_arn, group_name, "delete"))
    order = [*TEARDOWN_ORDER[: TEARDOWN_ORDER.index("solution")], "solution_version",
             *TEARDOWN_ORDER[TEARDOWN_ORDER.index("solution"):]]  # fmt: skip
    return [step.to_dict() for key in order for step in found[key]]


def _our_schemas(hook, group_arn: str, our_datasets: list[str]) -> list[Step]:
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
            done.append({**step, "result": "stopped"})
            continue
        existed = hook.delete(kind, arn, timeout=delay * max_attempts)
        hook.wait(kind, arn, "deleted", delay=delay, max_attempts=max_attempts)
        log.info("%s %s %s", "Deleted" if existed else "Already gone:", kind, arn)
        done.append({**step, "result": "deleted" if existed else "already gone"})
    return done


def delete_prefix(s3, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix/`` (the staging area); returns how many."""
    if not prefix.strip("/"):
        raise ValueError("refusing to delete a whole bucket: the dataset group has no S3 prefix")
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.strip("/") + "/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            count += len(keys)
    return count


def report(rows: list[dict]) -> str:
    """A fixed-width table of what was (or would be) deleted and what was kept, and why."""
    if not rows:
        return "nothing to tear down"
    header = ("kind", "name", "action", "result", "reason", "arn")
    table = [header] + [tuple(str(r.get(c, "")) for c in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table)
