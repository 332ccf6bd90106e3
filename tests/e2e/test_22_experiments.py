"""Online experiments end to end (after the retrain tests, before the teardown): the metric attribution the retrain
run created, and personalize_experiment_report under ``dag.test()`` on simulated traffic against the retrain's
campaign. The outcomes (a crippled variant, sample-ratio mismatch, promotion) are covered against the same local
stack by tests/personalize_ops/toolkit/test_experiment_report.py; this checks the DAG around them."""

from __future__ import annotations

import csv
import json
import time

from tests.e2e.state import dataset_group_arn, task_states, xcom

GROUP, CAMPAIGN = "personalize-demo", "demo-user-personalization"
EXPERIMENT = {
    "name": "aa-e2e", "primary_metric": {"kind": "ctr"}, "min_days": 1, "max_days": 2, "min_users_per_variant": 10,
    "alpha": 0.01,
    "variants": [{"name": "a", "campaign": CAMPAIGN}, {"name": "b", "campaign": CAMPAIGN}],
}  # fmt: skip


def test_the_retrain_run_created_the_metric_attribution(pipeline):
    pz = pipeline.personalize
    (summary,) = pz.list_metric_attributions(datasetGroupArn=dataset_group_arn(pz, GROUP))["metricAttributions"]
    assert summary["name"] == f"{GROUP}-attribution" and summary["status"] == "ACTIVE"
    metrics = pz.list_metric_attribution_metrics(metricAttributionArn=summary["metricAttributionArn"])["metrics"]
    assert {m["metricName"]: m["expression"] for m in metrics} == {
        "CLICKS": "SAMPLECOUNT()", "REVENUE": "SUM(Items.PRICE)"}  # fmt: skip


def test_the_report_dag_reads_the_logs_and_the_attribution_reports(pipeline):
    from personalize_ops import s3_layout
    from personalize_ops.experiments.simulator import Recommendation, simulate

    from tests.e2e.conftest import BUCKET

    cfg_path = pipeline.config(lambda c: c.update(experiments=[EXPERIMENT]))
    pz, s3 = pipeline.personalize, pipeline.s3
    runtime, events = pipeline.stack.client("personalize-runtime"), pipeline.stack.client("personalize-events")
    group = dataset_group_arn(pz, GROUP)
    solution = next(s for s in pz.list_solutions(datasetGroupArn=group)["solutions"] if s["name"] == CAMPAIGN)
    campaign = pz.list_campaigns(solutionArn=solution["solutionArn"])["campaigns"][0]["campaignArn"]
    tracker = pz.list_event_trackers(datasetGroupArn=group)["eventTrackers"][0]["eventTrackerArn"]
    tracking_id = pz.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]["trackingId"]
    with open(pipeline.sample_dir / "interactions.csv") as fh:
        rows = list(csv.DictReader(fh))
    future: dict[str, list[str]] = {}
    for r in rows[-3000:]:  # each user's newest items stand in for what they will do next
        future.setdefault(r["customer"], []).append(r["product"])
    users = dict(sorted(future.items())[:80])

    def recommend(user: str) -> Recommendation:
        got = runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=10)
        return Recommendation([i["itemId"] for i in got["itemList"]], got["recommendationId"])

    prefix = pipeline_prefix(cfg_path)
    midnight = (time.time() // 86400 - 2) * 86400
    days = simulate("aa-e2e", {"a": 0.5, "b": 0.5}, {"a": recommend, "b": recommend}, users, days=2, seed=3,
                    start=midnight)  # fmt: skip
    clicks = 0
    for day in days:
        for kind, records in (("exposures", [e.to_record() for e in day.exposures]), ("events", day.calls)):
            key = s3_layout.experiment_log_prefix(prefix, GROUP, "aa-e2e", kind) + f"day-{day.day}.jsonl"
            s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(json.dumps(r) for r in records).encode())
        for call in day.calls:
            events.put_events(trackingId=tracking_id, **call)
            clicks += sum(e["eventType"] == "click" for e in call["eventList"])
    assert clicks > 0
    wait_for_attribution(s3, prefix, clicks)

    run = pipeline.run("personalize_experiment_report")
    assert run.state == "success", task_states(run)
    outcome = xcom(run, "report_aa-e2e")
    assert (outcome["verdict"], outcome["final"], outcome["promotion"]) == ("no_difference", True, None)
    printed = pipeline.printed[run.run_id]
    assert "experiment aa-e2e, day 2: no_difference" in printed
    assert "metric attribution totals (Personalize's reports): " in printed and "CLICKS" in printed
    report_key = s3_layout.experiment_report_key(prefix, GROUP, "aa-e2e", run.run_id)
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=report_key)["Body"].read())
    assert sum(v["CLICKS"] for v in record["attribution"].values()) == clicks
    pipeline.config()  # the default config again for the files after this one


def pipeline_prefix(cfg_path) -> str:
    import yaml

    return yaml.safe_load(cfg_path.read_text())["dataset_group"]["prefix"]


def wait_for_attribution(s3, prefix: str, clicks: int, timeout: float = 30) -> None:
    """Until the attribution reports (published every 0.5 s by the test stack) count every click of aa-e2e."""
    from personalize_ops import s3_layout

    from tests.e2e.conftest import BUCKET

    where = s3_layout.area(prefix, "attribution", GROUP)
    deadline = time.monotonic() + timeout
    while True:
        total = 0.0
        for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=where).get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode()
            total += sum(
                float(r["VALUE"]) for r in csv.DictReader(body.splitlines())
                if r["METRIC_NAME"] == "CLICKS" and r["EVENT_ATTRIBUTION_SOURCE"].startswith("aa-e2e:")
            )  # fmt: skip
        if total >= clicks:
            assert total == clicks
            return
        assert time.monotonic() < deadline, f"attribution reports count {total} of {clicks} clicks"
        time.sleep(0.2)
