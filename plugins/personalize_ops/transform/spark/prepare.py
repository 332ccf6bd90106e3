"""The prepare stage on Spark: the same rules, transform and outputs as ``transform.prepare``, at cluster scale.

Source files are spread over Spark tasks; each task runs the single-machine engine's reader, mapping, quarantine
split and rule masks on its file (``mapper.FileMapper``), so parsing, typing, event rules and quarantine reasons are
the same code. Spark then numbers the rows across files (each file's offset, in the sorted file order), drops exact
duplicates (first occurrence kept, by the same 64-bit row hash), counts, and validates the rows with the same GX
suites through GX's Spark datasource. Data quality failures raise the same ``DataQualityError`` (the same rules,
counts over the whole input, example rows in source order, the same fixes); parse problems and quarantined rows go
to the same ``<kind>.quarantine.csv``, in the same order.

Differences, on purpose: there are no chunks, so a failure names the whole input instead of a chunk and its counts
cover every row; parse problems of any file are reported before row-rule failures; the CSV is written by Spark as
part files (``<kind>.parts/``, each with the header; Personalize imports a folder), merged into ``<kind>.csv`` when
``merge=True`` (local runs). One source file is read by one task: split a large source into part files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pyarrow as pa

from personalize_ops.config import PipelineConfig
from personalize_ops.quality.display import MAX_EXAMPLES
from personalize_ops.quality.errors import SourceError
from personalize_ops.quality.rules import UNPARSEABLE, totals_row
from personalize_ops.transform.prepare import (
    PreparedDataset,
    _check_columns,
    _dataset,
    _needed_columns,
    _output,
    _QuarantineFile,
    _reject_error,
    _source_error,
    _Validator,
)
from personalize_ops.transform.reader import BLOCK_BYTES, ROW, Reject, iter_source, source_bytes, source_files
from personalize_ops.transform.spark.mapper import FileMapper, flag
from personalize_ops.transform.writer import format_csv

#: Source bytes per partition of the parsed rows. One source file is read by one task; without this its rows stay
#: one partition, and caching that partition needs it in memory at once (a 740 MB file's rows overflowed a
#: 1 GB local Spark). Parsed rows are spread over ceil(source bytes / this) partitions (at least one per file).
PARTITION_BYTES = 64 * 1024**2
log = logging.getLogger(__name__)
ORDER = ["__file", "__chunk", "__seq"]


def _to_arrow(df) -> pa.Table:
    """Collect a (small) DataFrame to the driver as Arrow."""
    if hasattr(df, "toArrow"):  # Spark 4
        return df.toArrow()
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False)


def _kept_on_disk(df):
    """``df`` kept on local disk between the jobs that read it (the parsed rows, the deduplicated rows). Not in
    memory: the in-memory columnar cache of 50M rows overflowed a 4 GB local Spark (OutOfMemoryError while caching,
    not a spill), and an executor's memory should not have to grow with its share of the input."""
    from pyspark import StorageLevel

    return df.persist(StorageLevel.DISK_ONLY)


def _first_columns(ds, path: str, s3_options: dict | None) -> list[str]:
    source = ds.source.model_copy(update={"path": ("s3://" + path) if ds.source.is_s3 else path})
    parts = iter_source(source, 1 << 16, None, s3_options)
    try:
        first = next(parts)
    except StopIteration:
        return []
    finally:
        parts.close()
    return [n for n in first.batch.schema.names if n != ROW]


def _csv_lines(fields: list[str]):
    """mapInArrow function: each partition's rows as Personalize CSV text (header first), one value per batch."""

    def fmt(batches):
        header = True
        for b in batches:
            if b.num_rows:
                text = format_csv(pa.Table.from_batches([b]).select(fields), header=header).to_pybytes()
                header = False
                yield pa.RecordBatch.from_arrays([pa.array([text.decode("utf-8").rstrip("\n")])], ["value"])

    return fmt


def _merge(parts: Path, target: Path) -> tuple[str, int]:
    """Concatenate part files into one CSV (one header); returns (sha256, bytes)."""
    sha, size, header_done = hashlib.sha256(), 0, False
    with open(target, "wb") as out:
        for part in sorted(parts.glob("part-*")):
            with open(part, "rb") as f:
                header = f.readline()
                if not header:
                    continue
                chunks = [header] if not header_done else []
                header_done = True
                for data in [*chunks, *iter(lambda f=f: f.read(1 << 20), b"")]:
                    sha.update(data)
                    out.write(data)
                    size += len(data)
    return sha.hexdigest(), size


def prepare_dataset_spark(
    spark,
    cfg: PipelineConfig,
    dataset_name: str,
    out_dir: str | Path,
    s3_options: dict | None = None,
    data_uri: str | None = None,
    merge: bool = True,
    block_bytes: int = BLOCK_BYTES,
    partition_bytes: int = PARTITION_BYTES,
) -> PreparedDataset:
    """Validate + transform one dataset with Spark. Reports, schema and quarantine file go to ``out_dir/<name>/``;
    the CSV parts to ``data_uri`` (default ``out_dir/<name>/<name>.parts``), merged into ``<name>.csv`` if
    ``merge`` (a local ``data_uri`` only). Raises DataQualityError like ``transform.prepare.prepare_dataset``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    ds, kind = _dataset(cfg, dataset_name)
    out, avro, schema_path, display, ts_fields, rules = _output(ds, kind, out_dir)
    fields = [f.name for f in ds.fields]
    spark.conf.set("spark.sql.execution.arrow.useLargeVarTypes", "false")
    try:
        files = source_files(ds.source, s3_options)
        parts = max(len(files), -(-source_bytes(ds.source, s3_options, files) // partition_bytes))
        if not ds.transform:
            _check_columns(_first_columns(ds, files[0], s3_options), ds, kind)
    except SourceError as e:
        raise _source_error(kind, e, ds, display) from None

    mapper = FileMapper(ds, ts_fields, rules, None if ds.transform else _needed_columns(ds), s3_options, block_bytes)
    jobs = spark.createDataFrame([(i, p) for i, p in enumerate(files)], "file int, path string")
    records = jobs.repartition(max(1, len(files))).mapInArrow(mapper, from_arrow_schema(mapper.schema))
    if parts > len(files):  # a big file's rows, in one partition, would not fit an executor's memory when cached
        records = records.repartition(parts)
    records = _kept_on_disk(records)
    try:
        return _finish(spark, F, Window, records, cfg, ds, kind, out, avro, rules, display, fields, ts_fields,
                       schema_path, s3_options, data_uri, merge)  # fmt: skip
    finally:
        records.unpersist()


def _finish(spark, F, Window, records, cfg, ds, kind, out, avro, rules, display, fields, ts_fields, schema_path,
            s3_options, data_uri, merge) -> PreparedDataset:  # fmt: skip
    side = _to_arrow(records.filter(F.col("__kind") != "row").drop(*fields)).to_pylist()
    side.sort(key=lambda r: (r["__file"], r["__chunk"], r["__kind"] != "reject", r["__seq"]))
    counts: dict[tuple[int, str], int] = {}
    for r in side:
        if r["__kind"] == "count":
            counts[(r["__file"], r["__reason"])] = counts.get((r["__file"], r["__reason"]), 0) + r["__count"]
    n_files = 1 + max((r["__file"] for r in side), default=0)
    offsets, total = [], 0
    for i in range(n_files):
        offsets.append(total)
        total += counts.get((i, "__parsed"), 0)

    def reject(r: dict) -> Reject:
        row = None if r[ROW] is None else offsets[r["__file"]] + r[ROW]
        return Reject(r["__reason"], r["__path"], r["__line"], row, r["__raw"], r["__detail"])

    # The first problem in source order: a parse problem whose action is 'fail', or a file that cannot be read.
    for r in side:
        if r["__kind"] == "error":
            e = SourceError(r["__detail"], r["__reason"], line=r["__line"], text=r["__raw"])
            raise _source_error(kind, e, ds, display) from None
        if r["__kind"] == "reject" and ds.quality.action(r["__reason"]) == "fail":
            chunk = [reject(x) for x in side if x["__kind"] == "reject" and (x["__file"], x["__chunk"]) ==
                     (r["__file"], r["__chunk"])]  # fmt: skip
            for reason in ("ragged_row", "bad_quoting", "bad_encoding"):
                group = [x for x in chunk if x.reason == reason]
                if group and ds.quality.action(reason) == "fail":
                    raise _reject_error(kind, ds, group, display, s3_options)

    dropped: dict[str, int] = {}
    nulled: dict[str, int] = {}
    rejects = [r for r in side if r["__kind"] == "reject"]
    for r in rejects:
        dropped[f"quarantine:{r['__reason']}"] = dropped.get(f"quarantine:{r['__reason']}", 0) + 1
    for (_, key), n in counts.items():
        if key.startswith("nulled:"):
            nulled[key[7:]] = nulled.get(key[7:], 0) + n
        elif not key.startswith("__"):
            dropped[key] = dropped.get(key, 0) + n
    rows_in = total + len(rejects)

    offset = F.element_at(F.array(*[F.lit(o) for o in offsets]), F.col("__file") + 1)
    rows = records.filter(F.col("__kind") == "row").withColumn(ROW, F.col(ROW) + offset)
    n_kept = 0  # rows neither dropped nor quarantined, before duplicates (the null reason): one scan, no shuffle
    for r in rows.groupBy("__reason").count().collect():
        if r["__reason"] is None:
            n_kept = r["count"]
        else:
            dropped[f"quarantine:{r['__reason']}"] = dropped.get(f"quarantine:{r['__reason']}", 0) + r["count"]
    _write_quarantine(out, kind, fields, side, reject, rows.filter(F.col("__reason").isNotNull()), F)

    first = Window.partitionBy("__h").orderBy(*ORDER)
    kept = rows.filter(F.col("__reason").isNull()).withColumn("__n", F.row_number().over(first))
    final = _kept_on_disk(kept.filter(F.col("__n") == 1).drop("__n"))
    try:
        n_final = final.count()
        records.unpersist()  # every later step reads ``final``: the parsed rows' local copy is not needed any more
        if n_kept > n_final:
            dropped["duplicate"] = n_kept - n_final
        validator = _Validator(kind, ds, avro, out, rules, display, spark=True)
        validator.notes = _notes(side)
        _validate(validator, final, rules, fields, ts_fields, F)
        parts = Path(data_uri) if data_uri and "://" not in data_uri else out / f"{kind}.parts"
        target = data_uri if data_uri and "://" in data_uri else str(parts)
        final.select(*fields).mapInArrow(_csv_lines(fields), "value string").write.mode("overwrite").option(
            "lineSep", "\n"
        ).text(target)
        stats = _stats(final, kind, fields, F)
        csv_path, sha, size = target, "", 0
        if merge and "://" not in target:
            csv_path = str(out / f"{kind}.csv")
            sha, size = _merge(parts, Path(csv_path))
            shutil.rmtree(parts, ignore_errors=True)
        validator.finish(lambda: totals_row(kind, avro, n_final, stats["users_2plus"], size))
    finally:
        final.unpersist()
    chunks = sum(n for (_, key), n in counts.items() if key == "__chunks")
    quarantine_path = out / f"{kind}.quarantine.csv"
    log.info("%s: %d rows in, %d out, dropped %s (Spark); reports in %s", kind, rows_in, n_final, dropped, out)
    return PreparedDataset(
        name=kind, csv_path=csv_path, schema_path=str(schema_path), report_paths=dict(validator.paths),
        rows_in=rows_in, rows_out=n_final, dropped=dropped, values_nulled=nulled,
        users=stats["users"], items=stats["items"], time_min=stats["tmin"], time_max=stats["tmax"], sha256=sha,
        output_bytes=size, quarantine_path=str(quarantine_path) if quarantine_path.exists() else None,
        import_mode=ds.import_mode, extra={"engine": "spark", "chunks": chunks, "files": n_files},
    )  # fmt: skip


def _notes(side: list[dict]) -> dict[str, list]:
    notes: dict[str, list] = {}
    for r in side:
        if r["__kind"] == "note":
            notes.setdefault(r["__reason"], []).append(json.loads(r["__raw"]))
    return notes


def _write_quarantine(out: Path, kind: str, fields: list[str], side: list[dict], reject, quarantined, F) -> None:
    """The quarantine file in the single-machine engine's order: per chunk, its parse rejects, then its rows."""
    q = _to_arrow(
        quarantined.select(*fields, ROW, F.col("__reason").alias("reason"), "__file", "__chunk", "__seq").orderBy(
            *ORDER
        )
    )
    by_chunk: dict[tuple[int, int], list] = {}
    for r in side:
        if r["__kind"] == "reject":
            by_chunk.setdefault((r["__file"], r["__chunk"]), []).append(("reject", r))
    if q.num_rows:
        keys = list(zip(q["__file"].to_pylist(), q["__chunk"].to_pylist(), strict=True))
        start = 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or keys[i] != keys[start]:
                by_chunk.setdefault(keys[start], []).append(("rows", q.slice(start, i - start)))
                start = i
    if not by_chunk:
        return
    qf = _QuarantineFile(out / f"{kind}.quarantine.csv", fields)
    try:
        for key in sorted(by_chunk):
            items = by_chunk[key]
            rej = [reject(r) for what, r in items if what == "reject"]
            if rej:
                qf.rejects(rej)
            for what, t in items:
                if what == "rows":
                    qf.rows(t.drop_columns(["__file", "__chunk", "__seq"]))
    finally:
        qf.close()


def _validate(validator: _Validator, final, rules, fields, ts_fields, F) -> None:
    """The source and the Personalize suites on the whole DataFrame (GX's Spark datasource); on failure one message
    lists every failed rule of both, the example rows being the first rows (in source order) each rule's mask
    selects."""
    frame = final.select(*fields, *[UNPARSEABLE + n for n in ts_fields])
    typed = final.select(*fields)
    ok_source, _ = validator.source.validate(frame)
    ok_personalize, _ = validator.personalize.validate(typed)
    if ok_source and ok_personalize:
        return
    failing = [(r, df) for r, df, ok in ((validator.source, frame, ok_source),
                                          (validator.personalize, typed, ok_personalize)) if not ok]  # fmt: skip
    failed = {(t["rule"], t["column"]) for r, _ in failing for t in r.tally if not t["success"]}
    picks = [flag(i) for i, r in enumerate(rules) if r.mask is not None and (r.name, r.column) in failed]
    examples = None
    for col in picks:
        part = final.filter(F.col(col)).orderBy(ROW).limit(MAX_EXAMPLES)
        examples = part if examples is None else examples.union(part)
    cols = [*fields, *[UNPARSEABLE + n for n in ts_fields], ROW]
    t = _to_arrow(examples.select(*cols).distinct().orderBy(ROW)) if examples is not None else None
    if t is None:
        t = pa.table({c: pa.array([], pa.bool_()) for c in cols})
    by_rule = {(r.name, r.column): r for r in rules}
    for runner, _ in failing:  # GX on Spark lists unexpected values in no set order: take them in source order
        for entry in runner.tally:
            rule = by_rule.get((entry["rule"], entry["column"]))
            shown = rule is not None and rule.mask is not None and entry["column"] in t.column_names
            if not entry["success"] and shown:
                entry["examples"] = t.filter(rule.mask(t))[entry["column"]].to_pylist()[:MAX_EXAMPLES]
    validator.fail(failing, "all rows (Spark engine)", t)


def _stats(final, kind: str, fields: list[str], F) -> dict:
    """Distinct users and items, the time range and (interactions) users with 2+ rows. One small shuffle per ID
    column (its values counted per value, combined map-side), not count_distinct's expansion of every row."""
    stats = {"users": None, "items": None, "tmin": None, "tmax": None, "users_2plus": 0}
    ts = "TIMESTAMP" if "TIMESTAMP" in fields else "CREATION_TIMESTAMP"
    if ts in fields:
        row = final.agg(F.min(ts).alias("tmin"), F.max(ts).alias("tmax")).collect()[0]
        stats.update(tmin=row["tmin"], tmax=row["tmax"])
    for column, key in (("USER_ID", "users"), ("ITEM_ID", "items")):
        if column in fields:
            per_value = final.where(F.col(column).isNotNull()).groupBy(column).count()
            row = per_value.agg(F.count("*").alias("n"), F.sum((F.col("count") >= 2).cast("long")).alias("two"))
            row = row.collect()[0]
            stats[key] = row["n"]
            if column == "USER_ID" and kind == "interactions":
                stats["users_2plus"] = row["two"] or 0
    return stats
