"""The retrain DAG's backtest wiring, as Airflow parses it: the cut before the interactions import, the backtest
solutions before the gate, the full data back after it (also when a gate fails), the refit before the deploy, and
the other solutions on the full data."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _dag(tmp_path, monkeypatch, evaluation: str):
    from airflow.dag_processing.dagbag import DagBag

    cfg = yaml.safe_load((ROOT / "include" / "pipelines" / "shop.yaml").read_text())
    cfg["campaigns"][0]["gate"]["evaluation"] = evaluation
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.delenv("PERSONALIZE_PIPELINES_DIR", raising=False)
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "personalize_retrain.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["personalize_retrain"]


def _reaches(dag, a: str, b: str) -> bool:
    return b in {t.task_id for t in dag.get_task(a).get_flat_relatives(upstream=False)}


def test_backtest_tasks_are_ordered_so_each_model_sees_the_right_data(tmp_path, monkeypatch):
    dag = _dag(tmp_path, monkeypatch, "backtest")
    up, sims, pop = "solution_demo_user_personalization", "solution_demo_sims", "solution_demo_popularity"
    chain = ["backtest.cut", "datasets.plan_import_interactions", "datasets.import_interactions", f"{up}.train",
             "gate_demo_user_personalization", "backtest.plan_restore", "backtest.restore_interactions",
             "refit_demo_user_personalization", "deploy_demo_user_personalization"]  # fmt: skip
    for a, b in zip(chain, chain[1:], strict=False):
        assert _reaches(dag, a, b), f"{a} must come before {b}"
    assert _reaches(dag, f"{pop}.train", "gate_demo_user_personalization")  # the baseline trains before C too
    assert _reaches(dag, "backtest.restore_interactions", f"{sims}.train")  # the others on all data
    assert not _reaches(dag, "backtest.restore_interactions", f"{up}.train")
    assert dag.get_task("backtest.plan_restore").trigger_rule == "all_done"  # after a failed gate too
    assert dag.get_task("backtest.restore_interactions").trigger_rule == "none_failed_min_one_success"


def test_offline_metrics_has_no_backtest_task(tmp_path, monkeypatch):
    dag = _dag(tmp_path, monkeypatch, "offline_metrics")
    assert not [t for t in dag.task_ids if t.startswith(("backtest.", "refit_"))]
    assert _reaches(dag, "gate_demo_user_personalization", "deploy_demo_user_personalization")
