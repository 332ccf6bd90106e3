"""Metric attributions: the metrics' rules, and the reports aggregated per event attribution source.

What AWS documents ("Measuring recommendation impact with a metric attribution", "Event metrics and attribution
reports", "Publishing metric attribution reports to Amazon S3"):
- a metric is an event type and a function, ``SAMPLECOUNT()`` (the number of events of that type) or
  ``SUM(DatasetType.COLUMN)`` over a numeric column of the Items or Item interactions dataset (at most 10
  metrics; one metric attribution per dataset group);
- each event's source is its ``eventAttributionSource``, else the campaign its ``recommendationId`` came from,
  else ``SOURCE_NAME_UNDEFINED``; calculations are aggregated over 15-minute windows;
- a dataset import job with ``publishAttributionMetricsToS3`` writes one file per publication to the metric
  attribution's ``s3DataDestination``: ``AggregatedAttributionMetrics - <ImportMethod> - <Timestamp>.csv`` with
  the columns METRIC_NAME, EVENT_TYPE, VALUE, MATH_FUNCTION, EVENT_ATTRIBUTION_SOURCE, TIMESTAMP.

AWS sends PutEvents metrics to CloudWatch; this service has no CloudWatch, so it publishes them in the same file
format to the same S3 destination, one file per publication (import method ``PUT_EVENTS``), every
``attribution_publish_seconds`` of the backend (default 900, the window). README "Known differences from AWS"
lists this and the other choices the documentation leaves open.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import time
from collections import defaultdict

from personalize_local.aws_errors import InvalidInput, LimitExceeded, ResourceAlreadyExists

log = logging.getLogger("personalize_local.attribution")
WINDOW_SECONDS = 900
MAX_METRICS = 10
UNDEFINED = "SOURCE_NAME_UNDEFINED"
COLUMNS = ("METRIC_NAME", "EVENT_TYPE", "VALUE", "MATH_FUNCTION", "EVENT_ATTRIBUTION_SOURCE", "TIMESTAMP")
_EXPRESSION = re.compile(
    r"^\s*(?:(SAMPLECOUNT)\(\s*\)|(SUM)\(\s*(Items|Interactions)\.([A-Za-z_][A-Za-z0-9_]*)\s*\))\s*$", re.IGNORECASE
)
NUMERIC = ("int", "long", "float", "double")


def parse_expression(expression: str) -> tuple[str, str | None, str | None]:
    """("samplecount", None, None) or ("sum", "ITEMS" | "INTERACTIONS", COLUMN); InvalidInput otherwise."""
    m = _EXPRESSION.match(expression or "")
    if not m:
        raise InvalidInput(
            f"metric expression {expression!r} must be SAMPLECOUNT() or SUM(DatasetType.COLUMN_NAME) with "
            "DatasetType Items or Interactions, e.g. SUM(Items.PRICE)."
        )
    if m.group(1):
        return "samplecount", None, None
    return "sum", m.group(3).upper(), m.group(4).upper()


def check_metrics(backend, group_arn: str, metrics: list[dict], existing: list[dict] = ()) -> None:
    """The rules for a metric attribution's metrics (create and update): at most 10, unique names, valid
    expressions over numeric columns of the group's Items or Interactions schema (when that dataset exists)."""
    from personalize_local.datasets import field_types, parse_schema

    names = [m["metricName"] for m in [*existing, *metrics]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidInput(f"metricName must be unique within a metric attribution; listed twice: {dup}")
    if len(names) > MAX_METRICS:
        raise LimitExceeded(
            f"A metric attribution has at most {MAX_METRICS} metrics; this one would have {len(names)}."
        )
    schemas = {
        d["datasetType"]: field_types(parse_schema(backend.require(d["schemaArn"], "Schema")["schema"]))
        for d in backend.linked("Dataset", "datasetGroupArn", group_arn)
    }
    for m in metrics:
        function, dtype, column = parse_expression(m["expression"])
        if function != "sum" or dtype not in schemas:
            continue
        base = schemas[dtype].get(column, (None,))[0]
        if base not in NUMERIC:
            what = "is not a field" if base is None else f"is {base}, not numeric"
            raise InvalidInput(
                f"metric {m['metricName']}: {m['expression']}: {column} {what} of the {dtype} schema; SUM() needs "
                f"a numeric column ({', '.join(NUMERIC)})."
            )


def before_create(backend, doc: dict, params: dict) -> None:
    """CreateMetricAttribution: one per dataset group, metrics checked and kept, output path an s3:// URL."""
    group = doc["datasetGroupArn"]
    existing = backend.linked("MetricAttribution", "datasetGroupArn", group)
    if existing:
        raise ResourceAlreadyExists(
            f"Dataset group {group} already has a metric attribution: {existing[0]['metricAttributionArn']}; "
            "update it (UpdateMetricAttribution) instead."
        )
    check_metrics(backend, group, params["metrics"])
    check_output(params["metricsOutputConfig"])
    doc["_metrics"] = [dict(m) for m in params["metrics"]]
    doc["_published_rowid"] = backend.events.last_rowid()  # events before the attribution are not reported


def check_output(config: dict) -> None:
    path = (config.get("s3DataDestination") or {}).get("path")
    if path is not None and not path.startswith("s3://"):
        raise InvalidInput(f"metricsOutputConfig.s3DataDestination.path {path!r} must be an s3://bucket/prefix URL")


def update(backend, doc: dict, params: dict) -> dict:
    """UpdateMetricAttribution: remove metrics by name, add metrics, replace the output config; applied at once."""
    removing = list(params.get("removeMetrics") or [])
    current = {m["metricName"]: m for m in doc["_metrics"]}
    unknown = sorted(set(removing) - set(current))
    if unknown:
        raise InvalidInput(f"removeMetrics names metrics the attribution does not have: {unknown}")
    kept = [m for name, m in current.items() if name not in removing]
    adding = [dict(m) for m in params.get("addMetrics") or []]
    check_metrics(backend, doc["datasetGroupArn"], adding, kept)
    fields = {"_metrics": kept + adding}
    if params.get("metricsOutputConfig"):
        check_output(params["metricsOutputConfig"])
        fields["metricsOutputConfig"] = params["metricsOutputConfig"]
    return fields


# -- aggregation --------------------------------------------------------------------------------------------
def source_of(attribution_source: str | None, recommendation_source: str | None) -> str:
    return attribution_source or recommendation_source or UNDEFINED


def aggregate(events: list[dict], metrics: list[dict], item_values: dict[str, dict[str, float]]) -> list[dict]:
    """Report rows: per metric, source and 15-minute window (of the event's time), the count or the sum.

    ``events``: {"event_type", "source", "timestamp", "item_id", "fields": {COLUMN: value}};
    ``item_values``: {COLUMN: {item id: value}} of the Items columns the metrics sum."""
    cells: dict[tuple, float] = defaultdict(float)
    for metric in metrics:
        function, dtype, column = parse_expression(metric["expression"])
        for e in events:
            if e["event_type"] != metric["eventType"]:
                continue
            if function == "samplecount":
                value = 1.0
            elif dtype == "ITEMS":
                value = item_values.get(column, {}).get(e["item_id"])
            else:
                value = e["fields"].get(column)
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue  # an event without the column's value adds nothing to a sum
            if not math.isfinite(value):
                continue
            window = int(e["timestamp"] // WINDOW_SECONDS * WINDOW_SECONDS)
            cells[(metric["metricName"], metric["eventType"], function, e["source"], window)] += value
    return [
        {"METRIC_NAME": name, "EVENT_TYPE": etype, "VALUE": value, "MATH_FUNCTION": function,
         "EVENT_ATTRIBUTION_SOURCE": source, "TIMESTAMP": window}
        for (name, etype, function, source, window), value in sorted(cells.items(), key=lambda kv: (kv[0][4], kv[0]))
    ]  # fmt: skip


def render(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "VALUE": f"{row['VALUE']:.1f}" if float(row["VALUE"]).is_integer() else row["VALUE"]})
    return out.getvalue().encode()


def report_url(path: str, method: str, when: float) -> str:
    """``<path>/AggregatedAttributionMetrics - <method> - <UTC time>.csv``."""
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(when)) + f"{when % 1:.6f}"[1:].replace(".", "-")
    return path.rstrip("/") + f"/AggregatedAttributionMetrics - {method} - {stamp}.csv"


def item_values(data_dir, backend, group_arn: str, metrics: list[dict]) -> dict[str, dict[str, float]]:
    """{COLUMN: {item id: value}} of the Items columns the metrics sum (empty without an Items dataset)."""
    from personalize_local.datasets import read_frames

    columns = {c for _, d, c in (parse_expression(m["expression"]) for m in metrics) if d == "ITEMS"}
    if not columns:
        return {}
    with backend.store.lock:
        items = [d for d in backend.linked("Dataset", "datasetGroupArn", group_arn) if d["datasetType"] == "ITEMS"]
    frame = read_frames(data_dir, items).get("ITEMS")
    if frame is None:
        return {}
    return {c: dict(zip(frame["ITEM_ID"], frame[c], strict=True)) for c in columns if c in frame}


def publish(s3, path: str, method: str, rows: list[dict], when: float) -> str | None:
    """Write one report (nothing when there are no rows); its URL."""
    if not rows:
        return None
    from personalize_local.jobs.s3io import write_object

    url = report_url(path, method, when)
    write_object(s3, url, render(rows))
    return url


def event_rows(frame_rows) -> list[dict]:
    """PutEvents rows (events.EventLog.rows_after) as aggregate()'s events."""
    out = []
    for r in frame_rows:
        fields = json.loads(r["properties"]) if r.get("properties") else {}
        if r.get("event_value") is not None:
            fields["EVENT_VALUE"] = r["event_value"]
        out.append(
            {
                "event_type": r["event_type"],
                "source": source_of(r.get("attribution_source"), r.get("recommendation_source")),
                "timestamp": r["sent_at"],
                "item_id": r["item_id"],
                "fields": fields,
            }
        )
    return out


def tick(backend, now: float) -> None:
    """Publish the PutEvents metrics of every ACTIVE metric attribution with an S3 destination, once per
    ``attribution_publish_seconds``: the events received since its last publication (call without the lock)."""
    if now < getattr(backend, "_next_attribution_publish", 0.0):
        return
    backend._next_attribution_publish = now + backend.attribution_publish_seconds
    with backend.store.lock:
        docs = [dict(d) for d in backend.store.all("MetricAttribution") if d.get("status") == "ACTIVE"]
    for doc in docs:
        path = ((doc.get("metricsOutputConfig") or {}).get("s3DataDestination") or {}).get("path")
        if not path:
            continue
        try:
            last, rows = backend.events.rows_after(doc["datasetGroupArn"], doc.get("_published_rowid", 0))
            if not rows:
                continue
            values = item_values(backend.data_dir, backend, doc["datasetGroupArn"], doc["_metrics"])
            report = aggregate(event_rows(rows), doc["_metrics"], values)
            url = publish(_s3(backend), path, "PUT_EVENTS", report, now)
            backend.set_fields(doc["metricAttributionArn"], touch=False, _published_rowid=last)
            log.info("metric attribution %s: %d events -> %s", doc["metricAttributionArn"], len(rows), url)
        except Exception:  # noqa: BLE001 - a bad destination must not stop the ticker; retried next time
            log.exception("publishing metric attribution %s failed", doc["metricAttributionArn"])


def _s3(backend):
    import boto3

    return boto3.client(
        "s3", endpoint_url=backend.s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def publish_import(ctx, job: dict, dataset: dict, table) -> str | None:
    """A dataset import job with publishAttributionMetricsToS3: the imported interactions' report, per source
    (EVENT_ATTRIBUTION_SOURCE column, else the campaign of RECOMMENDATION_ID, else undefined)."""
    if not job.get("publishAttributionMetricsToS3") or dataset["datasetType"] != "INTERACTIONS":
        return None
    group = dataset["datasetGroupArn"]
    attributions = ctx.children("MetricAttribution", "datasetGroupArn", group)
    attribution = next((a for a in attributions if a.get("status") == "ACTIVE"), None)
    path = (((attribution or {}).get("metricsOutputConfig") or {}).get("s3DataDestination") or {}).get("path")
    if not path:
        return None
    frame = table.to_pylist()
    events = []
    for r in frame:
        fields = {k: v for k, v in r.items() if v is not None}
        events.append(
            {
                "event_type": r.get("EVENT_TYPE"),
                "source": source_of(r.get("EVENT_ATTRIBUTION_SOURCE"), None),
                "timestamp": float(r["TIMESTAMP"]),
                "item_id": r.get("ITEM_ID"),
                "fields": fields,
            }
        )
    values = item_values(ctx.data_dir, ctx.backend, group, attribution["_metrics"])
    rows = aggregate(events, attribution["_metrics"], values)
    return publish(ctx.s3(), path, job.get("importMode", "FULL"), rows, time.time())
