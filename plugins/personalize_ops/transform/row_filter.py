"""Keep some rows of a prepared Personalize CSV: streamed in bounded blocks, written with the prepare stage's writer.

Used after the prepare stage by the deny-list (rows of deleted users out) and by the incremental cadence (only the
events newer than the watermark). Values are read as text and written back unchanged (an empty value stays empty),
so a file whose every row is kept is rewritten byte for byte the same apart from quoting.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BLOCK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Filtered:
    path: str
    rows_in: int
    rows_out: int
    sha256: str
    output_bytes: int


def header_of(path: str | Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def filter_csv(src: str | Path, dst: str | Path, keep: Callable) -> Filtered:
    """Write the rows of ``src`` for which ``keep(block)`` (a pyarrow Table of string columns -> boolean mask) is
    true to ``dst``; returns counts and the new file's SHA-256."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from personalize_ops.transform.writer import CsvSink

    columns = header_of(src)
    reader = pcsv.open_csv(
        str(src),
        read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    sink, rows_in = CsvSink(Path(dst), columns), 0
    try:
        for batch in reader:
            table = pa.Table.from_batches([batch])
            rows_in += table.num_rows
            sink.write(table.filter(pc.fill_null(keep(table), False)))
        sink.flush()
        digest, size, rows_out = sink.sha.hexdigest(), sink.bytes, sink.rows
        path = sink.close()
    except BaseException:
        sink.abort()
        raise
    return Filtered(str(path), rows_in, rows_out, digest, size)
