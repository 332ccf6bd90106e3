"""personalize_retrain end to end on the local stack: first run, unchanged re-run, gate, bad data."""

from __future__ import annotations

import pytest

from tests.e2e.state import dataset_group_arn, inventory, task_states

GROUP = "personalize-demo"


def test_dry_run_first_validates_and_touches_nothing(pipeline):
    """The AWS checklist's first step: dry_run prepares and checks the data; no S3 object, no resource."""
    pz = pipeline.personalize
    assert dataset_group_arn(pz, GROUP) is None
    run = pipeline.run("personalize_retrain", {"dry_run": True})
    states = task_states(run)
    assert run.state == "success", states
    prepared = {t: s for t, s in states.items() if t.startswith("prepare_data.")}
    assert len(prepared) == 3 and set(prepared.values()) == {"success"}
    assert states["ensure_dataset_group"] == "skipped"
    assert dataset_group_arn(pz, GROUP) is None
    assert _staged_keys(pipeline) == set()


@pytest.fixture(scope="module")
def first_run(pipeline):
    pipeline.config()
    run = pipeline.run("personalize_retrain")
    return run


def test_first_run_builds_and_deploys_everything(pipeline, first_run):
    states = task_states(first_run)
    assert first_run.state == "success", {t: s for t, s in states.items() if s != "success"}
    pz = pipeline.personalize
    inv = inventory(pz, dataset_group_arn(pz, GROUP))
    assert len(inv["datasets"]) == 3 and len(inv["import_jobs"]) == 3
    assert len(inv["solutions"]) == 4 and len(inv["solution_versions"]) == 4
    assert len(inv["campaigns"]) == 1 and len(inv["filters"]) == 2 and len(inv["event_trackers"]) == 1
    campaign = pz.describe_campaign(campaignArn=inv["campaigns"][0])["campaign"]
    assert campaign["status"] == "ACTIVE"
    assert campaign["solutionVersionArn"] in inv["solution_versions"]


def test_promotion_alert_reaches_the_sns_topics_queue(pipeline, first_run):
    """The first run deploys the campaign: the promotion is published to SNS (moto server) and lands in the SQS
    queue subscribed to the topic, with the run's link, the decision and the metrics compared."""
    from personalize_ops.notifications import ui_url

    from tests.e2e.state import xcom

    decision = xcom(first_run, "gate_demo_user_personalization")
    assert decision.promote is True
    (msg,) = pipeline.alerts.messages(first_run.run_id, "promoted")
    assert msg["TopicArn"] == pipeline.alerts.topic_arn
    assert msg["Subject"] == f"[personalize {GROUP}] campaign demo-user-personalization promoted to a new version"
    body = msg["Message"]
    assert ui_url("personalize_retrain", first_run.run_id) in body
    assert ui_url("personalize_retrain", first_run.run_id, "gate_demo_user_personalization") in body
    assert f"Reason: {decision.reason}" in body and f"Challenger: {decision.solution_version_arn}" in body
    table = body[body.index("Offline metrics:") :].splitlines()
    assert [row.split()[0] for row in table[3:5]] == ["challenger", "baseline"]  # no champion yet
    assert pipeline.alerts.messages(first_run.run_id, "failure", want=0) == []


def test_cost_report_uses_personalizes_own_quantities(pipeline, first_run):
    """Training hours per version (DescribeSolutionVersion), the bytes imported (S3), the campaign's minimum
    provisioned TPS (DescribeCampaign), priced from the config's defaults; the table is in the task's output."""
    from personalize_ops.config import Costs

    from tests.e2e.state import xcom

    pz, prices = pipeline.personalize, Costs()
    cost = xcom(first_run, "cost_report")
    versions = {xcom(first_run, f"solution_{n.replace('-', '_')}.log_metrics").arn for n in (
        "demo-user-personalization", "demo-sims", "demo-personalized-ranking", "demo-popularity")}  # fmt: skip
    assert {line["arn"] for line in cost["training"]} == versions
    for line in cost["training"]:
        hours = pz.describe_solution_version(solutionVersionArn=line["arn"])["solutionVersion"]["trainingHours"]
        assert line["quantity"] == hours > 0
        assert line["cost"] == pytest.approx(hours * prices.training_hour)
    assert len(cost["ingestion"]) == 3, "the first run imports every dataset"
    for line in cost["ingestion"]:
        bucket, key = line["arn"][5:].split("/", 1)
        size = pipeline.s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        assert line["quantity"] == pytest.approx(size / 2**30) and line["quantity"] > 0
    (campaign,) = cost["campaigns"]
    served = pz.describe_campaign(campaignArn=campaign["arn"])["campaign"]
    assert campaign["quantity"] == served["minProvisionedTPS"] == 1
    assert cost["daily_cost"] == pytest.approx(1 * 24 * prices.tps_hour)
    lines = cost["training"] + cost["ingestion"]
    assert cost["run_cost"] == pytest.approx(sum(x["quantity"] * x["price"] for x in lines))
    printed = pipeline.printed[first_run.run_id]
    assert "Estimated cost of this run (USD):" in printed
    rows = {line.split("  ")[0]: line.split() for line in printed.splitlines()}
    assert rows["run total"][-1] == f"{cost['run_cost']:.4f}"
    assert rows["campaign demo-user-personalization"][-1] == rows["per day"][-1] == f"{cost['daily_cost']:.4f}"


def _staged_keys(pipeline) -> set[str]:
    from personalize_ops import s3_layout

    from tests.e2e.conftest import BUCKET

    staging = s3_layout.area("personalize-demo", "staging", GROUP)
    pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=staging)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _history(pipeline) -> list[dict]:
    from personalize_ops.metrics import load_history

    from tests.e2e.conftest import BUCKET

    return load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP)


def test_metric_history_has_one_record_per_version(pipeline, first_run):
    records = _history(pipeline)
    assert {r["solution"] for r in records} == {
        "demo-user-personalization", "demo-sims", "demo-personalized-ranking", "demo-popularity"
    }
    up = next(r for r in records if r["solution"] == "demo-user-personalization")
    pop = next(r for r in records if r["solution"] == "demo-popularity")
    assert up["metrics"]["normalized_discounted_cumulative_gain_at_10"] > pop["metrics"][
        "normalized_discounted_cumulative_gain_at_10"
    ]


def test_second_run_with_unchanged_data_reimports_and_retrains_nothing(pipeline, first_run):
    """Same data, same config: no import, no training; each solution reuses its newest version (says so in its
    plan), and the campaign stays on the version it serves."""
    from tests.e2e.state import xcom

    pz = pipeline.personalize
    before = inventory(pz, dataset_group_arn(pz, GROUP))
    staged = _staged_keys(pipeline)

    run = pipeline.run("personalize_retrain")

    assert run.state == "success", task_states(run)
    after = inventory(pz, dataset_group_arn(pz, GROUP))
    assert after["import_jobs"] == before["import_jobs"]
    assert _staged_keys(pipeline) == staged
    for kind in ("datasets", "solutions", "campaigns", "filters", "event_trackers", "solution_versions"):
        assert sorted(after[kind]) == sorted(before[kind]), kind
    for solution in ("demo_user_personalization", "demo_sims", "demo_personalized_ranking", "demo_popularity"):
        plan, version = xcom(run, f"solution_{solution}.plan_training"), xcom(run, f"solution_{solution}.log_metrics")
        assert plan.action == "reuse" and plan.version_arn == version.arn in before["solution_versions"]
        assert "data and configuration unchanged" in plan.reason and version.origin == "reuse"
    decision = xcom(run, "gate_demo_user_personalization")
    assert decision.already_serving and decision.promote is False
    assert xcom(run, "cost_report")["training"] == [], "a reused version costs this run no training"


def _noisy_copy(sample_dir, out):
    """The sample data with the item column shuffled: same popularity, no user preference signal left."""
    import shutil

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    out.mkdir(exist_ok=True)
    table = pcsv.read_csv(sample_dir / "interactions.csv")
    perm = np.random.default_rng(3).permutation(table.num_rows)
    products = table.column("product").take(pa.array(perm))
    table = table.set_column(table.schema.get_field_index("product"), "product", products)
    pcsv.write_csv(table, out / "interactions.csv")
    for name in ("items.csv", "users.jsonl"):
        shutil.copy(sample_dir / name, out / name)
    return out


def test_worse_challenger_leaves_campaign_on_champion(pipeline, first_run, tmp_path):
    from tests.e2e.state import xcom

    pz = pipeline.personalize
    group_arn = dataset_group_arn(pz, GROUP)
    campaign_arn = inventory(pz, group_arn)["campaigns"][0]
    before = pz.describe_campaign(campaignArn=campaign_arn)["campaign"]
    served = before["solutionVersionArn"]
    noisy = _noisy_copy(pipeline.sample_dir, tmp_path / "noisy")

    def crippled(cfg):
        for ds in cfg["datasets"].values():
            ds["source"]["path"] = str(noisy / ds["source"]["path"].rsplit("/", 1)[-1])
        cfg["campaigns"][0]["gate"]["on_fail"] = "warn"

    pipeline.config(crippled, name="crippled.yaml")
    try:
        run = pipeline.run("personalize_retrain", {"solutions": ["demo-user-personalization", "demo-popularity"]})
    finally:
        pipeline.config()
    assert run.state == "success", task_states(run)
    decision = xcom(run, "gate_demo_user_personalization")
    assert decision.promote is False
    assert decision.champion_arn == served
    assert decision.challenger_value < decision.champion_value
    assert f"{decision.challenger_value:.4f}" in decision.reason
    assert f"{decision.champion_value:.4f}" in decision.reason
    assert pz.describe_campaign(campaignArn=campaign_arn)["campaign"] == before, "no UpdateCampaign at all"
    states = task_states(run)
    assert states["gate_demo_user_personalization"] == "success"
    assert states["deploy_demo_user_personalization"] == "success"
    assert states["solution_demo_sims.ensure_solution"] == "skipped"  # not in the requested subset


def _bucket_keys(pipeline) -> set[str]:
    """Every key in the bucket, whatever its layout."""
    from tests.e2e.conftest import BUCKET

    pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _served(pz, campaign_arn: str) -> dict:
    c = pz.describe_campaign(campaignArn=campaign_arn)["campaign"]
    return {k: c.get(k) for k in ("status", "solutionVersionArn", "minProvisionedTPS", "lastUpdatedDateTime")}


def test_bad_data_fails_in_quality_and_touches_nothing(pipeline, first_run, capfd, caplog):
    """Millisecond timestamps declared as seconds: the interactions data-quality task fails naming the rule;
    nothing new reaches S3, Personalize is untouched and the campaign keeps serving the champion."""
    pz = pipeline.personalize
    group_arn = dataset_group_arn(pz, GROUP)
    before, keys = inventory(pz, group_arn), _bucket_keys(pipeline)
    campaign_arn = before["campaigns"][0]
    served = _served(pz, campaign_arn)

    def ms_as_seconds(cfg):
        ts = next(f for f in cfg["datasets"]["interactions"]["fields"] if f["name"] == "TIMESTAMP")
        ts["timestamp"] = "epoch_s"

    pipeline.config(ms_as_seconds, name="bad.yaml")
    try:
        run = pipeline.run("personalize_retrain")
    finally:
        pipeline.config()
    states = task_states(run)
    assert run.state == "failed"
    assert [t for t, s in states.items() if s == "failed"] == ["prepare_data.prepare_interactions"], states
    assert states["prepare_data.prepare_items"] == states["prepare_data.prepare_users"] == "success"
    assert all(s in ("upstream_failed", "skipped", "None") for t, s in states.items() if t.startswith("solution_"))
    out = capfd.readouterr()
    logs = out.out + out.err + caplog.text
    assert "interactions: data quality failed" in logs and "timestamp_out_of_window" in logs
    assert _bucket_keys(pipeline) == keys  # nothing reached staging (nor anywhere else in the bucket)
    assert inventory(pz, group_arn) == before
    assert _served(pz, campaign_arn) == served  # DescribeCampaign: same version, same status, not updated
    runtime = pipeline.stack.client("personalize-runtime")
    recs = runtime.get_recommendations(campaignArn=campaign_arn, userId=pipeline.a_user(), numResults=5)
    assert recs["itemList"], "the deployed campaign keeps serving"
    (alert,) = pipeline.alerts.messages(run.run_id, "failure")
    assert alert["Subject"] == f"[personalize {GROUP}] FAILED: personalize_retrain.prepare_data.prepare_interactions"
    assert "/tasks/prepare_data.prepare_interactions" in alert["Message"] and "Error:" in alert["Message"]
