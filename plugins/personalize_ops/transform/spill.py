"""Bounded-memory duplicate removal and distinct counts: hash-partitioned spill files on local disk.

The prepare stage no longer keeps a set of every row (8 B per distinct row) or of every ID in memory.
Instead it streams in two passes over a local spool of the mapped chunks:

1. ``Spool`` keeps each mapped chunk (Arrow IPC, uncompressed) and ``DuplicateFinder`` appends each row's
   64-bit hash with its position to one of ``parts`` partition files chosen by the hash's top bits.
2. ``DuplicateFinder.finish`` loads one partition at a time (about ``PART_ROWS`` rows, 16 B each), finds the
   rows whose hash was seen at an earlier position and marks them in a bitmap (1 bit per row); the chunks
   are then read back from the spool with those rows removed. ``DistinctCounter`` counts distinct IDs (and
   IDs seen twice or more) the same way, one partition at a time.

Peak memory: one partition, one buffer of ``BUFFER_ROWS`` pending hashes per spill, the bitmap (N/8 bytes:
25 MB at 200M rows) and the chunks in flight. Disk: the spool (about the mapped data's Arrow size) and
16 B per row (duplicates) plus 8 B per row and ID column (distinct counts), removed on ``close``.
Results are exact up to 64-bit hash collisions (see ``dedupe``).
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from personalize_ops.transform.dedupe import sorted_unique

PART_ROWS = 1 << 22  # target rows per partition: 4M rows -> 64 MB of (hash, position) pairs
BUFFER_ROWS = 1 << 20  # pending hashes per spill before they are written out
MAX_PARTS = 1024
SEGMENT_BYTES = 256 << 20  # spool segment size: read segments are removed one by one


def parts_for(est_rows: int) -> int:
    """A power of two of partitions so that each holds about ``PART_ROWS`` rows of ``est_rows``."""
    return int(min(MAX_PARTS, 1 << max(0, (max(1, est_rows // PART_ROWS) - 1).bit_length())))


class HashPartitions:
    """uint64 keys (with an optional int64 payload) appended to ``parts`` files by the keys' top bits;
    within a partition, keys stay in the order they were appended."""

    def __init__(self, folder: Path, name: str, parts: int, payload: bool = False):
        self.folder, self.name, self.parts, self.payload = Path(folder), name, parts, payload
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shift = np.uint64(64 - max(1, (parts - 1).bit_length())) if parts > 1 else None
        self.keys: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.pending = 0

    def _path(self, p: int, what: str) -> Path:
        return self.folder / f"{self.name}.{p:04d}.{what}"

    def append(self, keys: np.ndarray, vals: np.ndarray | None = None) -> None:
        self.keys.append(np.ascontiguousarray(keys, np.uint64))
        if self.payload:
            self.vals.append(np.ascontiguousarray(vals, np.int64))
        self.pending += len(keys)
        if self.pending >= BUFFER_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        keys = np.concatenate(self.keys)
        vals = np.concatenate(self.vals) if self.payload else None
        self.keys, self.vals, self.pending = [], [], 0
        if self.shift is None:
            self._write(0, keys, vals)
            return
        part = (keys >> self.shift).astype(np.uint16)
        order = np.argsort(part, kind="stable")  # radix sort; keeps append order within a partition
        bounds = np.searchsorted(part[order], np.arange(self.parts + 1))
        for p in np.flatnonzero(np.diff(bounds)):
            idx = order[bounds[p] : bounds[p + 1]]
            self._write(int(p), keys[idx], vals[idx] if vals is not None else None)

    def _write(self, p: int, keys: np.ndarray, vals: np.ndarray | None) -> None:
        with open(self._path(p, "k"), "ab") as f:
            keys.tofile(f)
        if vals is not None:
            with open(self._path(p, "v"), "ab") as f:
                vals.tofile(f)

    def _load(self, p: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Partition ``p``'s (keys, payload), its files removed once read (None: empty partition)."""
        path = self._path(p, "k")
        if not path.exists():
            return None
        keys = np.fromfile(path, np.uint64)
        path.unlink()
        if not self.payload:
            return keys, None
        path = self._path(p, "v")
        vals = np.fromfile(path, np.int64)
        path.unlink()
        return keys, vals

    def map(self, fn: Callable[[np.ndarray, np.ndarray | None], object], workers: int = 2) -> Iterator:
        """``fn(keys, payload)`` of each non-empty partition, in partition order, computed by ``workers`` threads
        (numpy's sorts release the GIL) with at most ``workers`` partitions in memory. The partitions are read
        once: their files are removed as they are loaded."""
        self.flush()

        def run(p: int):
            loaded = self._load(p)
            return None if loaded is None else fn(*loaded)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prepare-partition") as pool:
            pending: deque[Future] = deque()
            for p in range(self.parts):
                pending.append(pool.submit(run, p))
                if len(pending) >= workers:
                    if (out := pending.popleft().result()) is not None:
                        yield out
            while pending:
                if (out := pending.popleft().result()) is not None:
                    yield out


def _later_occurrences(keys: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Positions of the rows whose hash occurs at an earlier position of the partition (keys in row order)."""
    s = np.sort(keys)
    repeated = sorted_unique(s[1:][s[1:] == s[:-1]])
    if not len(repeated):
        return np.zeros(0, np.int64)
    at = np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)
    idx = np.flatnonzero(repeated[at] == keys)  # rows of repeated hashes, in row order
    order = idx[np.argsort(keys[idx], kind="stable")]
    k = keys[order]
    return pos[order[1:][k[1:] == k[:-1]]]


def _distinct_and_repeated(keys: np.ndarray, _: None) -> tuple[int, int]:
    values, counts = sorted_unique(keys, counts=True)
    return len(values), int((counts > 1).sum())


class DuplicateFinder:
    """Exact duplicate rows by hash: ``add`` every row's hash in order, ``finish``, then ``keep(n)`` returns
    the mask of the next ``n`` rows that are first occurrences."""

    def __init__(self, folder: Path, parts: int):
        self.spill = HashPartitions(folder, "rows", parts, payload=True)
        self.rows = 0
        self.bitmap: np.ndarray | None = None
        self.duplicates = 0
        self._pos = 0

    def add(self, h: np.ndarray) -> None:
        self.spill.append(h, np.arange(self.rows, self.rows + len(h), dtype=np.int64))
        self.rows += len(h)

    def finish(self) -> None:
        self.bitmap = np.zeros((self.rows + 7) // 8, np.uint8)
        for dup in self.spill.map(_later_occurrences):
            np.bitwise_or.at(self.bitmap, dup >> 3, np.left_shift(1, dup & 7).astype(np.uint8))
            self.duplicates += len(dup)

    def keep(self, n: int) -> np.ndarray | None:
        """Mask of the next ``n`` rows to keep (None: keep all)."""
        start, self._pos = self._pos, self._pos + n
        if not self.duplicates:
            return None
        lo = start >> 3
        bits = np.unpackbits(self.bitmap[lo : ((start + n + 7) >> 3)], bitorder="little")
        dup = bits[start - 8 * lo : start - 8 * lo + n].astype(bool)
        return ~dup if dup.any() else None

    @property
    def nbytes(self) -> int:
        return self.bitmap.nbytes if self.bitmap is not None else 0


class DistinctCounter:
    """Distinct values by hash and how many of them occur at least twice, counted one partition at a time."""

    def __init__(self, folder: Path, name: str, parts: int):
        self.spill = HashPartitions(folder, name, parts)

    def add(self, h: np.ndarray) -> None:
        self.spill.append(h)

    def counts(self) -> tuple[int, int]:
        """(distinct values, values seen two or more times)."""
        distinct = repeated = 0
        for d, r in self.spill.map(_distinct_and_repeated):
            distinct += d
            repeated += r
        return distinct, repeated


class Spool:
    """Mapped chunks kept on local disk (Arrow IPC) and read back once, in order, one at a time. Each chunk
    carries a small ``meta`` dict (kept in memory). The chunks go to segment files of about ``SEGMENT_BYTES``,
    each removed as soon as it has been read: what is still unread stays on disk, and a segment removed while
    still in the page cache is never written to the disk at all."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segments: list[Path] = []
        self.meta: list[dict] = []
        self._writer = None
        self._sink = None
        self._schema = None
        self._bytes = 0

    def write(self, t: pa.Table, meta: dict) -> None:
        if self._writer is None or t.schema != self._schema or self._bytes >= SEGMENT_BYTES:
            self._close_writer()
            path = self.folder / f"spool.{len(self.segments):04d}.arrow"
            self.segments.append(path)
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pa.ipc.new_stream(self._sink, t.schema)
            self._schema, self._bytes = t.schema, 0
        self._bytes += t.nbytes
        if t.num_rows:
            self._writer.write_batch(t.combine_chunks().to_batches()[0])
        self.meta.append({**meta, "rows": t.num_rows, "segment": len(self.segments) - 1})

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None

    def __iter__(self) -> Iterator[tuple[pa.Table, dict]]:
        """Read with plain file reads, not a memory map (mapped pages would count as resident memory)."""
        self._close_writer()
        segment, reader, source = -1, None, None
        try:
            for meta in self.meta:
                if meta["segment"] != segment:
                    if source is not None:
                        source.close()
                        self.segments[segment].unlink()
                    segment = meta["segment"]
                    source = pa.OSFile(str(self.segments[segment]), "rb")
                    reader = pa.ipc.open_stream(source)
                if meta["rows"]:
                    yield pa.Table.from_batches([reader.read_next_batch()]), meta
                else:
                    yield reader.schema.empty_table(), meta
        finally:
            if source is not None:
                source.close()
                self.segments[segment].unlink(missing_ok=True)


class Serial:
    """Runs calls one after another in one background thread, in the order submitted, at most ``depth`` waiting:
    the spill and spool writes (numpy and Arrow release the GIL) overlap with mapping and validating the next
    chunk on a second core. Objects a call touches belong to that thread until ``drain``; an error in a call is
    raised by the next ``submit`` or ``drain``. Use as a context manager: leaving the block cancels what waits
    and joins the thread."""

    def __init__(self, depth: int = 1):
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-spill")
        self._pending: deque[Future] = deque()

    def __enter__(self) -> Serial:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable, *args) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()

    def drain(self) -> None:
        """Wait for every submitted call; re-raise the first error."""
        while self._pending:
            self._pending.popleft().result()


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
