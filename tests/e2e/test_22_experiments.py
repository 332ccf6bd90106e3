"""Online experiments end to end (after the retrain tests, before the teardown): the metric attribution the retrain
run created, and personalize_experiment_report under ``dag.test()`` on simulated traffic (the sample users'
interactions stand in for their future) against the retrain's campaign ``demo-user-personalization`` and
``demo-popularity-xp``, a campaign this file creates on the retrain's demo-popularity version and deletes again.

Outcomes, asserted on the task's XCom, the report record in S3 and the campaigns' state: two variants on one
campaign end as "no difference" (and the attribution reports count their clicks); a variant whose application shows
everyone the same least-interacted items (crippled) loses to the popularity campaign; a variant losing most of its
logs is a sample-ratio mismatch; with ``on_end: promote`` the winner's solution version goes to the main campaign
(which then gets its own version back, so the files after this one see the retrain's state)."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter

import pytest

from tests.e2e.state import dataset_group_arn, task_states, xcom

GROUP, CAMPAIGN = "personalize-demo", "demo-user-personalization"
EXPERIMENT = {
    "name": "aa-e2e", "primary_metric": {"kind": "ctr"}, "min_days": 1, "max_days": 2, "min_users_per_variant": 10,
    "alpha": 0.01,
    "variants": [{"name": "a", "campaign": CAMPAIGN}, {"name": "b", "campaign": CAMPAIGN}],
}  # fmt: skip
FAST = {"primary_metric": {"kind": "ctr"}, "min_days": 1, "max_days": 2, "min_users_per_variant": 10}
POPULAR = "demo-popularity-xp"  # a campaign this file creates on the retrain's demo-popularity version
CRIPPLED = {
    "name": "crippled-e2e",
    **FAST,
    "variants": [{"name": "pop", "campaign": POPULAR}, {"name": "crippled", "campaign": POPULAR}],
}
SRM = {
    "name": "srm-e2e",
    **FAST,
    "variants": [{"name": "a", "campaign": CAMPAIGN}, {"name": "b", "campaign": CAMPAIGN}],
}
PROMOTE = {
    "name": "promote-e2e",
    **FAST,
    "on_end": "promote",
    "promote_to": CAMPAIGN,
    "variants": [{"name": "main", "campaign": CAMPAIGN}, {"name": "pop", "campaign": POPULAR}],
}


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


def future_items(pipeline, users: int, newest: int) -> dict[str, list[str]]:
    """``users`` sample users -> their items among the ``newest`` interactions (what they will do next)."""
    with open(pipeline.sample_dir / "interactions.csv") as fh:
        rows = list(csv.DictReader(fh))
    future: dict[str, list[str]] = {}
    for r in rows[-newest:]:
        future.setdefault(r["customer"], []).append(r["product"])
    return dict(sorted(future.items())[:users])


def campaign_arn(pz, solution_name: str, campaign_name: str) -> str:
    group = dataset_group_arn(pz, GROUP)
    solution = next(s for s in pz.list_solutions(datasetGroupArn=group)["solutions"] if s["name"] == solution_name)
    campaigns = pz.list_campaigns(solutionArn=solution["solutionArn"])["campaigns"]
    return next(c["campaignArn"] for c in campaigns if c["name"] == campaign_name)


def campaign_recommender(pipeline, arn: str):
    runtime = pipeline.stack.client("personalize-runtime")

    def recommend(user: str):
        from personalize_ops.experiments.simulator import Recommendation

        got = runtime.get_recommendations(campaignArn=arn, userId=user, numResults=10)
        return Recommendation([i["itemId"] for i in got["itemList"]], got["recommendationId"])

    return recommend


def crippled_recommender(pipeline):
    """The crippled application: the same ten least-interacted catalogue items, whoever asks (a broken ranking)."""
    with open(pipeline.sample_dir / "interactions.csv") as fh:
        counts = Counter(r["product"] for r in csv.DictReader(fh))
    tail = [item for item, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))[:10]]
    return lambda user: tail


def log_traffic(pipeline, cfg_path, name: str, recommenders: dict, users: int = 2000, visits: float = 3,
                exposure_loss=None) -> None:  # fmt: skip
    """Two days of simulated traffic of experiment ``name`` (an even split, ``visits`` a user a day) into its log
    area, ending before today."""
    from personalize_ops import s3_layout
    from personalize_ops.experiments.simulator import simulate

    from tests.e2e.conftest import BUCKET

    prefix, split = pipeline_prefix(cfg_path), {v: 1 / len(recommenders) for v in recommenders}
    future = future_items(pipeline, users, 20_000)
    days = simulate(name, split, recommenders, future, days=2, seed=5, visits_per_day=visits,
                    exposure_loss=exposure_loss, start=(time.time() // 86400 - 2) * 86400)  # fmt: skip
    for day in days:
        for kind, records in (("exposures", [e.to_record() for e in day.exposures]), ("events", day.calls)):
            key = s3_layout.experiment_log_prefix(prefix, GROUP, name, kind) + f"day-{day.day}.jsonl"
            pipeline.s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(json.dumps(r) for r in records).encode())


def stored_report(pipeline, cfg_path, name: str, run_id: str) -> dict:
    from personalize_ops import s3_layout

    from tests.e2e.conftest import BUCKET

    key = s3_layout.experiment_report_key(pipeline_prefix(cfg_path), GROUP, name, run_id)
    return json.loads(pipeline.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def with_experiments(*experiments):
    """A config mutation: ``experiments`` and the campaign ``POPULAR`` (on the demo-popularity solution)."""

    def mutate(cfg: dict) -> None:
        cfg["experiments"] = list(experiments)
        cfg["campaigns"] = [*cfg["campaigns"], {"name": POPULAR, "solution": "demo-popularity"}]

    return mutate


@pytest.fixture(scope="module")
def popular(pipeline):
    """The campaign ``POPULAR`` on the retrain's demo-popularity version, deleted at the end (the teardown after
    this file expects the retrain's resources only)."""
    pz = pipeline.personalize
    solution = next(s for s in pz.list_solutions(datasetGroupArn=dataset_group_arn(pz, GROUP))["solutions"]
                    if s["name"] == "demo-popularity")  # fmt: skip
    version = next(v["solutionVersionArn"] for v in pz.list_solution_versions(
        solutionArn=solution["solutionArn"])["solutionVersions"] if v["status"] == "ACTIVE")  # fmt: skip
    arn = pz.create_campaign(name=POPULAR, solutionVersionArn=version, minProvisionedTPS=1)["campaignArn"]
    try:
        assert wait_campaign(pz, arn)["solutionVersionArn"] == version
        yield {"arn": arn, "version": version}
    finally:
        pz.delete_campaign(campaignArn=arn)
        wait_gone(pz, arn)


@pytest.fixture(scope="module")
def crippled_and_srm_run(pipeline, popular):
    """One report run over two experiments: ``crippled-e2e`` (variant ``crippled``'s application shows the
    least-interacted items instead of the popularity campaign's) and ``srm-e2e`` (variant ``b`` loses 70% of its
    users' logs)."""
    cfg_path = pipeline.config(with_experiments(CRIPPLED, SRM))
    try:
        served = campaign_recommender(pipeline, campaign_arn(pipeline.personalize, CAMPAIGN, CAMPAIGN))
        pop = campaign_recommender(pipeline, popular["arn"])
        log_traffic(pipeline, cfg_path, "crippled-e2e", {"pop": pop, "crippled": crippled_recommender(pipeline)})
        log_traffic(pipeline, cfg_path, "srm-e2e", {"a": served, "b": served}, 400, 1, exposure_loss={"b": 0.7})
        run = pipeline.run("personalize_experiment_report")
    finally:
        pipeline.config()  # the default config again for the files after this one
    return pipeline, cfg_path, run


def test_the_report_dag_declares_the_crippled_variant_the_loser(crippled_and_srm_run):
    pipeline, cfg_path, run = crippled_and_srm_run
    assert run.state == "success", task_states(run)
    outcome = xcom(run, "report_crippled-e2e")
    record = stored_report(pipeline, cfg_path, "crippled-e2e", run.run_id)
    assert (outcome["verdict"], outcome["winner"], outcome["final"]) == ("winner", "pop", True), record["text"]
    assert outcome["promotion"] is None  # on_end: report
    (comparison,) = record["result"]["comparisons"]
    assert comparison["variant"] == "crippled" and comparison["status"] == "worse" and comparison["high"] < 0
    assert "experiment crippled-e2e, day 2: winner" in pipeline.printed[run.run_id]


def test_the_report_dag_flags_a_sample_ratio_mismatch(crippled_and_srm_run):
    pipeline, cfg_path, run = crippled_and_srm_run
    assert run.state == "success", task_states(run)
    outcome = xcom(run, "report_srm-e2e")
    record = stored_report(pipeline, cfg_path, "srm-e2e", run.run_id)
    assert (outcome["verdict"], outcome["final"], outcome["winner"]) == ("sample_ratio_mismatch", False, None), (
        record["text"])  # fmt: skip
    users = {v["name"]: v["users"] for v in record["result"]["variants"]}
    assert users["b"] < users["a"] / 2 and record["result"]["srm"]["p_value"] < 0.001


def test_the_report_dag_promotes_the_winner_onto_the_main_campaign(pipeline, popular):
    pz = pipeline.personalize
    served = campaign_arn(pz, CAMPAIGN, CAMPAIGN)
    before = wait_campaign(pz, served)["solutionVersionArn"]  # DescribeCampaign before
    assert before != popular["version"]
    cfg_path = pipeline.config(with_experiments(PROMOTE))
    try:
        # the main variant's application is crippled (the least-interacted items): the popularity variant wins
        recommenders = {"main": crippled_recommender(pipeline), "pop": campaign_recommender(pipeline, popular["arn"])}
        log_traffic(pipeline, cfg_path, "promote-e2e", recommenders)
        run = pipeline.run("personalize_experiment_report")
        assert run.state == "success", task_states(run)
        outcome = xcom(run, "report_promote-e2e")
        record = stored_report(pipeline, cfg_path, "promote-e2e", run.run_id)
        assert (outcome["verdict"], outcome["winner"], outcome["final"]) == ("winner", "pop", True), record["text"]
        assert outcome["promotion"]["solution_version_arn"] == popular["version"]
        assert (outcome["promotion"]["campaign_arn"], outcome["promotion"]["from_variant"]) == (served, "pop")
        assert record["promotion"] == outcome["promotion"]  # recorded in S3
        assert wait_campaign(pz, served)["solutionVersionArn"] == popular["version"]  # DescribeCampaign after
        assert f"promoted {popular['version']} (variant pop) to campaign {CAMPAIGN}" in pipeline.printed[run.run_id]
    finally:
        pipeline.config()
        if wait_campaign(pz, served)["solutionVersionArn"] != before:  # the retrain's version back, as it was
            pz.update_campaign(campaignArn=served, solutionVersionArn=before, minProvisionedTPS=1)
        assert wait_campaign(pz, served)["solutionVersionArn"] == before


def wait_campaign(pz, arn: str, timeout: float = 60) -> dict:
    """The campaign once it is ACTIVE with no update pending."""
    deadline = time.monotonic() + timeout
    while True:
        campaign = pz.describe_campaign(campaignArn=arn)["campaign"]
        pending = campaign.get("latestCampaignUpdate", {}).get("status", "ACTIVE")
        if campaign["status"] == "ACTIVE" and pending in ("ACTIVE", "CREATE FAILED"):
            return campaign
        assert time.monotonic() < deadline, campaign
        time.sleep(0.1)


def wait_gone(pz, arn: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while arn in {c["campaignArn"] for c in pz.list_campaigns()["campaigns"]}:
        assert time.monotonic() < deadline, f"campaign {arn} still listed"
        time.sleep(0.1)
