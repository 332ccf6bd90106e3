"""Solution version jobs: train the recommender engine on the dataset group's rows and PutEvents events.

Columns a solution excludes from training are dropped first: its solutionConfig.trainingDataConfig
.excludedDatasetColumns, and the columns a schema replacement added after the solution was created (Personalize
excludes those from existing solutions). trainingMode UPDATE refreshes the latest ACTIVE version of the solution
and fails when the training data is the same as that version's (nothing to update with).
"""

from __future__ import annotations

import hashlib
import logging
import time

import pandas as pd

from personalize_local.datasets import DATASET_TYPES, read_frames
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
    frames = without_excluded(frames, version, ctx.get(version["solutionArn"]) or {})
    interactions = with_events(frames["INTERACTIONS"], ctx.events(group))
    data = engine.TrainingData(interactions, items=frames.get("ITEMS"), users=frames.get("USERS"))
    digest = data_digest(data)
    params = {
        "eventType": version.get("eventType"),
        "solutionConfig": version.get("solutionConfig") or {},
        "trainingMode": version.get("trainingMode", "FULL"),
    }
    previous = None
    if params["trainingMode"] == "UPDATE":
        previous = model_dir(ctx.data_dir, version_to_update(ctx, version, digest)["solutionVersionArn"])
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
    return {
        "_metrics": metrics,
        "_model_dir": str(out),
        "_data_digest": digest,
        "trainingHours": (time.time() - started) / 3600,
    }


def version_to_update(ctx, version: dict, digest: str) -> dict:
    """The version an UPDATE refreshes: the solution's latest ACTIVE version, given that the solution has an
    ACTIVE FULL one (manual or automatic); JobFailed if there is none, or if the data has not changed since."""
    done = [
        v
        for v in ctx.children("SolutionVersion", "solutionArn", version["solutionArn"])
        if v.get("status") == "ACTIVE" and v.get("_model_dir")
    ]
    if not any(v.get("trainingMode", "FULL") == "FULL" for v in done):
        raise JobFailed(
            "trainingMode UPDATE needs an ACTIVE solution version of this solution trained with trainingMode FULL: "
            "the UPDATE option can only be used when you already have an active solution version created from "
            "the input solution using the FULL option. Create a FULL version first."
        )
    latest = max(done, key=lambda v: v["creationDateTime"])
    if latest.get("_data_digest") == digest:
        raise JobFailed(
            f"There is no new data to update solution version {latest['solutionVersionArn']} with: no items, "
            "interactions or users were added or changed since it was trained. Import new data (or record "
            "events) before creating an UPDATE version."
        )
    return latest


def without_excluded(frames: dict, version: dict, solution: dict) -> dict:
    """The dataset frames without the columns the solution excludes from training (never a required field)."""
    configured = ((version.get("solutionConfig") or {}).get("trainingDataConfig") or {}).get(
        "excludedDatasetColumns"
    ) or {}
    added = solution.get("_excluded_new_columns") or {}
    out = {}
    for dtype, frame in frames.items():
        drop = {*configured.get(dtype, []), *added.get(dtype, [])} - set(DATASET_TYPES.get(dtype, ()))
        out[dtype] = frame.drop(columns=[c for c in frame.columns if c in drop])
    return out


def data_digest(data) -> str:
    """A fingerprint of the training data (interactions with events, items, users; row order aside): equal
    fingerprints mean there is nothing new to train on."""
    h = hashlib.sha256()
    for name, frame in (("interactions", data.interactions), ("items", data.items), ("users", data.users)):
        if frame is None:
            h.update(f"{name}:none;".encode())
            continue
        frame = frame[sorted(frame.columns)]
        frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        h.update(f"{name}:{list(frame.columns)}:{len(frame)}:{int(rows.sum(dtype='uint64'))};".encode())
    return h.hexdigest()
