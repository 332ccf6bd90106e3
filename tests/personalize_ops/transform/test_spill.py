"""The prepare stage's bounded-memory helpers with many partitions, small buffers and small spool segments, so that
every path the 10M+ row runs take (several flushes, partition by the top hash bits, segment roll-over, parallel
partition work) runs on a few thousand values and is checked against a plain Python reference."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pytest
from personalize_ops.transform import spill


@pytest.fixture
def small_buffers(monkeypatch):
    monkeypatch.setattr(spill, "BUFFER_ROWS", 700)  # many flushes
    monkeypatch.setattr(spill, "SEGMENT_BYTES", 4000)  # many spool segments


def _hashes(rng: np.random.Generator, n: int, pool: int) -> np.ndarray:
    """``n`` full-range 64-bit values drawn from ``pool`` distinct ones: repeats within and across batches,
    some values three or more times, spread over every partition (the top bits pick it)."""
    values = rng.integers(0, np.iinfo(np.uint64).max, pool, dtype=np.uint64, endpoint=True)
    return values[rng.integers(0, pool, n)]


@pytest.mark.parametrize("parts", [1, 8, 64])
def test_duplicate_finder_keeps_exactly_each_first_occurrence(tmp_path, small_buffers, parts):
    rng = np.random.default_rng(parts)
    batches = [_hashes(rng, n, 3000) for n in (1, 900, 2500, 0, 1700)]
    finder = spill.DuplicateFinder(tmp_path, parts)
    for b in batches:
        finder.add(b)
    finder.finish()

    seen: set[int] = set()
    expected_keep = []
    for b in batches:
        mask = []
        for v in b.tolist():
            mask.append(v not in seen)
            seen.add(v)
        expected_keep.append(mask)
    got = [finder.keep(len(b)) for b in batches]
    got = [[True] * len(b) if g is None else g.tolist() for g, b in zip(got, batches, strict=True)]
    assert got == expected_keep
    assert finder.duplicates == sum(m.count(False) for m in expected_keep) > 0
    assert not list(tmp_path.glob("rows.*")), "the partition files are removed once read"


@pytest.mark.parametrize("parts", [1, 16])
def test_distinct_counter_counts_distinct_values_and_values_seen_twice(tmp_path, small_buffers, parts):
    rng = np.random.default_rng(7)
    values = _hashes(rng, 5000, 2200)
    counter = spill.DistinctCounter(tmp_path, "USER_ID", parts)
    for chunk in np.array_split(values, 7):
        counter.add(chunk)
    counts: dict[int, int] = {}
    for v in values.tolist():
        counts[v] = counts.get(v, 0) + 1
    assert counter.counts() == (len(counts), sum(1 for c in counts.values() if c >= 2))
    assert not list(tmp_path.glob("USER_ID.*"))


def test_partitions_split_by_the_top_bits_and_keep_append_order(tmp_path, small_buffers):
    rng = np.random.default_rng(3)
    keys = _hashes(rng, 4000, 4000)
    vals = np.arange(len(keys), dtype=np.int64)
    part = spill.HashPartitions(tmp_path, "k", 8, payload=True)
    for lo in range(0, len(keys), 333):
        part.append(keys[lo : lo + 333], vals[lo : lo + 333])
    got = list(part.map(lambda k, v: (k, v)))
    top = (keys >> np.uint64(61)).astype(int)
    expected = [(keys[top == p], vals[top == p]) for p in range(8) if (top == p).any()]
    assert len(got) == len(expected) == 8
    for (gk, gv), (ek, ev) in zip(got, expected, strict=True):
        assert gk.tolist() == ek.tolist() and gv.tolist() == ev.tolist()


def test_spool_reads_back_every_chunk_in_order_and_removes_each_segment_once_read(tmp_path, small_buffers):
    spool = spill.Spool(tmp_path)
    chunks = [pa.table({"a": list(range(i * 100, i * 100 + 100)), "b": [f"v{i}"] * 100}) for i in range(12)]
    chunks.insert(5, pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())}))
    chunks.insert(8, pa.table({"a": [1.5], "b": ["other schema"]}))
    for i, t in enumerate(chunks):
        spool.write(t, {"n": i})
    assert len(spool.segments) > 3, "4000-byte segments: the chunks are spread over several files"
    on_disk = []
    for i, (t, meta) in enumerate(spool):
        assert meta["n"] == i and t.equals(chunks[i])
        on_disk.append(len(list(tmp_path.glob("spool.*"))))
    assert on_disk[0] == len(spool.segments) and on_disk[-1] == 1, "each segment goes once it has been read"
    assert on_disk == sorted(on_disk, reverse=True)
    assert not list(tmp_path.glob("spool.*"))


def test_serial_runs_calls_in_order_in_one_other_thread_and_reraises_an_error():
    done, threads = [], set()

    def work(i: int) -> None:
        threads.add(threading.get_ident())
        done.append(i)

    with spill.Serial(depth=2) as serial:
        for i in range(50):
            serial.submit(work, i)
        serial.drain()
    assert done == list(range(50)) and threads and threading.get_ident() not in threads

    def boom() -> None:
        raise OSError("disk full")

    with spill.Serial() as serial, pytest.raises(OSError, match="disk full"):
        serial.submit(boom)
        serial.submit(work, 99)
        serial.drain()
