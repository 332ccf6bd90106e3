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
