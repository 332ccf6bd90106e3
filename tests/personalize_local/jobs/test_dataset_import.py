"""Dataset import jobs: Personalize's validation of CSV data from (moto) S3, and parquet storage."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from personalize_local.paths import dataset_file
from tests.personalize_local.helpers import ITEMS_SCHEMA, interactions_csv, items_csv, make_bucket, put

POC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "movielens-poc"


@pytest.fixture(scope="module")
def bucket(sc) -> str:
    return make_bucket(sc.s3, "imports")


@pytest.fixture(scope="module")
def group(sc) -> str:
    return sc.group()


@pytest.fixture()
def interactions(sc):
    """A fresh INTERACTIONS dataset in a fresh group (one dataset of a type per group)."""
    return sc.dataset(sc.group())


def failed_reason(sc, dataset: str, location: str) -> str:
    job = sc.import_job(dataset, location)
    assert job["status"] == "CREATE FAILED", job
    return job["failureReason"]


@pytest.mark.skipif(not POC.is_dir(), reason=f"reference data folder {POC} is absent")
def test_movielens_poc_files_import_with_the_poc_schemas(sc, local_stack, bucket):
    group = sc.group()
    interactions = sc.dataset(group)
    items = sc.dataset(group, "ITEMS", schema=sc.schema(ITEMS_SCHEMA))  # the POC schema
    jobs = [
        sc.import_job(
            interactions,
            put(sc.s3, bucket, "poc/interactions.csv", (POC / "interactions.csv").read_bytes()),
            wait=False,
        ),
        sc.import_job(
            items, put(sc.s3, bucket, "poc/item-meta.csv", (POC / "item-meta.csv").read_bytes()), wait=False
        ),
    ]
    from tests.personalize_local.helpers import wait_status

    for arn in jobs:
        job = wait_status(
            lambda a=arn: sc.pz.describe_dataset_import_job(datasetImportJobArn=a), "datasetImportJob"
        )
        assert job["status"] == "ACTIVE", job
    stored = pq.read_table(dataset_file(local_stack.data_dir, interactions))
    assert stored.num_rows == 158_371
    assert stored.schema.field("TIMESTAMP").type == "int64"
    meta = pq.read_table(dataset_file(local_stack.data_dir, items))
    assert meta.column("YEAR").null_count == 13  # empty YEAR values accepted as nulls, as AWS did


def test_header_that_does_not_match_the_schema_fails(sc, interactions, bucket):
    body = interactions_csv(header="USER,ITEM_ID,TIMESTAMP,EVENT_TYPE")
    reason = failed_reason(sc, interactions, put(sc.s3, bucket, "bad-header.csv", body))
    assert "header" in reason and "['USER']" in reason and "USER_ID" in reason


def test_millisecond_timestamps_fail(sc, interactions, bucket):
    body = interactions_csv(ts0=1_600_000_000_000)
    reason = failed_reason(sc, interactions, put(sc.s3, bucket, "ms.csv", body))
    assert "milliseconds" in reason and "TIMESTAMP" in reason and "row 1 " in reason


def test_fewer_than_1000_interactions_fail(sc, interactions, bucket):
    reason = failed_reason(sc, interactions, put(sc.s3, bucket, "small.csv", interactions_csv(rows=999)))
    assert "999 interactions" in reason and "at least 1000" in reason


def test_bad_value_names_row_column_and_value(sc, interactions, bucket):
    body = interactions_csv().replace(b"u3,", b"u3,", 1).splitlines()
    body[5] = b"u4,i4,yesterday,click"
    reason = failed_reason(sc, interactions, put(sc.s3, bucket, "bad-value.csv", b"\n".join(body) + b"\n"))
    assert "row 5 (line 6)" in reason and "TIMESTAMP" in reason and "'yesterday'" in reason


def test_empty_required_id_fails(sc, interactions, bucket):
    body = interactions_csv().splitlines()
    body[2] = b",i4,1600000000,click"
    reason = failed_reason(sc, interactions, put(sc.s3, bucket, "no-user.csv", b"\n".join(body) + b"\n"))
    assert "USER_ID is empty" in reason and "row 2" in reason


def test_missing_file_and_bucket_fail_with_the_location(sc, interactions, bucket):
    assert "does not exist" in failed_reason(sc, interactions, f"s3://{bucket}/nope.csv")
    assert "Bucket no-such-bucket-x does not exist" in failed_reason(
        sc, interactions, "s3://no-such-bucket-x/a.csv"
    )


def test_folder_of_parts_and_incremental_upsert(sc, local_stack, bucket):
    group = sc.group()
    interactions = sc.dataset(group)
    body = interactions_csv(rows=1200).splitlines(keepends=True)
    put(sc.s3, bucket, "parts/part-0.csv", b"".join(body[:601]))
    put(sc.s3, bucket, "parts/part-1.csv", body[0] + b"".join(body[601:]))
    assert sc.import_job(interactions, f"s3://{bucket}/parts/")["status"] == "ACTIVE"
    assert pq.read_table(dataset_file(local_stack.data_dir, interactions)).num_rows == 1200
    items = sc.dataset(group, "ITEMS", schema=sc.schema(ITEMS_SCHEMA))
    assert sc.import_job(items, put(sc.s3, bucket, "items-full.csv", items_csv(10)))["status"] == "ACTIVE"
    update = b"ITEM_ID,GENRE,YEAR\ni3,Horror,2001\ni99,Drama,\n"
    job = sc.import_job(items, put(sc.s3, bucket, "items-inc.csv", update), mode="INCREMENTAL")
    assert job["status"] == "ACTIVE" and job["importMode"] == "INCREMENTAL"
    frame = pq.read_table(dataset_file(local_stack.data_dir, items)).to_pandas().set_index("ITEM_ID")
    assert len(frame) == 11 and frame.loc["i3", "GENRE"] == "Horror" and frame.loc["i3", "YEAR"] == 2001
    assert sc.import_job(items, put(sc.s3, bucket, "items-full2.csv", items_csv(5)))["status"] == "ACTIVE"
    assert pq.read_table(dataset_file(local_stack.data_dir, items)).num_rows == 5  # FULL replaces


def test_injected_import_failure(sc, local_stack, interactions, bucket):
    with local_stack.faults_set(fail_next_import="disk on fire (injected)"):
        reason = failed_reason(sc, interactions, put(sc.s3, bucket, "ok.csv", interactions_csv()))
    assert reason == "disk on fire (injected)"
    assert sc.import_job(interactions, f"s3://{bucket}/ok.csv")["status"] == "ACTIVE"
