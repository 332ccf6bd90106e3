"""The prepare stage leaves no thread or reader behind, so a failing run exits with its exit code, not an abort.

A read-ahead thread still inside pyarrow when the interpreter exits aborts the process with "terminate called
without an active exception" (exit 134) after the right error was printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from personalize_ops.cli import EXIT_DATA
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_dataset
from personalize_ops.transform.reader import Prefetch

from tests.personalize_ops.transform.dataprep_helpers import REPO, interactions_rows, make_config, write_csv

HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]


def _our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("prepare-") and t.is_alive()]


def _no_event_type(tmp_path, rows: int):
    """Interactions without their EVENT_TYPE column (the config asks for it)."""
    write_csv(tmp_path / "interactions.csv", HEADER[:3], [r[:3] for r in interactions_rows(rows)])
    return make_config(tmp_path)


def test_missing_column_failure_joins_the_read_ahead_thread(tmp_path):
    cfg = _no_event_type(tmp_path, 20_000)
    with pytest.raises(DataQualityError, match="required columns missing .*EVENT_TYPE") as err:
        prepare_dataset(cfg, "interactions", tmp_path / "out", block_bytes=1 << 14)  # ~30 blocks to read ahead
    assert err.value.failures[0]["rule"] == "required_columns"
    assert _our_threads() == []  # while the exception (and its frames) are still alive


def test_failure_after_writing_joins_reader_and_writer(tmp_path):
    rows = interactions_rows(20_000)
    rows[15_000][0] = None  # id_null, several blocks in: the writer thread is running by then
    write_csv(tmp_path / "interactions.csv", HEADER, rows)
    with pytest.raises(DataQualityError, match="id_null"):
        prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out", block_bytes=1 << 14)
    assert _our_threads() == []
    assert not (tmp_path / "out/interactions/interactions.csv").exists()
    assert not (tmp_path / "out/interactions/interactions.csv.partial").exists()


def test_success_joins_every_thread(tmp_path):
    write_csv(tmp_path / "interactions.csv", HEADER, interactions_rows(20_000))
    res = prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out", block_bytes=1 << 14)
    assert res.rows_out == 20_000 and res.extra["chunks"] > 10
    assert _our_threads() == []


def test_prefetch_closes_its_source_in_its_thread_when_left_early():
    closed_in: list[str] = []

    def source():
        try:
            yield from range(100)
        finally:  # where the reader's files and Arrow readers are closed
            closed_in.append(threading.current_thread().name)

    with Prefetch(source(), depth=1) as items:
        for _ in items:
            break
    assert closed_in == ["prepare-prefetch"] and _our_threads() == []


def test_cli_on_a_missing_column_exits_with_its_code_every_time(tmp_path):
    """The reported symptom: 20 runs of the CLI on interactions without EVENT_TYPE, four at a time; every one
    prints the error and exits with the documented code (2), none aborts (134)."""
    _no_event_type(tmp_path, 20_000)
    cmd = [sys.executable, "-m", "personalize_ops", "prepare", "--config", str(tmp_path / "pipeline.yaml")]
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}

    def one(i: int) -> subprocess.CompletedProcess:
        out = [*cmd, "--out", str(tmp_path / f"out{i}")]
        return subprocess.run(out, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(one, range(20)))
    codes = [r.returncode for r in runs]
    assert codes == [EXIT_DATA] * 20, [r.stderr[-300:] for r in runs if r.returncode != EXIT_DATA]
    for r in runs:
        assert "required columns missing" in r.stderr and "EVENT_TYPE" in r.stderr
        assert "terminate called" not in r.stderr and "Traceback" not in r.stderr
