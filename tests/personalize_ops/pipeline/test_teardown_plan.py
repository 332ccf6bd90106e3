"""discover() and execute() of the teardown against a small in-memory Personalize (a fake hook, not a mock).

The fake answers like the service where it matters for a teardown: a List call without the parent filter returns
the resources of every dataset group, a delete of something that still has children (or a schema still used by
a dataset) is refused with ResourceInUse, and only a version in training can be stopped.
"""

from __future__ import annotations

import itertools

import pytest
from personalize_ops.pipeline.teardown import discover, execute
from personalize_ops.resources import KINDS, kind

IN_TRAINING = "CREATE IN_PROGRESS"


class ResourceInUse(RuntimeError):
    pass


class FakePersonalize:
    """The hook methods the teardown calls, over a dict of resources; ``calls`` records every change."""

    def __init__(self):
        self.items: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    # -- building the account -----------------------------------------------------------------------------
    def add(self, key: str, name: str, parent: str | None = None, **fields) -> str:
        arn = f"arn:aws:personalize:us-east-1:000000000000:{key}/{name}-{next(self._ids)}"
        self.items[arn] = {"_kind": key, "_parent": parent, KINDS[key].arn_member: arn, "name": name,
                           "status": "ACTIVE", **fields}  # fmt: skip
        return arn

    def children(self, arn: str) -> list[str]:
        uses = [a for a, d in self.items.items() if d["_kind"] == "dataset" and d["schemaArn"] == arn]
        return [a for a, d in self.items.items() if d["_parent"] == arn] + uses

    # -- what the hook offers ---------------------------------------------------------------------------------
    def list(self, k, parent_arn=None):
        k = kind(k)
        for d in list(self.items.values()):
            if d["_kind"] == k.key and (parent_arn is None or d["_parent"] == parent_arn):
                yield {m: v for m, v in d.items() if not m.startswith("_") and (m != "schemaArn" or k.key == "schema")}

    def find_by_name(self, k, name, parent_arn=None):
        return next((s[kind(k).arn_member] for s in self.list(k, parent_arn) if s["name"] == name), None)

    def describe(self, k, arn):
        d = self.items[arn]
        assert d["_kind"] == kind(k).key
        return {m: v for m, v in d.items() if not m.startswith("_")}

    def describe_or_none(self, k, arn):
        return self.describe(k, arn) if arn in self.items else None

    def stop_training(self, arn):
        self.calls.append(("stop", arn))
        if self.items[arn]["status"] not in ("CREATE PENDING", IN_TRAINING):
            raise ResourceInUse(f"{arn} is {self.items[arn]['status']}; only a training can be stopped")
        self.items[arn]["status"] = "CREATE STOPPING"
        return True

    def delete(self, k, arn, timeout=600):
        if arn not in self.items:
            return False
        busy = [a for a in self.children(arn) if self.items[a]["_kind"] != "solution_version"]
        training = [a for a in self.children(arn) if self.items[a]["status"] in ("CREATE PENDING", IN_TRAINING)]
        if busy or training:
            raise ResourceInUse(f"cannot delete {arn}: still used by {busy + training}")
        self.calls.append(("delete", arn))
        for child in self.children(arn):  # versions go with their solution
            del self.items[child]
        del self.items[arn]
        return True

    def wait(self, k, arn, target, **_):
        if target == "stopped" and self.items[arn]["status"] == "CREATE STOPPING":
            self.items[arn]["status"] = "CREATE STOPPED"


def build_group(pz: FakePersonalize, name: str, shared_schema: str | None = None, training: bool = False) -> dict:
    """A dataset group with everything a pipeline creates; ``shared_schema`` is used by its items dataset."""
    g = pz.add("dataset_group", name)
    schema = pz.add("schema", f"{name}-interactions")
    items_schema = shared_schema or pz.add("schema", f"{name}-items")
    sol = pz.add("solution", f"{name}-sol", g)
    arns = {
        "group": g,
        "schema": schema,
        "items_schema": items_schema,
        "datasets": [
            pz.add("dataset", f"{name}-interactions", g, schemaArn=schema),
            pz.add("dataset", f"{name}-items", g, schemaArn=items_schema),
        ],
        "solution": sol,
        "active_version": pz.add("solution_version", f"{name}-v1", sol),
        "campaign": pz.add("campaign", f"{name}-camp", sol),
        "filter": pz.add("filter", f"{name}-filter", g),
        "tracker": pz.add("event_tracker", f"{name}-tracker", g),
    }
    if training:
        arns["training"] = pz.add("solution_version", f"{name}-v2", sol, status=IN_TRAINING)
    return arns


@pytest.fixture
def account():
    pz = FakePersonalize()
    foreign = build_group(pz, "foreign")
    ours = build_group(pz, "ours", shared_schema=foreign["schema"], training=True)
    return pz, ours, foreign


def _foreign_arns(pz: FakePersonalize) -> set[str]:
    return {a for a, d in pz.items.items() if d["name"].startswith("foreign")}


def test_plan_holds_only_our_resources_in_dependency_order(account):
    pz, ours, foreign = account
    plan = discover(pz, "ours")
    arns = [s["arn"] for s in plan]
    assert not set(arns) & (_foreign_arns(pz) - {foreign["schema"]}), "a foreign resource is in the plan"
    doomed = [ours[k] for k in ("campaign", "solution", "filter", "tracker", "schema", "group")] + ours["datasets"]
    assert {s["arn"]: s["action"] for s in plan if s["arn"] in doomed} == dict.fromkeys(doomed, "delete")
    pos = arns.index
    assert pos(ours["campaign"]) < pos(ours["training"]) < pos(ours["solution"]), "campaigns, stop, then solutions"
    for child in (ours["solution"], ours["filter"], ours["tracker"], *ours["datasets"]):
        assert pos(child) < pos(ours["group"]), f"{child} must go before its dataset group"
    for dataset in ours["datasets"]:
        assert pos(dataset) < pos(ours["schema"]), "a schema goes after the datasets that use it"


def test_only_a_training_version_is_stopped(account):
    pz, ours, _ = account
    stops = [s for s in discover(pz, "ours") if s["action"] == "stop"]
    assert [s["arn"] for s in stops] == [ours["training"]]
    assert ours["active_version"] not in {s["arn"] for s in discover(pz, "ours")}


def test_schema_shared_with_another_group_is_kept_and_reported(account):
    pz, ours, foreign = account
    (shared,) = [s for s in discover(pz, "ours") if s["arn"] == foreign["schema"]]
    assert shared["action"] == "keep" and "foreign" in shared["reason"]
    deleted = {s["arn"] for s in discover(pz, "ours") if s["kind"] == "schema" and s["action"] == "delete"}
    assert deleted == {ours["schema"]}


def test_execute_removes_ours_and_leaves_every_foreign_resource(account):
    pz, ours, foreign = account
    before = {a: dict(pz.items[a]) for a in _foreign_arns(pz)}
    rows = execute(pz, discover(pz, "ours"), delay=0)
    assert {a: pz.items.get(a) for a in before} == before, "a foreign resource changed"
    assert not [d for d in pz.items.values() if d["name"].startswith("ours")], "something of ours is left"
    assert ("stop", ours["training"]) in pz.calls and ("stop", ours["active_version"]) not in pz.calls
    assert ("delete", foreign["schema"]) not in pz.calls
    results = {r["arn"]: r["result"] for r in rows}
    assert results[ours["training"]] == "CREATE STOPPED"
    assert results[foreign["schema"]] == "kept"


def test_second_discover_after_teardown_is_empty_and_foreign_plan_unaffected(account):
    pz, _, foreign = account
    execute(pz, discover(pz, "ours"), delay=0)
    assert discover(pz, "ours") == []
    plan = {s["arn"]: s["action"] for s in discover(pz, "foreign")}
    assert plan[foreign["schema"]] == "delete", "no longer shared once our datasets are gone"
    assert set(plan) == _foreign_arns(pz) - {foreign["active_version"]}


def test_a_schema_a_schema_change_replaced_is_deleted_by_its_name(account):
    """After UpdateDataset no dataset uses the old schema; teardown finds it by the name the pipeline gave it
    (``<group>-<dataset>-<8 hex>``), and leaves schemas named otherwise or for another group."""
    pz, ours, foreign = account
    replaced = pz.add("schema", "x")
    pz.items[replaced]["name"] = "ours-items-0123abcd"
    others = {}
    for name in ("foreign-items-0123abcd", "ours-items-notahash", "ours-items-0123abcd9", "ours-itemsx-0123abcd"):
        others[name] = pz.add("schema", "x")
        pz.items[others[name]]["name"] = name
    plan = {s["arn"]: s for s in discover(pz, "ours") if s["kind"] == "schema"}
    assert plan[replaced]["action"] == "delete" and "replaced by a schema change" in plan[replaced]["reason"]
    assert not set(others.values()) & set(plan)
    execute(pz, discover(pz, "ours"))
    assert replaced not in pz.items and all(arn in pz.items for arn in others.values())
