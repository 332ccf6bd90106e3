"""personalize_batch_export and personalize_teardown end to end (after the retrain tests built the group)."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.e2e.state import dataset_group_arn, inventory, schema_arns, task_states, xcom

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


# --------------------------------------------------------------------------- teardown
FOREIGN = "foreign-group"
POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
ROLE = "arn:aws:iam::000000000000:role/PersonalizeS3Access"


def _hook():
    from personalize_ops.hook import PersonalizeHook

    return PersonalizeHook(aws_conn_id="aws_default")


def _create(hook, kind: str, **params) -> str:
    """Create one resource through the control plane and wait until it is ACTIVE; returns its ARN."""
    from personalize_ops.resources import KINDS

    k = KINDS[kind]
    arn = hook.call(k.create_op, **params)[k.arn_member]
    if k.status_path:
        hook.wait(k, arn, "active", delay=0.5, max_attempts=600)
    return arn


def build_foreign_group(pipeline, shared_schema: str, our_data: str) -> dict[str, str]:
    """Another team's dataset group: its dataset uses our interactions schema; it has a solution with an ACTIVE
    version, a campaign, a filter and an event tracker. Its data is a copy of ``our_data`` outside our prefix."""
    from tests.e2e.conftest import BUCKET

    hook = _hook()
    source_bucket, source_key = our_data[5:].split("/", 1)
    pipeline.s3.copy_object(Bucket=BUCKET, Key="foreign/interactions.csv",
                            CopySource={"Bucket": source_bucket, "Key": source_key})  # fmt: skip
    group = _create(hook, "dataset_group", name=FOREIGN)
    data = f"s3://{BUCKET}/foreign/interactions.csv"
    arns = {"dataset_group": group, "schema": shared_schema}
    arns["dataset"] = _create(hook, "dataset", name="foreign-interactions", schemaArn=shared_schema,
                              datasetGroupArn=group, datasetType="Interactions")  # fmt: skip
    arns["dataset_import_job"] = _create(hook, "dataset_import_job", jobName="foreign-import", roleArn=ROLE,
                                         datasetArn=arns["dataset"], dataSource={"dataLocation": data})  # fmt: skip
    arns["solution"] = _create(hook, "solution", name="foreign-popularity", recipeArn=POPULARITY, datasetGroupArn=group)
    arns["solution_version"] = _create(hook, "solution_version", solutionArn=arns["solution"])
    arns["campaign"] = _create(hook, "campaign", name="foreign-campaign", minProvisionedTPS=1,
                               solutionVersionArn=arns["solution_version"])  # fmt: skip
    arns["filter"] = _create(hook, "filter", name="foreign-filter", datasetGroupArn=group,
                             filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")')  # fmt: skip
    arns["event_tracker"] = _create(hook, "event_tracker", name="foreign-tracker", datasetGroupArn=group)
    return arns


def describe_all(arns: dict[str, str]) -> dict[str, dict]:
    hook = _hook()
    return {kind: hook.describe(kind, arn) for kind, arn in arns.items()}


def start_held_training(pipeline, solution_arn: str, seconds: float = 180) -> str:
    """A training of ours that the service keeps CREATE IN_PROGRESS (its ``job_delay``) until well after the
    teardown reaches it: the stop is observed, not raced."""
    import time

    pz = pipeline.personalize
    with pipeline.stack.faults_set(job_delay=seconds):
        arn = pz.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
        deadline = time.monotonic() + 60
        while (status := pz.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]) != (
            "CREATE IN_PROGRESS"
        ):
            assert status == "CREATE PENDING" and time.monotonic() < deadline, status
            time.sleep(0.1)
    return arn  # the job read its delay when it started; clearing the fault does not shorten it


@pytest.fixture(scope="module")
def before_teardown(pipeline):
    """The state the teardown starts from: our group (+ one training in flight) and a foreign group."""
    from personalize_ops.metrics import load_gate_decisions, load_history

    from tests.e2e.conftest import BUCKET

    pz = pipeline.personalize
    group_arn = dataset_group_arn(pz, GROUP)
    ours = inventory(pz, group_arn)
    described = [pz.describe_dataset(datasetArn=d)["dataset"] for d in ours["datasets"]]
    interactions = next(d for d in described if d["datasetType"].upper() == "INTERACTIONS")
    shared = interactions["schemaArn"]
    jobs = pz.list_dataset_import_jobs(datasetArn=interactions["datasetArn"])["datasetImportJobs"]
    job = pz.describe_dataset_import_job(datasetImportJobArn=jobs[0]["datasetImportJobArn"])["datasetImportJob"]
    foreign = build_foreign_group(pipeline, shared, job["dataSource"]["dataLocation"])
    popularity = next(s for s in ours["solutions"] if "popularity" in s)
    training = start_held_training(pipeline, popularity)
    return {
        "group_arn": group_arn,
        "inventory": inventory(pz, group_arn),
        "shared_schema": shared,
        "training": training,
        "foreign": foreign,
        "foreign_described": describe_all(foreign),
        "history": load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP),
        "decisions": load_gate_decisions(pipeline.s3, BUCKET, "personalize-demo", GROUP),
    }


def test_teardown_dry_run_lists_resources_and_s3_areas_and_changes_nothing(pipeline, before_teardown):
    pz, before = pipeline.personalize, before_teardown
    dry = pipeline.run("personalize_teardown", {"delete_staging": True})
    assert dry.state == "success", task_states(dry)
    assert inventory(pz, before["group_arn"]) == before["inventory"]
    plan = xcom(dry, "plan")
    assert [s["result"] for s in xcom(dry, "delete")] == ["dry run"] * len(plan)
    stops = [s for s in plan if s["action"] == "stop"]
    assert [s["arn"] for s in stops] == [before["training"]]
    s3_rows = {s["kind"]: s for s in plan if s["kind"].startswith("s3:")}
    assert s3_rows["s3:staging"]["action"] == "delete" and s3_rows["s3:staging"]["objects"] >= 3
    assert (s3_rows["s3:history"]["action"], s3_rows["s3:history"]["objects"]) == ("keep", len(before["history"]))
    assert (s3_rows["s3:gate"]["action"], s3_rows["s3:gate"]["objects"]) == ("keep", len(before["decisions"]))
    assert s3_rows["s3:batch"]["action"] == "keep" and s3_rows["s3:batch"]["objects"] >= 1
    assert not {s["arn"] for s in plan} & (set(before["foreign"].values()) - {before["shared_schema"]})

    refused = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": "wrong", "delete_staging": True})
    assert refused.state == "failed"
    assert inventory(pz, before["group_arn"]) == before["inventory"]

    (alert,) = pipeline.alerts.messages(dry.run_id, "teardown")
    assert alert["Subject"] == f"[personalize {GROUP}] teardown dry run (nothing deleted)"
    assert before["training"] in alert["Message"]  # the report: what a real run would do
    assert pipeline.alerts.messages(dry.run_id, "deletion", want=0) == []
    (failed,) = pipeline.alerts.messages(refused.run_id, "failure")
    assert failed["Subject"] == f"[personalize {GROUP}] FAILED: personalize_teardown.plan"
    assert "refusing to delete: param confirm='wrong'" in failed["Message"]


@pytest.fixture(scope="module")
def torn_down(pipeline, before_teardown):
    """The real teardown of our dataset group, with the staging area deleted too."""
    run = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP, "delete_staging": True})
    assert run.state == "success", task_states(run)
    return run


def test_teardown_with_staging_deletion_keeps_metric_history_and_gate_decisions(pipeline, before_teardown, torn_down):
    """Deleting the staged files must not delete what records history; the plugin page still shows it."""
    from personalize_ops.metrics import load_gate_decisions, load_history
    from personalize_ui_app.data import load_page_data, load_settings
    from personalize_ui_app.page import render_page

    from tests.e2e.conftest import BUCKET
    from tests.fixtures.chromium import charts

    history = load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    decisions = load_gate_decisions(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    assert history == before_teardown["history"] != []
    assert decisions == before_teardown["decisions"] != []

    settings = load_settings()
    metric = decisions[-1]["metric"]
    html = render_page(settings, load_page_data(settings, describe_campaigns=False), metric)
    shown = {name.split(" (")[0]: pts for name, pts in charts(html)[metric].items()}
    assert shown == expected_chart(history, decisions, metric)
    assert f"{len(history)} solution versions, {len(decisions)} gate decisions" in html

    from personalize_ops import s3_layout

    staging = s3_layout.area("personalize-demo", "staging", GROUP)
    assert pipeline.s3.list_objects_v2(Bucket=BUCKET, Prefix=staging)["KeyCount"] == 0, "the staging area is gone"


def test_teardown_stops_our_training_and_leaves_the_foreign_group_unchanged(pipeline, before_teardown, torn_down):
    pz, before = pipeline.personalize, before_teardown
    assert dataset_group_arn(pz, GROUP) is None
    assert describe_all(before["foreign"]) == before["foreign_described"]

    rows = xcom(torn_down, "delete")
    (stop,) = [r for r in rows if r["action"] == "stop"]
    assert stop["arn"] == before["training"] and stop["result"] == "CREATE STOPPED"

    schemas = {r["arn"]: r for r in rows if r["kind"] == "schema"}
    assert set(schemas) == set(before["inventory"]["schemas"])
    shared = schemas.pop(before["shared_schema"])
    assert (shared["action"], shared["result"]) == ("keep", "kept") and FOREIGN in shared["reason"]
    assert {r["result"] for r in schemas.values()} == {"deleted"}
    left = schema_arns(pz)
    assert before["shared_schema"] in left and not set(schemas) & left
    assert {r["kind"] for r in rows} >= {"campaign", "solution", "filter", "event_tracker", "dataset",
                                         "schema", "dataset_group", "s3:staging", "s3:history"}  # fmt: skip


def test_teardown_alerts_say_what_was_deleted(pipeline, before_teardown, torn_down):
    rows = xcom(torn_down, "delete")
    (finished,) = pipeline.alerts.messages(torn_down.run_id, "teardown")
    assert finished["Subject"] == f"[personalize {GROUP}] teardown finished"
    (deletion,) = pipeline.alerts.messages(torn_down.run_id, "deletion")
    deleted = [r for r in rows if r["result"] == "deleted"]
    staging = next(r for r in rows if r["kind"] == "s3:staging")
    assert staging["result"].endswith("objects deleted") and not staging["result"].startswith("0 ")
    assert deletion["Subject"] == f"[personalize {GROUP}] teardown deleted {len(deleted) + 1} item(s)"
    body = deletion["Message"]
    assert all(r["arn"] in body for r in deleted) and staging["name"] in body
    assert before_teardown["training"] not in body, "a stopped training is not a deletion"
    assert before_teardown["shared_schema"] not in body, "the kept schema is not a deletion"


def test_second_teardown_is_a_noop(pipeline, before_teardown, torn_down):
    again = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP, "delete_staging": True})
    assert again.state == "success", task_states(again)
    rows = xcom(again, "delete")
    assert [(r["kind"], r["action"], r["result"]) for r in rows] == [
        ("s3:batch", "keep", "kept"), ("s3:history", "keep", "kept"), ("s3:gate", "keep", "kept")]  # fmt: skip
    assert describe_all(before_teardown["foreign"]) == before_teardown["foreign_described"]


def test_foreign_group_torn_down_by_its_own_plan(pipeline, before_teardown, torn_down):
    """Clean up, and the shared schema, now used by the foreign group alone, goes with it."""
    from personalize_ops.pipeline.teardown import discover, execute

    hook = _hook()
    plan = discover(hook, FOREIGN)
    assert {s["arn"] for s in plan} == set(before_teardown["foreign"].values()) - {
        before_teardown["foreign"]["dataset_import_job"], before_teardown["foreign"]["solution_version"]}  # fmt: skip
    execute(hook, plan, delay=0.5)
    assert dataset_group_arn(pipeline.personalize, FOREIGN) is None
    assert before_teardown["shared_schema"] not in schema_arns(pipeline.personalize)
