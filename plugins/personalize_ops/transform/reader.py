"""Stream a dataset source as pyarrow RecordBatches in bounded chunks (CSV/TSV, Parquet, JSON lines).

A source is one file or a folder of part files (read in sorted name order, so output is deterministic).
Every CSV column is read as a string: IDs keep leading zeros and typing happens in mapping.

``s3_options``: how s3:// sources are opened, as ``pyarrow.fs.S3FileSystem`` options (access_key, secret_key,
session_token, region, endpoint_override). The DAGs pass the Airflow AWS connection's
(``pipeline.prepare_stage.s3_options_from_connection``); None (the CLI) means the standard AWS environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.fs as pafs
import pyarrow.json as pjson
import pyarrow.parquet as pq

from personalize_ops.config import Source

BLOCK_BYTES = 8 << 20  # CSV/JSON block; Arrow reads ~20 blocks ahead, so this bounds memory (~200 MB)
PARQUET_ROWS = 1 << 20
_SUFFIX = {
    "csv": (".csv", ".csv.gz"),
    "tsv": (".tsv", ".tsv.gz", ".csv"),
    "jsonl": (".jsonl", ".json", ".jsonl.gz"),
    "parquet": (".parquet", ".pq"),
}


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
        raise FileNotFoundError(f"source {source.path} does not exist")
    if info.type == pafs.FileType.File:
        return [path]
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File and i.path.endswith(_SUFFIX[source.format]))
    if not files:
        raise FileNotFoundError(f"source folder {source.path} holds no {source.format} files")
    return files


def source_bytes(source: Source, s3_options: dict | None = None) -> int:
    fs, _ = _filesystem(source, s3_options)
    return sum(fs.get_file_info(f).size for f in source_files(source, s3_options))


def _decompress(fs: pafs.FileSystem, path: str):
    return fs.open_input_stream(path, compression="detect")


def iter_source(
    source: Source, block_bytes: int = BLOCK_BYTES, columns: set[str] | None = None, s3_options: dict | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield RecordBatches of raw rows; memory is bounded by ``block_bytes`` (CSV/JSON) or row groups.
    ``columns``: the CSV columns needed; when the file has all of them, the others are not converted."""
    fs, _ = _filesystem(source, s3_options)
    for path in source_files(source, s3_options):
        if source.format == "parquet":
            pf = pq.ParquetFile(path, filesystem=fs)
            for b in pf.iter_batches(batch_size=PARQUET_ROWS):
                yield _rename(b, source.columns)
        elif source.format == "jsonl":
            with _decompress(fs, path) as f:
                for b in pjson.open_json(f, read_options=pjson.ReadOptions(block_size=block_bytes)):
                    yield _rename(b, source.columns)
        else:
            yield from _csv(fs, path, source, block_bytes, columns)


def _rename(batch: pa.RecordBatch, columns: list[str] | None) -> pa.RecordBatch:
    if not columns:
        return batch
    if len(columns) != batch.num_columns:
        raise ValueError(f"source has {batch.num_columns} columns but config 'columns' names {len(columns)}")
    return pa.RecordBatch.from_arrays(batch.columns, names=columns)


def _csv(
    fs: pafs.FileSystem, path: str, source: Source, block_bytes: int, columns: set[str] | None
) -> Iterator[pa.RecordBatch]:
    names = source.columns
    read = pcsv.ReadOptions(
        block_size=block_bytes,
        encoding=source.encoding,
        column_names=names if names else None,
        skip_rows=1 if (names and source.header) else 0,
    )
    with _decompress(fs, path) as f:
        if not names:  # learn the header to read every column as string
            head = pcsv.open_csv(
                f,
                read_options=pcsv.ReadOptions(block_size=1 << 16, encoding=source.encoding),
                parse_options=pcsv.ParseOptions(delimiter=source.sep),
            )
            names = head.schema.names
    include = [n for n in names if n in columns] if columns and columns <= set(names) else None
    convert = pcsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        null_values=[""],
        strings_can_be_null=True,
        include_columns=include,
    )
    with _decompress(fs, path) as f:
        reader = pcsv.open_csv(
            f,
            read_options=read,
            parse_options=pcsv.ParseOptions(delimiter=source.sep, newlines_in_values=False),
            convert_options=convert,
        )
        for b in reader:
            if b.num_rows:
                yield b


def prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read ahead in a thread (Arrow's CSV/Parquet readers release the GIL), so parsing the next chunk
    overlaps with processing this one; at most ``depth`` chunks wait in memory."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def pump() -> None:
        try:
            for b in batches:
                if stop.is_set():
                    return
                q.put(b)
            q.put(done)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            q.put(e)

    threading.Thread(target=pump, daemon=True, name="prepare-prefetch").start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not q.empty():
            q.get_nowait()
