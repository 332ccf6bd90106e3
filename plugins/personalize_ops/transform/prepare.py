"""The prepare stage: source -> source suite -> mapping -> Personalize suite -> CSV + Avro schema.

Everything streams in bounded chunks. Per chunk: read, map (transform, event rules, parsing),
quarantine rows breaking rules set to 'quarantine' (reason column), drop exact duplicates (hash set),
validate the chunk with the GX source and Personalize suites, write. After the last chunk the
whole-file rules (minimum counts, file size, metadata field count) are validated by GX on a one-row
batch of aggregated statistics. What grows with input: the duplicate hash set (8 B per distinct row)
and the distinct user/item hash tables (16-32 B per distinct ID).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from personalize_ops.config import Dataset, PipelineConfig
from personalize_ops.quality.errors import DataQualityError
from personalize_ops.quality.gx_runner import SuiteRunner
from personalize_ops.quality.rules import (
    UNPARSEABLE,
    Rule,
    default_window,
    header_rule,
    row_rules,
    schema_fields,
    stats_rules,
    totals_row,
    totals_rules,
)
from personalize_ops.transform.dedupe import HashSet, HashTable, column_hash, row_hash, sorted_unique
from personalize_ops.transform.mapping import ROW, map_batch
from personalize_ops.transform.reader import BLOCK_BYTES, iter_source, prefetch, source_bytes
from personalize_ops.transform.writer import CsvSink

log = logging.getLogger(__name__)


@dataclass
class PreparedDataset:
    """What the prepare stage produced for one dataset (``to_dict`` is JSON-safe, for XCom)."""

    name: str
    csv_path: str
    schema_path: str
    report_paths: dict[str, str]
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    values_nulled: dict[str, int]
    users: int | None
    items: int | None
    time_min: int | None
    time_max: int | None
    sha256: str
    output_bytes: int
    quarantine_path: str | None = None
    import_mode: str = "FULL"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class _Stats:
    """Aggregates over chunks: distinct users/items, users with 2+ interactions, time range."""

    def __init__(self, kind: str):
        self.kind = kind
        self.users, self.items, self.repeat_users = HashTable(), HashTable(), HashTable()
        self.tmin = self.tmax = None

    def update(self, t: pa.Table, hashes: dict[str, np.ndarray]) -> None:
        if "USER_ID" in hashes:
            uniq, counts = sorted_unique(hashes["USER_ID"], counts=True)
            seen = self.users.add_unique(uniq)
            if self.kind == "interactions":
                self.repeat_users.add_unique(uniq[seen | (counts > 1)])
        if "ITEM_ID" in hashes:
            self.items.update(hashes["ITEM_ID"])
        ts = "TIMESTAMP" if "TIMESTAMP" in t.column_names else "CREATION_TIMESTAMP"
        if ts in t.column_names and t.num_rows:
            mm = pc.min_max(t[ts]).as_py()
            if mm["min"] is not None:
                self.tmin = mm["min"] if self.tmin is None else min(self.tmin, mm["min"])
                self.tmax = mm["max"] if self.tmax is None else max(self.tmax, mm["max"])


def _examples(t: pa.Table, mask: pa.Array, columns: list[str], n: int = 3) -> list[dict]:
    rows = t.filter(mask).slice(0, n).select([*columns, ROW]).to_pylist()
    return [{"source_row": r.pop(ROW), **r} for r in rows]


def _failure_message(kind: str, suite: str, failures: list[dict], where: str, paths: dict) -> str:
    lines = [f"{kind}: data quality failed in the {suite} suite ({where})."]
    for f in failures:
        count = f"{f['unexpected_count']} of {f['element_count']} rows" if f.get("element_count") else ""
        obs = f" (observed {f['observed_value']})" if "observed_value" in f else ""
        lines.append(f"  - {f['rule']} [{f['expectation']}] {f['column']}: {f['reason']}; {count}{obs}".rstrip("; "))
        if f.get("note"):
            lines.append(f"      ({f['note']})")
        for ex in f.get("rows", [])[:3]:
            lines.append(f"      e.g. {ex}")
        if f.get("examples") and not f.get("rows"):
            lines.append(f"      e.g. values {f['examples'][:5]}")
    lines.append("  Reports: " + ", ".join(f"{k}: {v}" for k, v in paths.items()))
    return "\n".join(lines)


class _Validator:
    """Runs the three suites and raises DataQualityError with counts, example rows and report paths."""

    def __init__(self, kind: str, ds: Dataset, avro: dict, out: Path, rules: list[Rule]):
        self.kind, self.out, self.fields = kind, out, [f.name for f in ds.fields]
        src = [r for r in rules if r.suite == "source"]
        per = [header_rule(avro), *[r for r in rules if r.suite == "personalize"]]
        self.source = SuiteRunner(f"{kind}.source", src)
        self.personalize = SuiteRunner(f"{kind}.personalize", per)
        self.totals = SuiteRunner(f"{kind}.personalize.totals", totals_rules(kind, avro, ds.import_mode))
        self.paths = {"results": str(out / f"{kind}.gx_results.json")}
        self.schema_order = [f[0] for f in schema_fields(avro)]
        self.stats_rows: list[dict] = []
        self.notes: dict[str, list] = {}  # field -> raw values that could not be parsed (became null)
        self.stats = None

    def chunk(self, t: pa.Table, where: str) -> None:
        df = t.drop_columns([ROW]).to_pandas()
        ok, _ = self.source.validate(df)
        if ok:
            ok, _ = self.personalize.validate(df[self.fields])
        if not ok:
            runner = self.source if not self.source.success else self.personalize
            self.fail(runner, df if runner is self.source else df[self.fields], where, t)

    def chunk_stats(self, t: pa.Table, where: str, rules: list[Rule], fail_rules: set[str]) -> None:
        """gx_mode=stats: count violations per rule with vectorized masks; a chunk with violations of a
        'fail' rule is validated row by row by GX (for the report) and fails; otherwise its counts
        become one row of the chunk-statistics batch GX validates in ``finish``."""
        row = {"chunk_rows": t.num_rows, "header_order_mismatch": int(self.fields != self.schema_order)}
        for r in rules:
            if r.mask is not None:
                key = f"{r.name}:{r.column}"
                row[key] = row.get(key, 0) + (pc.sum(r.mask(t)).as_py() or 0)
        bad = row["header_order_mismatch"] or any(
            row[f"{r.name}:{r.column}"] for r in rules if r.mask is not None and r.name in fail_rules
        )
        if bad:
            self.chunk(t, where)
        self.stats_rows.append(row)

    def finish(self, totals_fn) -> None:
        """Validate the chunk statistics, then ``totals_fn()`` (called late: it may wait for the writer)."""
        import pandas as pd

        if self.stats_rows:
            cols = [c for c in self.stats_rows[0] if c != "chunk_rows"]
            self.stats = SuiteRunner(f"{self.kind}.chunk_stats", stats_rules(cols))
            ok, _ = self.stats.validate(pd.DataFrame(self.stats_rows))
            if not ok:
                self.fail(self.stats, pd.DataFrame(self.stats_rows), "per-chunk rule statistics", None)
        totals = totals_fn()
        df = pd.DataFrame([totals])
        ok, _ = self.totals.validate(df)
        self.write()
        if not ok:
            self.fail(self.totals, df, f"whole-file totals {totals}", None)

    def write(self) -> None:
        from personalize_ops.quality.gx_runner import write_json

        runners = [r for r in (self.source, self.personalize, self.stats, self.totals) if r is not None]
        write_json(
            Path(self.paths["results"]),
            {
                "suites": [r.summary() for r in runners],
                "first_failing_chunk": next((r.first_failure for r in runners if r.first_failure), None),
            },
        )

    def fail(self, runner, df, where: str, t: pa.Table | None) -> None:
        failures = [dict(x) for x in runner.tally if not x["success"]]
        if t is not None:
            by_rule = {(r.name, r.column): r for r in runner.rules}
            for f in failures:
                rule = by_rule.get((f["rule"], f["column"]))
                if rule and rule.mask is not None:
                    f["rows"] = _examples(t, rule.mask(t), self.fields)
        for f in failures:
            if f["rule"] == "null_not_allowed" and self.notes.get(f["column"]):
                vals = self.notes[f["column"]]
                f["note"] = f"including values present in the source but not parseable as the declared type: {vals[:3]}"
        docs = self.out / f"{self.kind}.data_docs"
        try:
            self.paths["data_docs"] = str(runner.build_docs(df, docs))
        except Exception as e:  # noqa: BLE001 - docs are a convenience; never hide the real failure
            log.warning("could not build Data Docs: %s", e)
        self.write()
        log.error(
            "data quality failed for %s; GX results: %s; Data Docs: %s",
            self.kind,
            self.paths["results"],
            self.paths.get("data_docs"),
        )
        raise DataQualityError(
            _failure_message(self.kind, runner.name, failures, where, self.paths), failures, dict(self.paths)
        )


def _quarantine(t: pa.Table, rules: list[Rule], ds: Dataset) -> tuple[pa.Table, pa.Table | None, dict[str, int]]:
    """Split off rows breaking rules whose action is 'quarantine'; returns (kept, quarantined, counts)."""
    reasons = np.full(t.num_rows, None, dtype=object)
    for r in rules:
        if r.quarantinable and r.mask is not None and ds.quality.action(r.name) == "quarantine":
            m = r.mask(t)
            if m.true_count if hasattr(m, "true_count") else pc.sum(m).as_py():
                hit = m.to_numpy(zero_copy_only=False) & (reasons == None)  # noqa: E711
                reasons[hit] = f"{r.name}:{r.column}"
    bad = reasons != None  # noqa: E711
    if not bad.any():
        return t, None, {}
    counts: dict[str, int] = {}
    for reason in reasons[bad]:
        counts[reason] = counts.get(reason, 0) + 1
    q = t.filter(pa.array(bad)).append_column("reason", pa.array(reasons[bad], pa.string()))
    return t.filter(pa.array(~bad)), q, counts


def _needed_columns(ds: Dataset) -> set[str]:
    """Source columns the mapping reads (without a custom transform)."""
    needed = {
        f.column
        for f in ds.fields
        if not (ds.event_rules and f.name in ("EVENT_TYPE", "EVENT_VALUE") and f.source is None)
    }
    if ds.event_rules:
        needed.add(ds.event_rules.column)
    return needed


def _check_columns(batch: pa.RecordBatch, ds: Dataset, kind: str) -> None:
    missing = sorted(_needed_columns(ds) - set(batch.schema.names)) if not ds.transform else []
    if missing:
        raise DataQualityError(
            f"{kind}: source suite failed: required columns missing from {ds.source.path}: "
            f"{', '.join(missing)} (present: {', '.join(batch.schema.names)})",
            [{"rule": "required_columns", "missing": missing}],
        )


def prepare_dataset(
    cfg: PipelineConfig,
    dataset_name: str,
    out_dir: str | Path,
    block_bytes: int = BLOCK_BYTES,
    s3_options: dict | None = None,
) -> PreparedDataset:
    """Validate + transform one dataset into ``out_dir/<name>/``; raise DataQualityError on failure.
    ``s3_options``: how an s3:// source is opened (see ``reader``)."""
    datasets = cfg.datasets.present()
    if dataset_name not in datasets:
        raise KeyError(f"dataset {dataset_name!r} is not in the config (have: {', '.join(datasets)})")
    ds, kind = datasets[dataset_name], dataset_name
    out = Path(out_dir) / kind
    out.mkdir(parents=True, exist_ok=True)
    avro = ds.avro_schema(kind)
    schema_path = out / f"{kind}.schema.json"
    schema_path.write_text(json.dumps(avro, indent=2))
    ts_fields = [f.name for f in ds.fields if f.timestamp]
    rules = row_rules(kind, avro, ts_fields, default_window(ds.quality.timestamp_min, ds.quality.timestamp_max))
    validator = _Validator(kind, ds, avro, out, rules)
    fail_rules = {r.name for r in rules if ds.quality.action(r.name) == "fail" or not r.quarantinable}
    sink, qsink = CsvSink(out / f"{kind}.csv", [f.name for f in ds.fields]), None
    est_rows = (1 << 30) if ds.source.is_s3 else source_bytes(ds.source) // 16  # generous upper bound
    dedupe, stats = HashSet(bloom_log2=min(30, max(16, (8 * est_rows).bit_length()))), _Stats(kind)
    rows_in, dropped, nulled, chunk = 0, {}, {}, 0
    try:
        needed = None if ds.transform else _needed_columns(ds)
        for batch in prefetch(iter_source(ds.source, block_bytes, needed, s3_options)):
            if chunk == 0:
                _check_columns(batch, ds, kind)
            m = map_batch(batch, ds, rows_in)
            where = f"chunk {chunk}, source rows {rows_in}..{rows_in + batch.num_rows - 1}"
            rows_in += batch.num_rows
            chunk += 1
            t = m.table
            for reason, n in m.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + n
            for name in ts_fields:
                flag = m.unparseable.get(name, pa.array(np.zeros(t.num_rows, bool)))
                t = t.append_column(UNPARSEABLE + name, flag)
            for name, mask in m.unparseable.items():
                if name not in ts_fields:
                    nulled[name] = nulled.get(name, 0) + mask.true_count
                    validator.notes.setdefault(name, []).extend(m.examples.get(name, []))
            t, q, qcounts = _quarantine(t, rules, ds)
            if q is not None:
                if qsink is None:
                    qsink = CsvSink(out / f"{kind}.quarantine.csv", [*sink.columns, ROW, "reason"])
                qsink.write(q)
                for reason, n in qcounts.items():
                    dropped[f"quarantine:{reason}"] = dropped.get(f"quarantine:{reason}", 0) + n
            hashes = {c: column_hash(t[c]) for c in ("USER_ID", "ITEM_ID") if c in sink.columns}
            keep = dedupe.add(row_hash(t.select(sink.columns), hashes))
            if not keep.all():
                dropped["duplicate"] = dropped.get("duplicate", 0) + int((~keep).sum())
                t = t.filter(pa.array(keep))
                hashes = {c: h[keep] for c, h in hashes.items()}
            if ds.quality.gx_mode == "rows":
                validator.chunk(t, where)
            else:
                validator.chunk_stats(t, where, rules, fail_rules)
            stats.update(t, hashes)
            sink.write(t)

        def totals() -> dict:
            sink.flush()  # the chunk-statistics suite above runs while the writer drains
            return totals_row(kind, avro, sink.rows, len(stats.repeat_users), sink.bytes)

        validator.finish(totals)
    except BaseException:
        sink.abort()
        if qsink:
            qsink.close()
        raise
    csv_path = sink.close()
    if qsink:
        qsink.close()
    log.info("%s: %d rows in, %d out, dropped %s; reports in %s", kind, rows_in, sink.rows, dropped, out)
    return PreparedDataset(
        name=kind, csv_path=str(csv_path), schema_path=str(schema_path), report_paths=dict(validator.paths),
        rows_in=rows_in, rows_out=sink.rows, dropped=dropped, values_nulled=nulled,
        users=len(stats.users) if "USER_ID" in sink.columns else None,
        items=len(stats.items) if "ITEM_ID" in sink.columns else None,
        time_min=stats.tmin, time_max=stats.tmax, sha256=sink.sha.hexdigest(), output_bytes=sink.bytes,
        quarantine_path=str(qsink.path) if qsink else None, import_mode=ds.import_mode,
        extra={"dedupe_hash_bytes": dedupe.nbytes, "chunks": chunk},
    )  # fmt: skip


def prepare_all(cfg: PipelineConfig, out_dir: str | Path) -> dict[str, PreparedDataset]:
    """prepare_dataset for every dataset in the config (interactions, items, users)."""
    return {name: prepare_dataset(cfg, name, out_dir) for name in cfg.datasets.present()}
