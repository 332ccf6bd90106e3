"""What each Spark task runs on one source file: the single-machine engine's reader, mapping, quarantine split,
row hash and rule masks, chunk by chunk, as Arrow batches of one record schema (``record_schema``).

A record is one of (``__kind``): ``row`` (a mapped row; ``__reason`` holds its quarantine reason, if any),
``reject`` (a row the reader could not parse), ``count`` (``__reason`` names what is counted: a drop reason,
``nulled:<field>``, ``__parsed`` rows of the file, ``__chunks``), ``note`` (a raw value that did not parse, JSON in
``__raw``) or ``error`` (the file cannot be read: ``__reason`` the rule, ``__detail`` the message). Each carries
``__file`` (index in the sorted file list), ``__chunk`` (chunk of that file) and ``__seq`` (position in the
chunk), so the driver can put everything back in the single-machine engine's order; ``__source_row`` counts
from 0 per file until the driver adds the file's offset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from personalize_ops.config import Dataset
from personalize_ops.quality.errors import SourceError
from personalize_ops.quality.rules import UNPARSEABLE, Rule
from personalize_ops.transform.dedupe import row_hash
from personalize_ops.transform.mapping import ARROW_TYPES, map_batch
from personalize_ops.transform.prepare import _quarantine
from personalize_ops.transform.reader import BLOCK_BYTES, ROW, Reject, iter_source

META = [
    (ROW, pa.int64()), ("__kind", pa.string()), ("__file", pa.int32()), ("__chunk", pa.int32()),
    ("__seq", pa.int64()), ("__reason", pa.string()), ("__h", pa.int64()), ("__count", pa.int64()),
    ("__line", pa.int64()), ("__path", pa.string()), ("__raw", pa.string()), ("__detail", pa.string()),
]  # fmt: skip


def flag(i: int) -> str:
    """The column holding rule ``i``'s mask (rows of a kept chunk breaking it)."""
    return f"__rule_{i}"


def record_schema(ds: Dataset, ts_fields: list[str], rules: list[Rule]) -> pa.Schema:
    cols = [(f.name, ARROW_TYPES[f.type]) for f in ds.fields]
    cols += [(UNPARSEABLE + n, pa.bool_()) for n in ts_fields]
    cols += META
    cols += [(flag(i), pa.bool_()) for i, r in enumerate(rules) if r.mask is not None]
    return pa.schema(cols)


def _batch(schema: pa.Schema, n: int, cols: dict) -> pa.RecordBatch:
    arrays = []
    for f in schema:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(v, pa.ChunkedArray | pa.Array):
            arrays.append(v.cast(f.type) if v.type != f.type else v)
        elif isinstance(v, list | np.ndarray):
            arrays.append(pa.array(v, f.type))
        else:
            arrays.append(pa.array([v] * n, f.type))
    return pa.RecordBatch.from_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
                                       for a in arrays], schema=schema)  # fmt: skip


class FileMapper:
    """Callable for ``DataFrame.mapInArrow`` over (file, path) rows; everything it needs is plain data."""

    def __init__(self, ds: Dataset, ts_fields: list[str], rules: list[Rule], needed: set | None,
                 s3_options: dict | None = None, block_bytes: int = BLOCK_BYTES):  # fmt: skip
        self.ds, self.ts_fields, self.rules, self.needed = ds, ts_fields, rules, needed
        self.s3_options, self.block_bytes = s3_options, block_bytes
        self.schema = record_schema(ds, ts_fields, rules)
        self.fields = [f.name for f in ds.fields]

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            for file_no, path in zip(b.column("file").to_pylist(), b.column("path").to_pylist(), strict=True):
                yield from self.one_file(file_no, path)

    def _count(self, file_no: int, chunk: int, key: str, n: int) -> pa.RecordBatch:
        return _batch(self.schema, 1, {"__kind": "count", "__file": file_no, "__chunk": chunk, "__seq": 0,
                                       "__reason": key, "__count": n})  # fmt: skip

    def one_file(self, file_no: int, path: str) -> Iterator[pa.RecordBatch]:
        source = self.ds.source.model_copy(update={"path": ("s3://" + path) if self.ds.source.is_s3 else path})
        chunk, parsed = 0, 0
        base = {"__file": file_no}
        try:
            for part in iter_source(source, self.block_bytes, self.needed, self.s3_options):
                if part.rejects:
                    yield self._rejects(file_no, chunk, part.rejects)
                batch = part.batch
                parsed += batch.num_rows
                if batch.num_rows:
                    yield from self._rows(file_no, chunk, batch)
                chunk += 1
        except SourceError as e:
            yield _batch(self.schema, 1, {**base, "__kind": "error", "__chunk": chunk, "__seq": 0, "__reason": e.rule,
                                          "__detail": str(e), "__line": e.line, "__raw": e.text})  # fmt: skip
        yield self._count(file_no, chunk, "__parsed", parsed)
        yield self._count(file_no, chunk, "__chunks", chunk)

    def _rejects(self, file_no: int, chunk: int, rejects: list[Reject]) -> pa.RecordBatch:
        n = len(rejects)
        return _batch(self.schema, n, {
            "__kind": "reject", "__file": file_no, "__chunk": chunk, "__seq": np.arange(n),
            "__reason": [r.reason for r in rejects], "__path": [r.path for r in rejects],
            "__line": [r.line for r in rejects], ROW: [r.row for r in rejects], "__raw": [r.text for r in rejects],
            "__detail": [r.detail for r in rejects],
        })  # fmt: skip

    def _rows(self, file_no: int, chunk: int, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        m = map_batch(batch, self.ds)
        t = m.table
        for reason, n in m.dropped.items():
            yield self._count(file_no, chunk, reason, n)
        for name in self.ts_fields:
            t = t.append_column(UNPARSEABLE + name, m.unparseable.get(name, pa.array(np.zeros(t.num_rows, bool))))
        for name, mask in m.unparseable.items():
            values = m.examples.get(name, [])
            if values:
                yield _batch(self.schema, len(values), {
                    "__kind": "note", "__file": file_no, "__chunk": chunk, "__seq": np.arange(len(values)),
                    "__reason": name, "__raw": [json.dumps(v, default=str) for v in values]})  # fmt: skip
            if name not in self.ts_fields:
                yield self._count(file_no, chunk, f"nulled:{name}", mask.true_count)
        t = t.append_column("__seq", pa.array(np.arange(t.num_rows, dtype=np.int64)))
        kept, q, _ = _quarantine(t, self.rules, self.ds)
        base = {"__kind": "row", "__file": file_no, "__chunk": chunk}
        if q is not None:
            yield _batch(self.schema, q.num_rows, {**base, **{c: q[c] for c in q.column_names if c != "reason"},
                                                   "__reason": q["reason"]})  # fmt: skip
        if kept.num_rows:
            h = row_hash(kept.select(self.fields)).view(np.int64)
            flags = {flag(i): r.mask(kept) for i, r in enumerate(self.rules) if r.mask is not None}
            yield _batch(self.schema, kept.num_rows, {**base, **{c: kept[c] for c in kept.column_names},
                                                      "__h": h, **flags})  # fmt: skip
