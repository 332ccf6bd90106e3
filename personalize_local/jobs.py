"""Job runners, one per job kind: a function JobContext -> field updates, run in a worker thread.

Runners must be restartable from scratch (the backend re-runs an interrupted job after a crash) and signal
a user-facing failure by raising JobFailed(reason).
"""

from __future__ import annotations

from personalize_local.importer import run_import


def default_runners() -> dict:
    from personalize_local.training import run_batch, run_training

    return {"import": run_import, "training": run_training, "batch": run_batch}
