"""personalize_batch_export and personalize_teardown end to end (after the retrain tests built the group)."""

from __future__ import annotations

import csv
import os

from tests.e2e.state import dataset_group_arn, inventory, task_states, xcom

GROUP = "personalize-demo"


def test_batch_export_answers_every_user(pipeline):
    run = pipeline.run("personalize_batch_export")
    assert run.state == "success", task_states(run)
    summary = xcom(run, "job_demo_daily_recommendations.export")
    with open(summary["path"]) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["rows"] > 0
    users = {r["user_id"] for r in rows}
    assert len(users) + summary["users_failed"] == summary["users_sent"]
    per_user = {u: [r for r in rows if r["user_id"] == u] for u in list(users)[:20]}
    for u, recs in per_user.items():
        assert [int(r["rank"]) for r in recs] == list(range(1, len(recs) + 1)), u
        assert len(recs) <= 25


def test_runs_without_logical_date_keep_their_own_exports(pipeline):
    """Runs the promotion Asset triggers have no logical date in Airflow 3 (``dag.test(logical_date=None)``
    makes the same kind of run): two of them write two sets of files; the second replaces nothing."""
    from pathlib import Path

    task = "job_demo_daily_recommendations.export"
    first = pipeline.run("personalize_batch_export", logical_date=None)
    assert first.state == "success" and first.logical_date is None, task_states(first)
    one = xcom(first, task)
    kept = {p: Path(p).read_bytes() for p in (one["path"], one["errors_path"]) if p}
    second = pipeline.run("personalize_batch_export", logical_date=None)
    assert second.state == "success" and second.logical_date is None, task_states(second)
    two = xcom(second, task)

    assert one["path"] != two["path"]
    assert {p: Path(p).read_bytes() for p in kept} == kept
    from personalize_ops.pipeline.batch_export import export_stamp

    for run, summary in ((first, one), (second, two)):
        stamp = export_stamp(run.run_after, run.run_id)
        assert Path(summary["path"]).name == f"recommendations-{stamp}.csv"
        errors = Path(summary["path"]).with_name(f"errors-{stamp}.csv")
        # its own errors file exactly when users failed; a clean run neither leaves nor points to one
        assert (summary["errors_path"] == str(errors)) == errors.exists() == (summary["users_failed"] > 0)
        assert summary["users_answered"] + summary["users_failed"] == summary["users_sent"] > 0
    names = {p.name for p in Path(one["path"]).parent.iterdir()}
    assert "recommendations-None.csv" not in names and not [n for n in names if n.endswith(".tmp")]


def test_ui_page_charts_the_e2e_runs_in_chromium(pipeline, monkeypatch, airflow_db, chromium, tmp_path):
    """The plugin page in headless Chromium, on the metric history and gate decisions the retrain runs wrote."""
    import secrets
    import shutil

    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi import FastAPI
    from personalize_ops.metrics import load_gate_decisions, load_history
    from personalize_ui import PersonalizeUIPlugin

    from tests.e2e.conftest import BUCKET
    from tests.fixtures.chromium import charts, run_chromium, serve_with_login

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")  # fmt: skip
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    purge_cached_app()
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    spec = PersonalizeUIPlugin.fastapi_apps[0]
    app = FastAPI()
    app.mount(spec["url_prefix"], spec["app"])
    page = f"{spec['url_prefix']}/dataset-groups/{GROUP}"

    shot = tmp_path / "personalize_e2e_page.png"
    with serve_with_login(app, token, landing=page) as server:
        anonymous = run_chromium(chromium, tmp_path / "anon", "--dump-dom", f"{server}{page}")
        args = ["--dump-dom", f"--screenshot={shot}", "--window-size=1280,1800", f"{server}/login"]
        dom = run_chromium(chromium, tmp_path / "page", *args)
    assert "Not authenticated" in anonymous and "<svg" not in anonymous
    assert f"dataset group {GROUP}" in dom

    history = load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    decisions = load_gate_decisions(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    metric = decisions[-1]["metric"]
    promoted = {d["challenger_arn"] for d in decisions if d["promoted"]}
    assert any(not d["promoted"] for d in decisions)  # the crippled challenger was kept out
    shown = charts(dom)[metric]
    # one line per solution; its points are the history records of that solution, oldest first
    expected = {}
    for r in sorted(history, key=lambda r: r["created_at"]):
        expected.setdefault(r["solution"], []).append(
            (round(r["metrics"][metric], 4), r["solution_version_arn"] in promoted)
        )
    assert {name.split(" (")[0]: pts for name, pts in shown.items()} == expected
    assert sum(p for pts in expected.values() for _, p in pts) == len(promoted) >= 1

    pz = pipeline.personalize
    campaign_arn = inventory(pz, dataset_group_arn(pz, GROUP))["campaigns"][0]
    served = pz.describe_campaign(campaignArn=campaign_arn)["campaign"]
    assert served["solutionVersionArn"].rsplit("/", 1)[-1] in dom
    assert "kept champion" in dom

    assert shot.stat().st_size > 10_000
    keep = os.environ.get("PERSONALIZE_UI_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    print(f"\nscreenshot: {keep or shot}; {metric} as charted (* = promoted):")
    for name, pts in shown.items():
        print(f"  {name}: " + ", ".join(f"{v:.4f}{'*' if p else ''}" for v, p in pts))


def test_teardown_dry_run_then_real_then_noop(pipeline):
    pz = pipeline.personalize
    foreign = pz.create_dataset_group(name="foreign-group")["datasetGroupArn"]
    group_arn = dataset_group_arn(pz, GROUP)
    before = inventory(pz, group_arn)

    dry = pipeline.run("personalize_teardown")
    assert dry.state == "success"
    assert inventory(pz, group_arn) == before

    refused = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": "wrong"})
    assert refused.state == "failed"
    assert inventory(pz, group_arn) == before

    real = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP})
    assert real.state == "success", task_states(real)
    assert dataset_group_arn(pz, GROUP) is None
    assert pz.describe_dataset_group(datasetGroupArn=foreign)["datasetGroup"]["name"] == "foreign-group"
    deleted = xcom(real, "delete")
    assert {r["kind"] for r in deleted} >= {"campaign", "solution", "filter", "event_tracker", "dataset",
                                            "schema", "dataset_group"}  # fmt: skip

    again = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP})
    assert again.state == "success"
    assert xcom(again, "delete") == []
