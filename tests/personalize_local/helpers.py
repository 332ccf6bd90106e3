"""Shared helpers for the personalize_local tests: polling, unique names, schemas, synthetic CSV data."""

from __future__ import annotations

import time
import uuid

from tests.avro_schemas import avro_record

TERMINAL = ("ACTIVE", "CREATE FAILED", "CREATE STOPPED")

INTERACTIONS_SCHEMA = avro_record(
    "Interactions", ("USER_ID", "string"), ("ITEM_ID", "string"), ("EVENT_TYPE", "string"), ("TIMESTAMP", "long")
)
ITEMS_SCHEMA = avro_record(
    "Items", ("ITEM_ID", "string"), {"name": "GENRE", "type": "string", "categorical": True}, ("YEAR", "int")
)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_status(describe, key: str, until=TERMINAL, timeout: float = 60.0) -> dict:
    """Poll `describe()[key]` until its status is in `until`; returns that description."""
    deadline = time.monotonic() + timeout
    while True:
        desc = describe()[key]
        if desc.get("status") in until:
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"{key} still {desc.get('status')} after {timeout}s: {desc}")
        time.sleep(0.02)


def wait_update(describe, member: str, timeout: float = 30.0) -> dict:
    """Poll until describe()[member]["status"] is ACTIVE; returns the whole description."""
    deadline = time.monotonic() + timeout
    while True:
        desc = describe()
        if desc[member]["status"] == "ACTIVE":
            return desc
        assert time.monotonic() < deadline, f"{member} still {desc[member]['status']}"
        time.sleep(0.02)


def interactions_csv(
    rows: int = 1500,
    users: int = 60,
    items: int = 40,
    ts0: int = 1_600_000_000,
    header: str = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE",
) -> bytes:
    """Deterministic synthetic interactions: user u mostly likes items near u mod `items`."""
    lines = [header]
    for n in range(rows):
        u = n % users
        i = (u + (n // users) % 7 * (1 + n % 3)) % items
        lines.append(f"u{u},i{i},{ts0 + n * 60},{'watch' if n % 4 else 'click'}")
    return ("\n".join(lines) + "\n").encode()


def items_csv(items: int = 40) -> bytes:
    genres = ["Action", "Comedy", "Drama|Romance", "Animation|Children"]
    lines = ["ITEM_ID,GENRE,YEAR"] + [f"i{i},{genres[i % 4]},{1990 + i}" for i in range(items)]
    return ("\n".join(lines) + "\n").encode()


def put(s3, bucket: str, key: str, body: bytes) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def make_bucket(s3, prefix: str = "bucket") -> str:
    name = uid(prefix).lower()
    s3.create_bucket(Bucket=name)
    return name


class Scenario:
    """Builds resources through a boto3 personalize client and waits for them; names are unique per call."""

    def __init__(self, stack, region: str = "us-east-1"):
        self.stack = stack
        self.pz = stack.client("personalize", region_name=region)
        self.s3 = stack.client("s3")

    def group(self) -> str:
        arn = self.pz.create_dataset_group(name=uid("dg"))["datasetGroupArn"]
        wait_status(lambda: self.pz.describe_dataset_group(datasetGroupArn=arn), "datasetGroup")
        return arn

    def schema(self, text: str = INTERACTIONS_SCHEMA) -> str:
        return self.pz.create_schema(name=uid("schema"), schema=text)["schemaArn"]

    def dataset(self, group: str, dtype: str = "INTERACTIONS", schema: str | None = None) -> str:
        schema = schema or self.schema(INTERACTIONS_SCHEMA if dtype == "INTERACTIONS" else ITEMS_SCHEMA)
        arn = self.pz.create_dataset(
            name=uid("ds"), datasetGroupArn=group, datasetType=dtype, schemaArn=schema
        )["datasetArn"]
        wait_status(lambda: self.pz.describe_dataset(datasetArn=arn), "dataset")
        return arn

    def import_job(self, dataset: str, location: str, mode: str = "FULL", wait: bool = True) -> dict | str:
        arn = self.pz.create_dataset_import_job(
            jobName=uid("imp"),
            datasetArn=dataset,
            dataSource={"dataLocation": location},
            roleArn="arn:aws:iam::000000000000:role/p",
            importMode=mode,
        )["datasetImportJobArn"]
        if not wait:
            return arn
        return wait_status(
            lambda: self.pz.describe_dataset_import_job(datasetImportJobArn=arn), "datasetImportJob"
        )

    def populated_group(self, with_items: bool = False) -> tuple[str, str]:
        """(group ARN, bucket) with ACTIVE imported synthetic interactions (and items)."""
        group, bucket = self.group(), make_bucket(self.s3)
        job = self.import_job(
            self.dataset(group), put(self.s3, bucket, "in/interactions.csv", interactions_csv())
        )
        assert job["status"] == "ACTIVE", job
        if with_items:
            job = self.import_job(
                self.dataset(group, "ITEMS"), put(self.s3, bucket, "in/items.csv", items_csv())
            )
            assert job["status"] == "ACTIVE", job
        return group, bucket

    def solution(self, group: str, recipe: str = "aws-popularity-count", **kw) -> str:
        arn = self.pz.create_solution(
            name=uid("sol"), datasetGroupArn=group, recipeArn=f"arn:aws:personalize:::recipe/{recipe}", **kw
        )["solutionArn"]
        wait_status(lambda: self.pz.describe_solution(solutionArn=arn), "solution")
        return arn

    def version(self, solution: str, **kw) -> dict:
        arn = self.pz.create_solution_version(solutionArn=solution, **kw)["solutionVersionArn"]
        return wait_status(
            lambda: self.pz.describe_solution_version(solutionVersionArn=arn), "solutionVersion"
        )

    def event_tracker(self, group: str, name: str | None = None) -> dict:
        """CreateEventTracker (``eventTrackerArn``, ``trackingId``), returned once the tracker is ACTIVE."""
        tracker = self.pz.create_event_tracker(name=name or uid("trk"), datasetGroupArn=group)
        wait_status(lambda: self.pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker")
        return tracker

    def campaign(self, version: str) -> str:
        arn = self.pz.create_campaign(name=uid("camp"), solutionVersionArn=version)["campaignArn"]
        wait_status(lambda: self.pz.describe_campaign(campaignArn=arn), "campaign")
        return arn


def batch_inference(pz, version_arn: str, input_uri: str, output_uri: str, **extra) -> dict:
    """CreateBatchInferenceJob (``extra``: numResults, filterArn, ...) and its description once terminal."""
    arn = pz.create_batch_inference_job(
        jobName=uid("batch"),
        solutionVersionArn=version_arn,
        jobInput={"s3DataSource": {"path": input_uri}},
        jobOutput={"s3DataDestination": {"path": output_uri}},
        roleArn="arn:aws:iam::000000000000:role/p",
        **extra,
    )["batchInferenceJobArn"]
    return wait_status(lambda: pz.describe_batch_inference_job(batchInferenceJobArn=arn), "batchInferenceJob")
