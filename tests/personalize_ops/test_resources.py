"""The resource table against botocore's own Personalize service model."""

import botocore.session
import pytest
from personalize_ops.resources import KINDS, TEARDOWN_ORDER, kind

SESSION = botocore.session.get_session()
MODEL = SESSION.get_service_model("personalize")
PAGINATORS = SESSION.get_paginator_model("personalize")


def _members(op: str, side: str) -> set[str]:
    shape = getattr(MODEL.operation_model(op), f"{side}_shape")
    return set(shape.members) if shape else set()


def _describe_members(k) -> set[str]:
    return set(MODEL.operation_model(k.describe_op).output_shape.members[k.describe_key].members)


def _summary_members(k) -> set[str]:
    return set(MODEL.operation_model(k.list_op).output_shape.members[k.list_key].member.members)


@pytest.mark.parametrize("k", KINDS.values(), ids=list(KINDS))
def test_operations_and_members_exist(k):
    ops = set(MODEL.operation_names)
    for op in (k.create_op, k.describe_op, k.list_op, k.delete_op, k.update_op, k.stop_op):
        assert op is None or op in ops, op
    # the ARN member is the same in all four places
    assert k.arn_member in _members(k.create_op, "output")
    assert k.arn_member in _members(k.describe_op, "input")
    assert k.arn_member in _describe_members(k)
    assert k.arn_member in _summary_members(k)
    if k.delete_op:
        assert _members(k.delete_op, "input") == {k.arn_member}
    # name: a create argument and in the Describe object
    assert k.name_member in _members(k.create_op, "input")
    assert k.name_member in _describe_members(k)
    if k.key != "solution_version":  # versions have no name in their List summary (found by tag instead)
        assert k.name_member in _summary_members(k)
    # parent filters
    assert (k.parent is None) == (k.list_parent_member is None)
    if k.parent:
        assert k.parent in KINDS
        assert k.list_parent_member in _members(k.list_op, "input")
    if k.create_parent_member:
        assert k.create_parent_member in _members(k.create_op, "input")
    # status, failure reason, config members, defaults
    if k.status_path:
        assert k.status_path in _describe_members(k)
        assert "status" in _summary_members(k)
    if k.failure_reason_path:
        assert k.failure_reason_path in _describe_members(k)
    create_in = _members(k.create_op, "input")
    for m in k.config_members:
        assert m in _describe_members(k), m
        assert m in create_in or k.key == "campaign" or m == "trainingMode", m
    for m in k.create_defaults:
        assert m in create_in
    if k.update_status_path:
        head, _, tail = k.update_status_path.partition(".")
        update_shape = MODEL.operation_model(k.describe_op).output_shape.members[k.describe_key].members[head]
        assert tail in update_shape.members
        assert "failureReason" in update_shape.members  # what failure_reason_of reads of a failed update
        assert k.update_op in MODEL.operation_names


@pytest.mark.parametrize("k", KINDS.values(), ids=list(KINDS))
def test_every_list_call_has_a_botocore_paginator_over_the_list_key(k):
    """PersonalizeHook.list() pages with botocore's own paginator (or follows nextToken where botocore has none);
    ListTagsForResource needs none (no nextToken)."""
    if k.list_op in PAGINATORS._paginator_config:
        assert PAGINATORS.get_paginator(k.list_op)["result_key"] == k.list_key
    else:
        assert k.list_op == "ListDataDeletionJobs"  # the one List call botocore has no paginator for
        assert "nextToken" in _members(k.list_op, "input")
        assert {"nextToken", k.list_key} <= _members(k.list_op, "output")
    assert "nextToken" not in _members("ListTagsForResource", "input")


def test_create_requests_and_tags_come_from_the_table():
    k = KINDS["solution"]
    request = k.create_request("s", "arn:dsg", {"recipeArn": "arn:r"}, {"airflow:run": 7})
    assert request == {
        "name": "s",
        "datasetGroupArn": "arn:dsg",
        "recipeArn": "arn:r",
        "performAutoTraining": False,
        "tags": [{"tagKey": "airflow:run", "tagValue": "7"}],
    }
    assert set(request) - {"tags"} <= _members(k.create_op, "input") and "tags" in _members(k.create_op, "input")
    assert "name" not in KINDS["solution_version"].create_request(None, "arn:s", {})


def test_campaign_config_members_are_update_arguments():
    k = KINDS["campaign"]
    assert set(k.config_members) <= _members("UpdateCampaign", "input") & _members("CreateCampaign", "input")


def test_every_creatable_kind_of_the_model_is_in_the_table_or_deliberately_out():
    creatable = {op.removeprefix("Create") for op in MODEL.operation_names if op.startswith("Create")}
    left_out = {"DatasetExportJob"}  # not part of the pipelines
    assert creatable - left_out == {k.title for k in KINDS.values()}


def test_teardown_order_deletes_dependents_first():
    rank = {key: i for i, key in enumerate(TEARDOWN_ORDER)}
    for k in KINDS.values():
        if k.deletable and k.parent and KINDS[k.parent].deletable:
            assert rank[k.key] < rank[k.parent], (k.key, k.parent)
    assert TEARDOWN_ORDER[0] in ("campaign", "recommender") and TEARDOWN_ORDER[-1] == "schema"


def test_kind_lookup_errors_name_the_known_kinds():
    assert kind("DatasetGroup") is KINDS["dataset_group"]
    with pytest.raises(ValueError, match="dataset_group"):
        kind("datasetgroup")


@pytest.mark.parametrize("status", ["ACTIVE", "CREATE IN_PROGRESS", "CREATE FAILED", None])
def test_readiness_reads_the_tables_success_states(status):
    campaign = KINDS["campaign"]
    update = {"solutionVersionArn": "arn:v2", "status": status} if status else None
    described = {"status": "ACTIVE", "solutionVersionArn": "arn:v1", "latestCampaignUpdate": update}
    assert campaign.is_ready(described)
    ready = campaign.latest_update_ready(described)
    assert ready == (update if status in campaign.success else None)
    assert not KINDS["dataset_import_job"].is_ready({"status": "CREATE PENDING"})
    assert KINDS["solution_version"].latest_update_ready({"status": "ACTIVE"}) is None  # no update path
