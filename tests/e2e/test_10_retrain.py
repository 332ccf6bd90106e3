"""personalize_retrain end to end on the local stack: first run, unchanged re-run, gate, bad data."""

from __future__ import annotations

import pytest

from tests.e2e.state import dataset_group_arn, inventory, task_states

GROUP = "personalize-demo"


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


def _staged_keys(pipeline) -> set[str]:
    from tests.e2e.conftest import BUCKET

    pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="personalize-demo/staging/")
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


def test_second_run_with_unchanged_data_reimports_nothing(pipeline, first_run):
    pz = pipeline.personalize
    before = inventory(pz, dataset_group_arn(pz, GROUP))
    staged = _staged_keys(pipeline)

    run = pipeline.run("personalize_retrain")

    assert run.state == "success", task_states(run)
    after = inventory(pz, dataset_group_arn(pz, GROUP))
    assert after["import_jobs"] == before["import_jobs"]
    assert _staged_keys(pipeline) == staged
    for kind in ("datasets", "solutions", "campaigns", "filters", "event_trackers"):
        assert sorted(after[kind]) == sorted(before[kind]), kind
    assert len(after["solution_versions"]) == len(before["solution_versions"]) + 4


def test_bad_data_fails_in_quality_and_touches_nothing(pipeline, first_run):
    """Millisecond timestamps declared as seconds: the prepare task fails; S3 and Personalize are untouched."""
    pz = pipeline.personalize
    group_arn = dataset_group_arn(pz, GROUP)
    before, staged = inventory(pz, group_arn), _staged_keys(pipeline)

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
    assert states["prepare_data.prepare_interactions"] == "failed"
    assert all(s in ("upstream_failed", "skipped", "None") for t, s in states.items() if t.startswith("solution_"))
    assert _staged_keys(pipeline) == staged
    assert inventory(pz, group_arn) == before
    runtime = pipeline.stack.client("personalize-runtime")
    recs = runtime.get_recommendations(campaignArn=before["campaigns"][0], userId=pipeline.a_user(), numResults=5)
    assert recs["itemList"], "the deployed campaign keeps serving"
