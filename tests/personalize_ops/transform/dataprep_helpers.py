"""Helpers for the data-prep tests: small configs and CSVs written to tmp_path."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from personalize_ops.config import load_config

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data" / "movielens-poc"

#: The interactions dataset of the test configs: interactions.csv with an epoch-seconds TIMESTAMP and EVENT_TYPE.
INTERACTIONS = {
    "source": {"path": "interactions.csv"},
    "fields": [
        {"name": "USER_ID"},
        {"name": "ITEM_ID"},
        {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"},
        {"name": "EVENT_TYPE"},
    ],
}
BASE = {
    "dataset_group": {"name": "t", "bucket": "bkt", "role_arn": "arn:aws:iam::000000000000:role/R"},
    "datasets": {"interactions": INTERACTIONS},
    "solutions": [{"name": "s", "recipe": "aws-user-personalization"}],
}


def interactions_rows(n: int = 1000, users: int = 50, t0: int = 1_600_000_000) -> list[list]:
    """n valid interactions over ``users`` users (each with 2+ events when n >= 2*users)."""
    return [[f"u{i % users}", f"i{i % 97}", t0 + i, "click"] for i in range(n)]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    def cell(v):
        return "" if v is None else str(v)

    path.write_text("\n".join([",".join(header), *(",".join(cell(v) for v in r) for r in rows)]) + "\n")
    return path


def make_config(tmp_path: Path, update=None, name: str = "pipeline.yaml"):
    """Write BASE (deep-copied, then ``update(cfg_dict)``) as YAML in tmp_path and load it."""
    cfg = copy.deepcopy(BASE)
    if update:
        update(cfg)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return load_config(path)


def write_raw(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
