"""Dataset import jobs: CSV from S3, validated the way Personalize does, stored as the dataset's rows.

Checks: header columns vs the schema (order free, unknown or missing columns fail), values vs field types,
reserved id fields non-empty, TIMESTAMP in epoch seconds, at least 1000 interactions records in every import
job, FULL or INCREMENTAL (AWS's quota page: "Minimum number of item interactions records per dataset import job
with FULL or INCREMENTAL import mode").
Empty values in other fields are nulls even where the schema says non-null, and so are metadata values that
do not parse as the declared type (logged): AWS accepted the POC item-meta.csv, whose int YEAR column holds
empty values and one '2006–2007'. Reserved fields (ids, TIMESTAMP, EVENT_VALUE) stay strict.
FULL replaces the dataset's rows; INCREMENTAL upserts (items/users by id; interactions are appended).
"""

from __future__ import annotations

import csv
import io
import logging

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from personalize_local import attribution
from personalize_local.datasets import ARROW_TYPES, ID_FIELDS, field_types, parse_schema, write_rows
from personalize_local.jobs.context import JobFailed
from personalize_local.jobs.s3io import read_objects
from personalize_local.paths import dataset_file

log = logging.getLogger("personalize_local.import")
MIN_INTERACTIONS = 1000
REQUIRED_VALUES = ("USER_ID", "ITEM_ID", "TIMESTAMP", "ACTION_ID")
STRICT_VALUES = (*REQUIRED_VALUES, "EVENT_VALUE", "CREATION_TIMESTAMP")  # bad values fail the import
TIMESTAMP_FIELDS = ("TIMESTAMP", "CREATION_TIMESTAMP")
MAX_EPOCH_SECONDS = 10_000_000_000  # year 2286; anything larger is milliseconds


def run_import(ctx) -> dict:
    """Job runner for DatasetImportJob."""
    job = ctx.doc
    dataset = ctx.get(job["datasetArn"])
    if dataset is None:
        raise JobFailed(f"Dataset {job['datasetArn']} no longer exists.")
    fields = parse_schema(ctx.get(dataset["schemaArn"])["schema"])
    location = job["dataSource"]["dataLocation"]
    tables = [parse_csv(url, body, fields) for url, body in read_objects(ctx.s3(), location)]
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    dtype = dataset["datasetType"]
    mode = job.get("importMode", "FULL")
    if dtype == "INTERACTIONS" and table.num_rows < MIN_INTERACTIONS:
        raise JobFailed(
            f"{location} has {table.num_rows} interactions records; Amazon Personalize requires at least "
            f"{MIN_INTERACTIONS} item interactions records in each dataset import job ({mode} import mode "
            "included): import them together with others."
        )
    rows = write_rows(dataset_file(ctx.data_dir, dataset["datasetArn"]), table, mode, ID_FIELDS.get(dtype))
    report = attribution.publish_import(ctx, job, dataset, table)
    published = {"_attribution_report": report} if report else {}
    return {"_rows_imported": table.num_rows, "_rows_total": rows, **published}


def parse_csv(url: str, body: bytes, fields: list[dict]) -> pa.Table:
    """The CSV as a typed table in schema field order; JobFailed naming file, row, column and value."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    first_line = body.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip("\r")
    header = next(csv.reader([first_line]), [])
    specs = field_types(fields)
    unknown = [c for c in header if c not in specs]
    missing = [n for n, (_, nullable) in specs.items() if n not in header and not nullable]
    if unknown or missing or len(set(header)) != len(header):
        raise JobFailed(
            f"{url}: the CSV header {header} does not match the schema fields {list(specs)}"
            + (f"; columns not in the schema: {unknown}" if unknown else "")
            + (f"; required schema fields missing from the file: {missing}" if missing else "")
            + ("; duplicate column names" if len(set(header)) != len(header) else "")
        )
    try:
        raw = pacsv.read_csv(
            io.BytesIO(body),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as exc:
        raise JobFailed(f"{url}: not a valid CSV file: {exc}") from exc
    columns, names = [], []
    for name, (base, _) in specs.items():
        if name not in header:
            columns.append(pa.nulls(raw.num_rows, ARROW_TYPES[base]))
        else:
            columns.append(_convert(url, name, raw.column(name), base))
        names.append(name)
    return pa.table(columns, names=names)


def _convert(url: str, name: str, column: pa.ChunkedArray, base: str) -> pa.Array:
    column = column.combine_chunks()
    if name in REQUIRED_VALUES and column.null_count:
        row = pc.index(pc.is_null(column), True).as_py()
        raise JobFailed(f"{url}: row {row + 1} (line {row + 2}): {name} is empty; it is required in every row.")
    if base == "string":
        return column
    target = ARROW_TYPES[base]
    column = pc.utf8_trim_whitespace(column)
    try:
        typed = pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _bad_rows(column, base)
        if name in STRICT_VALUES:
            row = bad[0]
            raise JobFailed(
                f"{url}: row {row + 1} (line {row + 2}): {name} value {column[row].as_py()!r} is not a valid "
                f"{base} as the schema declares."
            ) from None
        # Metadata fields: AWS imports such files (e.g. the POC item-meta.csv YEAR '2006–2007'); keep as null.
        log.warning(
            "%s: %d %s value(s) are not %s and are imported as null (first: row %d, %r)",
            url,
            len(bad),
            name,
            base,
            bad[0] + 1,
            column[bad[0]].as_py(),
        )
        keep = [i not in set(bad) for i in range(len(column))]
        typed = pc.cast(pc.if_else(pa.array(keep), column, pa.scalar(None, pa.string())), target)
    if name in TIMESTAMP_FIELDS and len(typed) - typed.null_count:
        if pc.max(typed).as_py() >= MAX_EPOCH_SECONDS:
            row = pc.index(pc.greater_equal(typed, MAX_EPOCH_SECONDS), True).as_py()
            raise JobFailed(
                f"{url}: row {row + 1} (line {row + 2}): {name} value {typed[row].as_py()} looks like "
                "milliseconds; Amazon Personalize requires Unix epoch time in seconds."
            )
    return typed


def _bad_rows(column: pa.Array, base: str) -> list[int]:
    """Indexes of non-null values that do not parse as `base`."""
    parse = {
        "long": int,
        "int": int,
        "float": float,
        "double": float,
        "boolean": lambda v: {"true": True, "false": False}[v.lower()],
    }[base]
    bad = []
    for i, value in enumerate(column.to_pylist()):
        if value is None:
            continue
        try:
            parse(value)
        except (ValueError, KeyError):
            bad.append(i)
    return bad or [0]
