"""The prepare stage's bounded-memory helpers with many partitions, small buffers and small spool segments, so that
every path the 10M+ row runs take (several flushes, partition by the top hash bits, segment roll-over, parallel
partition work) runs on a few thousand values and is checked against a plain Python reference."""

from __future__ import annotations

import threading
import time

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


@pytest.mark.parametrize("parts", [2, 8])
def test_partitions_split_by_the_top_bits_and_keep_append_order(tmp_path, small_buffers, parts):
    rng = np.random.default_rng(3)
    keys = _hashes(rng, 4000, 4000)
    vals = np.arange(len(keys), dtype=np.int64)
    part = spill.HashPartitions(tmp_path, "k", parts, payload=True)
    for lo in range(0, len(keys), 333):
        part.append(keys[lo : lo + 333], vals[lo : lo + 333])
    assert len(list(tmp_path.glob("k.*.k"))) == parts, "every partition has its own file"
    got = list(part.map(lambda k, v: (k, v)))
    top = (keys >> np.uint64(64 - (parts - 1).bit_length())).astype(int)
    expected = [(keys[top == p], vals[top == p]) for p in range(parts) if (top == p).any()]
    assert len(got) == len(expected) == parts
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


def test_parts_for_gives_a_power_of_two_of_about_part_rows_each_up_to_the_cap():
    assert spill.parts_for(0) == spill.parts_for(1) == spill.parts_for(spill.PART_ROWS) == 1
    assert spill.parts_for(2 * spill.PART_ROWS - 1) == 1
    assert [spill.parts_for(k * spill.PART_ROWS) for k in (2, 3, 4, 5, 8, 9)] == [2, 4, 4, 8, 8, 16]
    for k in range(1, 3 * spill.MAX_PARTS, 37):
        p = spill.parts_for(k * spill.PART_ROWS)
        assert p & (p - 1) == 0, "a power of two: partitions are picked by the top bits of the hash"
        assert p == spill.MAX_PARTS or k <= p < 2 * k, "the smallest power of two with at most PART_ROWS each"
    assert spill.parts_for(10**15) == spill.MAX_PARTS


def test_appends_flush_at_buffer_rows_into_a_new_nested_folder_as_uint64_keys_and_int64_payload(tmp_path,
                                                                                               small_buffers):
    folder = tmp_path / "a" / "b"
    part = spill.HashPartitions(folder, "k", 4, payload=True)
    keys = np.arange(-350, 350, dtype=np.int64) * 7919  # signed keys: stored as their uint64 bit patterns
    vals = np.arange(700, dtype=np.int32)  # 32-bit positions: stored as int64
    part.append(keys[:699], vals[:699])
    assert not list(folder.iterdir()), "below BUFFER_ROWS pending values stay in memory"
    part.append(keys[699:], vals[699:])
    assert list(folder.iterdir()) and part.pending == 0, "at BUFFER_ROWS pending values the buffer is written"
    got = list(part.map(lambda k, v: (k, v)))
    assert all(k.dtype == np.uint64 and v.dtype == np.int64 for k, v in got)
    k = np.concatenate([k for k, _ in got])
    v = np.concatenate([v for _, v in got])
    assert sorted(zip(k.tolist(), v.tolist(), strict=True)) == sorted(
        zip(keys.astype(np.uint64).tolist(), vals.tolist(), strict=True)
    )


def test_empty_partitions_and_partitions_without_repeats_are_handled(tmp_path, small_buffers):
    low = np.arange(1, 1200, dtype=np.uint64)  # top bits 000: all in partition 0 of 8
    part = spill.HashPartitions(tmp_path / "p", "k", 8)
    part.append(low)
    assert [len(k) for k, _ in part.map(lambda k, v: (k, v))] == [len(low)], "7 empty partitions skipped"

    rng = np.random.default_rng(11)
    distinct = np.unique(rng.integers(0, np.iinfo(np.uint64).max, 3100, dtype=np.uint64, endpoint=True))[:3000]
    distinct = rng.permutation(distinct)
    top = distinct >> np.uint64(61)
    repeated = distinct[top == 7][:50]  # repeats in the last partition only; the other seven have none
    batches = [distinct[:1000], distinct[1000:], repeated]
    finder = spill.DuplicateFinder(tmp_path / "d", 8)
    for b in batches:
        finder.add(b)
    finder.finish()
    assert finder.keep(1000) is None and finder.keep(2000) is None, "no duplicate in a chunk: None, keep all"
    assert finder.keep(len(repeated)).tolist() == [False] * len(repeated)
    assert finder.duplicates == len(repeated) and finder.nbytes == -(-(3000 + len(repeated)) // 8)

    clean = spill.DuplicateFinder(tmp_path / "c", 8)
    clean.add(distinct[:8])  # 8 rows: a bitmap of exactly one byte
    clean.finish()
    assert clean.keep(8) is None and clean.duplicates == 0 and clean.nbytes == 1


def test_two_counters_in_one_folder_count_their_own_values(tmp_path, small_buffers):
    users = spill.DistinctCounter(tmp_path, "USER_ID", 4)
    items = spill.DistinctCounter(tmp_path, "ITEM_ID", 4)
    rng = np.random.default_rng(5)
    u = _hashes(rng, 3000, 900)
    i = _hashes(rng, 2000, 5000)
    for a, b in zip(np.array_split(u, 5), np.array_split(i, 5), strict=True):
        users.add(a)
        items.add(b)
    for counter, values in ((users, u), (items, i)):
        _, n = np.unique(values, return_counts=True)
        assert counter.counts() == (len(n), int((n >= 2).sum()))


def test_map_holds_at_most_workers_partitions_at_once(tmp_path, small_buffers):
    part = spill.HashPartitions(tmp_path, "k", 16)
    part.append(_hashes(np.random.default_rng(2), 4000, 4000))
    lock, active, peak = threading.Lock(), [0], [0]

    def fn(keys, _):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)  # long enough for a third partition to start, were it allowed to
        with lock:
            active[0] -= 1
        return len(keys)

    assert sum(part.map(fn)) == 4000
    assert peak[0] <= 2


def test_spool_keeps_small_chunks_together_in_a_new_nested_folder(tmp_path, small_buffers):
    spool = spill.Spool(tmp_path / "x" / "y")
    chunks = [pa.table({"a": [i] * 10}) for i in range(120)]  # 80 bytes each: about 50 per 4000-byte segment
    for i, t in enumerate(chunks):
        spool.write(t, {"n": i})
    assert 1 < len(spool.segments) <= 3
    assert [t["a"][0].as_py() for t, _ in spool] == list(range(120))


def test_serial_uses_one_thread_and_returns_while_the_previous_call_runs():
    threads, release = set(), threading.Event()

    def slow(i: int) -> None:
        threads.add(threading.get_ident())
        time.sleep(0.002)

    with spill.Serial(depth=1) as serial:
        serial.submit(release.wait, 30)
        assert not release.is_set() and len(serial._pending) == 1 and not serial._pending[0].done(), (
            "submit returns while the call runs: one call may wait behind it"
        )
        release.set()
        for i in range(40):
            serial.submit(slow, i)
        serial.drain()
    assert len(threads) == 1


def test_leaving_a_serial_block_cancels_waiting_calls_and_joins_the_running_one():
    started, done, release = threading.Event(), [], threading.Event()

    def first() -> None:
        started.set()
        release.wait(30)
        done.append("first")

    with pytest.raises(RuntimeError, match="stop"), spill.Serial(depth=3) as serial:
        serial.submit(first)
        serial.submit(done.append, "second")
        serial.submit(done.append, "third")
        serial._pending[-1].add_done_callback(lambda _: release.set())  # once cancelled, the first call may end
        started.wait(30)
        raise RuntimeError("stop")
    assert done == ["first"], "the waiting calls were cancelled, the running one was waited for"
    assert not [t for t in threading.enumerate() if t.name.startswith("prepare-spill")]


def test_by_default_one_call_waits_behind_the_running_one():
    running_done = threading.Event()

    def running() -> None:
        threading.Event().wait(0.3)
        running_done.set()

    with spill.Serial() as serial:
        serial.submit(running)
        serial.submit(len, "waits")  # a second waiting call: submit returns once the running one has finished
        assert running_done.is_set()
        serial.drain()


def test_remove_deletes_the_spill_folder_and_ignores_one_already_gone(tmp_path):
    folder = tmp_path / "spill"
    spill.HashPartitions(folder / "inner", "k", 2).append(np.arange(5, dtype=np.uint64))
    (folder / "spool.0000.arrow").write_bytes(b"x")
    spill.remove(folder)
    assert not folder.exists()
    spill.remove(folder)  # a second call (cleanup after a failure that already cleaned up) is not an error
