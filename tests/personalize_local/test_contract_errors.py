"""Contract: every AWS error code the service answers, each in its natural situation, parsed by botocore."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from personalize_local.kinds import ARN_PREFIX, KINDS
from tests.personalize_local.helpers import INTERACTIONS_SCHEMA, make_bucket, put, uid

ROLE = "arn:aws:iam::000000000000:role/p"


@pytest.fixture(scope="module")
def raw(local_stack):
    """A client that skips botocore's own parameter validation, so the server's validation answers."""
    return local_stack.client("personalize", parameter_validation=False, retries={"max_attempts": 1})


def code_of(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as err:
        call()
    resp = err.value.response
    return resp["Error"]["Code"], resp["Error"]["Message"], resp["ResponseMetadata"]["HTTPStatusCode"]


def test_duplicate_name_is_resource_already_exists(sc):
    name = uid("dup")
    sc.pz.create_dataset_group(name=name)
    code, message, status = code_of(lambda: sc.pz.create_dataset_group(name=name))
    assert (code, status) == ("ResourceAlreadyExistsException", 400) and name in message
    sc.pz.create_schema(name=name, schema=INTERACTIONS_SCHEMA)
    assert code_of(lambda: sc.pz.create_schema(name=name, schema=INTERACTIONS_SCHEMA))[0] == (
        "ResourceAlreadyExistsException"
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_arn_is_resource_not_found(sc, kind):
    k = KINDS[kind]
    arn = ARN_PREFIX + k.arn_path.format(name="nope", parent_name="nope", uid="nope", datasetType="ITEMS")
    describe = getattr(sc.pz, "describe_" + _snake(kind))
    code, message, _ = code_of(lambda: describe(**{k.arn_member: arn}))
    assert code == "ResourceNotFoundException" and arn in message


def test_unknown_arn_elsewhere_is_resource_not_found(sc):
    missing = ARN_PREFIX + "dataset-group/missing"
    assert (
        code_of(lambda: sc.pz.list_tags_for_resource(resourceArn=missing))[0] == "ResourceNotFoundException"
    )
    assert code_of(
        lambda: sc.pz.create_dataset(
            name="d",
            datasetGroupArn=missing,
            datasetType="ITEMS",
            schemaArn=missing.replace("dataset-group", "schema"),
        )
    )[0] == ("ResourceNotFoundException")
    assert code_of(lambda: sc.pz.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-nope"))[0] == (
        "ResourceNotFoundException"
    )


def test_delete_with_children_is_resource_in_use(sc, trained):
    code, message, _ = code_of(lambda: sc.pz.delete_dataset_group(datasetGroupArn=trained["group"]))
    assert code == "ResourceInUseException" and "uses it" in message


def test_create_under_a_parent_that_is_not_active_is_resource_in_use(sc):
    group = sc.pz.create_dataset_group(name=uid("young"))["datasetGroupArn"]
    code, message, _ = code_of(
        lambda: sc.pz.create_filter(
            name=uid("f"), datasetGroupArn=group, filterExpression='EXCLUDE ItemID WHERE Items.GENRE IN ("x")'
        )
    )
    assert code == "ResourceInUseException" and "must be ACTIVE" in message


def test_quota_of_filters_campaigns_and_imports_is_limit_exceeded(sc, trained):
    version = trained["version"]
    campaigns = [sc.campaign(version) for _ in range(5)]
    code, message, _ = code_of(lambda: sc.pz.create_campaign(name=uid("c6"), solutionVersionArn=version))
    assert code == "LimitExceededException" and "5 active campaigns" in message
    for arn in campaigns:
        sc.pz.delete_campaign(campaignArn=arn)
    group = sc.group()
    dataset = sc.dataset(group)
    bucket = make_bucket(sc.s3)
    location = put(sc.s3, bucket, "big.csv", b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n" * 1)
    with sc.stack.faults_set(job_delay=2):
        for _ in range(5):
            sc.import_job(dataset, location, wait=False)
        code, message, _ = code_of(lambda: sc.import_job(dataset, location, wait=False))
    assert (code, message) == ("LimitExceededException", "More than 5 resources with PENDING or IN_PROGRESS status.")


def test_missing_member_bad_enum_bad_pattern_bad_type_are_invalid_input(sc, raw):
    code, message, status = code_of(lambda: raw.create_dataset_group())
    assert (
        (code, status) == ("InvalidInputException", 400) and "'name'" in message and "not be null" in message
    )
    code, message, _ = code_of(
        lambda: raw.create_dataset_import_job(
            jobName="j",
            datasetArn=ARN_PREFIX + "dataset/x/ITEMS",
            dataSource={"dataLocation": "s3://b/k"},
            importMode="SOMETIMES",
        )
    )
    assert code == "InvalidInputException" and "enum value set: [FULL, INCREMENTAL]" in message
    code, message, _ = code_of(lambda: raw.create_dataset_group(name="-bad name!"))
    assert code == "InvalidInputException" and "regular expression pattern" in message
    code, message, _ = code_of(lambda: raw.create_dataset_group(name="x" * 64))
    assert code == "InvalidInputException" and "length less than or equal to 63" in message
    code, message, _ = code_of(lambda: raw.list_dataset_groups(maxResults=0))
    assert code == "InvalidInputException" and "greater than or equal to 1" in message
    code, message, _ = code_of(lambda: raw.create_solution(name="s", datasetGroupArn="not-an-arn"))
    assert code == "InvalidInputException" and "datasetGroupArn" in message
    code, _, _ = code_of(lambda: raw.create_schema(name=uid("s"), schema="{not json"))
    assert code == "InvalidInputException"
    with pytest.raises(ParamValidationError):  # botocore's own validation agrees with the model
        sc.pz.create_dataset_group()


def test_bad_next_token_is_invalid_next_token(sc):
    code, _, _ = code_of(lambda: sc.pz.list_dataset_groups(nextToken="garbage"))
    assert code == "InvalidNextTokenException"


def test_unimplemented_operation_says_so(raw):
    code, message, status = code_of(
        lambda: raw.create_recommender(
            name="r",
            datasetGroupArn=ARN_PREFIX + "dataset-group/x",
            recipeArn="arn:aws:personalize:::recipe/x",
        )
    )
    assert (code, status) == ("NotImplementedException", 501)
    assert message == "not implemented by personalize_local: CreateRecommender"


def test_injected_throttling_and_500s(local_stack, raw):
    with local_stack.faults_set(throttle_fraction=1.0, seed=7):
        code, _, status = code_of(lambda: raw.list_recipes())
        assert (code, status) == ("ThrottlingException", 400)
    with local_stack.faults_set(error500_fraction=1.0):
        code, _, status = code_of(lambda: raw.list_recipes())
        assert status == 500
    with local_stack.faults_set(throttle_fraction=0.3, seed=1):
        retrying = local_stack.client("personalize", retries={"max_attempts": 10, "mode": "standard"})
        assert all(len(retrying.list_recipes()["recipes"]) == 7 for _ in range(5))
    assert raw.list_recipes()["recipes"]


def test_raw_http_errors_are_aws_shaped(local_stack):
    def post(headers: dict, body: bytes) -> tuple[int, dict]:
        headers = {"Content-Type": "application/x-amz-json-1.1", **headers}
        req = urllib.request.Request(local_stack.endpoint + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = post({"X-Amz-Target": "AmazonPersonalize.NoSuchThing"}, b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = post({"X-Amz-Target": "AmazonPersonalize.ListRecipes"}, b"{nope")
    assert status == 400 and body["__type"] == "InvalidInputException"
    status, body = post({}, b"{}")
    assert status == 400 and "X-Amz-Target" in body["message"]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
