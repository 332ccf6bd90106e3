"""HashSet against a Python set: run merging (eager, insert, binary counter), presence table, batch repeats."""

import numpy as np
import pyarrow as pa
import pytest
from personalize_ops.transform.dedupe import HashSet
from personalize_ops.transform.writer import CsvSink


@pytest.mark.parametrize("bloom", [None, 16])
def test_hash_set_matches_python_set(monkeypatch, bloom):
    monkeypatch.setattr(HashSet, "EAGER", 64)  # exercise every merge path on small data
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 2**63, 3000, dtype=np.int64).astype(np.uint64)
    s, ref = HashSet(bloom_log2=bloom), set()
    for n in (5, 40, 1, 300, 7, 2000, 3, 900):
        h = pool[rng.integers(0, len(pool), n)]
        expect = []
        for v in h.tolist():
            expect.append(v not in ref)
            ref.add(v)
        assert s.add(h).tolist() == expect
        assert len(s) == len(ref)
        assert all(np.all(r[1:] > r[:-1]) for r in s.runs)


def test_csv_sink_background_write_and_error(tmp_path):
    sink = CsvSink(tmp_path / "a.csv", ["A", "B"])
    for i in range(5):
        sink.write(pa.table({"A": [f"x{i}", "y,z"], "B": [i, i]}))
    assert sink.rows == 10
    path = sink.close()
    lines = path.read_text().splitlines()
    assert lines[0] == "A,B" and lines[2] == '"y,z",0' and len(lines) == 11
    bad = CsvSink(tmp_path / "b.csv", ["A"])
    bad.write(pa.table({"A": [pa.scalar({"k": 1})]}))  # a struct column cannot be written as CSV
    with pytest.raises(pa.ArrowException):
        bad.flush()
    bad.abort()
    assert not (tmp_path / "b.csv.partial").exists()


def test_hash_table_matches_python_set():
    from personalize_ops.transform.dedupe import HashTable, sorted_unique

    rng = np.random.default_rng(1)
    pool = np.concatenate([rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64), np.zeros(1, np.uint64)])
    pool[:50] &= np.uint64(0xFF)  # many values share low bits: long probe chains, slot races
    s, ref = HashTable(log2=4), set()
    for n in (3, 100, 1, 2000, 10, 6000):
        u = sorted_unique(pool[rng.integers(0, len(pool), n)])
        assert s.add_unique(u).tolist() == [v in ref for v in u.tolist()]
        ref.update(u.tolist())
        assert len(s) == len(ref)
