"""Write Personalize CSV: UTF-8, unquoted header, values quoted only in chunks that need it.

The file is written as ``<name>.partial`` and renamed on ``close``, so a crash never leaves a
truncated CSV that looks finished; sha256 and size are computed while writing. Formatting, hashing
and writing run in one background thread (Arrow, hashlib and file writes release the GIL), in
submission order, so output is deterministic; at most two chunks wait in its queue.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
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


def format_csv(t: pa.Table, header: bool = False) -> pa.Buffer:
    """``t`` as Personalize CSV lines (values quoted only if some value in ``t`` needs it)."""
    needs_quotes = any(
        _has_special(c) for c in t.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)
    )
    sink = pa.BufferOutputStream()
    if header:  # unquoted, as Personalize's examples show it (Arrow would quote every name)
        sink.write((",".join(t.column_names) + "\n").encode())
    pcsv.write_csv(t, sink, pcsv.WriteOptions(include_header=False, quoting_style="needed" if needs_quotes else "none"))
    return sink.getvalue()


class CsvSink:
    def __init__(self, path: Path, columns: list[str]):
        self.path, self.columns = Path(path), columns
        self.tmp = self.path.with_name(self.path.name + ".partial")
        self.f = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
        self.sha, self.bytes, self.rows = hashlib.sha256(), 0, 0
        self._emit((",".join(columns) + "\n").encode())
        self._q: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _emit(self, data) -> None:
        self.sha.update(data)
        self.f.write(data)
        self.bytes += len(data)

    def _format(self, t: pa.Table) -> None:
        self._emit(memoryview(format_csv(t)))

    def _run(self) -> None:
        while (t := self._q.get()) is not None:
            if self._error is None:
                try:
                    self._format(t)
                except BaseException as e:  # noqa: BLE001 - re-raised by write/flush in the caller
                    self._error = e

    def write(self, t: pa.Table) -> None:
        """Queue ``t`` (rows counted now; ``bytes`` and ``sha`` are final after ``flush``)."""
        if self._error is not None:
            raise self._error
        if not t.num_rows:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="prepare-csv-writer")
            self._thread.start()
        self._q.put(t.select(self.columns))
        self.rows += t.num_rows

    def flush(self) -> None:
        """Wait until every queued chunk is written; re-raise a writer error."""
        if self._thread is not None:
            self._q.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    def close(self) -> Path:
        self.flush()
        self.f.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.flush()
        except BaseException:  # noqa: BLE001 - aborting anyway; the caller raises the first error
            pass
        self.f.close()
        self.tmp.unlink(missing_ok=True)
