"""The schema-replacement rules the pipeline checks before UpdateDataset (AWS: "Replacing a dataset's schema to add new
columns"): each refusal names the dataset, the field, the rule and what to do instead."""

from __future__ import annotations

import copy
import re

from personalize_ops.pipeline.schema_change import refusals

ITEMS = {"type": "record", "name": "Items", "fields": [
    {"name": "ITEM_ID", "type": "string"},
    {"name": "CATEGORY", "type": "string", "categorical": True},
    {"name": "PRICE", "type": ["null", "float"]},
]}  # fmt: skip


def changed(edit) -> dict:
    new = copy.deepcopy(ITEMS)
    edit(new["fields"])
    return new


def test_adding_a_nullable_field_is_allowed_in_either_union_order():
    for union in (["null", "string"], ["string", "null"]):
        added = changed(lambda f, u=union: f.append({"name": "BRAND", "type": u}))
        assert refusals("items", "ITEMS", ITEMS, added) == []
    reordered = changed(lambda f: f[2].update(type=["float", "null"]))
    assert refusals("users", "USERS", ITEMS, reordered) == []


def test_interactions_schemas_cannot_be_replaced():
    added = changed(lambda f: f.append({"name": "X", "type": ["null", "string"]}))
    (line,) = refusals("interactions", "INTERACTIONS", ITEMS, added)
    assert line.startswith("datasets.interactions: ") and "only Items and Users" in line and "new dataset group" in line


def test_each_broken_rule_names_the_field_and_the_fix():
    removed = refusals("items", "ITEMS", ITEMS, changed(lambda f: f.pop(2)))
    assert removed == ["datasets.items: field PRICE was removed: a replacement schema must keep every field of the "
                       "current one; put it back (map it to a placeholder source if the data is gone)"]  # fmt: skip
    (retyped,) = refusals("items", "ITEMS", ITEMS, changed(lambda f: f[2].update(type=["null", "double"])))
    assert "field PRICE changes from" in retyped and "add a new, nullable field with another name" in retyped
    (attribute,) = refusals("items", "ITEMS", ITEMS, changed(lambda f: f[1].pop("categorical")))
    assert "field CATEGORY changes from" in attribute and '"categorical": true' in attribute
    (required,) = refusals("items", "ITEMS", ITEMS, changed(lambda f: f.append({"name": "BRAND", "type": "string"})))
    assert required == "datasets.items: new field BRAND must support null data: set 'nullable: true' on it"


def test_every_problem_is_reported_at_once():
    def many(fields):
        fields.pop(2)
        fields[1]["type"] = "int"
        fields.append({"name": "NEW", "type": "long"})

    lines = refusals("items", "ITEMS", ITEMS, changed(many))
    assert [re.search(r"field (\w+)", line).group(1) for line in lines] == ["CATEGORY", "PRICE", "NEW"]
