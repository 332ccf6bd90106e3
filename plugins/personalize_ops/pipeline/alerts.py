"""Where the pipeline's tasks raise alerts: the gate's decision, the teardown's outcome and deletions of users (failures
go through the DAGs' ``on_failure_callback``, :func:`personalize_ops.notifications.on_failure`)."""

from __future__ import annotations

from dataclasses import asdict

from personalize_ops.notifications import notify


def gate_decided(cfg, campaign, outcome, metrics: dict[str, dict | None], context=None) -> list[dict]:
    """``promoted`` or ``not_promoted`` for one campaign, with the decision, its reason and the metrics compared.

    ``outcome``: the gate's :class:`~personalize_ops.pipeline.values.GateOutcome`. ``metrics``: {row label
    (challenger / champion / baseline): metrics or None}. ``context``: the running task's.
    """
    event = "promoted" if outcome.promote else "not_promoted"
    return notify(cfg, event, context, decision=asdict(outcome), metric=campaign.gate.metric, metrics=metrics)


def teardown_done(cfg, rows: list[dict], *, dry_run: bool, context=None) -> list[dict]:
    """``teardown`` with the report; ``deletion`` too when something was deleted. Returns ``rows`` unchanged."""
    from personalize_ops.pipeline.teardown import report

    notify(cfg, "teardown", context, report=report(rows), dry_run=dry_run)
    deleted = [r for r in rows if _deleted(r)]
    if deleted:
        notify(cfg, "deletion", context, report=report(deleted), deleted=deleted)
    return rows


def _deleted(row: dict) -> bool:
    result = str(row.get("result", ""))
    if row["kind"].startswith("s3:"):
        return not result.startswith("0 ") and "deleted" in result
    return result.startswith("deleted")


def users_deleted(cfg, users: int, report: str, context=None) -> list[dict]:
    """``deletion`` after a data deletion job of ``personalize_delete_users`` completed, with its report."""
    return notify(cfg, "deletion", context, report=report, users_deleted=users)
