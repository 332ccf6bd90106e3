"""Deletion: what a delete removes (the resource and what lives only under it), and the files they own.

A delete is checked before anything changes (`check`: every file it would remove must lie in the data dir)
and carried out by `remove`, at once for kinds without a status, at the end of DELETE IN_PROGRESS otherwise.
Call both with the store lock held.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from personalize_local.kinds import KINDS, Kind
from personalize_local.paths import UnsafePath, dataset_file, model_dir

log = logging.getLogger("personalize_local")


def owned_files(data_dir: Path, doc: dict) -> list[Path]:
    """The files a resource owns under the data dir (imported rows, a trained model), each checked to lie
    inside it (UnsafePath otherwise)."""
    if doc["_kind"] == "Dataset":
        return [dataset_file(data_dir, doc["datasetArn"])]
    if doc["_kind"] == "SolutionVersion" and doc.get("_model_dir"):
        return [model_dir(data_dir, doc["solutionVersionArn"])]
    return []


def doomed(backend, kind: Kind, arn: str) -> list[dict]:
    """What a delete of `arn` removes: what lives only under it (versions, jobs), then itself."""
    store = backend.store
    under = [d for d in store.all() if d["_ancestors"].get(kind.arn_member) == arn]
    return [*under, store.peek(arn)] if store.peek(arn) is not None else under


def check(backend, kind: Kind, arn: str) -> None:
    """Refuse a delete, before anything changes, if a file it would remove is not provably in the data dir."""
    for doc in doomed(backend, kind, arn):
        try:
            owned_files(backend.data_dir, doc)
        except UnsafePath as exc:
            raise UnsafePath(
                f"Refusing to delete {kind.name} {arn}: {exc.message} Such a resource can only come from state "
                "written before names were checked; start the service on a new --data-dir."
            ) from exc


def remove(backend, kind: Kind, arn: str) -> None:
    """Forget `arn` and what lives only under it, with their files and (for a dataset group) its events, so a
    resource created later under the same ARN starts empty, as on AWS."""
    for doc in doomed(backend, kind, arn):
        _remove_files(backend.data_dir, doc)
        if doc["_kind"] == "DatasetGroup":
            backend.events.forget(doc["datasetGroupArn"])
        backend.store.remove(doc[KINDS[doc["_kind"]].arn_member])


def _remove_files(data_dir: Path, doc: dict) -> None:
    """`check` vetted the paths when the delete was asked for; one that is unsafe now is left alone (logged)."""
    try:
        paths = owned_files(data_dir, doc)
    except UnsafePath as exc:
        log.error("not deleting the files of %s: %s", doc["_kind"], exc.message)
        paths = []
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
