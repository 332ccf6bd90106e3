"""Datasets: the types Personalize defines, their Avro schemas (and the rules for replacing one), and their
imported rows on disk.

Rows live in one parquet file per dataset (where: paths.dataset_file). Imports write them (FULL replaces,
INCREMENTAL upserts), PutItems/PutUsers upsert, data deletion jobs remove users' rows, training reads them.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
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
# Every read-modify-write of a dataset file (upserts, deletions) holds it, so none undoes another's.
_ROWS_LOCK = threading.Lock()
# The dataset types whose schema UpdateDataset may replace ("Replacing a dataset's schema to add new columns":
# not Item interactions, Action interactions or Actions datasets).
REPLACEABLE_SCHEMAS = ("ITEMS", "USERS")


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


def replacement_problem(dtype: str, old_fields: list[dict], new_fields: list[dict]) -> str | None:
    """Why `new_fields` cannot replace the schema `old_fields` of a `dtype` dataset (None: it can), by the rules
    of "Replacing a dataset's schema to add new columns"."""
    if dtype not in REPLACEABLE_SCHEMAS:
        return (
            f"You can't replace the schema of an {dtype} dataset: only Items and Users datasets can have their "
            "schema replaced."
        )
    new = {f["name"]: f for f in new_fields}
    for field in old_fields:
        name = field["name"]
        if name not in new:
            return (
                f"The new schema lacks the field {name} of the previous schema: a replacement schema must keep "
                "all fields in the previous schema."
            )
        if _field_spec(new[name]) != _field_spec(field):
            return (
                f"The new schema changes the field {name} from {_shown(field)} to {_shown(new[name])}: a "
                "replacement schema can't change the data types or attributes of the previous schema's fields; "
                "add a field with a new name instead."
            )
    known = {f["name"] for f in old_fields}
    for name, field in new.items():
        if name not in known and not field_types([field])[name][1]:
            return (
                f"The new field {name} does not support null data (its type is {field['type']!r}): all new "
                f'fields must support null, e.g. "type": ["null", "string"].'
            )
    return None


def _field_spec(field: dict) -> tuple:
    """A field's data types (as a set: a union's order does not matter) and its attributes (categorical,
    textual, default, ...)."""
    types = field["type"] if isinstance(field["type"], list) else [field["type"]]
    attributes = {k: v for k, v in field.items() if k not in ("name", "type", "doc")}
    return frozenset(types), sorted(attributes.items())


def _shown(field: dict) -> str:
    return json.dumps({k: v for k, v in field.items() if k not in ("name", "doc")}, sort_keys=True)


def write_rows(path: Path, table: pa.Table, mode: str, id_field: str | None) -> int:
    """Write `table` (FULL) or upsert it into the existing file (INCREMENTAL); returns the row count. Rows
    written under an earlier schema get the columns a replacement schema added as nulls."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _ROWS_LOCK:
        if mode == "INCREMENTAL" and path.exists():
            old = _with_columns(pq.read_table(path), table.schema)
            table = _with_columns(table, old.schema)
            table = pa.concat_tables([old, table.cast(old.schema)], promote_options="permissive")
            if id_field:
                frame = table.to_pandas().drop_duplicates(subset=[id_field], keep="last")
                table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
        _replace(path, table)
    return table.num_rows


def delete_rows(path: Path, field: str, values: set[str]) -> int:
    """Remove the rows whose `field` is one of `values` from the dataset file; returns how many were removed."""
    with _ROWS_LOCK:
        if not path.exists():
            return 0
        table = pq.read_table(path)
        if field not in table.schema.names:
            return 0
        doomed = pc.is_in(table.column(field).cast(pa.string()), value_set=pa.array(sorted(values), pa.string()))
        doomed = pc.fill_null(doomed, False)
        removed = pc.sum(doomed).as_py() or 0
        if removed:
            _replace(path, table.filter(pc.invert(doomed)))
        return removed


def _replace(path: Path, table: pa.Table) -> None:
    """Write the dataset file at once (a reader sees the old rows or the new ones, never a part)."""
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _with_columns(old: pa.Table, schema: pa.Schema) -> pa.Table:
    """`old` in the columns of `schema` (a replacement schema keeps every previous field and adds nullable
    ones): columns it lacks are nulls; columns `schema` does not have are kept after them."""
    if old.schema.names == schema.names:
        return old
    columns = [old.column(f.name) if f.name in old.schema.names else pa.nulls(old.num_rows, f.type) for f in schema]
    names = list(schema.names)
    for name in old.schema.names:
        if name not in names:
            columns.append(old.column(name))
            names.append(name)
    return pa.table(columns, names=names)


def read_frames(data_dir: Path, datasets: list[dict]) -> dict:
    """{datasetType: pandas frame} of the given dataset documents that have imported rows."""
    frames = {}
    for dataset in datasets:
        path = dataset_file(data_dir, dataset["datasetArn"])
        if path.exists():
            frames[dataset["datasetType"]] = pq.read_table(path).to_pandas()
    return frames
