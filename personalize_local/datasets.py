"""Datasets: the types Personalize defines, their Avro schemas, and their imported rows on disk.

Rows live in one parquet file per dataset (where: paths.dataset_file). Imports write them (FULL replaces,
INCREMENTAL upserts), PutItems/PutUsers upsert, training reads them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from personalize_local.aws_errors import InvalidInput
from personalize_local.paths import dataset_file

AVRO_TYPES = {"string", "long", "int", "float", "double", "boolean", "null"}
ARROW_TYPES = {
    "string": pa.string(),
    "long": pa.int64(),
    "int": pa.int32(),
    "float": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}
# Dataset type -> the schema fields it requires.
DATASET_TYPES = {
    "INTERACTIONS": ("USER_ID", "ITEM_ID", "TIMESTAMP"),
    "ITEMS": ("ITEM_ID",),
    "USERS": ("USER_ID",),
    "ACTIONS": ("ACTION_ID",),
    "ACTION_INTERACTIONS": ("USER_ID", "ACTION_ID", "TIMESTAMP"),
}
# Dataset type -> the field an upsert replaces rows by (interactions are appended).
ID_FIELDS = {"ITEMS": "ITEM_ID", "USERS": "USER_ID", "ACTIONS": "ACTION_ID"}


def parse_schema(text: str) -> list[dict]:
    """The fields of an Avro record schema as Personalize accepts it; InvalidInputException otherwise."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") != "record" or not isinstance(schema.get("fields"), list):
        raise InvalidInput('schema must be an Avro record: {"type": "record", "name": ..., "fields": [...]}')
    for i, field in enumerate(schema["fields"]):
        name, types = field.get("name"), field.get("type")
        types = types if isinstance(types, list) else [types]
        if not isinstance(name, str) or not name or any(t not in AVRO_TYPES for t in types):
            raise InvalidInput(f"schema field {i} ({field!r}) needs a name and a type among {sorted(AVRO_TYPES)}")
    return schema["fields"]


def field_types(fields: list[dict]) -> dict[str, tuple[str, bool]]:
    """{name: (its type other than "null", whether it may be null)} for parsed schema fields, in order."""
    out = {}
    for f in fields:
        types = f["type"] if isinstance(f["type"], list) else [f["type"]]
        out[f["name"]] = (next((t for t in types if t != "null"), "string"), "null" in types)
    return out


def write_rows(path: Path, table: pa.Table, mode: str, id_field: str | None) -> int:
    """Write `table` (FULL) or upsert it into the existing file (INCREMENTAL); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "INCREMENTAL" and path.exists():
        old = pq.read_table(path)
        table = (
            pa.concat_tables([old, table.cast(old.schema)], promote_options="permissive")
            if old.schema.names == table.schema.names
            else table
        )
        if id_field:
            frame = table.to_pandas().drop_duplicates(subset=[id_field], keep="last")
            table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table.num_rows


def read_frames(data_dir: Path, datasets: list[dict]) -> dict:
    """{datasetType: pandas frame} of the given dataset documents that have imported rows."""
    frames = {}
    for dataset in datasets:
        path = dataset_file(data_dir, dataset["datasetArn"])
        if path.exists():
            frames[dataset["datasetType"]] = pq.read_table(path).to_pandas()
    return frames
