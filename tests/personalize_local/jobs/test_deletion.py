"""Deletion: a delete removes the resource, what lives only under it and their files, or nothing at all."""

from __future__ import annotations

import time

import pytest

from personalize_local.aws_errors import InvalidInput
from personalize_local.backend import Backend
from personalize_local.kinds import ARN_PREFIX
from personalize_local.paths import model_dir as model_dir_of


@pytest.fixture()
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


def _solution_with_version(backend: Backend, name: str, version_id: str, model_dir: str) -> tuple[str, str]:
    """An ACTIVE solution and one trained version of it, stored as the service stores them."""
    solution = f"{ARN_PREFIX}solution/{name}"
    version = f"{solution}/{version_id}"
    now = time.time()
    common = {"status": "ACTIVE", "creationDateTime": now, "lastUpdatedDateTime": now, "_tags": {}}
    backend.store.put(
        solution, {"_kind": "Solution", "solutionArn": solution, "name": name, "_ancestors": {}, **common}
    )
    backend.store.put(
        version,
        {
            "_kind": "SolutionVersion",
            "solutionVersionArn": version,
            "solutionArn": solution,
            "_ancestors": {"solutionArn": solution},
            "_model_dir": model_dir,
            **common,
        },
    )
    return solution, version


def test_deleting_a_solution_removes_its_versions_and_their_models_only(data_dir):
    mine = model_dir_of(data_dir, f"{ARN_PREFIX}solution/mine/0a1b2c3d")
    other = model_dir_of(data_dir, f"{ARN_PREFIX}solution/other/1b2c3d4e")
    for model in (mine, other):
        model.mkdir(parents=True)
        (model / "model.json").write_text("{}")
    backend = Backend(data_dir, min_delay=0.0, runners={})
    try:
        solution, version = _solution_with_version(backend, "mine", "0a1b2c3d", str(mine))
        kept, _ = _solution_with_version(backend, "other", "1b2c3d4e", str(other))
        backend.call("DeleteSolution", {"solutionArn": solution})
        assert backend.store.get(solution)["status"] == "DELETE PENDING"
        for _ in range(2):  # DELETE PENDING -> DELETE IN_PROGRESS -> gone
            backend.lifecycle.tick()
        assert backend.store.get(solution) is None and backend.store.get(version) is None
        assert not mine.exists() and (other / "model.json").exists()
        assert backend.store.get(kept)["status"] == "ACTIVE"
    finally:
        backend.close()


def test_delete_of_a_resource_whose_model_path_is_unsafe_is_refused_before_touching_disk(data_dir):
    """A solution version stored with an ARN whose last segment is ".." (as state written before names were
    checked in full could hold): deleting its solution must not rmtree <data>/models, which holds every model."""
    kept = data_dir / "models" / "other-solution" / "0a1b2c3d" / "model.npz"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"another solution's model")
    (data_dir / "models" / "x" / "1b2c3d4e").mkdir(parents=True)  # a model of an earlier version of solution x
    backend = Backend(data_dir, min_delay=0.0, runners={})
    try:
        # the version's ARN ends in ".."; its model dir is what the unchecked join produced
        solution, _ = _solution_with_version(backend, "x", "..", str(data_dir / "models" / "x" / ".."))
        with pytest.raises(InvalidInput, match="Refusing to delete Solution"):
            backend.call("DeleteSolution", {"solutionArn": solution})
        for _ in range(3):  # what the status ticker would do next, were the delete accepted
            backend.lifecycle.tick()
        assert kept.read_bytes() == b"another solution's model"
        assert backend.store.get(solution)["status"] == "ACTIVE"  # nothing half-applied
    finally:
        backend.close()
