"""Names (and every other patterned string) must match the service model's pattern in FULL, as AWS checks them.

The operations and members come from botocore's model; the expected verdicts are written against the one name
pattern the model uses, which the first test pins.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from personalize_local.aws_errors import InvalidInput
from personalize_local.kinds import KINDS
from personalize_local.service_model import ServiceModel, compile_patterns, load_model

MODEL = ServiceModel("personalize")
NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*"
VALID_NAMES = ["a", "Z", "7", "ok-name_1", "trailing-", "trailing_", "A1-b2_C3", "a" * 63]
INVALID_NAMES = ["x/../../../ESCAPED", "my name!", "a.b", "-a", "_a", "a b", "a/b", "..", "é", "a\n", "a:b"]


def name_members() -> list[tuple[str, str]]:
    """(Create operation, member) for every Create* operation of the model whose input has a patterned name."""
    found = []
    for operation in sorted(MODEL.operations):
        if not operation.startswith("Create") or not MODEL.input_shape(operation):
            continue
        for member in ("name", "jobName"):
            ref = MODEL.members(MODEL.input_shape(operation)).get(member)
            if ref and "pattern" in MODEL.shapes[ref["shape"]]:
                found.append((operation, member))
    return found


NAME_MEMBERS = name_members()


def name_errors(operation: str, member: str, value: str) -> list[str]:
    try:
        MODEL.validate(operation, {member: value})
    except InvalidInput as err:
        return [e for e in err.message.split("; ") if f"at '{member}'" in e]
    return []


def test_every_name_bearing_create_uses_the_name_pattern():
    assert {(k.create_op, k.name_member) for k in KINDS.values()} <= set(NAME_MEMBERS)
    for operation, member in NAME_MEMBERS:
        shape = MODEL.shapes[MODEL.members(MODEL.input_shape(operation))[member]["shape"]]
        assert shape["pattern"] == NAME_PATTERN, (operation, member)


@pytest.mark.parametrize("operation, member", NAME_MEMBERS)
def test_name_table(operation, member):
    accepted = {name for name in VALID_NAMES + INVALID_NAMES if not name_errors(operation, member, name)}
    assert accepted == set(VALID_NAMES)
    for name in INVALID_NAMES:
        assert "Member must satisfy regular expression pattern" in name_errors(operation, member, name)[0]


def minimal(model: ServiceModel, shape_name: str):
    """A value of `shape_name` that botocore's client-side checks accept (required members, types, min lengths)."""
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return {m: minimal(model, shape["members"][m]["shape"]) for m in shape.get("required", [])}
    if kind == "string":
        if "enum" in shape:
            return shape["enum"][0]
        return "arn:aws:personalize:us-east-1:000000000000:x/y" if "arn" in shape.get("pattern", "") else "x"
    return {"list": [], "map": {}, "boolean": False}.get(kind, max(shape.get("min", 1), 1))


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
def test_invalid_names_are_refused_over_http(sc, kind):
    create = getattr(sc.pz, _snake(kind.create_op))
    for name in ("x/../../../ESCAPED", "my name!", "a.b"):
        params = {**minimal(MODEL, MODEL.input_shape(kind.create_op)), kind.name_member: name}
        with pytest.raises(ClientError) as err:
            create(**params)
        error = err.value.response["Error"]
        assert error["Code"] == "InvalidInputException", (kind.name, name, error)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert f"Value '{name}' at '{kind.name_member}' failed to satisfy constraint" in error["Message"]


def test_path_traversal_name_is_refused_and_nothing_lands_outside_the_data_dir(sc, local_stack, trained):
    with pytest.raises(ClientError) as err:
        sc.pz.create_solution(
            name="x/../../../ESCAPED",
            datasetGroupArn=trained["group"],
            recipeArn="arn:aws:personalize:::recipe/aws-popularity-count",
        )
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*" in err.value.response["Error"]["Message"]
    names = [s["name"] for s in sc.pz.list_solutions(datasetGroupArn=trained["group"])["solutions"]]
    assert "x/../../../ESCAPED" not in names
    assert list(local_stack.dir.parent.rglob("*ESCAPED*")) == []


def test_every_pattern_of_the_three_models_is_checked():
    """Patterns with Unicode classes (\\p{L}, \\p{ASCII}, ...) used to be skipped: none may be."""
    for service in ("personalize", "personalize-runtime", "personalize-events"):
        patterns = [s for s in load_model(service)["shapes"].values() if "pattern" in s]
        assert compile_patterns(service) == len(patterns), service


@pytest.mark.parametrize("value", ["env", "é ü 1", "日本語 ٣", "a_b.c:d/e=f+g-h@i", "x\u00a0y", ""])
def test_tag_values_in_the_unicode_classes_pass(value):
    MODEL.validate(
        "TagResource", {"resourceArn": "arn:aws:personalize:::x/y", "tags": [{"tagKey": "k", "tagValue": value}]}
    )


@pytest.mark.parametrize("value", ["a<b", "a\nb", "quote'", "x!", "tab\t"])
def test_tag_values_outside_the_unicode_classes_are_refused(value):
    with pytest.raises(InvalidInput, match="tagValue' failed to satisfy constraint: Member must satisfy regular"):
        MODEL.validate(
            "TagResource", {"resourceArn": "arn:aws:personalize:::x/y", "tags": [{"tagKey": "k", "tagValue": value}]}
        )


def test_next_token_must_be_ascii():
    with pytest.raises(InvalidInput, match="at 'nextToken'"):
        MODEL.validate("ListDatasetGroups", {"nextToken": "é"})
    MODEL.validate("ListDatasetGroups", {"nextToken": "TGlzdA=="})


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
