"""Contract: every implemented operation driven by real boto3 clients over HTTP against the local stack."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from personalize_local.paths import dataset_file
from tests.personalize_local.helpers import (
    INTERACTIONS_SCHEMA,
    interactions_csv,
    make_bucket,
    put,
    uid,
    wait_status,
    wait_update,
)

RECIPE_NAMES = [
    "aws-personalized-ranking",
    "aws-personalized-ranking-v2",
    "aws-popularity-count",
    "aws-similar-items",
    "aws-sims",
    "aws-user-personalization",
    "aws-user-personalization-v2",
]


def gone(call) -> bool:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "ResourceNotFoundException"
    return False


def wait_gone(call, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not gone(call):
        assert time.monotonic() < deadline, "resource still there after delete"
        time.sleep(0.02)


def test_pagination_skips_nothing_when_resources_finish_deleting_between_pages(sc):
    """A group finishing its deletion between two List pages must not shift another one out of both pages
    (it did with offset tokens: a DAG then found no dataset group and failed in CI)."""
    pz = sc.pz
    arns = [pz.create_dataset_group(name=uid("keyset"))["datasetGroupArn"] for _ in range(5)]
    for arn in arns:
        wait_status(lambda a=arn: pz.describe_dataset_group(datasetGroupArn=a), "datasetGroup")
    everything = [g["datasetGroupArn"] for p in pz.get_paginator("list_dataset_groups").paginate()
                  for g in p["datasetGroups"]]  # fmt: skip
    first = pz.list_dataset_groups(maxResults=2)
    page1 = [g["datasetGroupArn"] for g in first["datasetGroups"]]
    pz.delete_dataset_group(datasetGroupArn=page1[0])
    wait_gone(lambda: pz.describe_dataset_group(datasetGroupArn=page1[0]))
    rest, token = [], first["nextToken"]
    while token:
        page = pz.list_dataset_groups(maxResults=2, nextToken=token)
        rest += [g["datasetGroupArn"] for g in page["datasetGroups"]]
        token = page.get("nextToken")
    assert page1 + rest == everything  # every group listed exactly once, in order


def test_dataset_group_lifecycle_tags_and_pagination(sc):
    pz = sc.pz
    names = [uid("page") for _ in range(3)]
    arns = [
        pz.create_dataset_group(name=n, tags=[{"tagKey": "team", "tagValue": "recs"}])["datasetGroupArn"]
        for n in names
    ]
    first = pz.describe_dataset_group(datasetGroupArn=arns[0])["datasetGroup"]
    assert first["status"] in ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    assert first["name"] == names[0] and first["datasetGroupArn"].endswith(f":dataset-group/{names[0]}")
    for arn in arns:
        assert (
            wait_status(lambda a=arn: pz.describe_dataset_group(datasetGroupArn=a), "datasetGroup")["status"]
            == "ACTIVE"
        )
    seen, token, pages = [], None, 0
    while True:
        page = pz.list_dataset_groups(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["datasetGroups"]) <= 2
        seen += [g["datasetGroupArn"] for g in page["datasetGroups"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert set(arns) <= set(seen) and pages >= 2 and len(seen) == len(set(seen))
    paginator_seen = [
        g["datasetGroupArn"]
        for p in pz.get_paginator("list_dataset_groups").paginate(PaginationConfig={"PageSize": 1})
        for g in p["datasetGroups"]
    ]
    assert set(arns) <= set(paginator_seen)
    assert pz.list_tags_for_resource(resourceArn=arns[0])["tags"] == [{"tagKey": "team", "tagValue": "recs"}]
    pz.delete_dataset_group(datasetGroupArn=arns[0])
    assert pz.describe_dataset_group(datasetGroupArn=arns[0])["datasetGroup"]["status"] in (
        "DELETE PENDING",
        "DELETE IN_PROGRESS",
    )
    wait_gone(lambda: pz.describe_dataset_group(datasetGroupArn=arns[0]))


def test_schema_create_describe_list_delete(sc):
    pz = sc.pz
    name = uid("schema")
    arn = pz.create_schema(name=name, schema=INTERACTIONS_SCHEMA)["schemaArn"]
    desc = pz.describe_schema(schemaArn=arn)["schema"]
    assert desc["name"] == name and json.loads(desc["schema"])["fields"][0]["name"] == "USER_ID"
    assert arn in [s["schemaArn"] for s in pz.list_schemas(maxResults=100)["schemas"]]
    pz.delete_schema(schemaArn=arn)
    assert gone(lambda: pz.describe_schema(schemaArn=arn))


def test_dataset_and_import_job_operations(sc):
    pz = sc.pz
    group = sc.group()
    schema = sc.schema()
    dataset = sc.dataset(group, schema=schema)
    desc = pz.describe_dataset(datasetArn=dataset)["dataset"]
    assert (
        desc["datasetType"] == "INTERACTIONS" and desc["schemaArn"] == schema and desc["status"] == "ACTIVE"
    )
    assert [d["datasetArn"] for d in pz.list_datasets(datasetGroupArn=group)["datasets"]] == [dataset]
    bucket = make_bucket(sc.s3)
    job = sc.import_job(dataset, put(sc.s3, bucket, "x.csv", interactions_csv()))
    assert job["status"] == "ACTIVE" and job["importMode"] == "FULL", job
    listed = pz.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]
    assert [j["datasetImportJobArn"] for j in listed] == [job["datasetImportJobArn"]]
    assert listed[0]["status"] == "ACTIVE"
    with pytest.raises(ClientError) as err:
        pz.delete_schema(schemaArn=schema)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    with pytest.raises(ClientError) as err:
        pz.delete_dataset_group(datasetGroupArn=group)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    assert "Dataset" in err.value.response["Error"]["Message"]
    assert dataset_file(sc.stack.data_dir, dataset).exists()
    pz.delete_dataset(datasetArn=dataset)
    wait_gone(lambda: pz.describe_dataset(datasetArn=dataset))
    assert not dataset_file(sc.stack.data_dir, dataset).exists()  # a re-created dataset starts empty
    pz.delete_schema(schemaArn=schema)
    pz.delete_dataset_group(datasetGroupArn=group)
    wait_gone(lambda: pz.describe_dataset_group(datasetGroupArn=group))


def test_solution_defaults_update_and_versions(sc, trained):
    pz = sc.pz
    sol = pz.describe_solution(solutionArn=trained["solution"])["solution"]
    assert sol["performAutoTraining"] is True and sol["performHPO"] is False
    assert sol["latestSolutionVersion"]["solutionVersionArn"] == trained["version"]
    assert trained["solution"] in [
        s["solutionArn"] for s in pz.list_solutions(datasetGroupArn=trained["group"])["solutions"]
    ]
    pz.update_solution(solutionArn=trained["solution"], performAutoTraining=False)
    sol = wait_update(
        lambda: pz.describe_solution(solutionArn=trained["solution"])["solution"], "latestSolutionUpdate"
    )
    assert sol["performAutoTraining"] is False
    versions = pz.list_solution_versions(solutionArn=trained["solution"])["solutionVersions"]
    assert [v["solutionVersionArn"] for v in versions] == [trained["version"]]
    desc = pz.describe_solution_version(solutionVersionArn=trained["version"])["solutionVersion"]
    assert desc["recipeArn"].endswith("aws-popularity-count") and desc["trainingMode"] == "FULL"
    metrics = pz.get_solution_metrics(solutionVersionArn=trained["version"])
    assert metrics["solutionVersionArn"] == trained["version"] and isinstance(metrics["metrics"], dict)


def test_stop_solution_version_creation(sc, trained):
    pz = sc.pz
    arn = pz.create_solution_version(solutionArn=trained["solution"], trainingMode="FULL")[
        "solutionVersionArn"
    ]
    pz.stop_solution_version_creation(solutionVersionArn=arn)
    desc = wait_status(lambda: pz.describe_solution_version(solutionVersionArn=arn), "solutionVersion")
    assert desc["status"] == "CREATE STOPPED"
    with pytest.raises(ClientError) as err:
        pz.stop_solution_version_creation(solutionVersionArn=arn)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"


def test_campaign_update_and_delete_preconditions(sc, trained):
    pz = sc.pz
    campaign = sc.campaign(trained["version"])
    desc = pz.describe_campaign(campaignArn=campaign)["campaign"]
    assert desc["status"] == "ACTIVE" and desc["minProvisionedTPS"] == 1
    assert campaign in [
        c["campaignArn"] for c in pz.list_campaigns(solutionArn=trained["solution"])["campaigns"]
    ]
    pz.update_campaign(campaignArn=campaign, minProvisionedTPS=2)
    update = pz.describe_campaign(campaignArn=campaign)["campaign"]["latestCampaignUpdate"]
    assert update["status"] in ("CREATE PENDING", "CREATE IN_PROGRESS") and update["minProvisionedTPS"] == 2
    with pytest.raises(ClientError) as err:
        pz.update_campaign(campaignArn=campaign, minProvisionedTPS=3)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    desc = wait_update(lambda: pz.describe_campaign(campaignArn=campaign)["campaign"], "latestCampaignUpdate")
    assert desc["minProvisionedTPS"] == 2
    with pytest.raises(ClientError) as err:
        pz.delete_solution(solutionArn=trained["solution"])
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    pz.delete_campaign(campaignArn=campaign)
    wait_gone(lambda: pz.describe_campaign(campaignArn=campaign))


def test_filters_event_tracker_and_their_limits(sc, trained):
    pz = sc.pz
    group = trained["group"]
    arns = []
    for n in range(10):
        arns.append(
            pz.create_filter(
                name=uid(f"f{n}"),
                datasetGroupArn=group,
                filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
            )["filterArn"]
        )
    with pytest.raises(ClientError) as err:
        pz.create_filter(
            name=uid("f11"),
            datasetGroupArn=group,
            filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")',
        )
    assert err.value.response["Error"]["Code"] == "LimitExceededException"
    desc = wait_status(lambda: pz.describe_filter(filterArn=arns[0]), "filter")
    assert desc["status"] == "ACTIVE" and desc["datasetGroupArn"] == group
    assert set(arns) <= {f["filterArn"] for f in pz.list_filters(datasetGroupArn=group)["Filters"]}
    for arn in arns[1:]:
        wait_status(lambda a=arn: pz.describe_filter(filterArn=a), "filter")
        pz.delete_filter(filterArn=arn)
    created = pz.create_event_tracker(name=uid("trk"), datasetGroupArn=group)
    assert created["trackingId"]
    tracker = wait_status(
        lambda: pz.describe_event_tracker(eventTrackerArn=created["eventTrackerArn"]), "eventTracker"
    )
    assert tracker["status"] == "ACTIVE" and tracker["trackingId"] == created["trackingId"]
    assert [t["eventTrackerArn"] for t in pz.list_event_trackers(datasetGroupArn=group)["eventTrackers"]] == [
        created["eventTrackerArn"]
    ]
    with pytest.raises(ClientError) as err:
        pz.create_event_tracker(name=uid("trk2"), datasetGroupArn=group)
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    pz.delete_event_tracker(eventTrackerArn=created["eventTrackerArn"])
    wait_gone(lambda: pz.describe_event_tracker(eventTrackerArn=created["eventTrackerArn"]))
    for arn in arns[1:]:
        wait_gone(lambda a=arn: pz.describe_filter(filterArn=a))


def test_recipes_list_and_describe(sc):
    pz = sc.pz
    recipes = pz.list_recipes()["recipes"]
    assert sorted(r["name"] for r in recipes) == RECIPE_NAMES
    assert all(r["recipeArn"] == f"arn:aws:personalize:::recipe/{r['name']}" for r in recipes)
    page = pz.list_recipes(maxResults=3)
    assert len(page["recipes"]) == 3 and page["nextToken"]
    desc = pz.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")["recipe"]
    assert desc["recipeType"] == "RELATED_ITEMS" and desc["status"] == "ACTIVE"


def test_tag_untag_list_tags(sc):
    pz = sc.pz
    arn = pz.create_schema(
        name=uid("tagged"),
        schema=INTERACTIONS_SCHEMA,
    )["schemaArn"]
    pz.tag_resource(
        resourceArn=arn, tags=[{"tagKey": "a", "tagValue": "1"}, {"tagKey": "b", "tagValue": "2"}]
    )
    pz.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert pz.list_tags_for_resource(resourceArn=arn)["tags"] == [{"tagKey": "b", "tagValue": "2"}]


def test_admin_describe_is_the_console_link(sc, local_stack, trained):
    assert local_stack.describe(trained["solution"]) == json.loads(
        json.dumps(local_stack.describe(trained["solution"]))
    )
    assert local_stack.describe(trained["version"])["solutionVersion"]["status"] == "ACTIVE"


def test_concurrent_clients_are_safe(local_stack):
    """8 clients at once (like Airflow workers): unique creates all succeed, a name race has one winner."""
    race = uid("race")
    outcomes: list[str] = []
    created: list[str] = []

    def worker(n: int) -> None:
        pz = local_stack.client("personalize")
        for k in range(4):
            created.append(pz.create_dataset_group(name=f"{race}-{n}-{k}")["datasetGroupArn"])
        try:
            pz.create_dataset_group(name=race)
            outcomes.append("created")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ResourceAlreadyExistsException"] * 7 + ["created"]
    listed = {
        g["datasetGroupArn"]
        for p in local_stack.client("personalize").get_paginator("list_dataset_groups").paginate()
        for g in p["datasetGroups"]
    }
    assert len(created) == 32 and set(created) <= listed
