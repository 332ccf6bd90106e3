"""Many pipelines in one deployment, through Airflow's own DagBag: one set of DAGs per config, and a broken config
breaks only its own DAGs and shows in the import errors with its file, key and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "include" / "pipelines" / "shop.yaml"
KINDS = ("retrain", "batch_export", "teardown", "incremental", "delete_users")


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _write(folder: Path, name: str, group: str, mutate=None) -> Path:
    cfg = yaml.safe_load(SHOP.read_text())
    cfg["dataset_group"]["name"] = group
    if mutate:
        mutate(cfg)
    path = folder / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("PERSONALIZE_PIPELINE_CONFIG", raising=False)
    monkeypatch.setenv("PERSONALIZE_PIPELINES_DIR", str(tmp_path))
    return tmp_path


def test_each_config_of_the_folder_gets_its_own_dags(folder):
    _write(folder, "alpha.yaml", "group-alpha")
    _write(folder, "beta.yml", "group-beta")
    (folder / "notes.txt").write_text("not a config")
    bag = _bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"personalize_{k}__{p}" for k in KINDS for p in ("alpha", "beta")}
    alpha, beta = bag.dags["personalize_retrain__alpha"], bag.dags["personalize_retrain__beta"]
    assert "group-alpha" in alpha.tags and "group-beta" in beta.tags
    outlets = {o.uri for t in beta.tasks for o in t.outlets}
    assert outlets and all(u.startswith("personalize://group-beta/") for u in outlets)


def test_a_broken_config_breaks_only_its_own_dags_and_is_an_import_error(folder):
    _write(folder, "good.yaml", "group-good")
    _write(folder, "typo.yaml", "group-typo", lambda c: c["dataset_group"].update(bukket="x"))
    _write(folder, "twin.yaml", "group-good")  # the same dataset group as good.yaml (first in name order)
    bag = _bag()
    assert set(bag.dag_ids) == {f"personalize_{k}__good" for k in KINDS}
    (where, error), = bag.import_errors.items()
    assert where.endswith("personalize_config_errors.py")
    assert f"{folder / 'typo.yaml'}: dataset_group.bukket: unknown key" in error
    assert f"{folder / 'twin.yaml'}: dataset_group.name: dataset group 'group-good' is already used by " \
           f"{folder / 'good.yaml'}" in error  # fmt: skip
    assert "personalize_*__typo" in error and "personalize_*__twin" in error


def test_fixing_the_config_brings_its_dags_back(folder):
    _write(folder, "good.yaml", "group-good")
    bad = _write(folder, "later.yaml", "group-later", lambda c: c.pop("solutions"))
    assert set(_bag().dag_ids) == {f"personalize_{k}__good" for k in KINDS}
    _write(folder, bad.name, "group-later")
    bag = _bag()
    assert bag.import_errors == {} and len(bag.dag_ids) == 2 * len(KINDS)


def test_a_file_name_that_cannot_name_dags_is_refused(folder):
    _write(folder, "good.yaml", "group-good")
    _write(folder, "has space.yaml", "group-space")
    bag = _bag()
    assert set(bag.dag_ids) == {f"personalize_{k}__good" for k in KINDS}
    (error,) = bag.import_errors.values()
    assert f"{folder / 'has space.yaml'}: <file name>: 'has space'" in error


def test_an_empty_folder_says_where_it_looked(folder):
    bag = _bag()
    assert bag.dag_ids == []
    (error,) = bag.import_errors.values()
    assert f"no pipeline config found ({folder}/*.yaml)" in error


def test_one_file_keeps_the_plain_dag_ids(tmp_path, monkeypatch):
    """``PERSONALIZE_PIPELINE_CONFIG``: the single-pipeline setup of earlier versions, same DAG ids."""
    path = tmp_path / "mine.yaml"
    shutil.copy(SHOP, path)
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))
    monkeypatch.setenv("PERSONALIZE_PIPELINES_DIR", str(tmp_path / "ignored"))
    bag = _bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"personalize_{k}" for k in KINDS}
    path.write_text(path.read_text().replace("role_arn:", "role_arm:"))
    bag = _bag()
    assert bag.dag_ids == []
    (error,) = bag.import_errors.values()
    assert f"{path}: dataset_group.role_arm: unknown key" in error


def test_a_config_with_experiments_gets_its_experiment_report_dag(folder):
    def experiments(cfg):
        cfg["campaigns"].append({"name": "challenger", "solution": "demo-popularity"})
        cfg["experiments"] = [{
            "name": exp, "primary_metric": {"kind": "ctr"},
            "variants": [{"name": "a", "campaign": "demo-user-personalization"},
                         {"name": "b", "campaign": "challenger"}],
        } for exp in ("first", "second")]  # fmt: skip
        clicks = {"name": "CLICKS", "event_type": "click", "expression": "SAMPLECOUNT()"}
        cfg["metric_attribution"] = {"metrics": [clicks]}
        cfg["schedules"]["experiment_report"] = "0 6 * * *"

    _write(folder, "with.yaml", "group-with", experiments)
    _write(folder, "without.yaml", "group-without", lambda c: c.pop("metric_attribution"))
    bag = _bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"personalize_{k}__{p}" for k in KINDS for p in ("with", "without")} | {
        "personalize_experiment_report__with"
    }
    report = bag.dags["personalize_experiment_report__with"]
    assert {t.task_id for t in report.tasks} == {"report_first", "report_second"}
    assert report.schedule == "0 6 * * *" and set(report.params) == {"promote"}
    assert "ensure_metric_attribution" in bag.dags["personalize_retrain__with"].task_ids
    assert "ensure_metric_attribution" not in bag.dags["personalize_retrain__without"].task_ids
