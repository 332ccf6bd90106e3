"""The work behind resources: job runners (import, training, batch, data deletion) and deletion.

A runner is a function JobContext -> field updates, run by lifecycle.Lifecycle in a worker thread while its
resource is CREATE IN_PROGRESS. Runners must be restartable from scratch (an interrupted job is re-run after a
crash) and signal a user-facing failure by raising JobFailed(reason).
"""

from __future__ import annotations

from personalize_local.jobs.context import Runner


def default_runners() -> dict[str, Runner]:
    """Runner per job kind, as kinds.Kind.job names them."""
    from personalize_local.jobs.batch_inference import run_batch
    from personalize_local.jobs.data_deletion import run_data_deletion
    from personalize_local.jobs.dataset_import import run_import
    from personalize_local.jobs.solution_version import run_training

    return {"import": run_import, "training": run_training, "batch": run_batch, "data_deletion": run_data_deletion}
