"""Where AWS documents a rule, the local service follows it: regions from the request's signature, the account id
option, per-region quotas, the import minimum in every import mode, DeleteDatasetGroup's documented blockers and
roleArn checked against IAM."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from personalize_local.stack import LocalStack
from tests.fixtures.stack import MIN_DELAY
from tests.personalize_local.helpers import (
    Scenario,
    interactions_csv,
    make_bucket,
    put,
    uid,
    wait_status,
)


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_arns_carry_the_signing_region_and_regions_are_apart(sc, local_stack):
    west = Scenario(local_stack, region="eu-west-1")
    name = uid("dg")
    east_arn = sc.pz.create_dataset_group(name=name)["datasetGroupArn"]
    west_arn = west.pz.create_dataset_group(name=name)["datasetGroupArn"]  # names are unique per region
    assert east_arn == f"arn:aws:personalize:us-east-1:000000000000:dataset-group/{name}"
    assert west_arn == f"arn:aws:personalize:eu-west-1:000000000000:dataset-group/{name}"
    wait_status(lambda: west.pz.describe_dataset_group(datasetGroupArn=west_arn), "datasetGroup")
    listed = {g["datasetGroupArn"] for g in west.pz.list_dataset_groups(maxResults=100)["datasetGroups"]}
    assert west_arn in listed and east_arn not in listed
    code, message = error_of(lambda: sc.pz.describe_dataset_group(datasetGroupArn=west_arn))
    assert code == "ResourceNotFoundException" and west_arn in message
    schema = west.schema()
    assert schema.startswith("arn:aws:personalize:eu-west-1:000000000000:schema/")
    dataset = west.pz.create_dataset(
        name=uid("ds"), datasetGroupArn=west_arn, datasetType="INTERACTIONS", schemaArn=schema
    )["datasetArn"]
    assert dataset == f"arn:aws:personalize:eu-west-1:000000000000:dataset/{name}/INTERACTIONS"


def test_five_imports_in_flight_per_region_not_per_group(sc, local_stack):
    """AWS: "a total of 5 pending or in progress dataset import jobs per region"; another region has its own."""
    datasets = [sc.dataset(sc.group()) for _ in range(3)]
    west = Scenario(local_stack, region="us-west-2")
    west_dataset = west.dataset(west.group())
    bucket = make_bucket(sc.s3)
    location = put(sc.s3, bucket, "quota.csv", interactions_csv())
    with local_stack.faults_set(job_delay=3):
        jobs = [
            sc.import_job(dataset, location, wait=False)
            for dataset in (datasets[0], datasets[0], datasets[0], datasets[1], datasets[1])
        ]
        code, message = error_of(lambda: sc.import_job(datasets[2], location, wait=False))
        assert (code, message) == (
            "LimitExceededException",
            "More than 5 resources with PENDING or IN_PROGRESS status.",
        )
        west_job = west.import_job(west_dataset, location, wait=False)
        assert west_job.startswith("arn:aws:personalize:us-west-2:")
    # The region's quota is shared by every test on this stack: leave no job in flight.
    for scenario, arn in [(sc, job) for job in jobs] + [(west, west_job)]:
        describe = scenario.pz.describe_dataset_import_job
        wait_status(lambda d=describe, a=arn: d(datasetImportJobArn=a), "datasetImportJob")


def test_an_incremental_interactions_import_needs_1000_records_too(sc):
    group = sc.group()
    dataset = sc.dataset(group)
    bucket = make_bucket(sc.s3)
    job = sc.import_job(dataset, put(sc.s3, bucket, "full.csv", interactions_csv(rows=1200)))
    assert job["status"] == "ACTIVE", job
    small = put(sc.s3, bucket, "incremental.csv", interactions_csv(rows=999))
    job = sc.import_job(dataset, small, mode="INCREMENTAL")
    assert job["status"] == "CREATE FAILED"
    assert "999 interactions records" in job["failureReason"] and "at least 1000" in job["failureReason"]
    assert (
        sc.import_job(dataset, put(sc.s3, bucket, "inc-ok.csv", interactions_csv(rows=1000)), mode="INCREMENTAL")[
            "status"
        ]
        == "ACTIVE"
    )


def test_a_dataset_group_with_only_filters_can_be_deleted_and_its_filters_go_with_it(sc):
    """DeleteDatasetGroup's documented blockers are event trackers, solutions and datasets; not filters."""
    group = sc.group()
    flt = sc.pz.create_filter(
        name=uid("f"), datasetGroupArn=group, filterExpression='EXCLUDE ItemID WHERE Items.GENRE IN ("x")'
    )["filterArn"]
    wait_status(lambda: sc.pz.describe_filter(filterArn=flt), "filter")
    sc.pz.delete_dataset_group(datasetGroupArn=group)
    wait_status(lambda: _gone(sc.pz, group), "gone", until=(True,))
    assert error_of(lambda: sc.pz.describe_filter(filterArn=flt))[0] == "ResourceNotFoundException"


def test_a_dataset_group_with_a_dataset_still_cannot_be_deleted(sc):
    group = sc.group()
    sc.dataset(group)
    code, message = error_of(lambda: sc.pz.delete_dataset_group(datasetGroupArn=group))
    assert code == "ResourceInUseException" and "Dataset" in message


def _gone(pz, group: str) -> dict:
    try:
        pz.describe_dataset_group(datasetGroupArn=group)
    except ClientError as exc:
        return {"gone": {"status": exc.response["Error"]["Code"] == "ResourceNotFoundException"}}
    return {"gone": {"status": False}}


@pytest.fixture(scope="module")
def account_stack(tmp_path_factory):
    """A stack of its own: account id 123456789012 (moto's), roleArn checked against the moto server's IAM."""
    with LocalStack(
        tmp_path_factory.mktemp("account-stack"), min_delay=MIN_DELAY, account_id="123456789012", check_roles=True
    ) as stack:
        yield stack


def test_the_account_id_option_names_the_account_in_arns(account_stack):
    pz = account_stack.client("personalize", region_name="ap-southeast-2")
    group = pz.create_dataset_group(name=uid("dg"))["datasetGroupArn"]
    assert group.startswith("arn:aws:personalize:ap-southeast-2:123456789012:dataset-group/")
    wait_status(lambda: pz.describe_dataset_group(datasetGroupArn=group), "datasetGroup")
    tracker = pz.create_event_tracker(name=uid("t"), datasetGroupArn=group)["eventTrackerArn"]
    assert (
        wait_status(lambda: pz.describe_event_tracker(eventTrackerArn=tracker), "eventTracker")["accountId"]
        == "123456789012"
    )


def test_role_arns_must_name_a_role_in_iam_when_roles_are_checked(account_stack):
    iam = account_stack.client("iam")
    role = iam.create_role(RoleName=uid("personalize-role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sc = Scenario(account_stack)
    dataset = sc.dataset(sc.group())
    location = put(sc.s3, make_bucket(sc.s3), "i.csv", interactions_csv())

    def create(role_arn: str) -> str:
        return sc.pz.create_dataset_import_job(
            jobName=uid("imp"), datasetArn=dataset, dataSource={"dataLocation": location}, roleArn=role_arn
        )["datasetImportJobArn"]

    missing = role.rsplit("/", 1)[0] + "/no-such-role"
    code, message = error_of(lambda: create(missing))
    assert code == "InvalidInputException" and "no-such-role" in message and "not a role that exists" in message
    job = create(role)
    assert (
        wait_status(lambda: sc.pz.describe_dataset_import_job(datasetImportJobArn=job), "datasetImportJob")["status"]
        == "ACTIVE"
    )
