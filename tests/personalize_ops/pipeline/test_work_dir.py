"""The prepare task's work directory: one per run, private (0700), not predictable, removed after a successful
run, kept after a failed one (older kept ones removed after PERSONALIZE_KEEP_FAILED_WORK_DAYS)."""

from __future__ import annotations

import os
import stat
import time

import pytest
import yaml
from personalize_ops.config import load_config
from personalize_ops.pipeline.prepare_stage import prepare_and_stage
from personalize_ops.pipeline.settings import KEPT_MARKER, WORK_PREFIX, work_dir
from personalize_ops.quality import DataQualityError

from tests.fixtures.pipeline import derived_config

DAY = 86400


@pytest.fixture
def root(tmp_path, monkeypatch):
    path = tmp_path / "work-root"
    monkeypatch.setenv("PERSONALIZE_WORK_DIR", str(path))
    monkeypatch.delenv("PERSONALIZE_KEEP_FAILED_WORK_DAYS", raising=False)
    return path


def test_each_run_gets_a_private_unpredictable_directory(root):
    with work_dir("prepare-interactions") as a, work_dir("prepare-interactions") as b:
        assert a.path != b.path and a.path.parent == b.path.parent == root
        for w in (a, b):
            assert w.path.name.startswith(f"{WORK_PREFIX}prepare-interactions-")
            assert len(w.path.name) > len(f"{WORK_PREFIX}prepare-interactions-") + 4  # a random part
            assert stat.S_IMODE(w.path.stat().st_mode) == 0o700
            assert w.path.stat().st_uid == os.getuid()


def test_removed_on_success_kept_on_failure(root):
    with work_dir("ok") as ok:
        (ok.path / "data.csv").write_text("x")
    assert not ok.path.exists()
    with pytest.raises(RuntimeError), work_dir("broken") as broken:
        (broken.path / "report.json").write_text("{}")
        raise RuntimeError("bad data")
    assert (broken.path / "report.json").exists() and (broken.path / KEPT_MARKER).exists()
    with work_dir("asked") as asked:
        asked.keep("dry_run")
    assert (asked.path / KEPT_MARKER).read_text() == "dry_run\n"


def test_kept_directories_expire(root, monkeypatch):
    monkeypatch.setenv("PERSONALIZE_KEEP_FAILED_WORK_DAYS", "3")
    now = time.time()
    root.mkdir()

    def kept(name: str, age_days: float, marker: bool = True):
        d = root / name
        d.mkdir()
        if marker:
            (d / KEPT_MARKER).write_text("the task failed\n")
            os.utime(d / KEPT_MARKER, (now - age_days * DAY,) * 2)
        os.utime(d, (now - age_days * DAY,) * 2)
        return d

    old, recent = kept(f"{WORK_PREFIX}a-1", 4), kept(f"{WORK_PREFIX}b-2", 2)
    abandoned, running = kept(f"{WORK_PREFIX}c-3", 4, marker=False), kept(f"{WORK_PREFIX}d-4", 0.5, marker=False)
    foreign = kept("somebody-else", 30)
    with work_dir("next"):
        pass
    assert not old.exists() and not abandoned.exists()
    assert recent.exists() and running.exists() and foreign.exists()


def test_no_retention_still_spares_running_tasks(root, monkeypatch):
    monkeypatch.setenv("PERSONALIZE_KEEP_FAILED_WORK_DAYS", "0")
    with pytest.raises(RuntimeError), work_dir("failed") as failed:
        raise RuntimeError("x")
    with work_dir("other") as running, work_dir("next"):
        assert running.path.exists()  # created just now, no marker: another task's live directory
    assert not failed.path.exists()


@pytest.fixture
def config(pz_stack, sample_dir, tmp_path, uid):
    s3 = pz_stack.client("s3")
    bucket = f"pz-work-{uid}"
    s3.create_bucket(Bucket=bucket)

    def make(mutate=None):
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(derived_config(sample_dir, tmp_path, bucket, mutate)))
        return load_config(path)

    return s3, make


def test_prepare_task_cleans_up_after_success_and_keeps_reports_after_failure(root, config):
    s3, make = config
    done = prepare_and_stage(make(), "items", "manual__2026-01-01T00:00:00+00:00", s3)
    assert list(root.iterdir()) == []  # nothing left behind
    assert done["staged"]["uploaded"] and done["work_dir"] is None

    def ms_as_seconds(cfg):
        next(f for f in cfg["datasets"]["interactions"]["fields"] if f["name"] == "TIMESTAMP")["timestamp"] = "epoch_s"

    with pytest.raises(DataQualityError, match="timestamp_out_of_window") as err:
        prepare_and_stage(make(ms_as_seconds), "interactions", "manual__2026-01-01T00:00:00+00:00", s3)
    (kept,) = root.iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700 and (kept / KEPT_MARKER).exists()
    assert err.value.report_paths["results"].startswith(str(kept))
    assert (kept / "interactions" / "interactions.gx_results.json").exists()


def test_dry_run_keeps_its_reports(root, config):
    _, make = config
    done = prepare_and_stage(make(), "users", "r1", dry_run=True)
    assert done["work_dir"] and os.path.exists(done["report_paths"]["results"])
