"""The config's ``notifications`` and ``costs`` sections, and the alert messages (pure: no delivery here)."""

from __future__ import annotations

import copy
import json
import re
import shlex
from types import SimpleNamespace

import pytest
import yaml
from personalize_ops.config import ConfigError, load_config
from personalize_ops.notifications import FailureNotifier, build_notifiers, notify, on_failure, render, ui_url

from tests.personalize_ops.test_config import errors_for, write
from tests.personalize_ops.transform.dataprep_helpers import BASE, REPO

TOPIC = "arn:aws:sns:eu-west-1:123456789012:personalize-alerts"
RUN_ID = "manual__2024-05-01T10:00:00+00:00"


def with_notifications(tmp_path, notifications: dict, costs: dict | None = None):
    cfg = copy.deepcopy(BASE)
    cfg["notifications"] = notifications
    if costs is not None:
        cfg["costs"] = costs
    return load_config(write(tmp_path, cfg))


def context(task_id: str | None = "gate_demo", map_index: int = -1, **extra) -> dict:
    run = SimpleNamespace(dag_id="personalize_retrain", run_id=RUN_ID)
    ti = SimpleNamespace(dag_id=run.dag_id, run_id=RUN_ID, task_id=task_id, map_index=map_index)
    return {"dag_run": run, "ti": ti if task_id else None, **extra}


# --------------------------------------------------------------------------- config


def test_notifications_section_loads_with_defaults(tmp_path):
    cfg = with_notifications(tmp_path, {
        "sns": [{"topic_arn": TOPIC, "events": ["failure", "promoted", "not_promoted"]}],
        "smtp": [{"to": "ml-ops@example.com", "smtp_conn_id": "smtp_alerts", "events": ["failure", "deletion"]}],
    })  # fmt: skip
    n = cfg.notifications
    assert n.sns[0].aws_conn_id is None and n.sns[0].region == "eu-west-1"
    assert n.smtp[0].to == ["ml-ops@example.com"] and n.smtp[0].from_email is None
    assert [type(c).__name__ for c in n.channels("failure")] == ["SnsChannel", "SmtpChannel"]
    assert n.channels("teardown") == []
    assert [type(c).__name__ for c in n.channels("deletion")] == ["SmtpChannel"]


def test_no_notifications_section_means_no_channels_and_default_prices(tmp_path):
    cfg = load_config(write(tmp_path, copy.deepcopy(BASE)))
    assert cfg.notifications.sns == [] and cfg.notifications.smtp == []
    assert on_failure(cfg) == []
    assert (cfg.costs.currency, cfg.costs.training_hour, cfg.costs.tps_hour, cfg.costs.data_ingestion_gb) == (
        "USD", 0.24, 0.20, 0.05,
    )  # fmt: skip


def test_notification_errors_name_the_key_all_at_once(tmp_path):
    def mutate(c):
        c["notifications"] = {
            "sns": [
                {"topic_arn": "arn:aws:sqs:us-east-1:123456789012:q", "events": ["failure"]},
                {"topic_arn": TOPIC + ".fifo", "events": ["promoted"]},
                {"topic_arn": TOPIC, "aws_conn_id": 42, "events": ["failure", "failure"], "secret_key": "x"},
            ],
            "smtp": [
                {"to": ["ops@example.com", "not-an-email"], "from_email": "me at example", "events": ["oops"]},
                {"to": [], "smtp_conn_id": "smtp://user:password@mail.example.com:587", "events": []},
            ],
            "slack": [{}],
        }

    errs = errors_for(tmp_path, mutate)
    text = " | ".join(errs)
    assert "notifications.sns[0].topic_arn: 'arn:aws:sqs:us-east-1:123456789012:q' is not an SNS topic ARN" in text
    assert "notifications.sns[1].topic_arn: " + TOPIC + ".fifo: FIFO topics need a message group id" in text
    assert "notifications.sns[2].aws_conn_id: Input should be a valid string" in errs
    assert "notifications.sns[2].events: listed twice: failure" in errs
    assert "notifications.sns[2].secret_key: unknown key" in errs
    assert "notifications.smtp[0].to[1]: 'not-an-email' is not an email address (like name@example.com)" in errs
    assert "notifications.smtp[0].from_email: 'me at example' is not an email address (like name@example.com)" in errs
    assert any(e.startswith("notifications.smtp[0].events[0]: Input should be 'failure', 'promoted'") for e in errs)
    assert any(e.startswith("notifications.smtp[1].to: List should have at least 1 item") for e in errs)
    assert any(e.startswith("notifications.smtp[1].events: List should have at least 1 item") for e in errs)
    assert any(e.startswith("notifications.smtp[1].smtp_conn_id: String should match pattern") for e in errs)
    assert "notifications.slack: unknown key" in errs
    assert "password" not in text, "a credential typed into the config must not be echoed back"


def test_cost_errors(tmp_path):
    def mutate(c):
        c["costs"] = {"currency": "dollars", "training_hour": -1, "tps_hour": "cheap", "per_request": 0.1}

    errs = errors_for(tmp_path, mutate)
    assert any(e.startswith("costs.currency: String should match pattern") for e in errs), errs
    assert "costs.training_hour: Input should be greater than or equal to 0" in errs
    assert any(e.startswith("costs.tps_hour: Input should be a valid number") for e in errs)
    assert "costs.per_request: unknown key" in errs


def test_costs_override(tmp_path):
    cfg = with_notifications(tmp_path, {}, {"currency": "EUR", "training_hour": 0.3})
    assert (cfg.costs.currency, cfg.costs.training_hour, cfg.costs.tps_hour) == ("EUR", 0.3, 0.20)


# --------------------------------------------------------------------------- messages


def test_ui_url_is_built_like_airflows_task_log_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    base = "https://airflow.example.com/dags/personalize_retrain/runs/manual__2024-05-01T10%3A00%3A00%2B00%3A00"
    assert ui_url("personalize_retrain", RUN_ID) == base
    assert ui_url("personalize_retrain", RUN_ID, "gate_x") == base + "/tasks/gate_x"
    assert ui_url("personalize_retrain", RUN_ID, "parts", 3) == base + "/tasks/parts/mapped/3"

    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    ti = RuntimeTaskInstance.model_construct(dag_id="personalize_retrain", run_id=RUN_ID, task_id="gate_x",
                                             map_index=-1, try_number=0)  # fmt: skip
    assert ti.log_url == ui_url("personalize_retrain", RUN_ID, "gate_x")


DECISION = {
    "campaign": "demo-campaign",
    "promote": False,
    "reason": "challenger ndcg@10 0.1012 <= champion 0.1500 (+0.0%)",
    "solution_version_arn": "arn:aws:personalize:us-east-1:000000000000:solution/s/v2",
    "champion_arn": "arn:aws:personalize:us-east-1:000000000000:solution/s/v1",
    "challenger_value": 0.10123,
    "champion_value": 0.15,
}
METRICS = {
    "challenger": {"normalized_discounted_cumulative_gain_at_10": 0.10123, "coverage": 0.3},
    "champion": {"normalized_discounted_cumulative_gain_at_10": 0.15, "coverage": 0.2},
    "baseline": None,
}


def test_gate_message_carries_run_link_decision_and_metrics(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com")
    msg = render("not_promoted", "personalize-demo", context(), decision=DECISION,
                 metric="normalized_discounted_cumulative_gain_at_10", metrics=METRICS)  # fmt: skip
    assert msg.subject == "[personalize personalize-demo] campaign demo-campaign NOT promoted"
    body = msg.body
    assert ui_url("personalize_retrain", RUN_ID) in body
    assert ui_url("personalize_retrain", RUN_ID, "gate_demo") in body
    assert "Decision: keep the current version" in body
    assert f"Reason: {DECISION['reason']}" in body
    assert "challenger 0.1012, champion 0.1500" in body
    assert DECISION["champion_arn"] in body and DECISION["solution_version_arn"] in body
    table = body[body.index("Offline metrics:") :].splitlines()
    assert table[1].split()[:3] == ["solution", "/", "version"]
    assert [r.split()[0] for r in table[3:5]] == ["challenger", "champion"]  # the absent baseline has no row
    assert "0.1500*" in body  # the better value of the column is marked


def test_promoted_message_and_first_deployment(monkeypatch):
    decision = {**DECISION, "promote": True, "champion_arn": None, "champion_value": None, "reason": "no champion"}
    msg = render("promoted", "g", context(), decision=decision, metric="coverage")
    assert msg.subject == "[personalize g] campaign demo-campaign promoted to a new version"
    assert "Decision: PROMOTE" in msg.body and "champion -" in msg.body
    assert "Champion:   - (no version served yet)" in msg.body


def test_failure_message_quotes_the_error_and_subject_fits_sns():
    err = RuntimeError("training failed: {{ not a template }} " + "x" * 3000)
    long_group = "g" * 63
    msg = render("failure", long_group, context(task_id="solution_demo.train_ünïcode"), error=err)
    assert len(msg.subject) <= 99 and msg.subject.isascii() and "\n" not in msg.subject
    assert msg.subject.endswith("...")
    assert "RuntimeError: training failed: {{ not a template }}" in msg.body
    assert msg.body.rstrip().endswith("[...]") and len(msg.body) < 3000


def test_teardown_messages():
    ctx = context(task_id="delete")
    assert render("teardown", "g", ctx, report="r", dry_run=True).subject.endswith("teardown dry run (nothing deleted)")
    deleted = [{"kind": "campaign"}, {"kind": "solution"}]
    msg = render("deletion", "g", ctx, report="kind  name\ncampaign  c", deleted=deleted)
    assert msg.subject == "[personalize g] teardown deleted 2 item(s)"
    assert msg.body.endswith("kind  name\ncampaign  c\n")
    assert msg.html().startswith("<pre") and "&lt;" not in render("deletion", "g", ctx, report="a").html()
    assert "&lt;b&gt;" in render("teardown", "g", ctx, report="<b>").html()


def test_notify_without_a_channel_for_the_event_sends_nothing_and_needs_no_context(tmp_path):
    cfg = with_notifications(tmp_path, {"sns": [{"topic_arn": TOPIC, "events": ["failure"]}]})
    assert notify(cfg, "promoted") == []  # no Airflow task is running: the context would not be available


def test_build_notifiers_uses_airflow_notifiers_with_the_configured_connections(tmp_path):
    cfg = with_notifications(tmp_path, {
        "sns": [{"topic_arn": TOPIC, "events": ["failure"]},
                {"topic_arn": TOPIC.replace("alerts", "audit"), "aws_conn_id": "aws_alerts", "events": ["deletion"]}],
        "smtp": [{"to": ["a@example.com", "b@example.org"], "from_email": "airflow@example.com",
                  "smtp_conn_id": "smtp_alerts", "events": ["failure"]}],
    })  # fmt: skip
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier
    from personalize_ops.notifications import Message

    sns, smtp = build_notifiers(cfg, "failure", Message("s", "b <1>"))
    assert isinstance(sns, SnsNotifier) and isinstance(smtp, SmtpNotifier)
    assert (sns.target_arn, sns.aws_conn_id, sns.region_name) == (TOPIC, "aws_default", "eu-west-1")
    assert (sns.subject, sns.message) == ("s", "b <1>")
    assert sns.message_attributes == {"event": "failure", "dataset_group": "t"}
    assert (smtp.to, smtp.from_email, smtp.smtp_conn_id, smtp.subject) == (
        ["a@example.com", "b@example.org"], "airflow@example.com", "smtp_alerts", "s",
    )  # fmt: skip
    assert "b &lt;1&gt;" in smtp.html_content
    (audit,) = build_notifiers(cfg, "deletion", Message("s", "b"))
    assert audit.aws_conn_id == "aws_alerts"
    assert build_notifiers(cfg, "teardown", Message("s", "b")) == []
    (callback,) = on_failure(cfg)
    assert isinstance(callback, FailureNotifier)


def test_bad_notifications_config_fails_the_load_not_a_task(tmp_path):
    with pytest.raises(ConfigError):
        with_notifications(tmp_path, {"sns": [{"topic_arn": "nope", "events": ["failure"]}]})


def test_readme_examples_are_valid(tmp_path, monkeypatch):
    """The README's notifications and costs examples load; its SMTP connection is one SmtpHook understands."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from personalize_ops.config import Costs

    text = (REPO / "README.md").read_text()
    alerts = text.split("### Alerts", 1)[1].split("\n## ", 1)[0]
    costs = text.split("\n## Cost\n", 1)[1].split("\n## ", 1)[0]
    cfg = copy.deepcopy(BASE)
    for block in re.findall(r"```yaml\n(.*?)```", alerts + costs, re.S):
        cfg.update(yaml.safe_load(block))
    loaded = load_config(write(tmp_path, cfg))
    assert loaded.costs == Costs(), "the README shows the defaults"
    assert {e: len(loaded.notifications.channels(e)) for e in ("failure", "promoted", "deletion")} == {
        "failure": 2, "promoted": 1, "deletion": 2,
    }  # fmt: skip

    command = shlex.split(re.search(r"```bash\n(.*?)```", alerts, re.S).group(1))
    assert command[:4] == ["airflow", "connections", "add", "smtp_default"]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", command[command.index("--conn-json") + 1])
    hook = SmtpHook(smtp_conn_id="smtp_default")
    hook.smtp_connection = hook.get_connection("smtp_default")
    assert (hook.host, hook.port, hook.use_ssl, hook.from_email) == ("smtp.example.com", 465, True,
                                                                     "airflow@example.com")  # fmt: skip
    assert json.loads(command[-1])["conn_type"] == "smtp"


def test_notify_outside_a_task_sends_without_a_context(tmp_path, monkeypatch):
    """Task logic called directly (a script, a test) has no Airflow context: notify does not raise, the message
    says '?' for the DAG and run, and a channel that cannot be reached is reported, not raised."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_NOWHERE", json.dumps(
        {"conn_type": "aws", "login": "testing", "password": "testing",
         "extra": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9",
                   "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 1}}}}))  # fmt: skip
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    cfg = with_notifications(tmp_path, {"sns": [{"topic_arn": topic, "aws_conn_id": "aws_nowhere",
                                                 "events": ["failure"]}]})  # fmt: skip
    rows = notify(cfg, "failure", error=RuntimeError("boom"))
    assert len(rows) == 1 and rows[0]["sent"] is False and rows[0]["error"]
    message = render("failure", "g", {}, error=RuntimeError("boom"))
    assert "boom" in message.body and "FAILED: ?." in message.subject
