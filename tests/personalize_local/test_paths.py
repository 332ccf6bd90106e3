"""Every file the service reads, writes or deletes is built by paths.py and proven to lie inside the data dir."""

from __future__ import annotations

import pytest

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
    scope = ("000000000000", "us-east-1")
    assert model_dir(data_dir, arn) == data_dir.resolve().joinpath("models", *scope, "my-solution", "0a1b2c3d")
    dataset = f"{ARN_PREFIX}dataset/my-group/INTERACTIONS"
    assert dataset_file(data_dir, dataset) == data_dir.resolve().joinpath(
        "datasets", *scope, "my-group", "INTERACTIONS.parquet"
    )


def test_the_same_names_in_another_region_or_account_have_their_own_files(data_dir):
    here = model_dir(data_dir, f"{ARN_PREFIX}solution/s/v1")
    there = model_dir(data_dir, "arn:aws:personalize:eu-west-1:000000000000:solution/s/v1")
    other_account = model_dir(data_dir, "arn:aws:personalize:us-east-1:123456789012:solution/s/v1")
    assert len({here, there, other_account}) == 3


@pytest.mark.parametrize(
    "builder, arn",
    [
        (model_dir, f"{ARN_PREFIX}solution/x/.."),  # last segment "..": the whole models/ directory
        (model_dir, f"{ARN_PREFIX}solution/x/../../../ESCAPED/0a1b2c3d"),
        (model_dir, f"{ARN_PREFIX}solution/only-one-segment"),
        (model_dir, "arn:aws:personalize:eu-west-1:1234:solution/x/v"),  # not an ARN this service issues
        (model_dir, "arn:aws:personalize:../..:123456789012:solution/x/v"),
        (dataset_file, f"{ARN_PREFIX}dataset/../INTERACTIONS"),
        (dataset_file, f"{ARN_PREFIX}dataset/g/../../ITEMS"),
    ],
)
def test_crafted_arns_are_refused(data_dir, builder, arn):
    with pytest.raises(UnsafePath) as err:
        builder(data_dir, arn)
    assert err.value.code == "InvalidInputException"
