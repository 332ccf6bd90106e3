"""The champion/challenger gate as personalize_retrain wires it, on the local stack (after test_10 built the group).

The challengers below are trained on the sample data with the item column shuffled (same popularity, no user
preference signal left), so they score below the champion trained on the real data. The campaign is compared with
DescribeCampaign before and after each step; decisions are read back from the gate records in S3. The last run
trains on the real sample data again and is promoted, so the batch-export tests find the group on that data.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.e2e.conftest import BUCKET, ROOT
from tests.e2e.state import dataset_group_arn, inventory, task_states, xcom

GROUP = "personalize-demo"
CAMPAIGN = "demo-user-personalization"
METRIC = "normalized_discounted_cumulative_gain_at_10"
GATE = "gate_demo_user_personalization"
DEPLOY = "deploy_demo_user_personalization"
CHALLENGER = "solution_demo_user_personalization.log_metrics"
BASELINE = "solution_demo_popularity.log_metrics"
SUBSET = {"solutions": ["demo-user-personalization", "demo-popularity"]}


def _campaign(pipeline) -> dict:
    pz = pipeline.personalize
    arn = inventory(pz, dataset_group_arn(pz, GROUP))["campaigns"][0]
    return pz.describe_campaign(campaignArn=arn)["campaign"]


def _records(pipeline, run_id: str) -> list[dict]:
    from personalize_ops.metrics import load_gate_decisions

    return [r for r in load_gate_decisions(pipeline.s3, BUCKET, GROUP, GROUP, CAMPAIGN) if r["run_id"] == run_id]


def _crippled(noisy, on_fail: str):
    def mutate(cfg):
        for ds in cfg["datasets"].values():
            ds["source"]["path"] = str(noisy / ds["source"]["path"].rsplit("/", 1)[-1])
        cfg["campaigns"][0]["gate"]["on_fail"] = on_fail

    return mutate


def _retrain_dag():
    """The project's personalize_retrain DAG, parsed with the active config (as the dag-processor would)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "personalize_retrain.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag("personalize_retrain")


@pytest.fixture(scope="module")
def noisy(pipeline, tmp_path_factory):
    from tests.e2e.test_10_retrain import _noisy_copy

    return _noisy_copy(pipeline.sample_dir, tmp_path_factory.mktemp("gate-noisy"))


def test_on_fail_fail_fails_the_gate_with_both_numbers_and_leaves_the_campaign(pipeline, noisy, capfd):
    before = _campaign(pipeline)
    pipeline.config(_crippled(noisy, "fail"), name="gate-fail.yaml")
    try:
        run = pipeline.run("personalize_retrain", SUBSET)
    finally:
        pipeline.config()
    out = capfd.readouterr().out
    states = task_states(run)
    assert run.state == "failed"
    assert states[GATE] == "failed" and states[DEPLOY] == "upstream_failed", states
    assert _campaign(pipeline) == before, "no UpdateCampaign: the campaign is exactly as it was"

    [record] = _records(pipeline, run.run_id)
    assert record["promoted"] is False
    assert record["champion_arn"] == before["solutionVersionArn"]
    assert record["challenger_arn"] == xcom(run, CHALLENGER).arn
    assert record["challenger_value"] < record["champion_value"]
    failure = [line for line in out.splitlines() if "GateRejectedError:" in line]
    assert failure, "the gate task's failure is not in the task output"
    assert f"challenger {record['challenger_value']:.4f}" in failure[-1]
    assert f"champion {record['champion_value']:.4f}" in failure[-1]
    assert before["solutionVersionArn"] in failure[-1]


@pytest.fixture(scope="module")
def skipped_run(pipeline, noisy):
    """A worse challenger with ``on_fail: fail`` and ``skip_gate``; returns (run, campaign before)."""
    before = _campaign(pipeline)
    pipeline.config(_crippled(noisy, "fail"), name="gate-skip.yaml")
    try:
        run = pipeline.run("personalize_retrain", {**SUBSET, "skip_gate": True})
    finally:
        pipeline.config()
    return run, before


def test_skip_gate_promotes_a_worse_challenger_and_records_the_skip(pipeline, skipped_run):
    run, before = skipped_run
    assert run.state == "success", task_states(run)
    challenger = xcom(run, CHALLENGER).arn
    after = _campaign(pipeline)
    assert after["solutionVersionArn"] == challenger != before["solutionVersionArn"]
    assert after["latestCampaignUpdate"]["solutionVersionArn"] == challenger
    assert after["latestCampaignUpdate"]["status"] == "ACTIVE"

    [record] = _records(pipeline, run.run_id)
    assert record["promoted"] is True
    assert record["reason"].startswith("promoted: skip_gate set (gate said: not promoted")
    assert record["challenger_arn"] == challenger and record["champion_arn"] == before["solutionVersionArn"]
    assert record["challenger_value"] < record["champion_value"], "the promoted challenger was the worse one"
    assert record["skipped"] is True and xcom(run, GATE).skipped is True


def test_gate_rerun_on_a_campaign_serving_its_challenger_is_a_no_op_even_with_on_fail_fail(
    pipeline, noisy, skipped_run
):
    """Clearing gate + deploy after the run promoted: nothing is decided, recorded, failed or updated again."""
    run, _ = skipped_run
    challenger, baseline = xcom(run, CHALLENGER), xcom(run, BASELINE)
    [stored] = _records(pipeline, run.run_id)
    before = _campaign(pipeline)
    assert before["solutionVersionArn"] == challenger.arn
    pipeline.config(_crippled(noisy, "fail"), name="gate-skip.yaml")
    try:
        dag = _retrain_dag()
        gate = dag.get_task(GATE).python_callable
        for skip in (True, False):
            decision = gate(CAMPAIGN, challenger, baseline, params={"skip_gate": skip}, run_id=run.run_id)
            assert decision.promote is False, decision
            assert decision.reason == f"campaign already serves {challenger.arn}"
        deploy = dag.get_task(DEPLOY)
        deploy.solution_arn, deploy.decision = decision.solution_arn, decision
        assert deploy.execute({}) == before["campaignArn"]
    finally:
        pipeline.config()
    assert _campaign(pipeline) == before, "no UpdateCampaign: lastUpdatedDateTime and latestCampaignUpdate unchanged"
    assert _records(pipeline, run.run_id) == [stored], "the run's recorded decision stands"


@pytest.mark.parametrize("broken", ["nan", "missing"])
def test_a_nan_or_missing_metric_fails_the_gate_and_promotes_nothing(pipeline, skipped_run, broken):
    from airflow.sdk.exceptions import AirflowFailException

    run, _ = skipped_run
    challenger, baseline = xcom(run, CHALLENGER), xcom(run, BASELINE)
    metrics = dict(challenger.metrics)
    if broken == "nan":
        metrics[METRIC] = math.nan
    else:
        del metrics[METRIC]
    challenger = dataclasses.replace(challenger, arn=challenger.arn + "-unserved", metrics=metrics)
    before, records = _campaign(pipeline), _records(pipeline, run.run_id)
    gate = _retrain_dag().get_task(GATE).python_callable
    for skip in (False, True):  # not even skip_gate promotes on a metric that is not a number
        with pytest.raises(AirflowFailException) as err:
            gate(CAMPAIGN, challenger, baseline, params={"skip_gate": skip}, run_id=run.run_id)
        message = str(err.value)
        expected = f"challenger metric {METRIC!r} is nan" if broken == "nan" else f"metrics have no {METRIC!r}"
        assert expected in message and before["solutionVersionArn"] in message
    assert _campaign(pipeline) == before
    assert _records(pipeline, run.run_id) == records, "nothing recorded for a decision that was not made"


def test_a_better_challenger_is_promoted(pipeline, skipped_run):
    """Back on the real sample data: it beats the shuffled-data champion and the campaign is updated."""
    before = _campaign(pipeline)
    pipeline.config()
    run = pipeline.run("personalize_retrain", SUBSET)
    assert run.state == "success", task_states(run)
    challenger = xcom(run, CHALLENGER).arn
    [record] = _records(pipeline, run.run_id)
    assert record["promoted"] is True and record["reason"].startswith("promoted: challenger beats champion")
    assert record["challenger_value"] > record["champion_value"] >= 0
    assert record["challenger_value"] >= record["baseline_value"]
    after = _campaign(pipeline)
    assert after["solutionVersionArn"] == challenger != before["solutionVersionArn"]
    assert after["lastUpdatedDateTime"] > before["lastUpdatedDateTime"]
