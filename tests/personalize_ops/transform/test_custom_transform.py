"""Custom transforms: ``validate-config`` imports them and checks they take one table; ``prepare`` names the config
key when one cannot be imported or breaks its contract (never a traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import yaml

from tests.personalize_ops.transform.dataprep_helpers import BASE, REPO, interactions_rows, write_csv

MODULE = '''
import pyarrow as pa
import pyarrow.compute as pc


def good(table):
    return table.set_column(table.schema.get_field_index("title"), "title", pc.utf8_upper(table["title"]))


def two_args(table, extra):
    return table


def drops_row_numbers(table):
    return table.drop_columns(["__source_row"])


def not_a_table(table):
    return table.to_pylist()


NOT_CALLABLE = 3
'''


def _pipeline(tmp_path, transform: str):
    write_csv(tmp_path / "interactions.csv", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"], interactions_rows())
    (tmp_path / "items.csv").write_text("ITEM_ID,title\ni1,alpha\ni2,beta\n")
    (tmp_path / "shop_transforms.py").write_text(MODULE)
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    cfg["datasets"]["items"] = {"source": {"path": "items.csv"}, "transform": transform,
                                "fields": [{"name": "ITEM_ID"}, {"name": "TITLE", "source": "title"}]}  # fmt: skip
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(tmp_path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # where the transform module lives, as plugins/ in Airflow
    return subprocess.run([sys.executable, "-m", "personalize_ops", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)  # fmt: skip


@pytest.mark.parametrize(
    ("transform", "said"),
    [
        ("shop_transforms:good", None),
        ("missing_module:fn", ["cannot import module 'missing_module'", "plugins/ folder", "PYTHONPATH"]),
        ("shop_transforms:nope", ["module 'shop_transforms' has no 'nope'", "good", "two_args"]),
        ("shop_transforms:two_args", ["two_args(table, extra) cannot be called with one argument",
                                      "def fn(table: pyarrow.Table) -> pyarrow.Table"]),
        ("shop_transforms:NOT_CALLABLE", ["is a int, not a function"]),
    ],
)
def test_validate_config_imports_and_checks_the_transform(tmp_path, transform, said):
    proc = _cli(tmp_path, "validate-config", str(_pipeline(tmp_path, transform)))
    if said is None:
        assert proc.returncode == 0, proc.stderr
        assert "OK" in proc.stdout
        return
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "pipeline.yaml: datasets.items.transform: " in proc.stderr
    for piece in said:
        assert piece in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("transform", "said"),
    [
        ("missing_module:fn", "cannot import module 'missing_module'"),
        ("shop_transforms:drops_row_numbers", "dropped the __source_row column; keep it"),
        ("shop_transforms:not_a_table", "returned a list; it must return a pyarrow.Table"),
    ],
)
def test_prepare_names_the_key_of_a_broken_transform(tmp_path, transform, said):
    proc = _cli(tmp_path, "prepare", "--config", str(_pipeline(tmp_path, transform)), "--dataset", "items",
                "--out", str(tmp_path / "out"))  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # a config error
    assert "Traceback" not in proc.stderr
    assert "datasets.items.transform: " in proc.stderr and said in proc.stderr, proc.stderr


def test_the_transform_runs_before_the_mapping(tmp_path):
    proc = _cli(tmp_path, "prepare", "--config", str(_pipeline(tmp_path, "shop_transforms:good")), "--dataset",
                "items", "--out", str(tmp_path / "out"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out/items/items.csv").read_text() == textwrap.dedent("""\
        ITEM_ID,TITLE
        i1,ALPHA
        i2,BETA
        """)
