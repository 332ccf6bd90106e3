"""Solution version jobs: train the recommender engine on the dataset group's rows and PutEvents events."""

from __future__ import annotations

import logging
import time

import pandas as pd

from personalize_local.datasets import read_frames
from personalize_local.jobs.context import JobFailed
from personalize_local.paths import model_dir

log = logging.getLogger("personalize_local.training")


def with_events(interactions: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Bulk interactions plus the events recorded by the group's event tracker (as AWS adds them)."""
    if events.empty:
        return interactions
    events = events[[c for c in events.columns if c in interactions.columns]]
    return pd.concat(
        [
            interactions,
            events.astype(
                {c: interactions[c].dtype for c in events.columns if c != "EVENT_VALUE" and events[c].notna().all()}
            ),
        ],
        ignore_index=True,
    )


def run_training(ctx) -> dict:
    """Job runner for SolutionVersion: engine.train on the group's imported data."""
    from personalize_local import engine  # a second of imports: the server's warm-up has usually done them

    version = ctx.doc
    group = version["datasetGroupArn"]
    frames = read_frames(ctx.data_dir, ctx.children("Dataset", "datasetGroupArn", group))
    if "INTERACTIONS" not in frames:
        raise JobFailed(
            f"Dataset group {group} has no imported interactions data; "
            "import interactions before creating a solution version."
        )
    interactions = with_events(frames["INTERACTIONS"], ctx.events(group))
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
            raise JobFailed("trainingMode UPDATE needs an ACTIVE solution version of this solution to update.")
        latest = max(done, key=lambda v: v["creationDateTime"])
        previous = model_dir(ctx.data_dir, latest["solutionVersionArn"])
    out = model_dir(ctx.data_dir, version["solutionVersionArn"])
    started = time.time()
    try:
        metrics = engine.train(version["recipeArn"], data, params, out, previous, seed=42)
    except (engine.InsufficientDataError, engine.UnsupportedRecipeError) as exc:
        raise JobFailed(str(exc)) from exc
    note = engine.evaluation_note(version["recipeArn"])
    if note:
        log.info("%s offline metrics: %s", version["solutionVersionArn"], note)
    # _model_dir marks a version that has a model; readers rebuild (and check) the path from the ARN.
    return {"_metrics": metrics, "_model_dir": str(out), "trainingHours": (time.time() - started) / 3600}
