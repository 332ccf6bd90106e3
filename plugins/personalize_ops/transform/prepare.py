"""The prepare stage: source -> source suite -> mapping -> Personalize suite -> CSV + Avro schema.

Everything streams in bounded chunks. Per chunk: read, map (transform, event rules, parsing),
quarantine rows breaking rules set to 'quarantine' (reason column), hash the rows and keep the chunk in a
local spool. Then per spooled chunk: drop exact duplicates (first occurrence kept), validate with the GX
source and Personalize suites, write. After the last chunk the whole-file rules (minimum counts, file size,
metadata field count) are validated by GX on a one-row batch of aggregated statistics. Duplicates and
distinct user/item counts are found from hash-partitioned spill files (``spill``), so memory stays flat as
the input grows (only a 1-bit-per-row duplicate bitmap grows); the spill lives next to the output and is
removed on every exit path.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from personalize_ops.config import ConfigError, Dataset, PipelineConfig
from personalize_ops.quality.checks import Checks, key
from personalize_ops.quality.display import MAX_EXAMPLES, Display
from personalize_ops.quality.errors import DataQualityError, SourceError
from personalize_ops.quality.gx_runner import SuiteRunner
from personalize_ops.quality.rules import (
    UNPARSEABLE,
    Rule,
    default_window,
    header_rule,
    milliseconds_hint,
    row_rules,
    schema_fields,
    stats_rules,
    totals_row,
    totals_rules,
)
from personalize_ops.transform.custom import TransformError, load_transform
from personalize_ops.transform.dedupe import column_hash, row_hash
from personalize_ops.transform.mapping import map_batch
from personalize_ops.transform.reader import (
    BLOCK_BYTES,
    ROW,
    Prefetch,
    Reject,
    first_undecodable_line,
    iter_source,
    source_bytes,
)
from personalize_ops.transform.spill import DistinctCounter, DuplicateFinder, Serial, Spool, parts_for, remove
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
    checks: dict = field(default_factory=dict)  # quality.checks.Checks.to_dict(): rows checked, counts per rule

    def to_dict(self) -> dict:
        return asdict(self)


class _Stats:
    """Aggregates over chunks: distinct users/items, users with 2+ interactions (spilled, see ``spill``),
    time range."""

    def __init__(self, kind: str, folder: Path, parts: int):
        self.kind = kind
        self.ids = {c: DistinctCounter(folder, c, parts) for c in ("USER_ID", "ITEM_ID")}
        self.tmin = self.tmax = None
        self._counts: dict[str, tuple[int, int]] = {}

    def update(self, t: pa.Table) -> None:
        for c, ids in self.ids.items():
            if c in t.column_names:
                ids.add(column_hash(t[c]))
        ts = "TIMESTAMP" if "TIMESTAMP" in t.column_names else "CREATION_TIMESTAMP"
        if ts in t.column_names and t.num_rows:
            mm = pc.min_max(t[ts]).as_py()
            if mm["min"] is not None:
                self.tmin = mm["min"] if self.tmin is None else min(self.tmin, mm["min"])
                self.tmax = mm["max"] if self.tmax is None else max(self.tmax, mm["max"])

    def counts(self, column: str) -> tuple[int, int]:
        """(distinct values, values in two or more rows) of an ID column."""
        if column not in self._counts:
            self._counts[column] = self.ids[column].counts()
        return self._counts[column]

    @property
    def repeat_users(self) -> int:
        return self.counts("USER_ID")[1] if self.kind == "interactions" else 0


def _spill(dedupe: DuplicateFinder, spool: Spool, t: pa.Table, columns: list[str], meta: dict) -> None:
    """First pass, in the background: the rows' hashes to the duplicate finder, the mapped chunk to the spool."""
    dedupe.add(row_hash(t.select(columns)))
    spool.write(t, meta)


def _examples(t: pa.Table, mask: pa.Array, columns: list[str], display: Display | None) -> list[dict]:
    """The first rows ``mask`` selects, values as ``display`` shows them (None: in full)."""
    rows = t.filter(mask).slice(0, MAX_EXAMPLES).select([*columns, ROW]).to_pylist()
    return [{"source_row": r.pop(ROW), **(display.row(r) if display else r)} for r in rows]


ROW_NUMBERS = "source_row is the row's 0-based index among the source's data rows, header not counted"


def _failure_message(kind: str, source: str, suites: list[str], failures: list[dict], where: str, paths: dict) -> str:
    named = f"the {suites[0]} suite" if len(suites) == 1 else f"the {', '.join(suites)} suites"
    lines = [f"{kind}: data quality failed in {named} (source {source}; {where}); {len(failures)} rule(s) failed."]
    for f in failures:
        count = f"; {f['unexpected_count']} of {f['element_count']} rows" if f.get("element_count") else ""
        obs = f" (observed {f['observed_value']})" if "observed_value" in f else ""
        lines.append(f"  - {f['rule']} [{f['expectation']}] {f['column']}: {f['reason']}{count}{obs}")
        if f.get("note"):
            lines.append(f"      ({f['note']})")
        for ex in f.get("rows", [])[:MAX_EXAMPLES]:
            lines.append(f"      e.g. {ex}")
        if f.get("examples") and not f.get("rows"):
            lines.append(f"      e.g. values {f['examples'][:MAX_EXAMPLES]}")
    if any(f.get("rows") for f in failures):
        lines.append(f"  ({ROW_NUMBERS})")
    quarantinable = sorted({f["rule"] for f in failures if f.get("quarantinable")})
    fix = "  To fix: correct the data in the source"
    if quarantinable:
        fix += (f", or set datasets.{kind}.quality.rules.<rule>: quarantine (for {', '.join(quarantinable)}) to set "
                "such rows aside in the quarantine file and go on")  # fmt: skip
    lines.append(fix + ".")
    lines.append("  Reports (full rows): " + ", ".join(f"{k}: {v}" for k, v in paths.items()))
    return "\n".join(lines)


class _Validator:
    """Runs the three suites and raises DataQualityError with counts, example rows and report paths."""

    def __init__(
        self, kind: str, ds: Dataset, avro: dict, out: Path, rules: list[Rule], display: Display, spark: bool = False
    ):
        self.kind, self.out, self.fields, self.display = kind, out, [f.name for f in ds.fields], display
        self.source_path, self.gx_mode = ds.source.path, ds.quality.gx_mode
        self.checks = Checks(rules, {r.name: ds.quality.action(r.name) for r in rules})
        src = [r for r in rules if r.suite == "source"]
        per = [header_rule(avro), *[r for r in rules if r.suite == "personalize"]]
        self.source = SuiteRunner(f"{kind}.source", src, spark)  # spark: the row suites run on Spark DataFrames
        self.personalize = SuiteRunner(f"{kind}.personalize", per, spark)
        self.totals = SuiteRunner(f"{kind}.personalize.totals", totals_rules(kind, avro, ds.import_mode))
        self.paths = {"results": str(out / f"{kind}.gx_results.json")}
        self.schema_order = [f[0] for f in schema_fields(avro)]
        self.stats_rows: list[dict] = []
        self.notes: dict[str, list] = {}  # field -> raw values that could not be parsed (became null)
        self.stats = None

    def chunk(self, t: pa.Table, where: str) -> None:
        """Validate the chunk with both row suites; a failure lists every failed rule of both."""
        df = t.drop_columns([ROW]).to_pandas()
        ok_source, _ = self.source.validate(df)
        ok_personalize, _ = self.personalize.validate(df[self.fields])
        if not (ok_source and ok_personalize):
            failed = [(self.source, df)] if not ok_source else []
            failed += [(self.personalize, df[self.fields])] if not ok_personalize else []
            self.fail(failed, where, t)

    def chunk_stats(
        self, t: pa.Table, where: str, rules: list[Rule], fail_rules: set[str], counts: dict[str, int]
    ) -> None:
        """gx_mode=stats: ``counts`` are the chunk's violations per rule (``Checks.add``); a chunk with
        violations of a 'fail' rule is validated row by row by GX (for the report) and fails; otherwise its
        counts become one row of the chunk-statistics batch GX validates in ``finish``."""
        row = {"chunk_rows": t.num_rows, "header_order_mismatch": int(self.fields != self.schema_order), **counts}
        bad = row["header_order_mismatch"] or any(
            row[key(r)] for r in rules if r.mask is not None and r.name in fail_rules
        )
        if bad:
            self.chunk(t, where)
        self.stats_rows.append(row)

    def finish(self, totals_fn) -> None:
        """Validate the chunk statistics, then ``totals_fn()`` (called late: it may wait for the writer)."""
        import pandas as pd

        failed, where = [], []
        if self.stats_rows:
            cols = [c for c in self.stats_rows[0] if c != "chunk_rows"]
            self.stats = SuiteRunner(f"{self.kind}.chunk_stats", stats_rules(cols))
            df = pd.DataFrame(self.stats_rows)
            if not self.stats.validate(df)[0]:
                failed.append((self.stats, df))
                where.append("per-chunk rule statistics")
        totals = totals_fn()
        df = pd.DataFrame([totals])
        if not self.totals.validate(df)[0]:
            failed.append((self.totals, df))
            where.append(f"whole-file totals {totals}")
        self.checks.set_totals(self.totals.rules, totals, self.totals.tally)
        self.write()
        if failed:
            self.fail(failed, "; ".join(where), None)

    def write(self, failing_rows: dict | None = None) -> None:
        """The results JSON: every suite's tally, the first failing chunk's GX result and, on failure, full
        example rows per failed rule (this file lives with the data; messages show them masked)."""
        from personalize_ops.quality.gx_runner import write_json

        runners = [r for r in (self.source, self.personalize, self.stats, self.totals) if r is not None]
        write_json(
            Path(self.paths["results"]),
            {
                "gx_mode": self.gx_mode,
                "checks": self.checks.to_dict(),
                "suites": [r.summary() for r in runners],
                "first_failing_chunk": next((r.first_failure for r in runners if r.first_failure), None),
                "failing_rows": failing_rows or {},
            },
        )

    def fail(self, failed: list, where: str, t: pa.Table | None) -> None:
        """Raise DataQualityError listing the failed rules of every ``(runner, df)`` in ``failed``; its message and
        ``failures`` show values bounded and masked (``Display``), the GX reports written here keep them in full."""
        failures = [(runner, df, dict(x)) for runner, df in failed for x in runner.tally if not x["success"]]
        full: dict[str, list] = {}
        for runner, df, f in failures:
            rule = next((r for r in runner.rules if (r.name, r.column) == (f["rule"], f["column"])), None)
            f["quarantinable"] = bool(rule and rule.quarantinable and rule.mask is not None)
            if t is not None and rule and rule.mask is not None:
                f["rows"] = _examples(t, rule.mask(t), self.fields, self.display)
                full[f"{f['rule']}:{f['column']}"] = _examples(t, rule.mask(t), self.fields, None)
                if f["rule"] == "timestamp_out_of_window" and (hint := milliseconds_hint(t[f["column"]].filter(
                        rule.mask(t)))):  # fmt: skip
                    f["note"] = hint
            f["examples"] = self.display.values(f["column"], f.get("examples") or [])
            if runner is self.totals:  # one row of whole-file statistics: show the observed number itself
                f["observed_value"] = df[f["column"]].iloc[0].item()
                f["element_count"], f["examples"] = 0, []
            name = f["column"].removeprefix(UNPARSEABLE)
            if f["rule"] in ("null_not_allowed", "timestamp_unparseable") and self.notes.get(name):
                vals = self.display.values(name, self.notes[name])
                what = "including values" if f["rule"] == "null_not_allowed" else "values"
                how = "the declared type" if f["rule"] == "null_not_allowed" else "the configured timestamp format"
                f["note"] = f"{what} present in the source but not parseable as {how}: {vals}"
        docs = self.out / f"{self.kind}.data_docs"
        for runner, df in failed:
            try:
                self.paths["data_docs"] = str(runner.build_docs(df, docs))
            except Exception as e:  # noqa: BLE001 - docs are a convenience; never hide the real failure
                log.warning("could not build Data Docs: %s", e)
        self.write(full)
        found = [f for _, _, f in failures]
        raise DataQualityError(
            _failure_message(self.kind, self.source_path, [r.name for r, _ in failed], found, where, self.paths),
            found,
            dict(self.paths),
        )


def _quarantine(t: pa.Table, rules: list[Rule], ds: Dataset) -> tuple[pa.Table, pa.Table | None, dict[str, int]]:
    """Split off rows breaking rules whose action is 'quarantine'; returns (kept, quarantined, counts)."""
    reasons = np.full(t.num_rows, None, dtype=object)
    for r in rules:
        if r.quarantinable and ds.quality.action(r.name) == "quarantine":
            m = r.mask(t)
            if m.true_count if hasattr(m, "true_count") else pc.sum(m).as_py():
                hit = m.to_numpy(zero_copy_only=False) & (reasons == None)  # noqa: E711
                reasons[hit] = key(r)
    bad = reasons != None  # noqa: E711
    if not bad.any():
        return t, None, {}
    counts: dict[str, int] = {}
    for reason in reasons[bad]:
        counts[reason] = counts.get(reason, 0) + 1
    q = t.filter(pa.array(bad)).append_column("reason", pa.array(reasons[bad], pa.string()))
    return t.filter(pa.array(~bad)), q, counts


class _QuarantineFile:
    """``<kind>.quarantine.csv``, created at the first quarantined row. Columns: the dataset's fields,
    ``__source_row``, ``reason`` (``rule:column``, or the parse problem), and for a row that could not be parsed
    ``file``, ``line`` (1-based, blank lines not counted) and ``raw`` (the row as read) instead of fields."""

    EXTRA = [ROW, "reason", "file", "line", "raw"]

    def __init__(self, path: Path, fields: list[str]):
        self.path, self.fields, self.sink = path, fields, None

    def _write(self, t: pa.Table) -> None:
        if self.sink is None:
            self.sink = CsvSink(self.path, [*self.fields, *self.EXTRA])
        self.sink.write(t)

    def rows(self, t: pa.Table) -> None:
        """Rows of the mapped table that broke a rule (``t`` has a ``reason`` column)."""
        n = t.num_rows
        for name, typ in (("file", pa.string()), ("line", pa.int64()), ("raw", pa.string())):
            t = t.append_column(name, pa.nulls(n, typ))
        self._write(t)

    def rejects(self, rejects: list[Reject]) -> None:
        n = len(rejects)
        cols = {name: pa.nulls(n, pa.string()) for name in self.fields}
        cols |= {
            ROW: pa.array([r.row for r in rejects], pa.int64()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "file": pa.array([r.path for r in rejects], pa.string()),
            "line": pa.array([r.line for r in rejects], pa.int64()),
            "raw": pa.array([r.text for r in rejects], pa.string()),
        }
        self._write(pa.table(cols))

    def close(self) -> str | None:
        return str(self.sink.close()) if self.sink else None


_REJECT_FIX = {
    "ragged_row": "give the row one value per column (a trailing delimiter adds an empty field; a value that holds "
    "the delimiter must be quoted), or check source.delimiter / source.columns",
    "bad_quoting": 'close the quote, or double a quote inside a quoted value ("")',
    "bad_encoding": "set source.encoding to the file's encoding, or fix those bytes",
}


def _where(line: int | None, row: int | None) -> str:
    if line is not None:
        return f"line {line} (1-based, blank lines not counted)"
    return f"data row {row} (0-based, header not counted)"


def _reject_error(
    kind: str, ds: Dataset, group: list[Reject], display: Display, s3_options: dict | None = None
) -> DataQualityError:
    """The error for rows that could not be parsed under a 'fail' action: file, line, raw line, what to do."""
    r = min(group, key=lambda x: (x.line is None, x.line or 0, x.row or 0))
    line, text = r.line, r.text
    if r.reason == "bad_encoding" and line is None:  # find the line: read the file again, on this error path only
        line, found = first_undecodable_line(ds.source, r.path, s3_options)
        text = found if found is not None else text
    detail = r.detail
    if r.reason == "bad_encoding":
        bad = sorted(set(re.findall(r"\\x[0-9a-f]{2}", text)))[:5]
        detail = f"bytes {' '.join(bad)} are not valid {ds.source.encoding}" if bad else detail
    more = f"\n  ({len(group)} such rows in this part of the source)" if len(group) > 1 else ""
    return DataQualityError(
        f"{kind}: {r.reason}: {r.path}, {_where(line, r.row)}: {detail}:\n    {display.raw(text, ds.source.sep)}"
        f"{more}\n  To fix: {_REJECT_FIX[r.reason]}; or set datasets.{kind}.quality.rules.{r.reason}: quarantine "
        "to set such rows aside in the quarantine file and go on.",
        [{"rule": r.reason, "file": r.path, "line": line, "row": r.row, "count": len(group)}],
    )


def _source_error(kind: str, e: SourceError, ds: Dataset, display: Display) -> DataQualityError:
    """A SourceError with its raw line (masked per the dataset's settings) and the dataset named."""
    raw = f"\n    {display.raw(e.text, ds.source.sep)}" if e.text is not None else ""
    return DataQualityError(f"{kind}: {e.rule}: {e}{raw}", e.failures)


def _needed_columns(ds: Dataset) -> set[str]:
    """Source columns the mapping reads (without a custom transform)."""
    needed = {
        column
        for f in ds.fields
        for column in f.columns
        if not (ds.event_rules and f.name in ("EVENT_TYPE", "EVENT_VALUE") and f.source is None)
    }
    if ds.event_rules:
        needed.add(ds.event_rules.column)
    return needed


def _check_columns(names: list[str], ds: Dataset, kind: str) -> None:
    missing = sorted(_needed_columns(ds) - set(names)) if not ds.transform else []
    if missing:
        fix = "rename the columns in the source, or map them with fields[].source in the pipeline config"
        if len(names) == 1 and (seps := [d for d in ",\t;|" if d in names[0] and d != ds.source.sep]):
            fix = f"set source.delimiter to {seps[0]!r} (the header is one column holding {seps[0]!r})"
        raise DataQualityError(
            f"{kind}: required_columns: required columns missing from {ds.source.path}: "
            f"{', '.join(missing)} (present: {', '.join(names)}). To fix: {fix}",
            [{"rule": "required_columns", "missing": missing}],
        )


def _cleanup(*closers) -> None:
    """Run every closer even if one fails (the caller is already raising the first error)."""
    for close in closers:
        try:
            close()
        except Exception as e:  # noqa: BLE001
            log.warning("cleanup after a failed prepare: %s", e)


def _dataset(cfg: PipelineConfig, dataset_name: str) -> tuple[Dataset, str]:
    """The named dataset of the config (KeyError naming the ones it has) and its kind."""
    datasets = cfg.datasets.present()
    if dataset_name not in datasets:
        raise KeyError(f"dataset {dataset_name!r} is not in the config (have: {', '.join(datasets)})")
    return datasets[dataset_name], dataset_name


class _Output(NamedTuple):
    """What both engines set up before reading: ``out_dir/<kind>/`` with the Avro schema written, and the rules."""

    out: Path
    avro: dict
    schema_path: Path
    display: Display
    ts_fields: list[str]
    rules: list[Rule]


def _output(ds: Dataset, kind: str, out_dir: str | Path) -> _Output:
    out = Path(out_dir).resolve() / kind
    out.mkdir(parents=True, exist_ok=True)
    avro = ds.avro_schema(kind)
    schema_path = out / f"{kind}.schema.json"
    schema_path.write_text(json.dumps(avro, indent=2))
    ts_fields = [f.name for f in ds.fields if f.timestamp]
    rules = row_rules(kind, avro, ts_fields, default_window(ds.quality.timestamp_min, ds.quality.timestamp_max))
    return _Output(out, avro, schema_path, Display.for_dataset(ds), ts_fields, rules)


def prepare_dataset(
    cfg: PipelineConfig,
    dataset_name: str,
    out_dir: str | Path,
    block_bytes: int = BLOCK_BYTES,
    s3_options: dict | None = None,
) -> PreparedDataset:
    """Validate + transform one dataset into ``out_dir/<name>/``; raise DataQualityError on failure.
    ``s3_options``: how an s3:// source is opened (see ``reader``).

    On every exit path the read-ahead thread is joined, every source reader closed and the output either
    renamed into place (success) or removed (failure); the quarantine file and reports are kept."""
    ds, kind = _dataset(cfg, dataset_name)
    config_file = cfg.source_file or "<config>"
    if ds.transform:  # before any output: a transform that cannot be imported is a config error
        try:
            load_transform(ds.transform)
        except TransformError as e:
            raise ConfigError(config_file, [(f"datasets.{kind}.transform", str(e))]) from None
    out, avro, schema_path, display, ts_fields, rules = _output(ds, kind, out_dir)
    fail_rules = {r.name for r in rules if ds.quality.action(r.name) == "fail" or not r.quarantinable}
    validator: _Validator | None = None  # built at the first data rows: GX is slow to start, bad sources fail fast
    sink = CsvSink(out / f"{kind}.csv", [f.name for f in ds.fields])
    quarantine = _QuarantineFile(out / f"{kind}.quarantine.csv", sink.columns)
    rows_in, dropped, nulled, chunk = 0, {}, {}, 0
    spill_dir = out / f".{kind}.spill"
    try:
        est_rows = (1 << 30) if ds.source.is_s3 else source_bytes(ds.source, s3_options) // 16  # generous upper bound
        parts = parts_for(est_rows)
        dedupe, stats, spool = DuplicateFinder(spill_dir, parts), _Stats(kind, spill_dir, parts), Spool(spill_dir)
        needed = None if ds.transform else _needed_columns(ds)
        with Serial() as background, Prefetch(iter_source(ds.source, block_bytes, needed, s3_options)) as chunks:
            for part in chunks:
                batch = part.batch
                rows_in += batch.num_rows + len(part.rejects)
                if part.rejects:
                    for reason in ("ragged_row", "bad_quoting", "bad_encoding"):
                        group = [r for r in part.rejects if r.reason == reason]
                        if group and ds.quality.action(reason) == "fail":
                            raise _reject_error(kind, ds, group, display, s3_options)
                    quarantine.rejects(part.rejects)
                    for r in part.rejects:
                        dropped[f"quarantine:{r.reason}"] = dropped.get(f"quarantine:{r.reason}", 0) + 1
                if chunk == 0:
                    _check_columns([n for n in batch.schema.names if n != ROW], ds, kind)
                chunk += 1
                if not batch.num_rows:
                    continue
                validator = validator or _Validator(kind, ds, avro, out, rules, display)
                m = map_batch(batch, ds)
                rows = batch.column(ROW)
                where = f"chunk {chunk - 1}, 0-based source rows {rows[0].as_py()}..{rows[-1].as_py()}"
                t = m.table
                for reason, n in m.dropped.items():
                    dropped[reason] = dropped.get(reason, 0) + n
                for name in ts_fields:
                    flag = m.unparseable.get(name, pa.array(np.zeros(t.num_rows, bool)))
                    t = t.append_column(UNPARSEABLE + name, flag)
                for name, mask in m.unparseable.items():
                    validator.notes.setdefault(name, []).extend(m.examples.get(name, []))
                    if name not in ts_fields:
                        nulled[name] = nulled.get(name, 0) + mask.true_count
                t, q, qcounts = _quarantine(t, rules, ds)
                if q is not None:
                    quarantine.rows(q)
                    for reason, n in qcounts.items():
                        dropped[f"quarantine:{reason}"] = dropped.get(f"quarantine:{reason}", 0) + n
                background.submit(_spill, dedupe, spool, t, sink.columns, {"where": where, "qcounts": qcounts})
            background.drain()
        dedupe.finish()
        # second pass: without duplicates, validate, write
        with Serial() as background, Prefetch(iter(spool), depth=2) as spooled:
            for t, meta in spooled:
                keep = dedupe.keep(t.num_rows)
                if keep is not None:
                    dropped["duplicate"] = dropped.get("duplicate", 0) + int((~keep).sum())
                    t = t.filter(pa.array(keep))
                counts = validator.checks.add(t, meta["qcounts"])
                if ds.quality.gx_mode == "rows":
                    validator.chunk(t, meta["where"])
                else:
                    validator.chunk_stats(t, meta["where"], rules, fail_rules, counts)
                background.submit(stats.update, t)
                sink.write(t)
            background.drain()

        def totals() -> dict:
            sink.flush()  # the chunk-statistics suite above runs while the writer drains
            return totals_row(kind, avro, sink.rows, stats.repeat_users, sink.bytes)

        validator = validator or _Validator(kind, ds, avro, out, rules, display)
        validator.finish(totals)
        csv_path = sink.close()
        users, items = (stats.counts(c)[0] if c in sink.columns else None for c in ("USER_ID", "ITEM_ID"))
    except SourceError as e:
        _cleanup(sink.abort, quarantine.close)
        raise _source_error(kind, e, ds, display) from None
    except TransformError as e:
        _cleanup(sink.abort, quarantine.close)
        raise ConfigError(config_file, [(f"datasets.{kind}.transform", str(e))]) from None
    except BaseException:
        _cleanup(sink.abort, quarantine.close)
        raise
    finally:
        remove(spill_dir)
    quarantine_path = quarantine.close()
    log.info("%s: %d rows in, %d out, dropped %s; reports in %s", kind, rows_in, sink.rows, dropped, out)
    return PreparedDataset(
        name=kind, csv_path=str(csv_path), schema_path=str(schema_path), report_paths=dict(validator.paths),
        rows_in=rows_in, rows_out=sink.rows, dropped=dropped, values_nulled=nulled,
        users=users, items=items,
        time_min=stats.tmin, time_max=stats.tmax, sha256=sink.sha.hexdigest(), output_bytes=sink.bytes,
        quarantine_path=quarantine_path, import_mode=ds.import_mode,
        extra={"dedupe_bitmap_bytes": dedupe.nbytes, "spill_partitions": parts, "chunks": chunk},
        checks=validator.checks.to_dict(),
    )  # fmt: skip


def prepare_all(cfg: PipelineConfig, out_dir: str | Path) -> dict[str, PreparedDataset]:
    """prepare_dataset for every dataset in the config (interactions, items, users)."""
    return {name: prepare_dataset(cfg, name, out_dir) for name in cfg.datasets.present()}
