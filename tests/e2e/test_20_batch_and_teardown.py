"""personalize_batch_export and personalize_teardown end to end (after the retrain tests built the group)."""

from __future__ import annotations

import csv

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


def test_ui_page_charts_the_e2e_runs(pipeline, monkeypatch, airflow_db):
    """The plugin page, on the metric history and gate decisions the retrain runs above wrote."""
    import re
    import secrets

    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from personalize_ui import PersonalizeUIPlugin

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")  # fmt: skip
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    purge_cached_app()
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    spec = PersonalizeUIPlugin.fastapi_apps[0]
    root = FastAPI()
    root.mount(spec["url_prefix"], spec["app"])
    client = TestClient(root)
    page = f"{spec['url_prefix']}/dataset-groups/{GROUP}"

    assert client.get(page).status_code in (401, 403)
    r = client.get(page, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text[:500]
    assert re.search(r'<svg class="metric-chart"', r.text)
    for solution in ("demo-user-personalization", "demo-sims", "demo-personalized-ranking", "demo-popularity"):
        assert solution in r.text
    assert "not promoted" in r.text  # the crippled challenger's gate decision is shown


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
