"""UpdateDataset: replacing an Items or Users dataset's schema to add columns, by the rules of "Replacing a
dataset's schema to add new columns"; latestDatasetUpdate; imports and filters with the new column."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from personalize_local.backend import Backend
from personalize_local.kinds import ARN_PREFIX
from personalize_local.scope import request_region
from tests.personalize_local.helpers import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    items_csv,
    make_bucket,
    put,
    uid,
    wait_status,
)

ITEM_FIELDS = json.loads(ITEMS_SCHEMA)["fields"]
STUDIO = {"name": "STUDIO", "type": ["null", "string"], "categorical": True}


def schema_text(fields: list[dict], name: str = "Items") -> str:
    return json.dumps(
        {"type": "record", "name": name, "namespace": "com.amazonaws.personalize.schema", "fields": fields}
    )


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def wait_dataset_update(pz, dataset: str, timeout: float = 30.0) -> list[dict]:
    """Every Describe answer until latestDatasetUpdate is ACTIVE or CREATE FAILED (the last one included)."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        desc = pz.describe_dataset(datasetArn=dataset)["dataset"]
        seen.append(desc)
        if desc["latestDatasetUpdate"]["status"] in ("ACTIVE", "CREATE FAILED"):
            return seen
        assert time.monotonic() < deadline, desc
        time.sleep(0.01)


@pytest.fixture(scope="module")
def items_group(sc):
    """A group with interactions and items imported, a popularity campaign, and the items dataset."""
    group, bucket = sc.populated_group(with_items=True)
    items = next(
        d["datasetArn"] for d in sc.pz.list_datasets(datasetGroupArn=group)["datasets"] if d["datasetType"] == "ITEMS"
    )
    version = sc.version(sc.solution(group))
    assert version["status"] == "ACTIVE", version
    campaign = sc.pz.create_campaign(
        name=uid("camp"),
        solutionVersionArn=version["solutionVersionArn"],
        campaignConfig={"enableMetadataWithRecommendations": True},
    )["campaignArn"]
    wait_status(lambda: sc.pz.describe_campaign(campaignArn=campaign), "campaign")
    return {"group": group, "bucket": bucket, "items": items, "campaign": campaign}


@pytest.mark.parametrize(
    "fields, rule",
    [
        (ITEM_FIELDS[:2], "must keep all fields in the previous schema"),  # YEAR dropped
        ([*ITEM_FIELDS[:2], {"name": "YEAR", "type": "long"}], "can't change the data types or attributes"),
        ([ITEM_FIELDS[0], {"name": "GENRE", "type": "string"}, ITEM_FIELDS[2]], "can't change the data types or"),
        ([*ITEM_FIELDS, {"name": "STUDIO", "type": "string"}], "all new fields must support null"),
    ],
    ids=["field dropped", "type changed", "categorical attribute dropped", "new field not nullable"],
)
def test_a_replacement_schema_breaking_a_rule_is_refused_naming_it(sc, items_group, fields, rule):
    schema = sc.schema(schema_text(fields))
    code, message = error_of(lambda: sc.pz.update_dataset(datasetArn=items_group["items"], schemaArn=schema))
    assert code == "InvalidInputException" and rule in message, message
    desc = sc.pz.describe_dataset(datasetArn=items_group["items"])["dataset"]
    assert desc["schemaArn"] != schema and "latestDatasetUpdate" not in desc  # nothing was started


def test_only_items_and_users_datasets_can_replace_their_schema(sc, items_group):
    interactions = next(
        d["datasetArn"]
        for d in sc.pz.list_datasets(datasetGroupArn=items_group["group"])["datasets"]
        if d["datasetType"] == "INTERACTIONS"
    )
    wider = json.loads(INTERACTIONS_SCHEMA)
    wider["fields"].append({"name": "DEVICE", "type": ["null", "string"], "categorical": True})
    schema = sc.schema(json.dumps(wider))
    code, message = error_of(lambda: sc.pz.update_dataset(datasetArn=interactions, schemaArn=schema))
    assert code == "InvalidInputException"
    assert "You can't replace the schema of an INTERACTIONS dataset" in message, message
    code, _ = error_of(lambda: sc.pz.update_dataset(datasetArn=interactions, schemaArn=schema + "-missing"))
    assert code == "ResourceNotFoundException"


def test_a_new_column_is_imported_and_filters_recommendations(sc, items_group):
    pz, dataset = sc.pz, items_group["items"]
    before = pz.describe_dataset(datasetArn=dataset)["dataset"]
    # the same fields in another order, categorical GENRE as a ["string"] union: still the same fields
    new_schema = sc.schema(
        schema_text([STUDIO, ITEM_FIELDS[2], {**ITEM_FIELDS[1], "type": ["string"]}, ITEM_FIELDS[0]])
    )
    assert pz.update_dataset(datasetArn=dataset, schemaArn=new_schema)["datasetArn"] == dataset
    seen = wait_dataset_update(pz, dataset)
    for desc in seen:  # the dataset keeps its schema until the update is ACTIVE, and stays ACTIVE throughout
        update = desc["latestDatasetUpdate"]
        assert desc["status"] == "ACTIVE" and update["schemaArn"] == new_schema
        assert update["status"] in ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"), update
        assert desc["schemaArn"] == (new_schema if update["status"] == "ACTIVE" else before["schemaArn"])
    update = seen[-1]["latestDatasetUpdate"]
    assert update["creationDateTime"] <= update["lastUpdatedDateTime"] and "failureReason" not in update

    # an INCREMENTAL import with the new column, checked against the new schema
    full = items_csv().decode().splitlines()
    rows = [f"{line},{'Pixar' if n % 5 == 0 else 'Ghibli'}" for n, line in enumerate(full[1:])]
    body = ("ITEM_ID,GENRE,YEAR,STUDIO\n" + "\n".join(rows) + "\n").encode()
    job = sc.import_job(dataset, put(sc.s3, items_group["bucket"], "in/items-studio.csv", body), "INCREMENTAL")
    assert job["status"] == "ACTIVE", job
    flt = pz.create_filter(
        name=uid("studio"),
        datasetGroupArn=items_group["group"],
        filterExpression="INCLUDE ItemID WHERE Items.STUDIO IN ($STUDIO)",
    )["filterArn"]
    wait_status(lambda: pz.describe_filter(filterArn=flt), "filter")
    runtime = sc.stack.client("personalize-runtime")
    recs = runtime.get_recommendations(
        campaignArn=items_group["campaign"],
        userId="u1",
        numResults=20,
        filterArn=flt,
        filterValues={"STUDIO": '"Pixar"'},
        metadataColumns={"ITEMS": ["STUDIO", "GENRE"]},
    )["itemList"]
    assert recs and all(int(r["itemId"][1:]) % 5 == 0 for r in recs), recs
    assert {r["metadata"]["STUDIO"] for r in recs} == {"Pixar"} and all(r["metadata"]["GENRE"] for r in recs)


def test_the_old_schema_refuses_a_file_with_the_new_column(sc):
    """Before the update, the column is not in the schema: the import fails naming it."""
    group, bucket = sc.group(), make_bucket(sc.s3)
    dataset = sc.dataset(group, "ITEMS")
    body = ("ITEM_ID,GENRE,YEAR,STUDIO\n" + "i1,Action,1990,Pixar\n").encode()
    job = sc.import_job(dataset, put(sc.s3, bucket, "items.csv", body))
    assert job["status"] == "CREATE FAILED" and "['STUDIO']" in job["failureReason"], job


def test_an_update_is_refused_while_an_import_of_the_dataset_is_in_flight(local_stack, sc):
    group, bucket = sc.group(), make_bucket(sc.s3)
    dataset = sc.dataset(group, "ITEMS")
    schema = sc.schema(schema_text([*ITEM_FIELDS, STUDIO]))
    with local_stack.faults_set(job_delay=30):
        job = sc.import_job(dataset, put(sc.s3, bucket, "items.csv", items_csv()), wait=False)
        code, message = error_of(lambda: sc.pz.update_dataset(datasetArn=dataset, schemaArn=schema))
    assert code == "ResourceInUseException" and job in message, message


# -- the transitions step by step, in-process (the ticker driven by hand) -------------------------------------
@pytest.fixture()
def backend(tmp_path):
    b = Backend(tmp_path / "data", min_delay=0.0, runners={})
    yield b
    b.close()


def _active_items_dataset(backend: Backend) -> tuple[str, str]:
    group = backend.call("CreateDatasetGroup", {"name": "g"})["datasetGroupArn"]
    backend.lifecycle.tick(), backend.lifecycle.tick()
    schema = backend.call("CreateSchema", {"name": "items", "schema": schema_text(ITEM_FIELDS)})["schemaArn"]
    dataset = backend.call(
        "CreateDataset", {"name": "items", "datasetGroupArn": group, "datasetType": "ITEMS", "schemaArn": schema}
    )["datasetArn"]
    backend.lifecycle.tick(), backend.lifecycle.tick()
    assert backend.call("DescribeDataset", {"datasetArn": dataset})["dataset"]["status"] == "ACTIVE"
    return group, dataset


def test_latest_dataset_update_moves_pending_in_progress_active_and_blocks_imports(backend):
    group, dataset = _active_items_dataset(backend)
    solution = backend.call(
        "CreateSolution",
        {"name": "existing", "datasetGroupArn": group, "recipeArn": "arn:aws:personalize:::recipe/aws-sims"},
    )["solutionArn"]
    new = backend.call("CreateSchema", {"name": "wider", "schema": schema_text([*ITEM_FIELDS, STUDIO])})["schemaArn"]
    backend.call("UpdateDataset", {"datasetArn": dataset, "schemaArn": new})

    def describe():
        return backend.call("DescribeDataset", {"datasetArn": dataset})["dataset"]

    assert describe()["latestDatasetUpdate"]["status"] == "CREATE PENDING"
    job = {
        "jobName": "during",
        "datasetArn": dataset,
        "dataSource": {"dataLocation": "s3://b/items.csv"},
        "roleArn": "arn:aws:iam::000000000000:role/p",
    }
    with pytest.raises(Exception, match="replacing its schema") as err:
        backend.call("CreateDatasetImportJob", job)
    assert err.value.code == "ResourceInUseException"
    with pytest.raises(Exception, match="has an update CREATE PENDING"):
        backend.call("UpdateDataset", {"datasetArn": dataset, "schemaArn": new})
    backend.lifecycle.tick()
    assert describe()["latestDatasetUpdate"]["status"] == "CREATE IN_PROGRESS"
    assert describe()["schemaArn"] != new
    backend.lifecycle.tick()
    desc = describe()
    assert desc["latestDatasetUpdate"]["status"] == "ACTIVE" and desc["schemaArn"] == new
    # the solution that existed before the update leaves the new column out of its trainings
    assert backend.store.get(solution)["_excluded_new_columns"] == {"ITEMS": ["STUDIO"]}
    backend.call("CreateDatasetImportJob", job)  # accepted again once the update is ACTIVE


def test_an_update_whose_schema_is_deleted_meanwhile_ends_failed(backend):
    _, dataset = _active_items_dataset(backend)
    new = backend.call("CreateSchema", {"name": "wider", "schema": schema_text([*ITEM_FIELDS, STUDIO])})["schemaArn"]
    backend.call("UpdateDataset", {"datasetArn": dataset, "schemaArn": new})
    backend.call("DeleteSchema", {"schemaArn": new})  # not yet the dataset's schema: nothing blocks the delete
    backend.lifecycle.tick(), backend.lifecycle.tick()
    desc = backend.call("DescribeDataset", {"datasetArn": dataset})["dataset"]
    update = desc["latestDatasetUpdate"]
    assert update["status"] == "CREATE FAILED" and new in update["failureReason"], update
    assert desc["schemaArn"] != new and desc["status"] == "ACTIVE"
    assert desc["datasetArn"].startswith(ARN_PREFIX)


def test_an_update_in_another_region_than_the_default_is_applied(backend):
    """The ticker applies an update in the dataset's own region (its schemas live there)."""
    with request_region("eu-west-1"):
        _, dataset = _active_items_dataset(backend)
        wider = schema_text([*ITEM_FIELDS, STUDIO])
        new = backend.call("CreateSchema", {"name": "wider", "schema": wider})["schemaArn"]
        backend.call("UpdateDataset", {"datasetArn": dataset, "schemaArn": new})
    backend.lifecycle.tick(), backend.lifecycle.tick()
    with request_region("eu-west-1"):
        desc = backend.call("DescribeDataset", {"datasetArn": dataset})["dataset"]
    assert desc["latestDatasetUpdate"]["status"] == "ACTIVE" and desc["schemaArn"] == new, desc
