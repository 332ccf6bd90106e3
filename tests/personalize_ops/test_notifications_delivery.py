"""Alerts delivered for real: Airflow's SnsNotifier to a moto server topic with an SQS subscription, and
SmtpNotifier to a local SMTP server; both through Airflow connections given as ``AIRFLOW_CONN_*`` variables."""

from __future__ import annotations

import copy
import json
import time

import pytest
from personalize_ops.config import Campaign, load_config
from personalize_ops.notifications import FailureNotifier, notify
from personalize_ops.pipeline import alerts
from personalize_ops.pipeline.values import GateOutcome

from personalize_local.stack import airflow_connection_json
from tests.fixtures.moto_server import client
from tests.fixtures.smtp_sink import smtp_sink
from tests.personalize_ops.test_config import write
from tests.personalize_ops.test_notifications import DECISION, METRICS, context
from tests.personalize_ops.transform.dataprep_helpers import BASE


@pytest.fixture
def topic(moto_endpoint, monkeypatch):
    """(topic ARN, SQS queue URL, sqs client): a fresh topic whose messages land in a fresh queue."""
    sns = client("sns", moto_endpoint)
    sqs = client("sqs", moto_endpoint)
    name = f"alerts-{time.monotonic_ns()}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("AIRFLOW_CONN_AWS_ALERTS", airflow_connection_json(moto_endpoint))
    return arn, queue, sqs


def received(sqs, queue: str, want: int = 1, deadline_s: float = 20) -> list[dict]:
    """The SNS envelopes that reached the queue (at least ``want``, or what arrived before the deadline)."""
    out, deadline = [], time.monotonic() + deadline_s
    while len(out) < want and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return out


def config(tmp_path, notifications: dict):
    cfg = copy.deepcopy(BASE)
    cfg["notifications"] = notifications
    return load_config(write(tmp_path, cfg))


def test_gate_decision_reaches_the_topics_queue(tmp_path, topic):
    arn, queue, sqs = topic
    cfg = config(tmp_path, {"sns": [{"topic_arn": arn, "aws_conn_id": "aws_alerts",
                                     "events": ["promoted", "not_promoted"]}]})  # fmt: skip
    campaign = Campaign(name="demo-campaign", solution="s")

    outcome = GateOutcome(**DECISION, campaign_arn=None, solution_arn="arn:aws:personalize:::solution/s")
    rows = alerts.gate_decided(cfg, campaign, outcome, METRICS, context=context())

    assert rows == [{"channel": f"SnsNotifier -> {arn}", "sent": True}]
    (envelope,) = received(sqs, queue)
    assert envelope["TopicArn"] == arn
    assert envelope["Subject"] == "[personalize t] campaign demo-campaign NOT promoted"
    assert f"Reason: {DECISION['reason']}" in envelope["Message"]
    assert "Offline metrics:" in envelope["Message"] and "0.1500*" in envelope["Message"]
    assert "/dags/personalize_retrain/runs/manual__2024-05-01T10%3A00%3A00%2B00%3A00" in envelope["Message"]
    assert envelope["MessageAttributes"]["event"] == {"Type": "String", "Value": "not_promoted"}
    assert envelope["MessageAttributes"]["dataset_group"] == {"Type": "String", "Value": "t"}


def test_failure_callback_publishes_the_error_verbatim(tmp_path, topic):
    """Braces in an error are text, not a Jinja template; the callback is the Airflow notifier object itself."""
    arn, queue, sqs = topic
    cfg = config(tmp_path, {"sns": [{"topic_arn": arn, "aws_conn_id": "aws_alerts", "events": ["failure"]}]})
    error = ValueError("bad row {{ ti.task_id }} {'USER_ID': None}")

    FailureNotifier(cfg)(context(task_id="prepare_data.prepare_interactions", exception=error))

    (envelope,) = received(sqs, queue)
    assert envelope["Subject"] == "[personalize t] FAILED: personalize_retrain.prepare_data.prepare_interactions"
    assert "ValueError: bad row {{ ti.task_id }} {'USER_ID': None}" in envelope["Message"]
    assert envelope["MessageAttributes"]["event"]["Value"] == "failure"


def test_undeliverable_alert_is_logged_and_does_not_raise(tmp_path, topic, caplog):
    arn, queue, sqs = topic
    missing = arn + "-missing"
    channels = [{"topic_arn": t, "aws_conn_id": "aws_alerts", "events": ["teardown"]} for t in (missing, arn)]
    cfg = config(tmp_path, {"sns": channels})

    rows = notify(cfg, "teardown", context(task_id="delete"), report="nothing to tear down", dry_run=True)

    assert rows[0]["sent"] is False and "NotFound" in rows[0]["error"]
    assert rows[1] == {"channel": f"SnsNotifier -> {arn}", "sent": True}, "one broken channel must not stop the next"
    assert f"Alert not delivered (SnsNotifier -> {missing})" in caplog.text
    (envelope,) = received(sqs, queue)
    assert envelope["Subject"] == "[personalize t] teardown dry run (nothing deleted)"


def test_teardown_sends_deletion_only_when_something_was_deleted(tmp_path, topic):
    arn, queue, sqs = topic
    cfg = config(tmp_path, {"sns": [{"topic_arn": arn, "aws_conn_id": "aws_alerts",
                                     "events": ["teardown", "deletion"]}]})  # fmt: skip
    rows = [
        {"kind": "campaign", "arn": "arn:c", "name": "c", "action": "delete", "result": "deleted"},
        {"kind": "filter", "arn": "arn:f", "name": "f", "action": "delete", "result": "already gone"},
        {"kind": "schema", "arn": "arn:s", "name": "s", "action": "keep", "result": "kept"},
        {"kind": "s3:staging", "arn": "", "name": "s3://b/p/", "action": "delete", "result": "3 objects deleted"},
        {"kind": "s3:batch", "arn": "", "name": "s3://b/q/", "action": "delete", "result": "0 objects deleted"},
    ]
    assert alerts.teardown_done(cfg, rows, dry_run=False, context=context(task_id="delete")) is rows
    by_subject = {e["Subject"]: e["Message"] for e in received(sqs, queue, want=2)}
    deletion = by_subject["[personalize t] teardown deleted 2 item(s)"]
    assert "arn:c" in deletion and "s3://b/p/" in deletion
    assert "arn:f" not in deletion and "s3://b/q/" not in deletion
    assert "[personalize t] teardown finished" in by_subject


def test_email_reaches_the_smtp_server(tmp_path, monkeypatch):
    with smtp_sink() as server:
        conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.server_address[1],
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", json.dumps(conn))
        cfg = config(tmp_path, {"smtp": [{"to": ["ml-ops@example.com", "oncall@example.org"],
                                          "smtp_conn_id": "smtp_alerts", "events": ["promoted"]}]})  # fmt: skip
        decision = {**DECISION, "promote": True, "reason": "challenger 0.2 > champion 0.15 <by 33%>"}

        rows = notify(cfg, "promoted", context(), decision=decision, metric="coverage", metrics=METRICS)

    assert rows == [{"channel": "SmtpNotifier -> ml-ops@example.com, oncall@example.org", "sent": True}]
    (mail,) = server.received
    assert mail.mail_from == "airflow@example.com"  # the connection's from_email: none in the config
    assert sorted(mail.rcpt_to) == ["ml-ops@example.com", "oncall@example.org"]
    assert mail.message["Subject"] == "[personalize t] campaign demo-campaign promoted to a new version"
    html = next(p for p in mail.message.walk() if p.get_content_type() == "text/html").get_content()
    assert "<pre" in html and "Decision: PROMOTE" in html
    assert "challenger 0.2 &gt; champion 0.15 &lt;by 33%&gt;" in html
    assert "/dags/personalize_retrain/runs/" in html
