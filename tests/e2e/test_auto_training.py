"""Automatic training picked up by personalize_retrain (``dag.test()``) on a local stack of its own whose days are
compressed (personalize_local's --auto-training-seconds-per-day): for a user-personalization solution with
``perform_auto_training`` the pipeline trains nothing; the first run, before AWS's first automatic training, skips the
solution's training with the reason; once AWS has trained an ACTIVE automatic version, the next run logs its metrics,
gates it and puts it on the campaign.
"""

from __future__ import annotations

import time

import pytest

from personalize_local.stack import LocalStack
from tests.e2e.conftest import AlertInbox, Pipeline
from tests.e2e.state import dataset_group_arn, task_ended, task_states, xcom
from tests.fixtures.pipeline import connection_json, interactions_only
from tests.fixtures.stack import MIN_DELAY

GROUP = SOLUTION = CAMPAIGN = "pz-auto"
BUCKET = "pz-e2e-auto"
BRANCH = "solution_pz_auto"
PLAN, LOGGED, GATE = f"{BRANCH}.plan_training", f"{BRANCH}.log_metrics", "gate_pz_auto"
# A day of automatic-training schedules lasts DAY_SECONDS: AWS's first automatic training, "within an hour" after the
# solution is ACTIVE, comes DAY_SECONDS / 24 = 10 s after the first run created it; that run's plan_training comes
# right after the solution is ACTIVE, well inside that hour. The next (daily) one would be 4 minutes later.
DAY_SECONDS = 240
EVENTS = 2_000


@pytest.fixture(scope="module")
def auto(airflow_db, tmp_path_factory):
    """A Pipeline on a stack of its own (compressed days), tiny sample data, a config with one user-personalization
    solution with automatic training and its campaign; the environment is restored and the stack stopped at the end."""
    from personalize_ops.sample_data import generate

    sample = tmp_path_factory.mktemp("auto-sample")
    generate(sample, EVENTS, seed=11)
    with LocalStack(tmp_path_factory.mktemp("auto-stack"), min_delay=MIN_DELAY,
                    auto_training_seconds_per_day=DAY_SECONDS) as stack:  # fmt: skip
        alerts = AlertInbox(stack.s3_endpoint)
        with pytest.MonkeyPatch.context() as env:
            env.delenv("PERSONALIZE_PIPELINES_DIR", raising=False)
            env.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_json(stack))
            env.setenv("PERSONALIZE_WORK_DIR", str(tmp_path_factory.mktemp("auto-work")))
            env.setenv(f"AIRFLOW_CONN_{AlertInbox.CONN_ID.upper()}", alerts.connection)
            p = Pipeline(stack, sample, tmp_path_factory.mktemp("auto-pipeline"), env, alerts)
            p.s3.create_bucket(Bucket=BUCKET)
            p.config(_auto_config, name="auto.yaml")
            yield p


def _auto_config(cfg: dict) -> None:
    """The shop config reduced to interactions, one user-personalization solution AWS trains, and its campaign."""
    cfg["dataset_group"].update(name=GROUP, prefix=GROUP, bucket=BUCKET)
    interactions_only(cfg)
    cfg["solutions"] = [{"name": SOLUTION, "recipe": "aws-user-personalization", "perform_auto_training": True,
                         "auto_training_schedule": "rate(1 day)"}]  # fmt: skip
    cfg["campaigns"] = [{"name": CAMPAIGN, "solution": SOLUTION, "gate": {"evaluation": "offline_metrics"}}]


def _solution_arn(pz) -> str:
    (arn,) = [s["solutionArn"] for s in pz.list_solutions(datasetGroupArn=dataset_group_arn(pz, GROUP))["solutions"]
              if s["name"] == SOLUTION]  # fmt: skip
    return arn


def _versions(pz, solution_arn: str) -> list[dict]:
    """The solution's versions as DescribeSolutionVersion shows them."""
    return [pz.describe_solution_version(solutionVersionArn=v["solutionVersionArn"])["solutionVersion"]
            for v in pz.list_solution_versions(solutionArn=solution_arn)["solutionVersions"]]  # fmt: skip


def _first_automatic(pz, solution_arn: str, deadline_s: float = 120) -> dict:
    """The first ACTIVE automatic version, once AWS's (sped-up) scheduler has trained it."""
    deadline = time.monotonic() + deadline_s
    while True:
        versions = _versions(pz, solution_arn)
        active = [v for v in versions if v["status"] == "ACTIVE" and v["trainingType"] == "AUTOMATIC"]
        if active:
            return active[0]
        assert time.monotonic() < deadline, f"no ACTIVE automatic version within {deadline_s}s: {versions}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def runs(auto):
    """Run 1 right after the pipeline created the solution; run 2 once AWS trained its first automatic version."""
    pz = auto.personalize
    first = auto.run("personalize_retrain")
    solution_arn = _solution_arn(pz)
    after_first = {"versions": _versions(pz, solution_arn),
                   "campaigns": pz.list_campaigns(solutionArn=solution_arn)["campaigns"]}  # fmt: skip
    version = _first_automatic(pz, solution_arn)
    second = auto.run("personalize_retrain")
    return {"first": first, "second": second, "solution": solution_arn, "after_first": after_first,
            "version": version}  # fmt: skip


def test_before_aws_trained_a_version_the_run_skips_training_with_the_reason(auto, runs):
    first = runs["first"]
    states = task_states(first)
    assert first.state == "success", states
    assert states[PLAN] == "skipped", states
    assert states[f"{BRANCH}.train"] == "skipped" and states[LOGGED] == "skipped", states
    assert states[GATE] == "skipped", states
    assert xcom(first, PLAN) is None
    # The skip's reason is the run's log of plan_training.
    assert (f"{SOLUTION}: automatic training has not made an ACTIVE version yet (AWS starts the first one within an "
            f"hour after the solution is ACTIVE") in auto.printed[first.run_id]  # fmt: skip
    # Nothing was trained by the pipeline, nothing logged, no campaign yet.
    versions = runs["after_first"]["versions"]
    assert all(v["trainingType"] == "AUTOMATIC" for v in versions), versions
    # The premise, by the clock not by racing it: whatever AWS trained became ACTIVE after the run had planned.
    planned = task_ended(first, PLAN)
    early = [v for v in versions if v["status"] == "ACTIVE" and v["lastUpdatedDateTime"] <= planned]
    assert not early, f"the run came after AWS's first training (planned at {planned}): {early}"
    assert runs["after_first"]["campaigns"] == []
    from personalize_ops.metrics import load_history

    history = load_history(auto.s3, BUCKET, GROUP, GROUP)
    assert [r for r in history if r["run_id"] == first.run_id] == []


def test_the_next_run_logs_gates_and_deploys_the_automatic_version_and_trains_nothing(auto, runs):
    from personalize_ops.metrics import load_history

    pz, second, version = auto.personalize, runs["second"], runs["version"]
    arn = version["solutionVersionArn"]
    assert second.state == "success", task_states(second)
    plan = xcom(second, PLAN)
    assert plan.action == "automatic" and plan.version_arn == arn, plan
    assert plan.reason == f"{SOLUTION}: automatic training is on; using the newest ACTIVE automatic version {arn}"
    logged = xcom(second, LOGGED)
    assert logged.arn == arn and logged.origin == "automatic"

    # Its metrics are in the S3 metric history, as GetSolutionMetrics reports them.
    metrics = pz.get_solution_metrics(solutionVersionArn=arn)["metrics"]
    (record,) = [r for r in load_history(auto.s3, BUCKET, GROUP, GROUP) if r["run_id"] == second.run_id]
    assert record["solution_version_arn"] == arn and record["solution"] == SOLUTION
    assert record["metrics"] == pytest.approx(metrics)

    # The gate promoted it (no champion yet) and the campaign serves it.
    decision = xcom(second, GATE)
    assert decision.promote and decision.solution_version_arn == arn, decision
    (campaign,) = pz.list_campaigns(solutionArn=runs["solution"])["campaigns"]
    described = pz.describe_campaign(campaignArn=campaign["campaignArn"])["campaign"]
    assert described["status"] == "ACTIVE" and described["solutionVersionArn"] == arn
    assert task_states(second)["smoke_test"] == "success"

    # Every version of the solution is one AWS trained: the pipeline created none.
    versions = _versions(pz, runs["solution"])
    assert arn in {v["solutionVersionArn"] for v in versions}
    assert {v["trainingType"] for v in versions} == {"AUTOMATIC"}, versions
