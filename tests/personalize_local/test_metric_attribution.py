"""Metric attributions over boto3: Create/Describe/List/Update/Delete with AWS's rules, and the reports per event
attribution source written to S3 in the documented CSV format (PutEvents events, and imports that ask for it)."""

from __future__ import annotations

import csv
import io
import time

import pytest
from botocore.exceptions import ClientError

from tests.personalize_local.helpers import interactions_csv, make_bucket, put, uid, wait_status

ROLE = "arn:aws:iam::000000000000:role/p"
HEADER = "METRIC_NAME,EVENT_TYPE,VALUE,MATH_FUNCTION,EVENT_ATTRIBUTION_SOURCE,TIMESTAMP"


@pytest.fixture(scope="module")
def attributed(sc):
    """A group of its own with interactions + items, a popularity campaign, an event tracker, and an ACTIVE
    metric attribution counting clicks and summing Items.YEAR of watches, reporting to a bucket."""
    group, _ = sc.populated_group(with_items=True)
    campaign = sc.campaign(sc.version(sc.solution(group))["solutionVersionArn"])
    tracker = sc.event_tracker(group)
    bucket = make_bucket(sc.s3, "attr")
    arn = sc.pz.create_metric_attribution(
        name=uid("ma"),
        datasetGroupArn=group,
        metrics=[
            {"eventType": "click", "metricName": "CLICKS", "expression": "SAMPLECOUNT()"},
            {"eventType": "watch", "metricName": "YEARS", "expression": "SUM(Items.YEAR)"},
        ],
        metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": f"s3://{bucket}/reports/"}},
    )["metricAttributionArn"]
    wait_status(lambda: sc.pz.describe_metric_attribution(metricAttributionArn=arn), "metricAttribution")
    return {"group": group, "campaign": campaign, "tracking_id": tracker["trackingId"], "arn": arn, "bucket": bucket}


def reports(s3, bucket: str, method: str) -> list[dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/").get("Contents", [])]
    rows = []
    for key in sorted(k for k in keys if f" - {method} - " in k):
        assert key.startswith("reports/AggregatedAttributionMetrics - ") and key.endswith(".csv")
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        assert text.splitlines()[0] == HEADER
        rows += list(csv.DictReader(io.StringIO(text)))
    return rows


def wait_for_reports(s3, bucket: str, method: str, count: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = reports(s3, bucket, method)
        if sum(float(r["VALUE"]) for r in rows if r["METRIC_NAME"] == "CLICKS") >= count:
            return rows
        assert time.monotonic() < deadline, f"no {method} report with {count} clicks in {timeout} s: {rows}"
        time.sleep(0.2)


def test_create_describe_list_and_metrics(sc, attributed):
    desc = sc.pz.describe_metric_attribution(metricAttributionArn=attributed["arn"])["metricAttribution"]
    assert desc["status"] == "ACTIVE" and desc["datasetGroupArn"] == attributed["group"]
    assert desc["metricsOutputConfig"]["s3DataDestination"]["path"].endswith("/reports/")
    listed = sc.pz.list_metric_attributions(datasetGroupArn=attributed["group"])["metricAttributions"]
    assert [m["metricAttributionArn"] for m in listed] == [attributed["arn"]]
    metrics = sc.pz.list_metric_attribution_metrics(metricAttributionArn=attributed["arn"])["metrics"]
    assert [m["metricName"] for m in metrics] == ["CLICKS", "YEARS"]


def test_one_attribution_per_group_and_the_metric_rules(sc, attributed):
    def create(group=attributed["group"], metrics=None):
        return sc.pz.create_metric_attribution(
            name=uid("ma"), datasetGroupArn=group,
            metrics=metrics or [{"eventType": "click", "metricName": "C", "expression": "SAMPLECOUNT()"}],
            metricsOutputConfig={"roleArn": ROLE},
        )  # fmt: skip

    with pytest.raises(ClientError) as err:
        create()
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    other = sc.group()
    for expression, code in (("COUNT(*)", "InvalidInputException"), ("SUM(Users.AGE)", "InvalidInputException")):
        with pytest.raises(ClientError) as err:
            create(other, [{"eventType": "click", "metricName": "C", "expression": expression}])
        assert err.value.response["Error"]["Code"] == code, expression
    with pytest.raises(ClientError) as err:
        create(other, [{"eventType": "click", "metricName": "C", "expression": "SAMPLECOUNT()"}] * 2)
    assert "unique" in err.value.response["Error"]["Message"]


def test_sum_needs_a_numeric_column_of_the_schema(sc, attributed):
    with pytest.raises(ClientError) as err:
        sc.pz.update_metric_attribution(
            metricAttributionArn=attributed["arn"],
            addMetrics=[{"eventType": "watch", "metricName": "GENRES", "expression": "SUM(Items.GENRE)"}],
        )
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "GENRE is string, not numeric" in err.value.response["Error"]["Message"]


def test_put_events_are_reported_per_source(local_stack, sc, attributed):
    rt, ev, s3 = local_stack.client("personalize-runtime"), local_stack.client("personalize-events"), sc.s3
    served = rt.get_recommendations(campaignArn=attributed["campaign"], userId="u1", numResults=5)
    now = time.time()
    ev.put_events(trackingId=attributed["tracking_id"], userId="u1", sessionId="s1", eventList=[
        # attributed by its source, although it names a recommendation: the source wins (AWS documents it)
        {"eventType": "click", "itemId": "i3", "sentAt": now, "recommendationId": served["recommendationId"],
         "metricAttribution": {"eventAttributionSource": "exp:a"}},
        {"eventType": "click", "itemId": "i4", "sentAt": now, "metricAttribution": {"eventAttributionSource": "exp:a"}},
        {"eventType": "click", "itemId": "i5", "sentAt": now, "recommendationId": served["recommendationId"]},
        {"eventType": "click", "itemId": "i6", "sentAt": now},
        {"eventType": "watch", "itemId": "i7", "sentAt": now, "metricAttribution": {"eventAttributionSource": "exp:b"}},
        {"eventType": "watch", "itemId": "i8", "sentAt": now, "metricAttribution": {"eventAttributionSource": "exp:b"}},
    ])  # fmt: skip
    rows = wait_for_reports(s3, attributed["bucket"], "PUT_EVENTS", 4)
    clicks = {r["EVENT_ATTRIBUTION_SOURCE"]: float(r["VALUE"]) for r in rows if r["METRIC_NAME"] == "CLICKS"}
    assert clicks == {"exp:a": 2.0, attributed["campaign"]: 1.0, "SOURCE_NAME_UNDEFINED": 1.0}
    years = [r for r in rows if r["METRIC_NAME"] == "YEARS"]
    assert [(r["EVENT_ATTRIBUTION_SOURCE"], float(r["VALUE"]), r["MATH_FUNCTION"]) for r in years] == [
        ("exp:b", (1990 + 7) + (1990 + 8), "sum")  # helpers.items_csv: YEAR of item i is 1990 + i
    ]
    assert {r["MATH_FUNCTION"] for r in rows if r["METRIC_NAME"] == "CLICKS"} == {"samplecount"}
    assert all(int(r["TIMESTAMP"]) % 900 == 0 and 0 <= now - int(r["TIMESTAMP"]) < 900 for r in rows)


def test_an_import_that_asks_publishes_its_report(sc, attributed):
    dataset = next(d["datasetArn"] for d in sc.pz.list_datasets(datasetGroupArn=attributed["group"])["datasets"]
                   if d["datasetType"] == "INTERACTIONS")  # fmt: skip
    location = put(sc.s3, attributed["bucket"], "in/more.csv", interactions_csv(rows=1200))
    arn = sc.pz.create_dataset_import_job(
        jobName=uid("imp"), datasetArn=dataset, dataSource={"dataLocation": location}, roleArn=ROLE,
        importMode="INCREMENTAL", publishAttributionMetricsToS3=True,
    )["datasetImportJobArn"]  # fmt: skip
    job = wait_status(lambda: sc.pz.describe_dataset_import_job(datasetImportJobArn=arn), "datasetImportJob")
    assert job["status"] == "ACTIVE" and job["publishAttributionMetricsToS3"] is True
    rows = reports(sc.s3, attributed["bucket"], "INCREMENTAL")
    # helpers.interactions_csv: every 4th row is a click; rows carry no source column
    assert sum(float(r["VALUE"]) for r in rows if r["METRIC_NAME"] == "CLICKS") == 1200 // 4
    assert {r["EVENT_ATTRIBUTION_SOURCE"] for r in rows} == {"SOURCE_NAME_UNDEFINED"}


def test_update_then_delete(sc, attributed):
    group = sc.group()
    arn = sc.pz.create_metric_attribution(
        name=uid("ma"), datasetGroupArn=group,
        metrics=[{"eventType": "click", "metricName": "C", "expression": "SAMPLECOUNT()"}],
        metricsOutputConfig={"roleArn": ROLE},
    )["metricAttributionArn"]  # fmt: skip
    wait_status(lambda: sc.pz.describe_metric_attribution(metricAttributionArn=arn), "metricAttribution")
    sc.pz.update_metric_attribution(
        metricAttributionArn=arn, removeMetrics=["C"],
        addMetrics=[{"eventType": "buy", "metricName": "B", "expression": "SAMPLECOUNT()"}],
        metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": "s3://x/y/"}},
    )  # fmt: skip
    metrics = sc.pz.list_metric_attribution_metrics(metricAttributionArn=arn)["metrics"]
    assert [m["metricName"] for m in metrics] == ["B"]
    desc = sc.pz.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"]
    assert desc["metricsOutputConfig"]["s3DataDestination"]["path"] == "s3://x/y/"
    with pytest.raises(ClientError) as err:
        sc.pz.update_metric_attribution(metricAttributionArn=arn, removeMetrics=["nope"])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    sc.pz.delete_metric_attribution(metricAttributionArn=arn)
    deadline = time.monotonic() + 30
    while sc.pz.list_metric_attributions(datasetGroupArn=group)["metricAttributions"]:
        assert time.monotonic() < deadline, "metric attribution not deleted"
        time.sleep(0.05)
