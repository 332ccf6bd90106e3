"""Alerts: one message per pipeline event, sent through Airflow's own notifiers (Amazon SNS, SMTP).

The config's ``notifications`` section (:class:`personalize_ops.config.Notifications`) lists the channels and the
events each one receives; credentials live in the Airflow connections it names. ``failure`` is sent by the DAGs'
``on_failure_callback`` (:func:`on_failure`); the other events by task code through :func:`notify`
(see :mod:`personalize_ops.pipeline.alerts`). A message that cannot be delivered is logged and never fails the task
that sent it: the pipeline's work is done (and recorded) by then.

Imports only the standard library and Airflow's notifier base at module level: the DAG files import this at parse
time; the provider notifiers are imported when a message is sent.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)

#: SNS accepts a subject of fewer than 100 ASCII characters without line breaks.
SUBJECT_MAX = 99
#: Longest exception text quoted in a failure message.
ERROR_MAX = 2000


@dataclass(frozen=True)
class Message:
    subject: str
    body: str

    def html(self) -> str:
        """The body for an email: preformatted, so tables keep their columns."""
        return f'<pre style="font-family: monospace">{html.escape(self.body)}</pre>'


def ui_url(dag_id: str, run_id: str, task_id: str | None = None, map_index: int | None = None) -> str:
    """The Airflow UI page of a DAG run (or of one task in it), built as Airflow builds a task instance's log_url."""
    from airflow.sdk.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    url = f"{base}/dags/{dag_id}/runs/{quote(run_id)}"
    if task_id:
        url += f"/tasks/{task_id}"
        if map_index is not None and map_index >= 0:
            url += f"/mapped/{map_index}"
    return url


def where(context: Mapping[str, Any]) -> dict[str, Any]:
    """dag_id, run_id, task_id and map_index of an Airflow context."""
    ti, run = context.get("ti"), context.get("dag_run")
    return {
        "dag_id": getattr(run, "dag_id", None) or getattr(ti, "dag_id", None) or "?",
        "run_id": getattr(run, "run_id", None) or getattr(ti, "run_id", None) or context.get("run_id") or "?",
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
    }


def _subject(group: str, headline: str) -> str:
    text = " ".join(f"[personalize {group}] {headline}".split())
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


def _headline(event: str, at: dict, payload: dict) -> str:
    decision = payload.get("decision") or {}
    campaign = decision.get("campaign", "?")
    if event == "failure":
        return f"FAILED: {at['dag_id']}.{at['task_id']}"
    if event == "promoted":
        return f"campaign {campaign} promoted to a new version"
    if event == "not_promoted":
        return f"campaign {campaign} NOT promoted"
    if event == "teardown":
        return "teardown dry run (nothing deleted)" if payload.get("dry_run") else "teardown finished"
    if event == "deletion" and "users_deleted" in payload:
        return f"{payload['users_deleted']} user(s) deleted on request"
    if event == "deletion":
        return f"teardown deleted {len(payload.get('deleted') or [])} item(s)"
    raise ValueError(f"unknown event {event!r}")


def _decision_lines(decision: Mapping[str, Any], metric: str | None) -> list[str]:
    lines = [f"Decision: {'PROMOTE' if decision.get('promote') else 'keep the current version'}"]
    lines.append(f"Reason: {decision.get('reason', '')}")
    if metric:
        lines.append(
            f"Gate metric {metric}: challenger {_num(decision.get('challenger_value'))}, "
            f"champion {_num(decision.get('champion_value'))}"
        )
    lines.append(f"Challenger: {decision.get('solution_version_arn') or '-'}")
    lines.append(f"Champion:   {decision.get('champion_arn') or '- (no version served yet)'}")
    return lines


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}"


def render(event: str, group: str, context: Mapping[str, Any], **payload: Any) -> Message:
    """Subject and plain-text body of ``event`` for dataset group ``group``.

    ``payload``: ``decision`` (the gate's result) with ``metric`` and ``metrics`` ({row label: {metric: value}}),
    ``error`` (an exception or text), ``report`` (text) and ``dry_run`` / ``deleted`` for teardowns,
    ``users_deleted`` for deletions of users on request.
    """
    at = where(context)
    lines = [
        f"Amazon Personalize pipeline, dataset group {group}: {_headline(event, at, payload)}",
        "",
        f"DAG: {at['dag_id']}",
        f"Run: {at['run_id']}",
        f"Run in the Airflow UI: {ui_url(at['dag_id'], at['run_id'])}",
    ]
    if at["task_id"]:
        lines.insert(-1, f"Task: {at['task_id']}")
        lines.append(f"Task log: {ui_url(at['dag_id'], at['run_id'], at['task_id'], at['map_index'])}")
    if payload.get("decision"):
        lines += ["", *_decision_lines(payload["decision"], payload.get("metric"))]
    if payload.get("metrics"):
        from personalize_ops.metrics.table import render_metrics_table

        rows = {k: v for k, v in payload["metrics"].items() if v}
        lines += ["", "Offline metrics:", render_metrics_table(rows)]
    if payload.get("error") is not None:
        err = payload["error"]
        text = f"{type(err).__name__}: {err}" if isinstance(err, BaseException) else str(err)
        lines += ["", "Error:", text if len(text) <= ERROR_MAX else text[:ERROR_MAX] + " [...]"]
    if payload.get("report"):
        lines += ["", payload["report"]]
    return Message(_subject(group, _headline(event, at, payload)), "\n".join(lines) + "\n")


def build_notifiers(cfg, event: str, message: Message) -> list[BaseNotifier]:
    """One Airflow notifier per channel of ``cfg.notifications`` that receives ``event``, carrying ``message``."""
    channels = cfg.notifications.channels(event)
    if not channels:
        return []
    from personalize_ops.config import SnsChannel

    out: list[BaseNotifier] = []
    for ch in channels:
        if isinstance(ch, SnsChannel):
            from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

            out.append(
                SnsNotifier(
                    aws_conn_id=ch.aws_conn_id or cfg.dataset_group.aws_conn_id,
                    target_arn=ch.topic_arn,
                    region_name=ch.region,
                    subject=message.subject,
                    message=message.body,
                    message_attributes={"event": event, "dataset_group": cfg.dataset_group.name},
                )
            )
        else:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            out.append(
                SmtpNotifier(
                    to=list(ch.to),
                    from_email=ch.from_email,
                    subject=message.subject,
                    html_content=message.html(),
                    smtp_conn_id=ch.smtp_conn_id,
                )
            )
    return out


def _describe(notifier: BaseNotifier) -> str:
    target = getattr(notifier, "target_arn", None) or ", ".join(getattr(notifier, "to", None) or [])
    return f"{type(notifier).__name__} -> {target}"


def send(notifiers: list[BaseNotifier], context: Mapping[str, Any]) -> list[dict]:
    """Deliver through each notifier; a failure is logged (with the channel), not raised. One row per channel.

    Calls ``notify`` rather than the notifier itself: the message is already rendered, and Jinja must not read
    braces in an error text or a reason as a template.
    """
    rows = []
    for n in notifiers:
        try:
            n.notify(context)
        except Exception as err:  # a broken channel must not fail the pipeline's task
            log.error("Alert not delivered (%s): %s: %s", _describe(n), type(err).__name__, err)
            rows.append({"channel": _describe(n), "sent": False, "error": f"{type(err).__name__}: {err}"})
        else:
            log.info("Alert sent (%s)", _describe(n))
            rows.append({"channel": _describe(n), "sent": True})
    return rows


def notify(cfg, event: str, context: Mapping[str, Any] | None = None, **payload: Any) -> list[dict]:
    """Send ``event`` to every channel that receives it; nothing (not even the context) when none does.

    ``context`` defaults to the running task's; outside a task (a script, a test calling task logic directly) the
    message says "?" where the DAG, run and task would be. Returns one row per channel:
    ``{"channel", "sent"[, "error"]}``.
    """
    if not cfg.notifications.channels(event):
        return []
    if context is None:
        from airflow.sdk import get_current_context

        try:
            context = get_current_context()
        except RuntimeError:  # "no context was found": not inside a running task
            context = {}
    message = render(event, cfg.dataset_group.name, context, **payload)
    return send(build_notifiers(cfg, event, message), context)


class FailureNotifier(BaseNotifier):
    """``on_failure_callback`` that sends the ``failure`` event (task, run link, the error)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def notify(self, context):
        notify(self.cfg, "failure", context, error=context.get("exception"))


def on_failure(cfg) -> list[BaseNotifier]:
    """The DAGs' ``default_args["on_failure_callback"]``: empty when no channel receives failures."""
    return [FailureNotifier(cfg)] if cfg.notifications.channels("failure") else []
