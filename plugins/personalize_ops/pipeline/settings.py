"""Scratch space and polling of the DAGs' tasks (environment, with project defaults); configs: registry.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The repository root when running from a checkout (dags/, plugins/, include/ side by side).
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def work_dir(*parts: str) -> Path:
    """Scratch space for one task (``PERSONALIZE_WORK_DIR``, else the system temp dir)."""
    root = Path(os.environ.get("PERSONALIZE_WORK_DIR") or Path(tempfile.gettempdir()) / "personalize-work")
    path = root.joinpath(*[p.replace("/", "_").replace(":", "_") for p in parts])
    path.mkdir(parents=True, exist_ok=True)
    return path


def wait_args() -> dict:
    """Operator polling: ``PERSONALIZE_POLL_SECONDS`` (default 30; 1-2 against the local stack), ~6 h budget."""
    delay = max(1, int(os.environ.get("PERSONALIZE_POLL_SECONDS", "30")))
    return {"waiter_delay": delay, "waiter_max_attempts": max(1, 6 * 3600 // delay)}
