"""Files under the data dir named after resources: every such path is built here, and proven to stay inside.

Names are checked against the service model's patterns at create time, but a path is also a security boundary
(deletion runs `rmtree` on model directories), so it is checked again where it is built: whatever an ARN or a
stored document says, nothing outside the data dir is read, written or deleted.
"""

from __future__ import annotations

from pathlib import Path

from personalize_local.aws_errors import InvalidInput
from personalize_local.kinds import parse_arn

_SEPARATORS = ("/", "\\", "\x00")


class UnsafePath(InvalidInput):
    """A path built from a name or ARN that would not be a plain file or directory inside the data dir."""


def data_path(data_dir: Path, *segments: str) -> Path:
    """`data_dir/segment/...`, resolved. Every segment must be one plain path component (not empty, ".", "..",
    nor containing a separator), and the resolved path must lie strictly inside the resolved data dir, so a
    symlink cannot lead out either; UnsafePath (InvalidInputException) otherwise, before anything touches disk."""
    root = Path(data_dir).resolve()
    for segment in segments:
        if not isinstance(segment, str) or segment in ("", ".", "..") or any(s in segment for s in _SEPARATORS):
            raise UnsafePath(f"{segment!r} cannot name a file of personalize_local (path segments {segments!r}).")
    path = root.joinpath(*segments).resolve()
    if path == root or not path.is_relative_to(root):
        raise UnsafePath(f"{'/'.join(segments)} resolves to {path}, outside the data dir {root}.")
    return path


def arn_segments(arn: str, resource: str, count: int) -> list[str]:
    """[account, region, *the `count` path segments after `<resource>/`] of an ARN this service issued (names
    are unique per account and region, as on AWS, so files are kept apart by both); UnsafePath if `arn` has
    another layout."""
    region, account, path = parse_arn(arn) or ("", "", "")
    head, _, rest = path.partition("/")
    parts = rest.split("/") if head == resource and rest else []
    if len(parts) != count:
        raise UnsafePath(
            f"{arn!r} is not a {resource} ARN of this service "
            f"(arn:aws:personalize:<region>:<account>:{resource}/<{count} segments>)."
        )
    return [account, region, *parts]


def dataset_file(data_dir: Path, dataset_arn: str) -> Path:
    """Where a dataset's imported rows live: <data_dir>/datasets/<account>/<region>/<group>/<TYPE>.parquet."""
    account, region, group, dtype = arn_segments(dataset_arn, "dataset", 2)
    return data_path(data_dir, "datasets", account, region, group, f"{dtype}.parquet")


def model_dir(data_dir: Path, solution_version_arn: str) -> Path:
    """<data_dir>/models/<account>/<region>/<solution>/<version id>: the immutable model of one solution
    version."""
    return data_path(data_dir, "models", *arn_segments(solution_version_arn, "solution", 2))
