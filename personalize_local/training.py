"""Runners that use the recommender engine: solution-version training and batch inference."""

from __future__ import annotations

import time

import pandas as pd
import pyarrow.parquet as pq

from personalize_local.errors import JobFailed
from personalize_local.paths import dataset_file, model_dir


def _engine():
    try:
        from personalize_local import engine
    except ImportError as exc:
        raise JobFailed(f"The recommender engine is not available in this installation: {exc}") from exc
    return engine


def load_frames(ctx, group_arn: str) -> dict:
    """{datasetType: pandas frame} of every dataset in the group that has imported data."""
    frames = {}
    for dataset in ctx.children("Dataset", "datasetGroupArn", group_arn):
        path = dataset_file(ctx.data_dir, dataset["datasetArn"])
        if path.exists():
            frames[dataset["datasetType"]] = pq.read_table(path).to_pandas()
    return frames


def with_events(interactions: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Bulk interactions plus the events recorded by the group's event tracker (as AWS adds them)."""
    if events.empty:
        return interactions
    events = events[[c for c in events.columns if c in interactions.columns]]
    return pd.concat(
        [
            interactions,
            events.astype({c: interactions[c].dtype for c in events.columns if c != "EVENT_VALUE"}),
        ],
        ignore_index=True,
    )


def run_training(ctx) -> dict:
    """Job runner for SolutionVersion: engine.train on the group's imported data."""
    engine = _engine()
    version = ctx.doc
    frames = load_frames(ctx, version["datasetGroupArn"])
    if "INTERACTIONS" not in frames:
        raise JobFailed(
            f"Dataset group {version['datasetGroupArn']} has no imported interactions data; "
            "import interactions before creating a solution version."
        )
    interactions = with_events(frames["INTERACTIONS"], ctx.backend.events.frame(version["datasetGroupArn"]))
    data = engine.TrainingData(interactions, items=frames.get("ITEMS"), users=frames.get("USERS"))
    params = {
        "eventType": version.get("eventType"),
        "solutionConfig": version.get("solutionConfig") or {},
        "trainingMode": version.get("trainingMode", "FULL"),
    }
    previous = None
    if params["trainingMode"] == "UPDATE":
        done = [
            v
            for v in ctx.children("SolutionVersion", "solutionArn", version["solutionArn"])
            if v.get("status") == "ACTIVE" and v.get("_model_dir")
        ]
        if not done:
            raise JobFailed(
                "trainingMode UPDATE needs an ACTIVE solution version of this solution to update."
            )
        latest = max(done, key=lambda v: v["creationDateTime"])
        previous = model_dir(ctx.data_dir, latest["solutionVersionArn"])
    out = model_dir(ctx.data_dir, version["solutionVersionArn"])
    started = time.time()
    try:
        metrics = engine.train(version["recipeArn"], data, params, out, previous, seed=42)
    except (engine.InsufficientDataError, engine.UnsupportedRecipeError) as exc:
        raise JobFailed(str(exc)) from exc
    # _model_dir marks a version that has a model; readers rebuild (and check) the path from the ARN.
    return {"_metrics": metrics, "_model_dir": str(out), "trainingHours": (time.time() - started) / 3600}


def run_batch(ctx) -> dict:
    """Job runner for BatchInferenceJob: JSON lines in, Personalize's output format to <output>/<name>.out."""
    from personalize_local.s3io import read_objects, write_object

    engine = _engine()
    job = ctx.doc
    version = ctx.get(job["solutionVersionArn"])
    if version is None or not version.get("_model_dir"):
        raise JobFailed(f"Solution version {job['solutionVersionArn']} has no trained model.")
    model = engine.load_model(model_dir(ctx.data_dir, version["solutionVersionArn"]))
    factory = filter_factory(ctx, engine, job)
    out_prefix = job["jobOutput"]["s3DataDestination"]["path"]
    if not out_prefix.endswith("/"):
        out_prefix += "/"
    s3 = ctx.s3()
    for url, body in read_objects(s3, job["jobInput"]["s3DataSource"]["path"]):
        lines = body.decode("utf-8").splitlines()
        out = "\n".join(
            engine.run_batch_lines(
                model, lines, num_results=job.get("numResults", 25), item_filter_factory=factory
            )
        )
        write_object(s3, out_prefix + url.rsplit("/", 1)[-1] + ".out", (out + "\n").encode())
    return {}


def filter_factory(ctx, engine, job: dict):
    """A per-line item filter factory for the batch job's filterArn, or None."""
    if not job.get("filterArn"):
        return None
    flt = ctx.get(job["filterArn"])
    if flt is None:
        raise JobFailed(f"Filter {job['filterArn']} no longer exists.")
    expr = engine.parse_filter(flt["filterExpression"])
    return lambda line: expr.bind(line.get("filterValues") or {})
