"""Every file the service reads, writes or deletes is built by paths.py and proven to lie inside the data dir."""

from __future__ import annotations

import time

import pytest

from personalize_local.aws_errors import InvalidInput
from personalize_local.backend import Backend
from personalize_local.kinds import ARN_PREFIX
from personalize_local.paths import UnsafePath, data_path, dataset_file, model_dir


@pytest.fixture()
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    "segments",
    [("..",), ("models", ".."), ("models", "x", "..", ".."), ("models", "a/b"), ("models", ""), (".",), ("a\\b",)],
)
def test_segments_that_are_not_one_plain_name_are_refused(data_dir, segments):
    with pytest.raises(UnsafePath):
        data_path(data_dir, *segments)


def test_a_symlink_leading_out_of_the_data_dir_is_refused(data_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (data_dir / "models").mkdir()
    (data_dir / "models" / "link").symlink_to(outside)
    with pytest.raises(UnsafePath, match="outside the data dir"):
        data_path(data_dir, "models", "link", "v1")


def test_plain_names_resolve_inside_the_data_dir(data_dir):
    arn = f"{ARN_PREFIX}solution/my-solution/0a1b2c3d"
    assert model_dir(data_dir, arn) == data_dir.resolve() / "models" / "my-solution" / "0a1b2c3d"
    dataset = f"{ARN_PREFIX}dataset/my-group/INTERACTIONS"
    assert dataset_file(data_dir, dataset) == data_dir.resolve() / "datasets" / "my-group" / "INTERACTIONS.parquet"


@pytest.mark.parametrize(
    "builder, arn",
    [
        (model_dir, f"{ARN_PREFIX}solution/x/.."),  # last segment "..": the whole models/ directory
        (model_dir, f"{ARN_PREFIX}solution/x/../../../ESCAPED/0a1b2c3d"),
        (model_dir, f"{ARN_PREFIX}solution/only-one-segment"),
        (model_dir, "arn:aws:personalize:eu-west-1:123456789012:solution/x/v"),  # not an ARN this service issues
        (dataset_file, f"{ARN_PREFIX}dataset/../INTERACTIONS"),
        (dataset_file, f"{ARN_PREFIX}dataset/g/../../ITEMS"),
    ],
)
def test_crafted_arns_are_refused(data_dir, builder, arn):
    with pytest.raises(UnsafePath) as err:
        builder(data_dir, arn)
    assert err.value.code == "InvalidInputException"


def test_delete_of_a_resource_whose_model_path_is_unsafe_is_refused_before_touching_disk(data_dir):
    """A solution version stored with an ARN whose last segment is ".." (as state written before names were
    checked in full could hold): deleting its solution must not rmtree <data>/models, which holds every model."""
    kept = data_dir / "models" / "other-solution" / "0a1b2c3d" / "model.npz"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"another solution's model")
    (data_dir / "models" / "x" / "1b2c3d4e").mkdir(parents=True)  # a model of an earlier version of solution x
    backend = Backend(data_dir, min_delay=0.0, runners={})
    try:
        solution = f"{ARN_PREFIX}solution/x"
        version = f"{solution}/.."
        now = time.time()
        common = {"status": "ACTIVE", "creationDateTime": now, "lastUpdatedDateTime": now, "_tags": {}}
        backend.store.put(
            solution, {"_kind": "Solution", "solutionArn": solution, "name": "x", "_ancestors": {}, **common}
        )
        backend.store.put(
            version,
            {
                "_kind": "SolutionVersion",
                "solutionVersionArn": version,
                "solutionArn": solution,
                "_ancestors": {"solutionArn": solution},
                "_model_dir": str(data_dir / "models" / "x" / ".."),  # what the unchecked join produced
                **common,
            },
        )
        with pytest.raises(InvalidInput, match="Refusing to delete Solution"):
            backend.call("DeleteSolution", {"solutionArn": solution})
        for _ in range(3):  # what the status ticker would do next, were the delete accepted
            backend.lifecycle.tick()
        assert kept.read_bytes() == b"another solution's model"
        assert backend.store.get(solution)["status"] == "ACTIVE"  # nothing half-applied
    finally:
        backend.close()
