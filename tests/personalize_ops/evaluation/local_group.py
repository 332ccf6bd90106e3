"""A dataset group on the local stack for the scoring tests: clustered interactions, versions, a campaign, filters."""

from __future__ import annotations

import json
import random

from personalize_ops.hook import PersonalizeHook
from personalize_ops.operators.ensure import ensure_resource
from personalize_ops.resources import KINDS

ROLE = "arn:aws:iam::000000000000:role/PersonalizeRole"
BUCKET = "evaluation-data"
SCHEMA = json.dumps({
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
               {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}],
    "version": "1.0",
})  # fmt: skip
ITEMS_SCHEMA = json.dumps({
    "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
    "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "CATEGORY", "type": "string", "categorical": True}],
    "version": "1.0",
})  # fmt: skip
T0 = 1_700_000_000


def items_csv(items: int = 48) -> str:
    """Each item's CATEGORY: ``even`` or ``odd`` (of its number)."""
    return "ITEM_ID,CATEGORY\n" + "".join(f"i{i},{'odd' if i % 2 else 'even'}\n" for i in range(items))


def interactions_csv(users: int = 80, items: int = 48, per_user: int = 25, seed: int = 3) -> str:
    """Users in 4 taste clusters (80% of events inside their cluster), one event per user every hour."""
    rng = random.Random(seed)
    rows = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"]
    for j in range(per_user):
        for u in range(users):
            group = u % 4
            item = rng.randrange(items // 4) * 4 + group if rng.random() < 0.8 else rng.randrange(items)
            kind = "purchase" if rng.random() < 0.2 else "view"
            rows.append(f"u{u},i{item},{T0 + j * 3600 + u},{kind}")
    return "\n".join(rows) + "\n"


class Group:
    """Create-or-reuse helpers on one dataset group (blocking waits, fast polling)."""

    def __init__(self, stack, conn_id: str, name: str):
        self.stack, self.name = stack, name
        self.hook = PersonalizeHook(aws_conn_id=conn_id)
        self.s3 = stack.client("s3")
        try:
            self.s3.create_bucket(Bucket=BUCKET)
        except self.s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        self.arn = self.ensure("dataset_group", name)
        schema = self.ensure("schema", f"{name}-interactions", config={"schema": SCHEMA})
        self.dataset = self.ensure("dataset", f"{name}-interactions", self.arn,
                                   {"datasetType": "INTERACTIONS", "schemaArn": schema})  # fmt: skip
        items_schema = self.ensure("schema", f"{name}-items", config={"schema": ITEMS_SCHEMA})
        self.items = self.ensure("dataset", f"{name}-items", self.arn,
                                 {"datasetType": "ITEMS", "schemaArn": items_schema})  # fmt: skip
        self.import_csv("items", items_csv(), self.items)

    def ensure(self, kind: str, name: str, parent: str | None = None, config: dict | None = None) -> str:
        k = KINDS[kind]
        arn = ensure_resource(self.hook, k, name, parent, config or {}, {}, "fail", self.hook.log)
        if k.status_path:
            self.hook.wait(k, arn, "active", delay=0.2, max_attempts=1500)
        return arn

    def import_csv(self, label: str, body: str, dataset: str | None = None) -> None:
        """Import ``body`` into the interactions dataset (or ``dataset``), as a FULL import."""
        key = f"{self.name}/{label}.csv"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
        self.ensure("dataset_import_job", f"{self.name}-{label}", dataset or self.dataset,
                    {"dataSource": {"dataLocation": f"s3://{BUCKET}/{key}"}})  # fmt: skip

    def train(self, solution: str, recipe: str, config: dict | None = None) -> str:
        """A new ACTIVE version of solution ``solution`` (created if missing) on the data imported so far."""
        sol = self.ensure("solution", f"{self.name}-{solution}", self.arn,
                          {"recipeArn": f"arn:aws:personalize:::recipe/{recipe}", **(config or {})})  # fmt: skip
        arn = self.hook.call("CreateSolutionVersion", solutionArn=sol)["solutionVersionArn"]
        self.hook.wait("solution_version", arn, "active", delay=0.2, max_attempts=1500)
        return arn
