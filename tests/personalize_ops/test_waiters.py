"""The committed waiter JSON is exactly what the resource table generates, and botocore accepts it."""

import json

from botocore.waiter import WaiterModel
from personalize_ops.resources import KINDS
from personalize_ops.waiters import WAITER_PATH, build_waiters, render


def test_committed_json_matches_the_table():
    assert WAITER_PATH.read_text() == render(), "run: python -m personalize_ops.waiters"


def test_botocore_loads_every_waiter_for_every_kind():
    model = WaiterModel(json.loads(WAITER_PATH.read_text()))
    names = set(model.waiter_names)
    for k in KINDS.values():
        assert k.active_waiter in names
        assert (k.deleted_waiter in names) == k.deletable
        assert model.get_waiter(k.active_waiter).operation == k.describe_op


def test_semantics_active_deleted_updated():
    w = build_waiters()["waiters"]
    acc = {(a.get("expected"), a["state"]) for a in w["BatchInferenceJobActive"]["acceptors"]}
    for pending in ("PENDING", "IN PROGRESS", "CREATE PENDING", "CREATE IN_PROGRESS"):
        assert (pending, "retry") in acc  # documented and real spellings
    assert ("ACTIVE", "success") in acc and ("CREATE FAILED", "failure") in acc
    acc = {(a.get("expected"), a["state"]) for a in w["SolutionVersionActive"]["acceptors"]}
    assert ("CREATE STOPPED", "failure") in acc
    deleted = w["DatasetGroupDeleted"]["acceptors"]
    assert {
        "matcher": "error",
        "argument": "Error.Code",
        "expected": "ResourceNotFoundException",
        "state": "success",
    } in deleted
    assert all("latestCampaignUpdate.status" in a["argument"] for a in w["CampaignUpdated"]["acceptors"])
    assert w["SchemaActive"]["acceptors"][0]["state"] == "success"  # no status: exists == ready
