"""Day 2 of personalize_retrain on the local stack, in a dataset group of its own: items gain a nullable column between
two runs (the schema is replaced with UpdateDataset and the column filters recommendations), an unchanged run trains
nothing, ``force_train`` trains anyway, and a schema change AWS does not allow is refused before anything is created.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.e2e.state import dataset_group_arn, inventory, schema_arns, task_states, xcom

GROUP = "pz-day2"
SOLUTION, CAMPAIGN, FILTER = "day2-popularity", "day2-popularity", "day2-brand"
PLAN, LOGGED = "solution_day2_popularity.plan_training", "solution_day2_popularity.log_metrics"
BRANDS = ("acme", "zenith")


def _day2(items: Path | None = None, change=None):
    """The shop config as group ``pz-day2`` (interactions and items) with one popularity solution and its campaign;
    with ``items`` (the items file with a brand column) items gain a nullable BRAND field and a filter on it;
    ``change`` edits the result."""

    def mutate(cfg: dict) -> None:
        cfg["dataset_group"].update(name=GROUP, prefix=GROUP)
        cfg["solutions"] = [{"name": SOLUTION, "recipe": "aws-popularity-count"}]
        gate = {"evaluation": "offline_metrics", "on_fail": "warn"}  # popularity retrained on the same events ties
        cfg["campaigns"] = [{"name": CAMPAIGN, "solution": SOLUTION, "gate": gate}]
        cfg["filters"], cfg["batch_jobs"] = [], []
        del cfg["datasets"]["users"]  # the scenario is the items schema's; one dataset less to prepare and import
        cfg.pop("event_tracker", None)
        cfg.pop("metric_attribution", None)
        if items:
            cfg["datasets"]["items"]["source"]["path"] = str(items)
            cfg["datasets"]["items"]["fields"].append({"name": "BRAND", "source": "brand", "nullable": True})
            cfg["filters"] = [{"name": FILTER, "expression": "INCLUDE ItemID WHERE Items.BRAND IN ($BRAND)"}]
        if change:
            change(cfg)

    return mutate


@pytest.fixture(scope="module")
def branded(pipeline, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The sample items with a new ``brand`` column (empty for every fifth item); returns (file, {item: brand})."""
    out = tmp_path_factory.mktemp("day2") / "items.csv"
    with open(pipeline.sample_dir / "items.csv", newline="") as src:
        rows = list(csv.DictReader(src))
    brands = {}
    for i, row in enumerate(rows):
        row["brand"] = "" if i % 5 == 4 else BRANDS[i % 2]
        if row["brand"]:
            brands[row["product"]] = row["brand"]
    with open(out, "w", newline="") as dst:
        writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out, brands


@pytest.fixture(scope="module")
def two_runs(pipeline, branded):
    """Run 1 on the items as they were; run 2 with the new BRAND column and a filter on it."""
    pipeline.config(_day2(), name="day2.yaml")
    first = pipeline.run("personalize_retrain")
    pipeline.config(_day2(branded[0]), name="day2.yaml")
    try:
        second = pipeline.run("personalize_retrain")
    finally:
        pipeline.config()
    return first, second


def _items_dataset(pz) -> dict:
    group = dataset_group_arn(pz, GROUP)
    datasets = pz.list_datasets(datasetGroupArn=group)["datasets"]
    (arn,) = [d["datasetArn"] for d in datasets if d["name"].endswith("-items")]
    return pz.describe_dataset(datasetArn=arn)["dataset"]


def test_a_new_nullable_column_replaces_the_schema_and_filters_recommendations(pipeline, two_runs, branded):
    first, second = two_runs
    assert first.state == "success", task_states(first)
    assert second.state == "success", task_states(second)
    pz = pipeline.personalize
    planned = xcom(second, "datasets.preflight_schemas")
    assert planned == ["datasets.items: schema will be replaced (UpdateDataset), adding BRAND; existing solutions "
                       "leave new columns out of training"]  # fmt: skip
    assert xcom(first, "datasets.preflight_schemas") == []

    dataset = _items_dataset(pz)
    schema = pz.describe_schema(schemaArn=dataset["schemaArn"])["schema"]
    brand = next(f for f in json.loads(schema["schema"])["fields"] if f["name"] == "BRAND")
    assert brand["type"] == ["null", "string"]
    assert dataset["latestDatasetUpdate"]["schemaArn"] == dataset["schemaArn"]
    assert dataset["latestDatasetUpdate"]["status"] == "ACTIVE"
    ensured = "datasets.ensure_dataset_items"
    assert xcom(second, ensured) == dataset["datasetArn"] == xcom(first, ensured)
    jobs = pz.list_dataset_import_jobs(datasetArn=dataset["datasetArn"])["datasetImportJobs"]
    newest = max(jobs, key=lambda j: j["creationDateTime"])
    described = pz.describe_dataset_import_job(datasetImportJobArn=newest["datasetImportJobArn"])["datasetImportJob"]
    assert described["status"] == "ACTIVE"
    assert described["dataSource"]["dataLocation"] == xcom(second, "prepare_data.prepare_items").uri

    # The column filters: every recommendation through the filter has the brand asked for.
    campaign = inventory(pz, dataset_group_arn(pz, GROUP))["campaigns"][0]
    filter_arn = next(f["filterArn"] for f in pz.list_filters(datasetGroupArn=dataset_group_arn(pz, GROUP))["Filters"]
                      if f["name"] == FILTER)  # fmt: skip
    runtime, user, brands = pipeline.stack.client("personalize-runtime"), pipeline.a_user(), branded[1]
    for wanted in BRANDS:
        items = [r["itemId"] for r in runtime.get_recommendations(
            campaignArn=campaign, userId=user, numResults=10, filterArn=filter_arn,
            filterValues={"BRAND": json.dumps(wanted)})["itemList"]]  # fmt: skip
        assert items and {brands.get(i) for i in items} == {wanted}, (wanted, items)
    assert task_states(second)["smoke_test"] == "success"


def test_an_unchanged_run_reuses_the_version_and_force_train_trains(pipeline, two_runs, branded):
    pz = pipeline.personalize
    _, second = two_runs
    trained = xcom(second, LOGGED)
    assert xcom(second, PLAN).action == "train" and trained.origin == "train"
    before = inventory(pz, dataset_group_arn(pz, GROUP))
    pipeline.config(_day2(branded[0]), name="day2.yaml")
    try:
        same = pipeline.run("personalize_retrain")
        forced = pipeline.run("personalize_retrain", {"force_train": True})
    finally:
        pipeline.config()
    assert same.state == "success", task_states(same)
    plan = xcom(same, PLAN)
    assert plan.action == "reuse" and plan.version_arn == trained.arn and xcom(same, LOGGED).origin == "reuse"
    assert f"not retrained: data and configuration unchanged since its newest ACTIVE version {trained.arn}" in (
        plan.reason
    )
    assert plan.fingerprint == xcom(second, PLAN).fingerprint
    assert task_states(same)[f"{PLAN.split('.')[0]}.train"] == "success"

    assert forced.state == "success", task_states(forced)
    assert xcom(forced, PLAN).action == "train"
    after = inventory(pz, dataset_group_arn(pz, GROUP))
    new = set(after["solution_versions"]) - set(before["solution_versions"])
    assert new == {xcom(forced, LOGGED).arn}, "the unchanged run trained nothing, the forced one exactly one version"
    tags = pz.list_tags_for_resource(resourceArn=xcom(forced, LOGGED).arn)["tags"]
    assert {"tagKey": "airflow:training-input", "tagValue": plan.fingerprint} in tags


def test_a_schema_change_aws_refuses_fails_validate_config_and_the_preflight(pipeline, two_runs, branded, capsys):
    """CATEGORY loses its categorical attribute: refused by ``validate-config --live`` and by the run's preflight,
    which fails before any schema, dataset or import is created."""
    from personalize_ops.cli import main

    def uncategorical(cfg):
        next(f for f in cfg["datasets"]["items"]["fields"] if f["name"] == "CATEGORY")["categorical"] = False

    pz = pipeline.personalize
    schemas, before = schema_arns(pz), inventory(pz, dataset_group_arn(pz, GROUP))
    path = pipeline.config(_day2(branded[0], uncategorical), name="day2-refused.yaml")
    try:
        code = main(["validate-config", "--live", str(path)])
        err = capsys.readouterr().err
        run = pipeline.run("personalize_retrain")
    finally:
        pipeline.config()
    assert code == 1
    assert "datasets.items: field CATEGORY changes from" in err and "add a new, nullable field" in err
    states = task_states(run)
    assert run.state == "failed" and states["datasets.preflight_schemas"] == "failed", states
    assert states["datasets.ensure_schema_items"] == "upstream_failed"
    assert schema_arns(pz) == schemas and inventory(pz, dataset_group_arn(pz, GROUP)) == before


def test_teardown_removes_the_group_and_the_schema_the_change_replaced(pipeline, two_runs, branded):
    """The first items schema is used by no dataset after the replacement; teardown deletes it with the rest."""
    pz = pipeline.personalize
    first_items_schema = xcom(two_runs[0], "datasets.ensure_schema_items")
    assert first_items_schema != _items_dataset(pz)["schemaArn"] and first_items_schema in schema_arns(pz)
    ours = {a for a in schema_arns(pz) if pz.describe_schema(schemaArn=a)["schema"]["name"].startswith(f"{GROUP}-")}
    pipeline.config(_day2(branded[0]), name="day2.yaml")
    try:
        run = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP})
    finally:
        pipeline.config()
    assert run.state == "success", task_states(run)
    assert dataset_group_arn(pz, GROUP) is None
    assert first_items_schema in ours and not ours & schema_arns(pz), "every schema of the group is gone"
