"""Gate task + deploy operator against personalize_local and moto (pipeline/gate_task.py, pipeline/deploy.py).

A campaign serves version v1; the challenger v2 is the same popularity-count recipe retrained on the same data,
so it scores exactly like its champion: a tie, which never promotes. Each step compares DescribeCampaign before
and after and reads the gate record back from S3. The tests run in file order (the skip_gate test promotes v2).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math

import boto3
import pytest
import yaml
from personalize_ops.config import load_config
from personalize_ops.hook import PersonalizeHook
from personalize_ops.metrics import load_gate_decisions
from personalize_ops.operators import PersonalizeCreateSolutionVersionOperator
from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator
from personalize_ops.pipeline.gate_task import GateMetricsError, GateRejectedError, evaluate
from personalize_ops.pipeline.values import TrainedVersion

from tests.personalize_ops.toolkit.helpers import FAST, ROLE, context, put_s3

BUCKET, PREFIX, CAMPAIGN = "toolkit-gate", "gate", "tk-gate-campaign"
METRIC = "normalized_discounted_cumulative_gain_at_10"
LOGGER = "personalize_ops.pipeline.gate_task"


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    path = tmp_path_factory.mktemp("gate-config") / "pipeline.yaml"
    path.write_text(yaml.safe_dump({
        "dataset_group": {"name": "tk-train", "bucket": BUCKET, "prefix": PREFIX, "role_arn": ROLE},
        "datasets": {"interactions": {"source": {"path": "interactions.csv"}, "fields": [
            {"name": "USER_ID"}, {"name": "ITEM_ID"}, {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"}]}},
        "solutions": [{"name": "tk-train-pop", "recipe": "aws-popularity-count"}],
        "campaigns": [{"name": CAMPAIGN, "solution": "tk-train-pop", "gate": {"metric": METRIC, "on_fail": "fail"}}],
    }))  # fmt: skip
    return load_config(path)


def _campaign_spec(cfg, on_fail: str):
    spec = cfg.campaigns[0]
    return spec.model_copy(update={"gate": spec.gate.model_copy(update={"on_fail": on_fail})})


@pytest.fixture(scope="module")
def world(pz_stack, aws_conn_id, group, cfg):
    """v1 served by the campaign (created through the deploy operator), v2 trained; the values the DAG passes."""
    put_s3(pz_stack, BUCKET, "placeholder", b"")
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)

    def trained(identity: str) -> TrainedVersion:
        arn = PersonalizeCreateSolutionVersionOperator(
            task_id="train", solution_arn=group["solution"], run_identity=identity, aws_conn_id=aws_conn_id, **FAST
        ).execute(context())
        metrics = hook.call("GetSolutionMetrics", solutionVersionArn=arn)["metrics"]
        return TrainedVersion("tk-train-pop", "aws-popularity-count", group["solution"], arn, metrics)

    v1, v2 = trained("gate/v1"), trained("gate/v2")
    assert v1.metrics[METRIC] == v2.metrics[METRIC] > 0, "the premise: a retrain on the same data ties"
    first = evaluate(hook, pz_stack.client("s3"), cfg, _campaign_spec(cfg, "fail"), v1, None, "run-0", False)
    assert first.promote is True and first.campaign_arn is None and "no champion" in first.reason
    arn = deploy(aws_conn_id, first)
    return {"hook": hook, "s3": pz_stack.client("s3"), "v1": v1, "v2": v2, "campaign_arn": arn}


def deploy(conn, decision) -> str | None:
    return PersonalizeDeployCampaignOperator(
        task_id="deploy", campaign_name=CAMPAIGN, solution_arn=decision.solution_arn, decision=decision,
        aws_conn_id=conn, **FAST,
    ).execute(context())  # fmt: skip


def describe(pz_stack, world) -> dict:
    return pz_stack.client("personalize").describe_campaign(campaignArn=world["campaign_arn"])["campaign"]


def records(world, run_id: str) -> list[dict]:
    return [r for r in load_gate_decisions(world["s3"], BUCKET, PREFIX, "tk-train", CAMPAIGN) if r["run_id"] == run_id]


def test_first_deploy_creates_the_campaign_on_the_promoted_version(pz_stack, world):
    campaign = describe(pz_stack, world)
    assert campaign["status"] == "ACTIVE" and campaign["solutionVersionArn"] == world["v1"].arn
    [record] = records(world, "run-0")
    assert record["promoted"] is True and record["champion_arn"] is None


def test_on_fail_fail_raises_with_both_numbers_and_touches_nothing(pz_stack, aws_conn_id, cfg, world):
    before = describe(pz_stack, world)
    with pytest.raises(GateRejectedError) as err:
        evaluate(world["hook"], world["s3"], cfg, _campaign_spec(cfg, "fail"), world["v2"], None, "run-fail", False)
    value = f"{world['v1'].metrics[METRIC]:.4f}"
    assert f"challenger {value}, champion {value}" in str(err.value)
    assert world["v1"].arn in str(err.value)
    assert describe(pz_stack, world) == before
    [record] = records(world, "run-fail")
    assert record["promoted"] is False and record["champion_arn"] == world["v1"].arn
    assert record["challenger_arn"] == world["v2"].arn


def test_on_fail_warn_returns_not_promoted_and_deploy_leaves_the_campaign(pz_stack, aws_conn_id, cfg, world, caplog):
    before = describe(pz_stack, world)
    spec = _campaign_spec(cfg, "warn")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        decision = evaluate(world["hook"], world["s3"], cfg, spec, world["v2"], None, "run-warn", False)
    logged = f"Gate {CAMPAIGN}: {decision.reason} [recorded s3://{BUCKET}/"
    [line] = [m for m in caplog.messages if m.startswith(logged)]
    key = line.removeprefix(logged).removesuffix("]")
    assert json.loads(world["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())["run_id"] == "run-warn"
    assert f"Campaign {CAMPAIGN} not promoted: {decision.reason}" in caplog.messages
    assert decision.promote is False and decision.reason.startswith("not promoted")
    assert (decision.challenger_value, decision.champion_value) == (world["v2"].metrics[METRIC],) * 2
    assert decision.campaign_arn == world["campaign_arn"] and decision.champion_arn == world["v1"].arn
    assert (decision.campaign, decision.solution_arn, decision.skipped) == (CAMPAIGN, world["v2"].solution_arn, False)
    assert deploy(aws_conn_id, decision) == world["campaign_arn"]
    assert describe(pz_stack, world) == before
    assert [r["promoted"] for r in records(world, "run-warn")] == [False]


def test_the_baseline_is_part_of_the_decision(pz_stack, cfg, world):
    spec = _campaign_spec(cfg, "warn")
    higher = TrainedVersion("b", "aws-popularity-count", "arn:b", "baseline",
                            {METRIC: world["v2"].metrics[METRIC] + 0.01})  # fmt: skip
    decision = evaluate(world["hook"], world["s3"], cfg, spec, world["v2"], higher, "run-base", True)
    assert decision.promote is True, "skip_gate overrides even the baseline"
    [record] = records(world, "run-base")
    assert record["baseline_value"] == higher.metrics[METRIC]
    assert "below the popularity baseline" in record["reason"] and "skip_gate" in record["reason"]


@pytest.mark.parametrize("broken", ["nan", "inf", "missing"])
def test_a_metric_that_is_not_a_number_fails_and_records_nothing(pz_stack, cfg, world, broken):
    metrics = dict(world["v2"].metrics)
    if broken == "missing":
        del metrics[METRIC]
    else:
        metrics[METRIC] = math.nan if broken == "nan" else math.inf
    challenger = dataclasses.replace(world["v2"], metrics=metrics)
    before = describe(pz_stack, world)
    for skip in (False, True):
        with pytest.raises(GateMetricsError, match=f"campaign {CAMPAIGN} left on {world['v1'].arn}: challenger"):
            evaluate(world["hook"], world["s3"], cfg, _campaign_spec(cfg, "warn"), challenger, None, "run-nan", skip)
    assert describe(pz_stack, world) == before and records(world, "run-nan") == []


def test_skip_gate_promotes_the_tie_and_deploy_updates_the_campaign(pz_stack, aws_conn_id, cfg, world):
    before = describe(pz_stack, world)
    spec = _campaign_spec(cfg, "fail")
    decision = evaluate(world["hook"], world["s3"], cfg, spec, world["v2"], None, "run-skip", True)
    assert decision.promote is True and decision.reason.startswith("promoted: skip_gate set (gate said: not")
    assert decision.skipped is True
    assert deploy(aws_conn_id, decision) == world["campaign_arn"]
    after = describe(pz_stack, world)
    assert after["solutionVersionArn"] == world["v2"].arn != before["solutionVersionArn"]
    assert after["latestCampaignUpdate"]["solutionVersionArn"] == world["v2"].arn
    assert after["lastUpdatedDateTime"] > before["lastUpdatedDateTime"]
    [record] = records(world, "run-skip")
    assert record["promoted"] is True and record["reason"] == decision.reason


def test_rerun_after_the_promotion_is_a_no_op_even_with_on_fail_fail(pz_stack, aws_conn_id, cfg, world, caplog):
    [stored] = records(world, "run-skip")
    before = describe(pz_stack, world)
    spec = _campaign_spec(cfg, "fail")
    for skip in (True, False):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=LOGGER):
            decision = evaluate(world["hook"], world["s3"], cfg, spec, world["v2"], None, "run-skip", skip)
        logged = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert logged == [f"Gate {CAMPAIGN}: {decision.reason}; this run decided earlier: {stored['reason']}"]
        assert decision.promote is False
        assert decision.reason == f"campaign already serves {world['v2'].arn}"
        assert deploy(aws_conn_id, decision) == world["campaign_arn"]
    assert describe(pz_stack, world) == before, "no UpdateCampaign"
    assert records(world, "run-skip") == [stored]
    # in a run that never promoted it, "already serves" is recorded as the run's decision, not a failure
    decision = evaluate(world["hook"], world["s3"], cfg, spec, world["v2"], None, "run-later", False)
    assert decision.promote is False and "already serves" in decision.reason
    assert [(r["promoted"], r["reason"]) for r in records(world, "run-later")] == [(False, decision.reason)]


def test_a_rerun_on_the_served_challenger_sends_no_alert(pz_stack, cfg, world):
    """Nothing is decided again, so nothing is announced: with a channel for every gate event the re-run needs no
    task context (notify would ask for the running task's) and sends nothing."""
    from personalize_ops.config import Notifications

    topic = "arn:aws:sns:us-east-1:000000000000:gate-alerts"
    alerting = cfg.model_copy(update={"notifications": Notifications.model_validate(
        {"sns": [{"topic_arn": topic, "events": ["promoted", "not_promoted"]}]})})  # fmt: skip
    decision = evaluate(world["hook"], world["s3"], alerting, _campaign_spec(cfg, "fail"), world["v2"], None,
                        "run-skip", False)  # fmt: skip
    assert decision.already_serving and decision.promote is False


def test_a_missing_metric_names_the_baseline_too(pz_stack, cfg, world):
    baseline = TrainedVersion("b", "aws-popularity-count", "arn:b", "arn:baseline-version", {METRIC: 0.1})
    challenger = dataclasses.replace(world["v2"], metrics={})
    with pytest.raises(GateMetricsError) as err:
        evaluate(world["hook"], world["s3"], cfg, _campaign_spec(cfg, "warn"), challenger, baseline, "run-nan", False)
    assert str(err.value).endswith(f"champion {world['v2'].arn}, baseline arn:baseline-version)")


def test_a_campaign_of_the_same_name_on_another_solution_is_no_champion(pz_stack, aws_conn_id, cfg, world):
    """The champion is what this solution's campaign serves: a version of another solution (trained otherwise)
    is never what the challenger is compared with."""
    from tests.personalize_ops.toolkit.helpers import POPULARITY, ensure_once

    dsg = pz_stack.client("personalize").describe_solution(solutionArn=world["v2"].solution_arn)["solution"]
    other = ensure_once(aws_conn_id, "solution", "tk-gate-other", dsg["datasetGroupArn"], {"recipeArn": POPULARITY})
    challenger = dataclasses.replace(world["v2"], solution_arn=other)
    decision = evaluate(world["hook"], world["s3"], cfg, _campaign_spec(cfg, "fail"), challenger, None, "run-other",
                        False)  # fmt: skip
    assert (decision.campaign_arn, decision.champion_arn) == (None, None)
    assert decision.promote is True and "no champion" in decision.reason


def test_the_alert_shows_the_metrics_of_challenger_champion_and_baseline(pz_stack, cfg, world, monkeypatch):
    """The not_promoted alert, delivered to an SNS topic (moto server) with an SQS subscription."""
    from personalize_ops.config import Notifications

    from personalize_local.stack import airflow_connection_json
    from tests.personalize_ops.test_notifications_delivery import received

    sns = boto3.client("sns", endpoint_url=pz_stack.s3_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=pz_stack.s3_endpoint, region_name="us-east-1")
    topic = sns.create_topic(Name="gate-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="gate-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("AIRFLOW_CONN_AWS_ALERTS", airflow_connection_json(pz_stack.s3_endpoint))
    alerting = cfg.model_copy(update={"notifications": Notifications.model_validate(
        {"sns": [{"topic_arn": topic, "aws_conn_id": "aws_alerts", "events": ["not_promoted"]}]})})  # fmt: skip
    challenger = dataclasses.replace(world["v2"], arn="arn:challenger-v3")
    baseline = TrainedVersion("b", "aws-popularity-count", "arn:b", "arn:baseline-version", {METRIC: 0.0123})
    decision = evaluate(world["hook"], world["s3"], alerting, _campaign_spec(cfg, "warn"), challenger, baseline,
                        "run-alert", False)  # fmt: skip
    assert decision.promote is False
    (envelope,) = received(sqs, queue)
    rows = {line.split()[0]: line for line in envelope["Message"].splitlines() if line.split()[:1]}
    value = f"{world['v2'].metrics[METRIC]:.4f}"
    assert value in rows["challenger"] and value in rows["champion"]
    assert "0.0123" in rows["baseline"]
