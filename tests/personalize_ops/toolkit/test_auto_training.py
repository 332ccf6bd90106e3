"""Automatic training picked up by the pipeline (pipeline/auto_training.py, training_reuse.py), on a local stack whose
days last one second (personalize_local's --auto-training-seconds-per-day): the pipeline trains nothing for a solution
with ``perform_auto_training``; it takes the newest ACTIVE version AWS trained, logs its metrics, gates and deploys it.
"""

from __future__ import annotations

import time

import pytest
import yaml
from helpers import FAST, ROLE, context, ensure_once, interactions_csv, put_s3
from personalize_ops.config import load_config
from personalize_ops.hook import PersonalizeHook
from personalize_ops.metrics import load_history
from personalize_ops.pipeline import requests
from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator
from personalize_ops.pipeline.gate_task import evaluate
from personalize_ops.pipeline.metrics_task import log_version
from personalize_ops.pipeline.training_reuse import PersonalizeTrainOrReuseOperator, plan_training
from personalize_ops.pipeline.values import StagedDataset, TrainedVersion

from personalize_local.stack import LocalStack
from tests.fixtures.stack import MIN_DELAY

CONN, GROUP, SOLUTION, BUCKET = "pz_auto", "tk-auto", "tk-auto-pop", "toolkit-auto"
SCHEMA = ('{"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "fields": '
          '[{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"}, '
          '{"name": "TIMESTAMP", "type": "long"}], "version": "1.0"}')  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack of its own where a day of automatic training schedules lasts one second."""
    with LocalStack(tmp_path_factory.mktemp("auto"), min_delay=MIN_DELAY, auto_training_seconds_per_day=1) as st:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(f"AIRFLOW_CONN_{CONN.upper()}", st.airflow_connection_json())
            yield st


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    path = tmp_path_factory.mktemp("auto-config") / "pipeline.yaml"
    path.write_text(yaml.safe_dump({
        "dataset_group": {"name": GROUP, "aws_conn_id": CONN, "bucket": BUCKET, "prefix": "auto", "role_arn": ROLE},
        "datasets": {"interactions": {"source": {"path": "interactions.csv"}, "fields": [
            {"name": "USER_ID"}, {"name": "ITEM_ID"}, {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"}]}},
        "solutions": [{"name": SOLUTION, "recipe": "aws-popularity-count", "perform_auto_training": True,
                       "auto_training_schedule": "rate(1 day)"}],
        "campaigns": [{"name": SOLUTION, "solution": SOLUTION, "gate": {"evaluation": "offline_metrics"}}],
    }))  # fmt: skip
    return load_config(path)


def _import(stack, dataset: str, name: str, body: bytes) -> str:
    location = put_s3(stack, BUCKET, f"data/{name}.csv", body)
    ensure_once(CONN, "dataset_import_job", name, dataset, {"dataSource": {"dataLocation": location}})
    return location


def _automatic(stack, solution: str, count: int, deadline_s: float = 120) -> list[dict]:
    """The solution's versions once ``count`` automatic ones are ACTIVE (AWS's scheduler, sped up)."""
    pz, deadline = stack.client("personalize"), time.monotonic() + deadline_s
    while True:
        versions = [pz.describe_solution_version(solutionVersionArn=v["solutionVersionArn"])["solutionVersion"]
                    for v in pz.list_solution_versions(solutionArn=solution)["solutionVersions"]]  # fmt: skip
        if sum(v["status"] == "ACTIVE" and v["trainingType"] == "AUTOMATIC" for v in versions) >= count:
            return versions
        assert time.monotonic() < deadline, f"no {count} ACTIVE automatic versions within {deadline_s}s: {versions}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def world(stack, cfg):
    group = ensure_once(CONN, "dataset_group", GROUP)
    schema = ensure_once(CONN, "schema", f"{GROUP}-interactions", config={"schema": SCHEMA})
    dataset = ensure_once(CONN, "dataset", f"{GROUP}-interactions", group,
                          {"datasetType": "INTERACTIONS", "schemaArn": schema})  # fmt: skip
    _import(stack, dataset, "first", interactions_csv())
    sol = cfg.solution(SOLUTION)
    request = requests.solution_request(sol)
    assert request["performAutoTraining"] is True
    assert request["solutionConfig"]["autoTrainingConfig"] == {"schedulingExpression": "rate(1 day)"}
    solution = ensure_once(CONN, "solution", SOLUTION, group, request)
    return {"group": group, "dataset": dataset, "solution": solution, "hook": PersonalizeHook(aws_conn_id=CONN)}


def _staged(digest: str) -> dict[str, StagedDataset]:
    return {"interactions": StagedDataset("interactions", 1500, 1500, digest, f"s3://{BUCKET}/staged.csv", True)}


def _step(stack, cfg, world, run_id: str, digest: str):
    """The retrain DAG's solution branch and gate for the auto-trained solution: plan, train, metrics, gate, deploy."""
    hook, sol = world["hook"], cfg.solution(SOLUTION)
    plan = plan_training(hook, cfg, sol, world["solution"], _staged(digest), force=True)
    arn = PersonalizeTrainOrReuseOperator(task_id="train", plan=plan, solution_arn=world["solution"], aws_conn_id=CONN,
                                          **FAST).execute(context(run_id=run_id))  # fmt: skip
    metrics = hook.call("GetSolutionMetrics", solutionVersionArn=arn)["metrics"]
    trained = TrainedVersion(SOLUTION, sol.recipe, world["solution"], arn, metrics, origin=plan.action)
    s3 = stack.client("s3")
    log_version(s3, cfg, trained, _staged(digest)["interactions"], run_id)
    decision = evaluate(hook, s3, cfg, cfg.campaigns[0], trained, None, run_id, False)
    campaign = PersonalizeDeployCampaignOperator(
        task_id="deploy", campaign_name=SOLUTION, solution_arn=world["solution"], decision=decision,
        aws_conn_id=CONN, **FAST,
    ).execute(context(run_id=run_id))  # fmt: skip
    return plan, arn, decision, campaign


def test_the_pipeline_deploys_the_newest_automatic_version_and_trains_nothing(stack, cfg, world):
    pz = stack.client("personalize")
    versions = _automatic(stack, world["solution"], 1)
    (auto,) = [v for v in versions if v["status"] == "ACTIVE"]

    plan, arn, decision, campaign = _step(stack, cfg, world, "run-1", "aa" * 32)

    assert plan.action == "automatic" and plan.version_arn == arn == auto["solutionVersionArn"], plan
    assert "automatic training is on" in plan.reason
    assert decision.promote and decision.solution_version_arn == arn
    assert pz.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"] == arn
    history = load_history(stack.client("s3"), BUCKET, "auto", GROUP)
    assert [r["solution_version_arn"] for r in history] == [arn], "its metrics were logged to the history"
    after = pz.list_solution_versions(solutionArn=world["solution"])["solutionVersions"]
    types = {pz.describe_solution_version(solutionVersionArn=v["solutionVersionArn"])["solutionVersion"]["trainingType"]
             for v in after}  # fmt: skip
    assert types == {"AUTOMATIC"}, "force_train does not make the pipeline train an auto-trained solution"


def test_new_interactions_lead_to_a_newer_automatic_version_which_the_next_run_takes(stack, cfg, world):
    pz = stack.client("personalize")
    first = _automatic(stack, world["solution"], 1)
    _import(stack, world["dataset"], "second", interactions_csv(users=80, seed=8))
    versions = _automatic(stack, world["solution"], 2)
    newest = max((v for v in versions if v["status"] == "ACTIVE"), key=lambda v: v["creationDateTime"])
    assert newest["solutionVersionArn"] not in {v["solutionVersionArn"] for v in first}

    plan, arn, decision, campaign = _step(stack, cfg, world, "run-2", "bb" * 32)

    assert plan.action == "automatic" and arn == newest["solutionVersionArn"]
    assert decision.champion_arn != arn and decision.solution_version_arn == arn
    served = pz.describe_campaign(campaignArn=campaign)["campaign"]
    expected = arn if decision.promote else decision.champion_arn
    latest = served.get("latestCampaignUpdate") or {}
    assert latest.get("solutionVersionArn", served["solutionVersionArn"]) == expected


def test_before_the_first_automatic_training_the_plan_is_none_with_the_reason(aws_conn_id, group, cfg, uid):
    """On the session's stack days are real: the first automatic training is an hour away, so there is nothing to
    take yet; the DAG skips the solution's branch with this reason (and trains nothing)."""
    name = f"tk-auto-{uid}"
    sol = cfg.solution(SOLUTION).model_copy(update={"name": name})
    solution = ensure_once(aws_conn_id, "solution", name, group["dataset_group"], requests.solution_request(sol))
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    plan = plan_training(hook, cfg, sol, solution, _staged("cc" * 32), force=False)
    assert plan.action == "none" and plan.version_arn is None
    assert plan.reason.startswith(f"{name}: automatic training has not made an ACTIVE version yet")
    assert list(hook.list("solution_version", solution)) == []
