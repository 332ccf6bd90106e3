"""The two cadences and a privacy deletion end to end: a full run, an incremental day (only the new events, an UPDATE
version deployed), a deletion (dry run, then for real), and the full week after it (the user's rows are gone from
the staged files and their history no longer shapes their recommendations). The skip reasons are tested at the
toolkit level (tests/personalize_ops/pipeline/test_incremental.py).

Its own dataset group ("pz-cadence"), trimmed to what the scenario needs: interactions and users, one
User-Personalization solution and its campaign, no filters, tracker, metric attribution or batch jobs.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from tests.e2e.state import dataset_group_arn, task_states, xcom

GROUP = "pz-cadence"
HOLD_BACK = 1500  # the "day" of new events (at least AWS's 1,000 per INCREMENTAL import)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def cadence(pipeline, sample_dir, tmp_path_factory):
    """The config (active for this module) and its interactions source: every event but the newest day's."""
    work = tmp_path_factory.mktemp("cadence")
    rows = sorted(_rows(sample_dir / "interactions.csv"), key=lambda r: int(r["ts_ms"]))
    cut = int(rows[-HOLD_BACK]["ts_ms"]) // 1000  # whole seconds: Personalize's TIMESTAMP
    earlier = [r for r in rows if int(r["ts_ms"]) // 1000 < cut]
    day = [r for r in rows if int(r["ts_ms"]) // 1000 >= cut]
    source = work / "interactions.csv"
    _write(source, earlier)

    def trim(cfg):
        cfg["dataset_group"].update(name=GROUP, prefix=GROUP)
        cfg["datasets"]["interactions"]["source"]["path"] = str(source)
        del cfg["datasets"]["items"]
        cfg["solutions"] = [s for s in cfg["solutions"] if s["name"] == "demo-user-personalization"]
        campaign = cfg["campaigns"][0]
        campaign["gate"] = {"evaluation": "offline_metrics", "beat_baseline": None, "on_fail": "warn"}
        cfg["filters"], cfg["batch_jobs"], cfg["event_tracker"] = [], [], None
        cfg.pop("metric_attribution", None)
        cfg["schedules"]["incremental"] = "@daily"

    pipeline.config(trim, name="cadence.yaml")
    yield {"source": source, "earlier": earlier, "day": day, "cut": cut}
    pipeline.config()  # the other e2e files' config again


def _campaign(pipeline):
    pz = pipeline.personalize
    solutions = pz.list_solutions(datasetGroupArn=dataset_group_arn(pz, GROUP))["solutions"]
    arn = pz.list_campaigns(solutionArn=solutions[0]["solutionArn"])["campaigns"][0]["campaignArn"]
    return pz.describe_campaign(campaignArn=arn)["campaign"]


def _recommended(pipeline, user: str) -> list[str]:
    runtime = pipeline.stack.client("personalize-runtime")
    items = runtime.get_recommendations(campaignArn=_campaign(pipeline)["campaignArn"], userId=user, numResults=10)
    return [i["itemId"] for i in items["itemList"]]


def _ok(run) -> dict:
    states = task_states(run)
    assert run.state == "success", {t: s for t, s in states.items() if s not in ("success", "skipped")}
    return states


def test_a_full_run_then_an_incremental_day_imports_only_the_new_events(pipeline, cadence):
    full = _ok(pipeline.run("personalize_retrain"))
    assert full["acquire_group_lock"] == full["release_group_lock"] == "success"
    served_full = _campaign(pipeline)["solutionVersionArn"]

    with open(cadence["source"], "a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(cadence["day"][0])).writerows(cadence["day"])
    day = pipeline.run("personalize_incremental")
    states = _ok(day)
    increment = xcom(day, "prepare_increment")
    assert 1000 <= increment.rows <= len(cadence["day"])  # the day's events the prepare stage keeps
    assert increment.watermark_from < cadence["cut"] <= increment.watermark_to
    assert increment.watermark_to == max(int(r["ts_ms"]) for r in cadence["day"]) // 1000
    bucket, key = increment.data_location[5:].split("/", 1)
    delta = list(csv.DictReader(io.StringIO(pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())))
    assert len(delta) == increment.rows and min(int(r["TIMESTAMP"]) for r in delta) >= cadence["cut"]
    pz = pipeline.personalize
    job = pz.describe_dataset_import_job(datasetImportJobArn=xcom(day, "import_interactions"))["datasetImportJob"]
    assert (job["importMode"], job["dataSource"]["dataLocation"]) == ("INCREMENTAL", increment.data_location)
    update = xcom(day, "solution_demo_user_personalization.train_update")
    assert pz.describe_solution_version(solutionVersionArn=update)["solutionVersion"]["trainingMode"] == "UPDATE"
    decision = xcom(day, "solution_demo_user_personalization.gate_demo_user_personalization")
    assert decision.promote and decision.full_parent_arn == served_full
    assert states["solution_demo_user_personalization.deploy_demo_user_personalization"] == "success"
    assert _campaign(pipeline)["solutionVersionArn"] == update


def test_a_deletion_then_a_full_week_forgets_the_user(pipeline, cadence, tmp_path):
    user, _ = Counter(r["customer"] for r in cadence["earlier"]).most_common(1)[0]  # the longest history
    history = _recommended(pipeline, user)
    assert history != _recommended(pipeline, "never-seen-user")  # their history shapes what they get

    dry = pipeline.run("personalize_delete_users", {"user_ids": [user]})
    assert _ok(dry)["data_deletion_job"] == "skipped"
    counted = xcom(dry, "plan").imported_rows  # rows of the user in the files Personalize imported
    assert 0 < counted["interactions"] <= sum(r["customer"] == user for r in cadence["earlier"] + cadence["day"])
    assert counted["users"] == 1

    real = pipeline.run("personalize_delete_users", {"user_ids": [user], "dry_run": False, "confirm": GROUP})
    _ok(real)
    report = xcom(real, "report")
    assert report["job_status"] == "COMPLETED" and report["added_to_deny_list"] == 1
    assert report["num_deleted"] == counted["interactions"] + counted["users"]
    (alert,) = pipeline.alerts.messages(real.run_id, "deletion")
    assert "1 user(s) deleted on request" in alert["Subject"] and user not in alert["Message"]

    week = pipeline.run("personalize_retrain", {"skip_gate": True})  # a model without the user replaces theirs
    _ok(week)
    staged = xcom(week, "prepare_data.prepare_interactions")
    bucket, key = staged.uri[5:].split("/", 1)
    body = pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    users = {r["USER_ID"] for r in csv.DictReader(io.StringIO(body))}
    assert user not in users and len(users) > 1
    assert _recommended(pipeline, user) == _recommended(pipeline, "never-seen-user")
