"""The retrain DAG's metric tasks: log one trained version to the metric history, and the run's table."""

from __future__ import annotations

from dataclasses import replace

from personalize_ops.pipeline.values import BacktestCut, StagedDataset, TrainedVersion


def log_version(s3, cfg, trained: TrainedVersion, data: StagedDataset | BacktestCut, run_id: str) -> TrainedVersion:
    """Print the version's metrics, record them in the S3 metric history (with the data's hash and the newest
    event it was trained on); return it with ``trained_until`` set.

    ``data``: the interactions it was trained on: the staged file, or a backtest's cut (the events before C).
    """
    from personalize_ops.metrics import make_version_record, record_version, render_metrics_table

    staged = data.training if isinstance(data, BacktestCut) else data
    if trained.trained_until is None:
        trained = replace(trained, trained_until=staged.time_max)
    group = cfg.dataset_group
    print(render_metrics_table({f"{trained.solution} ({trained.recipe})": trained.metrics}))
    record = make_version_record(
        dataset_group=group.name, solution=trained.solution, recipe=trained.recipe,
        solution_version_arn=trained.arn, run_id=run_id, metrics=trained.metrics, data_hash=staged.sha256,
        trained_until=trained.trained_until,
    )  # fmt: skip
    key = record_version(s3, group.bucket, group.prefix, record)
    print(f"metric history: s3://{group.bucket}/{key}")
    return trained


def report(versions: list[TrainedVersion | None]) -> dict[str, dict]:
    """One table of every solution trained in this run (printed); {"<solution> (<recipe>)": metrics}."""
    from personalize_ops.metrics import render_metrics_table

    rows = {f"{v.solution} ({v.recipe})": v.metrics for v in versions if v}
    print(render_metrics_table(rows))
    return rows
