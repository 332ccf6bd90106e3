"""Unit: request validation and response projection driven by botocore's Personalize service model."""

from __future__ import annotations

import pytest

from personalize_local.aws_errors import InvalidInput
from personalize_local.kinds import KINDS
from personalize_local.service_model import ServiceModel

MODEL = ServiceModel("personalize")


def errors_of(operation: str, params: dict) -> str:
    with pytest.raises(InvalidInput) as err:
        MODEL.validate(operation, params)
    return err.value.message


def test_valid_requests_pass_up_to_each_bound_and_fail_one_past_it():
    tags = [{"tagKey": "k", "tagValue": "v"}]
    for operation, params in [
        ("CreateDatasetGroup", {"name": "ok-name_1", "tags": tags}),
        ("CreateDatasetGroup", {"name": "a" * 63}),
        ("ListSolutions", {"maxResults": 1}),
        ("ListSolutions", {"maxResults": 100}),
    ]:
        MODEL.validate(operation, params)  # raises InvalidInput on any violation
    assert "length less than or equal to 63" in errors_of("CreateDatasetGroup", {"name": "a" * 64})
    assert "value greater than or equal to 1" in errors_of("ListSolutions", {"maxResults": 0})


def test_every_violation_is_reported_with_its_path():
    message = errors_of(
        "CreateSolution",
        {
            "name": "",
            "datasetGroupArn": 7,
            "performHPO": "yes",
            "solutionConfig": {"hpoConfig": {"hpoObjective": {"type": 3}}},
        },
    )
    assert message.startswith("5 validation errors detected")  # name: length + pattern
    assert (
        "at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"
        in message
    )
    assert "at 'datasetGroupArn'" in message and "at 'performHPO'" in message
    assert "at 'solutionConfig.hpoConfig.hpoObjective.type'" in message


def test_lists_maps_enums_and_ranges():
    assert "tags.1.member.tagKey" in errors_of(
        "CreateDatasetGroup", {"name": "a", "tags": [{"tagValue": "v"}]}
    )
    assert "enum value set" in errors_of(
        "CreateSolutionVersion", {"solutionArn": "arn:aws:personalize:x:y:z", "trainingMode": "PARTIAL"}
    )
    assert "less than or equal to 100" in errors_of("ListSchemas", {"maxResults": 101})


def test_projection_keeps_declared_members_only():
    doc = {
        "name": "g",
        "datasetGroupArn": "arn",
        "status": "ACTIVE",
        "_kind": "DatasetGroup",
        "_tags": {},
        "failureReason": None,
    }
    assert MODEL.project("DatasetGroupSummary", doc) == {
        "name": "g",
        "datasetGroupArn": "arn",
        "status": "ACTIVE",
    }


def test_kind_table_matches_the_service_model():
    for kind in KINDS.values():
        ops = [kind.create_op, kind.describe_op, kind.list_op] + ([kind.delete_op] if kind.deletable else [])
        assert all(op in MODEL.operations for op in ops), kind
        member, shape = MODEL.single_member(kind.describe_op)
        assert kind.arn_member in MODEL.members(shape) and kind.name_member in MODEL.members(shape)
        assert kind.arn_member in MODEL.members(MODEL.output_shape(kind.create_op))
