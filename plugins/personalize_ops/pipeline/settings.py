"""Where the DAGs find their config and scratch space (environment, with project defaults)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The repository root when running from a checkout (dags/, plugins/, include/ side by side).
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def config_path() -> Path:
    """``PERSONALIZE_PIPELINE_CONFIG``, else ``include/pipeline.yaml`` of this project."""
    return Path(os.environ.get("PERSONALIZE_PIPELINE_CONFIG") or PROJECT_ROOT / "include" / "pipeline.yaml")


def work_dir(*parts: str) -> Path:
    """Scratch space for one task (``PERSONALIZE_WORK_DIR``, else the system temp dir)."""
    root = Path(os.environ.get("PERSONALIZE_WORK_DIR") or Path(tempfile.gettempdir()) / "personalize-work")
    path = root.joinpath(*[p.replace("/", "_").replace(":", "_") for p in parts])
    path.mkdir(parents=True, exist_ok=True)
    return path


def load():
    """The pipeline config (pydantic model), validated; raises ConfigError naming file/key/reason."""
    from personalize_ops.config import load_config

    return load_config(config_path())


def wait_args() -> dict:
    """Operator polling: ``PERSONALIZE_POLL_SECONDS`` (default 30; 1-2 against the local stack), ~6 h budget."""
    delay = max(1, int(os.environ.get("PERSONALIZE_POLL_SECONDS", "30")))
    return {"waiter_delay": delay, "waiter_max_attempts": max(1, 6 * 3600 // delay)}
