"""Schema changes: replace a dataset's schema with UpdateDataset when the config's schema differs from the live one.

Schemas are immutable, so a changed schema is a new schema (``requests.schema_name``: ``<group>-<dataset>-<first 8
hex of the SHA-256 of the canonical schema JSON>``). What AWS allows ("Replacing a dataset's schema to add new
columns"): only Items and Users datasets; the new schema keeps every field of the current one with the same types
and attributes (``categorical``, ``textual``, ...); every new field supports null. :func:`refusals` checks those
rules; the pipeline's preflight (:func:`preflight`), ``validate-config --live`` (:func:`live_report`) and the dataset
operator (:class:`PersonalizeEnsureDatasetOperator`) all use it, so a change AWS would refuse fails before anything is
created, naming the dataset, the field, the rule and what to do. The wait for the update is the resource table's
``updated`` target of the dataset kind (``latestDatasetUpdate.status``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from personalize_ops.dataset_kinds import KINDS as DATASET_KINDS
from personalize_ops.operators.ensure import PersonalizeEnsureResourceOperator
from personalize_ops.pipeline import requests
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.resources import KINDS
from personalize_ops.waiters import described_state

DATASET, SCHEMA = KINDS["dataset"], KINDS["schema"]
#: Dataset types whose schema UpdateDataset may replace.
REPLACEABLE = ("ITEMS", "USERS")
DOC = "AWS's rules: 'Replacing a dataset's schema to add new columns' in the Amazon Personalize developer guide"


def _fields(schema: str | dict) -> list[dict]:
    return list((json.loads(schema) if isinstance(schema, str) else schema).get("fields") or [])


def _types(f: dict) -> frozenset:
    return frozenset(f["type"] if isinstance(f.get("type"), list) else [f.get("type")])


def _spec(f: dict) -> tuple:
    """A field's types (a union's order aside) and attributes: what a replacement must keep."""
    attributes = {k: v for k, v in f.items() if k not in ("name", "type", "doc")}
    return _types(f), json.dumps(attributes, sort_keys=True)


def _shown(f: dict) -> str:
    return json.dumps({k: v for k, v in f.items() if k not in ("name", "doc")}, sort_keys=True)


def refusals(dataset: str, dataset_type: str, current: str | dict, wanted: str | dict) -> list[str]:
    """Why AWS would refuse to replace ``current`` with ``wanted`` for this dataset: one line per problem, naming the
    dataset, the field, the rule and what to do instead ([] when the replacement is allowed)."""
    where = f"datasets.{dataset}"
    if dataset_type not in REPLACEABLE:
        return [f"{where}: the schema changed, but AWS replaces only Items and Users schemas, not {dataset_type}: "
                f"change its fields back, or use a new dataset group (dataset_group.name) for the new schema"]
    old, new = _fields(current), {f["name"]: f for f in _fields(wanted)}
    out = []
    for f in old:
        name = f["name"]
        if name not in new:
            out.append(f"{where}: field {name} was removed: a replacement schema must keep every field of "
                       f"the current one; put it back (map it to a placeholder source if the data is gone)")
        elif _spec(new[name]) != _spec(f):
            out.append(f"{where}: field {name} changes from {_shown(f)} to {_shown(new[name])}: a replacement "
                       f"schema cannot change a field's type or attributes; keep {name} as it was and add a new, "
                       f"nullable field with another name instead")  # fmt: skip
    known = {f["name"] for f in old}
    for name, f in new.items():
        if name not in known and "null" not in _types(f):
            out.append(f"{where}: new field {name} must support null data: set 'nullable: true' on it")
    return out


@dataclass(frozen=True)
class SchemaChange:
    """A dataset whose live schema differs from the config's: what is added and what AWS would refuse."""

    dataset: str
    dataset_arn: str
    current_schema_arn: str
    added: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.refused:
            return "; ".join(self.refused) + f" ({DOC})"
        return (f"datasets.{self.dataset}: schema will be replaced (UpdateDataset), adding "
                f"{', '.join(self.added) or 'no field'}; existing solutions leave new columns out of training")


def schema_change(hook, cfg, dataset: str, group_arn: str | None) -> SchemaChange | None:
    """The change from the schema ``dataset``'s live dataset uses to the config's; None when the dataset does not
    exist yet or already uses (or is moving to) exactly the config's schema."""
    if not group_arn:
        return None
    arn = hook.find_by_name(DATASET, requests.dataset_name(cfg, dataset), group_arn)
    if not arn:
        return None
    found = hook.describe(DATASET, arn)
    wanted = json.loads(requests.schema_json(cfg, dataset))
    latest = DATASET.latest_update(found)
    moving_to = latest.get("schemaArn") if described_state(DATASET, "updated", found) == "pending" else None
    for schema_arn in filter(None, (found["schemaArn"], moving_to)):
        if _fields(hook.describe(SCHEMA, schema_arn)["schema"]) == wanted["fields"]:
            return None
    current = json.loads(hook.describe(SCHEMA, found["schemaArn"])["schema"])
    known = {f["name"] for f in _fields(current)}
    return SchemaChange(
        dataset, arn, found["schemaArn"], added=[f["name"] for f in wanted["fields"] if f["name"] not in known],
        refused=refusals(dataset, found.get("datasetType") or DATASET_KINDS[dataset].dataset_type, current, wanted),
    )  # fmt: skip


def preflight(hook, cfg, group_arn: str) -> list[str]:
    """Check every dataset's schema change before anything is created; PipelineError listing what AWS would refuse.
    Returns the planned changes (logged by the task)."""
    changes = [c for ds in cfg.datasets.present() if (c := schema_change(hook, cfg, ds, group_arn))]
    refused = [line for c in changes for line in c.refused]
    if refused:
        raise PipelineError(f"{cfg.source_file or 'pipeline config'}: schema change(s) AWS does not allow ({DOC}):\n"
                            + "\n".join(f"  {line}" for line in refused))  # fmt: skip
    return [c.describe() for c in changes]


def live_report(hook, cfg) -> tuple[list[str], list[str]]:
    """``validate-config --live``: (planned schema changes, refused ones) against the live dataset group."""
    group_arn = hook.find_by_name(KINDS["dataset_group"], cfg.dataset_group.name)
    changes = [c for ds in cfg.datasets.present() if (c := schema_change(hook, cfg, ds, group_arn))]
    return [c.describe() for c in changes if not c.refused], [line for c in changes for line in c.refused]


class PersonalizeEnsureDatasetOperator(PersonalizeEnsureResourceOperator):
    """Ensure a dataset; when it exists with another schema, replace the schema (UpdateDataset) and wait for the
    update (the table's ``updated`` target, deferrable) instead of failing on drift.

    ``config``: ``{"datasetType": ..., "schemaArn": <the config's schema>}`` (``requests.dataset_request``). A change
    AWS does not allow raises :class:`PipelineError` before UpdateDataset is called.
    """

    default_kind = "dataset"

    def execute(self, context) -> str:
        wanted = self.request_config()
        arn = self.hook.find_by_name(DATASET, self.name, self.parent_arn)
        found = self.hook.describe(DATASET, arn) if arn else None
        if not found or found["schemaArn"] == wanted["schemaArn"] or found["datasetType"] != wanted["datasetType"]:
            return super().execute(context)
        self.persist_link(context, arn)
        replace_schema(self.hook, found, wanted["schemaArn"], self.name, self.log)
        return self.wait_or_defer(context, DATASET, arn, "updated")


def replace_schema(hook, found: dict[str, Any], schema_arn: str, name: str, log) -> bool:
    """UpdateDataset to ``schema_arn`` unless the latest update already moves there; PipelineError if AWS's rules
    refuse it. Returns whether UpdateDataset was sent; wait for the ``updated`` target."""
    arn, latest = found["datasetArn"], DATASET.latest_update(found)
    if latest.get("schemaArn") == schema_arn and described_state(DATASET, "updated", found) != "failure":
        log.info("Dataset %s is already replacing its schema with %s (%s)", arn, schema_arn, latest.get("status"))
        return False
    current = hook.describe(SCHEMA, found["schemaArn"])["schema"]
    wanted = hook.describe(SCHEMA, schema_arn)["schema"]
    key = next((k.key for k in DATASET_KINDS.values() if k.dataset_type == found["datasetType"]), name)
    refused = refusals(key, found["datasetType"], current, wanted)
    if refused:
        raise PipelineError(f"dataset {name} ({arn}): " + "; ".join(refused) + f" ({DOC})")
    log.info("Replacing the schema of dataset %s: %s -> %s", arn, found["schemaArn"], schema_arn)
    hook.call_when_free(DATASET.update_op, timeout=1800, **{DATASET.arn_member: arn, "schemaArn": schema_arn})
    return True
