"""Scratch space and polling of the DAGs' tasks (environment, with project defaults); configs: registry.py."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: The repository root when running from a checkout (dags/, plugins/, include/ side by side).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
WORK_PREFIX = "personalize-work-"
KEPT_MARKER = ".kept"
ABANDONED_AFTER_DAYS = 1.0  # a work directory without the marker (its process was killed) counts as failed after this


def work_root() -> Path:
    """``PERSONALIZE_WORK_DIR`` (created private if missing), else the system temp dir."""
    configured = os.environ.get("PERSONALIZE_WORK_DIR")
    if not configured:
        return Path(tempfile.gettempdir())
    root = Path(configured)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def keep_failed_work_days() -> float:
    """``PERSONALIZE_KEEP_FAILED_WORK_DAYS`` (default 7): how long a kept work directory stays."""
    return max(0.0, float(os.environ.get("PERSONALIZE_KEEP_FAILED_WORK_DAYS", "7")))


@dataclass
class WorkDir:
    """One task run's scratch directory; ``keep(reason)`` keeps it after a successful run too."""

    path: Path
    kept: str | None = None

    def keep(self, reason: str) -> None:
        self.kept = reason


def purge_kept_work_dirs(root: Path, days: float, now: float | None = None) -> list[Path]:
    """Remove this user's work directories under ``root`` kept longer than ``days`` (by their marker's time), and
    unmarked ones (a killed process) older than ``max(days, ABANDONED_AFTER_DAYS)``. Returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    for entry in root.glob(WORK_PREFIX + "*"):
        try:
            st = entry.lstat()
            if not entry.is_dir() or entry.is_symlink() or st.st_uid != os.getuid():
                continue
            marker = entry / KEPT_MARKER
            since, limit = (marker.stat().st_mtime, days) if marker.exists() else (
                st.st_mtime, max(days, ABANDONED_AFTER_DAYS))  # fmt: skip
            if now - since > limit * 86400:
                shutil.rmtree(entry)
                removed.append(entry)
        except OSError as e:  # another task removing it at the same time, or no permission: not ours to fix
            log.warning("could not remove old work directory %s: %s", entry, e)
    return removed


@contextmanager
def work_dir(label: str) -> Iterator[WorkDir]:
    """A private scratch directory for one task run: ``tempfile.mkdtemp`` under ``work_root()`` (mode 0700, an
    unpredictable name ``personalize-work-<label>-XXXXXXXX``). Removed when the block ends normally, unless
    ``keep`` was called; kept when it raises (its reports explain the failure), marked with ``.kept``. Kept
    directories older than ``keep_failed_work_days()`` are removed when the next work directory is created."""
    root = work_root()
    for old in purge_kept_work_dirs(root, keep_failed_work_days()):
        log.info("removed old work directory %s", old)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
    work = WorkDir(Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{safe}-", dir=root)))
    try:
        yield work
    except BaseException:
        work.keep("the task failed")
        raise
    finally:
        if work.kept:
            with suppress(OSError):  # without the marker it still goes, as abandoned
                (work.path / KEPT_MARKER).write_text(work.kept + "\n")
            log.info("work directory %s kept (%s); removed after %s days", work.path, work.kept,
                     keep_failed_work_days())  # fmt: skip
        else:
            shutil.rmtree(work.path, ignore_errors=True)


def wait_args() -> dict:
    """Operator polling: ``PERSONALIZE_POLL_SECONDS`` (default 30; 1-2 against the local stack; fractions of a second
    from 0.1 up, for a local stack that settles at once), ~6 h budget."""
    delay = max(0.1, float(os.environ.get("PERSONALIZE_POLL_SECONDS", "30")))
    delay = int(delay) if delay.is_integer() else delay
    return {"waiter_delay": delay, "waiter_max_attempts": max(1, int(6 * 3600 // delay))}
