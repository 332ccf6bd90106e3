"""Write Personalize CSV: UTF-8, unquoted header, values quoted only in chunks that need it.

The file is written as ``<name>.partial`` and renamed on ``close``, so a crash never leaves a
truncated CSV that looks finished; sha256 and size are computed while writing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

_SPECIAL = np.frombuffer(b',"\r\n', np.uint8)


def _has_special(col: pa.ChunkedArray) -> bool:
    """Does any value contain a comma, quote or newline? Scans Arrow's data buffers with numpy
    (conservative: a buffer may hold bytes of values outside the slice, which only adds quoting)."""
    for chunk in col.chunks:
        data = chunk.buffers()[2]
        if data is not None and np.isin(np.frombuffer(data, np.uint8), _SPECIAL).any():
            return True
    return False


class CsvSink:
    def __init__(self, path: Path, columns: list[str]):
        self.path, self.columns = Path(path), columns
        self.tmp = self.path.with_name(self.path.name + ".partial")
        self.f = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
        self.sha, self.bytes, self.rows = hashlib.sha256(), 0, 0
        self._emit((",".join(columns) + "\n").encode())

    def _emit(self, data) -> None:
        self.sha.update(data)
        self.f.write(data)
        self.bytes += len(data)

    def write(self, t: pa.Table) -> None:
        if not t.num_rows:
            return
        t = t.select(self.columns)
        needs_quotes = any(_has_special(c) for c in t.columns if pa.types.is_string(c.type))
        sink = pa.BufferOutputStream()
        pcsv.write_csv(
            t,
            sink,
            pcsv.WriteOptions(include_header=False, quoting_style="needed" if needs_quotes else "none"),
        )
        self._emit(memoryview(sink.getvalue()))
        self.rows += t.num_rows

    def close(self) -> Path:
        self.f.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        self.f.close()
        self.tmp.unlink(missing_ok=True)
