"""datasets.py: schema parsing, field types, and the rows on disk (FULL writes, INCREMENTAL upserts)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personalize_local.aws_errors import InvalidInput
from personalize_local.datasets import field_types, parse_schema, read_frames, write_rows
from personalize_local.kinds import ARN_PREFIX
from personalize_local.paths import dataset_file


def test_field_types_name_the_base_type_and_whether_null_is_allowed():
    fields = parse_schema(
        json.dumps(
            {
                "type": "record",
                "name": "Items",
                "fields": [
                    {"name": "ITEM_ID", "type": "string"},
                    {"name": "YEAR", "type": ["null", "int"]},
                    {"name": "PRICE", "type": ["float", "null"]},
                ],
            }
        )
    )
    assert field_types(fields) == {"ITEM_ID": ("string", False), "YEAR": ("int", True), "PRICE": ("float", True)}


@pytest.mark.parametrize(
    "text, says",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"type": "enum", "fields": []}), "must be an Avro record"),
        (json.dumps({"type": "record", "fields": [{"name": "X", "type": "decimal"}]}), "schema field 0"),
    ],
)
def test_bad_schemas_are_invalid_input_saying_why(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_schema(text)


def test_incremental_writes_upsert_by_id_and_full_writes_replace(tmp_path):
    path = tmp_path / "ITEMS.parquet"
    first = pa.table({"ITEM_ID": ["a", "b"], "GENRE": ["x", "y"]})
    assert write_rows(path, first, "FULL", "ITEM_ID") == 2
    assert write_rows(path, pa.table({"ITEM_ID": ["b", "c"], "GENRE": ["z", "w"]}), "INCREMENTAL", "ITEM_ID") == 3
    assert pq.read_table(path).to_pydict() == {"ITEM_ID": ["a", "b", "c"], "GENRE": ["x", "z", "w"]}
    interactions = tmp_path / "INTERACTIONS.parquet"
    write_rows(interactions, pa.table({"USER_ID": ["u"]}), "FULL", None)
    assert write_rows(interactions, pa.table({"USER_ID": ["u"]}), "INCREMENTAL", None) == 2  # appended
    assert write_rows(path, first, "FULL", "ITEM_ID") == 2 and pq.read_table(path).num_rows == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_read_frames_returns_the_datasets_that_have_rows(tmp_path):
    items = {"datasetArn": f"{ARN_PREFIX}dataset/g/ITEMS", "datasetType": "ITEMS"}
    users = {"datasetArn": f"{ARN_PREFIX}dataset/g/USERS", "datasetType": "USERS"}
    write_rows(dataset_file(tmp_path, items["datasetArn"]), pa.table({"ITEM_ID": ["a"]}), "FULL", "ITEM_ID")
    frames = read_frames(tmp_path, [items, users])
    assert list(frames) == ["ITEMS"] and frames["ITEMS"]["ITEM_ID"].tolist() == ["a"]
