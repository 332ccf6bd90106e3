"""Two pipelines in one deployment (a folder of configs): both retrain; the teardown of one leaves the other as it was.

"north" is the demo shop config on the session's sample data, cut to its interactions and the gated pair of
solutions; "south" is the media catalog config on data the same generator makes with other parameters. Each has its
own dataset group, S3 prefix and DAGs (``personalize_<kind>__north`` / ``__south``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import BUCKET, ROOT
from tests.e2e.state import dataset_group_arn, inventory, task_states, xcom
from tests.fixtures.pipeline import interactions_only

NORTH, SOUTH = "pz-north", "pz-south"


def _north(pipeline) -> dict:
    """The shop config as the e2e tier runs it, cut to its interactions, the gated pair of solutions with their
    campaign and its interactions-only filter, with its own group and resource names: its teardown still removes
    resources of each kind south has (a dataset and its schema, import jobs, solutions and versions, a campaign, a
    filter), and a retrain less than the whole shop's to build them."""
    cfg = yaml.safe_load(pipeline.config().read_text())
    keep = {"demo-user-personalization", "demo-popularity"}
    filters = [f for f in cfg["filters"] if "Items." not in f["expression"]]  # exclude-interacted
    interactions_only(cfg)
    cfg["solutions"], cfg["filters"] = [s for s in cfg["solutions"] if s["name"] in keep], filters
    cfg["dataset_group"].update(name=NORTH, prefix=NORTH)
    for section in ("solutions", "campaigns", "filters"):
        for item in cfg[section]:
            item["name"] = "north-" + item["name"]
    campaign = cfg["campaigns"][0]
    campaign["solution"], campaign["gate"]["beat_baseline"] = "north-demo-user-personalization", "north-demo-popularity"
    return cfg


def _south(pipeline, data: Path) -> dict:
    cfg = yaml.safe_load((ROOT / "include" / "pipelines" / "media.yaml").read_text())
    cfg["dataset_group"].update(name=SOUTH, prefix=SOUTH, bucket=BUCKET)
    for ds in cfg["datasets"].values():
        ds["source"]["path"] = str(data / Path(ds["source"]["path"]).name)
    cfg["batch_jobs"] = []
    cfg["notifications"] = pipeline.alerts.section()
    return cfg


def _objects(pipeline, prefix: str) -> dict[str, str]:
    pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def _described(pipeline, group: str) -> dict:
    """Every resource of a group, described (status, version served, update times: any change shows)."""
    pz = pipeline.personalize
    inv = inventory(pz, dataset_group_arn(pz, group))
    describe = {
        "datasets": lambda a: pz.describe_dataset(datasetArn=a)["dataset"],
        "import_jobs": lambda a: pz.describe_dataset_import_job(datasetImportJobArn=a)["datasetImportJob"],
        "solutions": lambda a: pz.describe_solution(solutionArn=a)["solution"],
        "solution_versions": lambda a: pz.describe_solution_version(solutionVersionArn=a)["solutionVersion"],
        "campaigns": lambda a: pz.describe_campaign(campaignArn=a)["campaign"],
        "filters": lambda a: pz.describe_filter(filterArn=a)["filter"],
        "schemas": lambda a: pz.describe_schema(schemaArn=a)["schema"],
    }
    return {kind: [describe[kind](arn) for arn in arns] for kind, arns in inv.items() if kind in describe}


@pytest.fixture(scope="module")
def two_pipelines(pipeline, tmp_path_factory):
    """Both pipelines retrained from one folder of configs; the environment goes back to one file afterwards."""
    from personalize_ops.sample_data import generate

    media = tmp_path_factory.mktemp("media-data")
    generate(media, 8_000, seed=11)
    pipeline.folder({"north": _north(pipeline), "south": _south(pipeline, media)})
    try:
        runs = {name: pipeline.run(f"personalize_retrain__{name}") for name in ("north", "south")}
        yield runs
    finally:
        pipeline.env.delenv("PERSONALIZE_PIPELINES_DIR", raising=False)
        pipeline.config()


def test_both_pipelines_retrain_into_their_own_dataset_groups(pipeline, two_pipelines):
    pz = pipeline.personalize
    for name, group, campaign in (("north", NORTH, "north-demo-user-personalization"),
                                  ("south", SOUTH, "media-for-you")):  # fmt: skip
        run = two_pipelines[name]
        assert run.state == "success", {t: s for t, s in task_states(run).items() if s != "success"}
        assert run.dag_id == f"personalize_retrain__{name}"
        inv = inventory(pz, dataset_group_arn(pz, group))
        assert len(inv["solutions"]) == len(inv["solution_versions"]) == 2 and len(inv["campaigns"]) == 1
        decision = xcom(run, f"gate_{campaign.replace('-', '_')}")
        assert decision.promote and decision.campaign == campaign
        assert _objects(pipeline, group), f"{group}: staged data and metric history under its own prefix"
    south_items = inventory(pz, dataset_group_arn(pz, SOUTH))
    assert len(south_items["datasets"]) == 2  # media: interactions and items only


def test_teardown_of_one_pipeline_leaves_the_other_untouched(pipeline, two_pipelines):
    pz = pipeline.personalize
    before, objects = _described(pipeline, SOUTH), _objects(pipeline, SOUTH)
    wipe = {"dry_run": False, "confirm": NORTH, "delete_staging": True, "delete_metric_history": True,
            "delete_gate_decisions": True}  # fmt: skip
    run = pipeline.run("personalize_teardown__north", wipe)
    assert run.state == "success", task_states(run)
    assert dataset_group_arn(pz, NORTH) is None
    assert _objects(pipeline, f"{NORTH}/metrics") == {} and _objects(pipeline, f"{NORTH}/staging") == {}
    assert _described(pipeline, SOUTH) == before, "the other pipeline's resources are exactly as they were"
    assert _objects(pipeline, SOUTH) == objects, "and so are its S3 objects"
    refused = pipeline.run("personalize_teardown__south", {"dry_run": False, "confirm": NORTH})
    assert refused.state == "failed" and dataset_group_arn(pz, SOUTH) is not None, "confirm names the group"
