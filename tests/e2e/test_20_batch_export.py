"""personalize_batch_export end to end, and the UI page on the retrain runs' history (after the retrain tests)."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import yaml

from tests.e2e.state import dataset_group_arn, inventory, task_states, xcom

GROUP = "personalize-demo"


def _source_interactions(config: dict) -> tuple[list[dict], dict[str, str]]:
    """The interactions source rows of the active config (csv module) and its Personalize field -> column map."""
    ds = config["datasets"]["interactions"]
    assert ds["source"].get("format", "csv") == "csv" and ds.get("quality", {}).get("on_fail") == "fail"
    assert not ds.get("event_rules") and not ds.get("transform"), "every source row is one interaction"
    columns = {f["name"]: f.get("source", f["name"]) for f in ds["fields"]}
    with open(ds["source"]["path"], newline="") as fh:
        return list(csv.DictReader(fh)), columns


def _event_types(expression: str) -> set[str] | None:
    """Event types of an ``EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (...)`` filter; None means all."""
    m = re.fullmatch(r'\s*EXCLUDE\s+ItemID\s+WHERE\s+Interactions\.EVENT_TYPE\s+IN\s*\(([^)]*)\)\s*', expression, re.I)
    assert m, f"the demo batch job's filter is expected to exclude by event type: {expression}"
    types = {v.strip().strip('"').lower() for v in m.group(1).split(",")}
    return None if "*" in types else types


def _excluded_items(rows: list[dict], columns: dict[str, str], event_types: set[str] | None) -> dict[str, set]:
    """Per user, the items an event-type filter must exclude.

    Personalize documents that a filter considers up to 100 of the most recent interactions per user and event
    type; the sample data has heavier users, so only those (all, for every lighter user) are expected excluded.
    """
    user, item, ts, etype = (columns[k] for k in ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"))
    events: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for row in {tuple(r.items()): r for r in rows}.values():  # an exact duplicate row is one event
        kind = row[etype].lower()
        if event_types is None or kind in event_types:
            events.setdefault((row[user], kind), []).append((int(row[ts]), row[item]))
    excluded: dict[str, set] = {}
    for (u, _), evs in events.items():
        evs.sort(reverse=True)
        cutoff = evs[100][0] if len(evs) > 100 else None  # ties at the 100th event: keep only the strictly newer
        excluded.setdefault(u, set()).update(i for t, i in evs if cutoff is None or t > cutoff)
    return excluded


def _read_table(pipeline, path: str) -> list[dict]:
    if path.startswith("s3://"):
        bucket, key = path.removeprefix("s3://").split("/", 1)
        text = pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    else:
        with open(path, newline="") as fh:
            text = fh.read()
    return list(csv.DictReader(io.StringIO(text)))


def _with_popularity_export(cfg):
    """The demo's batch job plus the same job on the popularity-count solution.

    personalize_local's user-personalization never recommends an item the user interacted with (its README), so
    there the exclusion filter changes nothing; popularity-count recommends the same popular items to everyone,
    so its job shows that the filter is applied.
    """
    demo = cfg["batch_jobs"][0]
    destination = str(Path(demo["destination"]).parent / "demo-popularity-export")
    cfg["batch_jobs"].append({**demo, "name": "demo-popularity-export", "solution": "demo-popularity",
                              "destination": destination})  # fmt: skip


def test_batch_export_answers_every_user(pipeline):
    """Every user of the imported interactions is answered or listed as failed, and each job's filter holds.

    Expectations come from the sample CSV and the active config only (csv + yaml): a batch job with
    ``users: interactions`` scores every USER_ID of the imported interactions file, which the config maps 1:1
    from the source rows (quality ``on_fail: fail``, no event rules).
    """
    path = pipeline.config(_with_popularity_export, name="batch.yaml")
    try:
        config = yaml.safe_load(path.read_text())
        run = pipeline.run("personalize_batch_export")
    finally:
        pipeline.config()
    assert run.state == "success", task_states(run)
    rows, columns = _source_interactions(config)
    expected_users = {r[columns["USER_ID"]] for r in rows}
    catalog = {r[columns["ITEM_ID"]] for r in rows}
    assert [j["solution"] for j in config["batch_jobs"]] == ["demo-user-personalization", "demo-popularity"]
    for job in config["batch_jobs"]:
        assert job["users"] == "interactions"
        expression = next(f["expression"] for f in config["filters"] if f["name"] == job["filter"])
        excluded = _excluded_items(rows, columns, _event_types(expression))
        summary = xcom(run, f"job_{job['name'].replace('-', '_')}.export")
        recs = _read_table(pipeline, summary["path"])
        failed = _read_table(pipeline, summary["errors_path"]) if summary["errors_path"] else []

        answered = {r["user_id"] for r in recs}
        failed_users = [r["user_id"] for r in failed]
        assert answered.isdisjoint(failed_users) and len(set(failed_users)) == len(failed_users)
        assert answered | set(failed_users) == expected_users, "each user answered or in the errors file, no other"
        assert summary["users_sent"] == len(expected_users) == summary["users_answered"] + summary["users_failed"]
        assert len(recs) == summary["rows"] > 0 and len(answered) == summary["users_answered"] > 0
        by_user: dict[str, list[dict]] = {}
        for r in recs:
            by_user.setdefault(r["user_id"], []).append(r)
        for user, items in by_user.items():
            assert [int(r["rank"]) for r in items] == list(range(1, len(items) + 1)), (job["name"], user)
            assert len(items) <= job.get("num_results", 25)
            ids = [r["item_id"] for r in items]
            assert len(set(ids)) == len(ids) and set(ids) <= catalog, (job["name"], user)
            hit = set(ids) & excluded.get(user, set())
            assert not hit, f"{job['name']}: {user} was recommended {sorted(hit)}, which the filter excludes"
        assert sum(len(excluded.get(u, ())) for u in by_user) > 10 * len(by_user), "the filter had items to exclude"


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


def expected_chart(history: list[dict], decisions: list[dict], metric: str) -> dict[str, list[tuple[float, bool]]]:
    """One line per solution; its points are the history records of that solution, oldest first."""
    promoted = {d["challenger_arn"] for d in decisions if d["promoted"]}
    expected: dict[str, list[tuple[float, bool]]] = {}
    for r in sorted(history, key=lambda r: r["created_at"]):
        expected.setdefault(r["solution"], []).append(
            (round(r["metrics"][metric], 4), r["solution_version_arn"] in promoted)
        )
    return expected


def test_ui_page_charts_the_e2e_runs_in_chromium(pipeline, monkeypatch, airflow_db, chromium, tmp_path):
    """The plugin page in headless Chromium, on the metric history and gate decisions the retrain runs wrote."""
    import secrets
    import shutil

    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi import FastAPI
    from personalize_ops.metrics import load_gate_decisions, load_history
    from personalize_ui import PersonalizeUIPlugin

    from tests.e2e.conftest import BUCKET
    from tests.fixtures.airflow import fresh_auth_manager
    from tests.fixtures.chromium import charts, run_chromium, serve_with_login

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")  # fmt: skip
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    token = fresh_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
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
    expected = expected_chart(history, decisions, metric)
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
