"""Stream a dataset source as pyarrow RecordBatches in bounded chunks (CSV/TSV, Parquet, JSON lines).

A source is one file or a folder of part files (read in sorted name order, so output is deterministic).
Every CSV column is read as a string: IDs keep leading zeros and typing happens in mapping. Each batch carries
``__source_row``: the row's 0-based index among the rows parsed from the source (a ragged row is not parsed,
so it takes no index; it is reported by its line number instead).

A row that cannot be parsed does not stop the read: it becomes a ``Reject`` (``ragged_row``: more or fewer
fields than the header/``columns``; ``bad_encoding``: bytes that are not valid in the source encoding;
``bad_quoting``: a quote left open, so that a line break ends up inside a field), handed to the caller with
the chunk it was found in; the caller applies the dataset's quality action (fail or quarantine). A source
that cannot be read at all (missing, empty, corrupt, malformed JSON) raises ``SourceError``.

``s3_options``: how s3:// sources are opened, as ``pyarrow.fs.S3FileSystem`` options (access_key, secret_key,
session_token, region, endpoint_override). The DAGs pass the Airflow AWS connection's
(``pipeline.prepare_stage.s3_options_from_connection``); None (the CLI) means the standard AWS environment.

Use ``Prefetch`` as a context manager around ``iter_source``: leaving the block stops and joins the read-ahead
thread and closes every file and Arrow reader, on every exit path.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.json as pjson
import pyarrow.parquet as pq

from personalize_ops.config import Source
from personalize_ops.quality.errors import SourceError
from personalize_ops.quality.rule_names import BAD_ENCODING, BAD_QUOTING, RAGGED_ROW

BLOCK_BYTES = 8 << 20  # CSV/JSON block; bounds memory together with the prefetch depth
PARQUET_ROWS = 1 << 20
ROW = "__source_row"
_SUFFIX = {
    "csv": (".csv", ".csv.gz"),
    "tsv": (".tsv", ".tsv.gz", ".csv"),
    "jsonl": (".jsonl", ".json", ".jsonl.gz"),
    "parquet": (".parquet", ".pq"),
}
_READ_ERRORS = (pa.ArrowException, OSError, EOFError, ValueError, UnicodeError)


@dataclass(frozen=True)
class Reject:
    """A source row that could not be parsed. ``line``: 1-based line number in ``path`` counting the header
    line and not counting blank lines, when known; ``row``: its ``__source_row`` when it was parsed into a batch."""

    reason: str  # ragged_row | bad_encoding | bad_quoting
    path: str
    line: int | None
    row: int | None
    text: str
    detail: str


@dataclass
class Chunk:
    """One batch of parsed rows (may be empty) and the rows rejected while reading up to it."""

    batch: pa.RecordBatch
    rejects: list[Reject] = field(default_factory=list)


def _filesystem(source: Source, s3_options: dict | None = None) -> tuple[pafs.FileSystem, str]:
    if source.is_s3:
        options = {k: v for k, v in (s3_options or {}).items() if v is not None}
        if s3_options is None:
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            options = {"endpoint_override": endpoint, "region": os.environ.get("AWS_DEFAULT_REGION")}
        return pafs.S3FileSystem(**options), source.path.removeprefix("s3://")
    return pafs.LocalFileSystem(), source.path


def source_files(source: Source, s3_options: dict | None = None) -> list[str]:
    """The files behind ``source`` (a folder lists its parts by suffix, sorted)."""
    fs, path = _filesystem(source, s3_options)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise SourceError(
            f"source {source.path} does not exist. To fix: correct source.path in the pipeline config (a local path "
            "is relative to the config file)",
            "source_missing",
        )
    if info.type == pafs.FileType.File:
        return [path]
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(_SUFFIX[source.format]))
    if not files:
        raise SourceError(
            f"source folder {source.path} holds no {source.format} files (names ending in "
            f"{', '.join(_SUFFIX[source.format])}). To fix: correct source.path or source.format",
            "source_missing",
        )
    return files


def source_bytes(source: Source, s3_options: dict | None = None, files: list[str] | None = None) -> int:
    """The source's size in bytes: of ``files`` when the caller listed them already, else of every source file."""
    fs, _ = _filesystem(source, s3_options)
    return sum(fs.get_file_info(f).size for f in (files if files is not None else source_files(source, s3_options)))


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


class _ToUtf8(io.RawIOBase):
    """A byte stream in ``encoding`` re-encoded as UTF-8. Undecodable bytes pass through as invalid UTF-8
    (surrogateescape), so they surface per row as ``bad_encoding`` instead of failing the whole read."""

    def __init__(self, raw, encoding: str):
        self.raw, self.buf, self.eof = raw, b"", False
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self.buf and not self.eof:
            data = self.raw.read(1 << 20)
            self.eof = not data
            self.buf = self.decoder.decode(data, final=self.eof).encode("utf-8", "surrogatepass")
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n


@contextlib.contextmanager
def _open(fs: pafs.FileSystem, path: str, encoding: str = "utf-8"):
    """The (decompressed, UTF-8) byte stream of ``path``; closed on leaving the block."""
    with fs.open_input_stream(path, compression="detect") as raw:
        if _is_utf8(encoding):
            yield raw
        else:
            with io.BufferedReader(_ToUtf8(raw, encoding), 1 << 20) as f:
                yield f


def iter_source(
    source: Source, block_bytes: int = BLOCK_BYTES, columns: set[str] | None = None, s3_options: dict | None = None
) -> Iterator[Chunk]:
    """Yield Chunks of raw rows; memory is bounded by ``block_bytes`` (CSV/JSON) or row groups.
    ``columns``: the CSV columns needed; when the file has all of them, the others are not converted."""
    fs, _ = _filesystem(source, s3_options)
    first_row = 0
    for path in source_files(source, s3_options):
        if source.format == "parquet":
            parts = _parquet(fs, path, source)
        elif source.format == "jsonl":
            parts = _jsonl(fs, path, source, block_bytes)
        else:
            parts = _csv(fs, path, source, block_bytes, columns)
        with contextlib.closing(parts):  # its reader and file are closed even when the consumer stops early
            for batch, rejects in parts:
                chunk = _checked(batch, rejects, path, first_row, source.sep)
                first_row += batch.num_rows
                yield chunk


def _reason(e: BaseException) -> str:
    """An Arrow/IO error's first line, without the row text a CSV parse error appends (it may hold IDs)."""
    text = re.sub(r"(got \d+): .*", r"\1", str(e).splitlines()[0] if str(e) else type(e).__name__)
    return text[:200]


def _rename(batch: pa.RecordBatch, columns: list[str] | None, path: str) -> pa.RecordBatch:
    if not columns:
        return batch
    if len(columns) != batch.num_columns:
        raise SourceError(
            f"{path} has {batch.num_columns} columns ({', '.join(batch.schema.names)}) but source.columns in "
            f"the pipeline config names {len(columns)}. To fix: list one name per column in source.columns",
            "source_columns",
        )
    return pa.RecordBatch.from_arrays(batch.columns, names=columns)


def _parquet(fs, path: str, source: Source) -> Iterator[tuple[pa.RecordBatch, list[Reject]]]:
    try:
        with pq.ParquetFile(path, filesystem=fs) as pf:
            if not pf.metadata.num_rows:  # still report the columns
                yield _rename(pa.RecordBatch.from_pylist([], schema=pf.schema_arrow), source.columns, path), []
            for b in pf.iter_batches(batch_size=PARQUET_ROWS):
                yield _rename(b, source.columns, path), []
    except _READ_ERRORS as e:
        if isinstance(e, SourceError):
            raise
        raise SourceError(
            f"{path} cannot be read as Parquet ({_reason(e)}). To fix: check source.format, or replace the file",
            "source_unreadable",
        ) from None


def _jsonl(fs, path: str, source: Source, block_bytes: int) -> Iterator[tuple[pa.RecordBatch, list[Reject]]]:
    reader = None
    try:
        with _open(fs, path, source.encoding) as f:
            reader = pjson.open_json(f, read_options=pjson.ReadOptions(block_size=block_bytes))
            for b in reader:
                yield _rename(b, source.columns, path), []
    except _READ_ERRORS as e:
        if isinstance(e, SourceError):
            raise
        if "Empty JSON" in str(e):
            raise SourceError(
                f"{path} is empty. To fix: write one JSON object per line, or remove the file", "empty_file"
            ) from None
        line, text = _first_bad_json_line(fs, path, source.encoding)
        where = f"line {line} (1-based)" if line else "a line"
        raise SourceError(
            f"{path}, {where} is not a JSON object ({_reason(e).split(' in row')[0]}). To fix: make that line "
            "one JSON object (source.format jsonl reads one per line)",
            "source_unreadable",
            line=line,
            text=text,
        ) from None
    finally:
        if reader is not None:
            reader.close()


def _first_bad_json_line(fs, path: str, encoding: str) -> tuple[int | None, str | None]:
    """The first line of a JSON lines file that is not a JSON object (read again, on the error path only)."""
    with _open(fs, path, encoding) as f, io.BufferedReader(f) as buffered:
        for n, raw in enumerate(io.TextIOWrapper(buffered, "utf-8", errors="backslashreplace"), start=1):
            if not raw.strip():
                continue
            try:
                if isinstance(json.loads(raw), dict):
                    continue
            except ValueError:
                pass
            return n, raw.rstrip("\r\n")
    return None, None


def _header(fs, path: str, source: Source) -> list[str]:
    """The column names in the first line (parsed with the source's delimiter and quoting)."""
    with _open(fs, path, source.encoding) as f:
        head = f.read(1 << 16)
        while head and b"\n" not in head:
            more = f.read(1 << 16)
            if not more:
                break
            head += more
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if not line.strip():
        raise SourceError(
            f"{path} is empty (not even a header line). To fix: write the data with a header line naming its "
            "columns, or remove the file",
            "empty_file",
        )
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(
            f"{path}, line 1 (the header) holds bytes that are not valid {source.encoding}. To fix: set "
            "source.encoding to the file's encoding, or fix the header",
            BAD_ENCODING,
            line=1,
            text=line.decode("utf-8", "backslashreplace"),
        ) from None
    table = pcsv.read_csv(io.BytesIO(line + b"\n"), parse_options=pcsv.ParseOptions(delimiter=source.sep))
    return table.schema.names


def _csv(
    fs, path: str, source: Source, block_bytes: int, columns: set[str] | None
) -> Iterator[tuple[pa.RecordBatch, list[Reject]]]:
    rejects: list[Reject] = []

    def invalid(row) -> str:
        # a quote left open swallows the line break (newlines_in_values is off) and then the field count differs
        text = row.text or ""
        quoting = "\n" in text or "\r" in text or text.count('"') % 2 == 1
        detail = f"expected {row.expected_columns} fields, got {row.actual_columns}"
        rejects.append(Reject(BAD_QUOTING if quoting else RAGGED_ROW, path, row.number, None, text, detail))
        return "skip"

    reader = None
    try:
        names = source.columns or _header(fs, path, source)
        include = [n for n in names if n in columns] if columns and columns <= set(names) else None
        with _open(fs, path, source.encoding) as f, _undecodable_row_is_handled(invalid):
            reader = pcsv.open_csv(
                f,
                read_options=pcsv.ReadOptions(
                    block_size=block_bytes,
                    use_threads=False,  # serial parsing reports line numbers; Prefetch overlaps it with the work
                    column_names=names,
                    skip_rows=1 if source.header else 0,
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=source.sep, newlines_in_values=False, invalid_row_handler=invalid
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={n: pa.binary() for n in names},  # decoded in _checked, row by row if needed
                    null_values=[""],
                    strings_can_be_null=True,
                    include_columns=include,
                ),
            )
            yielded = False
            for b in reader:
                found, rejects[:] = list(rejects), []
                if b.num_rows or found or not yielded:  # the first batch carries the columns, even if empty
                    yield b, found
                    yielded = True
            if rejects or not yielded:  # rows after the last batch; or a file with a header only
                yield pa.RecordBatch.from_pylist([], schema=reader.schema), list(rejects)
    except _READ_ERRORS as e:
        if isinstance(e, SourceError):
            raise
        if "Empty CSV file" in str(e):
            raise SourceError(f"{path} holds no rows. To fix: write the data, or remove it", "empty_file") from None
        if m := re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+)", str(e)):  # see _undecodable_row_is_handled
            line, text = first_undecodable_line(source, path, fs=fs)
            raise SourceError(
                f"{path}, line {line or m[1]} (1-based, blank lines not counted): expected {m[2]} fields, got {m[3]}, "
                f"and bytes that are not valid {source.encoding}. To fix: correct the row, or set source.encoding "
                "(a row with both problems cannot be quarantined)",
                BAD_ENCODING,
                line=line or int(m[1]),
                text=text,
            ) from None
        raise SourceError(
            f"{path} cannot be read as {source.format} ({_reason(e)}). To fix: check source.format, "
            "source.delimiter and source.encoding, that the file can be read, or replace it",
            "source_unreadable",
        ) from None
    finally:
        if reader is not None:
            reader.close()


@contextlib.contextmanager
def _undecodable_row_is_handled(handler):
    """pyarrow decodes a ragged row's text for ``handler`` as UTF-8; when that fails it prints the
    UnicodeDecodeError as "Exception ignored in ..." (with a traceback) and then stops the read with ArrowInvalid
    "Row #N: Expected ...", which ``_csv`` turns into a SourceError. Within the block, that print is dropped."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if unraisable.object is handler and isinstance(unraisable.exc_value, UnicodeDecodeError):
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _has_byte(arr: pa.Array, values: bytes) -> bool:
    """Does the data buffer of a string/binary array hold any of ``values`` (conservative: it may hold bytes
    of values outside the slice)?"""
    data = arr.buffers()[2]
    if data is None:
        return False
    a = np.frombuffer(data, np.uint8)
    return any(bool((a == v).any()) for v in values)


def _decoded(arr: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """``arr`` as UTF-8 strings (cast once: the cast validates) and a mask of values that are not valid UTF-8
    (None if all are; the per-value check runs only then)."""
    try:
        if pa.types.is_string(arr.type):
            arr.validate(full=True)
            return arr, None
        return arr.cast(pa.string()), None
    except pa.ArrowInvalid:
        pass
    values = arr.cast(pa.binary()).to_pylist()
    bad = np.zeros(len(arr), bool)
    for i, v in enumerate(values):
        if v is not None:
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
    return arr, bad


def _checked(batch: pa.RecordBatch, rejects: list[Reject], path: str, first_row: int, sep: str) -> Chunk:
    """Decode binary columns as UTF-8, set aside rows with undecodable bytes or a line break inside a field
    (a quote left open), and number the rows (``__source_row``)."""
    n = batch.num_rows
    rows = np.arange(first_row, first_row + n, dtype=np.int64)
    bad: dict[str, np.ndarray] = {}
    cols = list(batch.columns)
    for k, col in enumerate(batch.columns):
        if not (pa.types.is_binary(col.type) or pa.types.is_string(col.type)):
            continue
        cols[k], enc = _decoded(col)
        if enc is not None:
            bad[BAD_ENCODING] = bad.get(BAD_ENCODING, np.zeros(n, bool)) | enc
        if pa.types.is_binary(col.type) and _has_byte(col, b"\r\n"):
            m = pc.fill_null(pc.match_substring_regex(col, "[\r\n]"), False).to_numpy(zero_copy_only=False)
            bad[BAD_QUOTING] = bad.get(BAD_QUOTING, np.zeros(n, bool)) | m
    found = list(rejects)
    if bad:
        any_bad = np.zeros(n, bool)
        raw = None
        for reason, mask in bad.items():
            mask = mask & ~any_bad
            if not mask.any():
                continue
            if raw is None:
                raw = [col.cast(pa.binary()).to_pylist() if pa.types.is_string(col.type) or pa.types.is_binary(col.type)
                       else col.to_pylist() for col in batch.columns]  # fmt: skip
            for i in np.flatnonzero(mask):
                text = sep.join("" if c[i] is None else _raw_text(c[i]) for c in raw)
                what = "bytes that are not valid UTF-8" if reason == BAD_ENCODING else "a line break inside a field"
                found.append(Reject(reason, path, None, int(rows[i]), text, what))
            any_bad |= mask
        keep = pa.array(~any_bad)
        cols = [c.filter(keep) for c in cols]
        cols = [c.cast(pa.string()) if pa.types.is_binary(c.type) else c for c in cols]  # valid now
        rows = rows[~any_bad]
    out = pa.RecordBatch.from_arrays([*cols, pa.array(rows)], names=[*batch.schema.names, ROW])
    return Chunk(out, found)


def _raw_text(v) -> str:
    """A raw value as text; bytes that are not valid in the source encoding appear as \\xNN."""
    if not isinstance(v, bytes):
        return str(v)
    try:  # a source re-encoded by _ToUtf8 carries its undecodable bytes as surrogates
        text = v.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return v.decode("utf-8", "backslashreplace")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def first_undecodable_line(
    source: Source, path: str, s3_options: dict | None = None, fs: pafs.FileSystem | None = None
) -> tuple[int | None, str | None]:
    """The first line of ``path`` with bytes that are not valid in the source encoding (1-based, blank lines not
    counted, as the CSV reader counts; the line with those bytes as \\xNN). Reads the file again: error path only."""
    fs = fs or _filesystem(source, s3_options)[0]
    n = 0
    with fs.open_input_stream(path, compression="detect") as f, io.BufferedReader(f) as lines:
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            n += bool(line)
            try:
                line.decode(source.encoding)
            except UnicodeDecodeError:
                return n, line.decode(source.encoding, "backslashreplace")
    return None, None


_DONE = object()


class Prefetch:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead (Arrow's readers release the GIL, so
    parsing the next chunk overlaps with processing this one).

    Use as a context manager. Leaving the block (normally or by an exception) stops the thread, waits for it
    and closes ``items`` (a generator: its ``finally`` blocks close the files and Arrow readers) in that thread.
    So no reader or read-ahead thread outlives the block: a thread still inside Arrow when the interpreter exits
    aborts the process ("terminate called without an active exception", exit 134).
    """

    def __init__(self, items: Iterable, depth: int = 2):
        self._items = items
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True, name="prepare-prefetch")

    def __enter__(self) -> Prefetch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            self._put(e)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # the consumer already has the first error
                    close()

    def __iter__(self) -> Iterator:
        while (item := self._q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop reading ahead; returns once the thread has ended and the source is closed."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()
        while not self._q.empty():
            self._q.get_nowait()
