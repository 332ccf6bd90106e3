"""Custom botocore waiters for Personalize, generated from the resource table.

``personalize.json`` (next to this file) is what :class:`~personalize_ops.hook.PersonalizeHook` loads through
the provider's ``waiter_path`` mechanism. Regenerate it after editing ``resources.py``::

    python -m personalize_ops.waiters
"""

from __future__ import annotations

import json
from pathlib import Path

from personalize_ops.resources import DELETE_FAILED, DELETING, KINDS, NOT_FOUND, ResourceKind

WAITER_PATH = Path(__file__).with_name("personalize.json")
DEFAULT_DELAY = 30
DEFAULT_MAX_ATTEMPTS = 720  # 6 hours at the default delay; operators pass their own


def _path(argument: str, states: tuple[str, ...], state: str) -> list[dict]:
    return [{"matcher": "path", "argument": argument, "expected": s, "state": state} for s in states]


def _waiter(k: ResourceKind, acceptors: list[dict]) -> dict:
    return {
        "operation": k.describe_op,
        "delay": DEFAULT_DELAY,
        "maxAttempts": DEFAULT_MAX_ATTEMPTS,
        "acceptors": acceptors,
    }


def _active(k: ResourceKind) -> dict:
    if not k.status_query:  # no status (schema): exists == ready
        exists = f"contains(keys({k.describe_key}), '{k.arn_member}')"
        return _waiter(k, [{"matcher": "path", "argument": exists, "expected": True, "state": "success"}])
    q = k.status_query
    return _waiter(
        k,
        _path(q, k.in_progress, "retry")
        + _path(q, k.success, "success")
        + _path(q, k.failure + DELETING + DELETE_FAILED, "failure"),
    )


def _deleted(k: ResourceKind) -> dict:
    acceptors = [{"matcher": "error", "argument": "Error.Code", "expected": NOT_FOUND, "state": "success"}]
    if k.status_query:
        q = k.status_query
        acceptors += _path(q, DELETING, "retry") + _path(q, DELETE_FAILED, "failure")
    return _waiter(k, acceptors)


def _updated(k: ResourceKind) -> dict:
    # Before the first update there is no latest*Update: fall back to the resource's own status.
    q = f"{k.update_status_query} || {k.status_query}"
    return _waiter(
        k, _path(q, k.in_progress, "retry") + _path(q, k.success, "success") + _path(q, k.failure, "failure")
    )


def _stopped(k: ResourceKind) -> dict:
    # Stopping settles in CREATE STOPPED, or the training had already ended: every terminal state is fine.
    q = k.status_query
    settled = ("CREATE STOPPED", *k.success, "CREATE FAILED")
    return _waiter(k, _path(q, ("CREATE STOPPING", *k.in_progress), "retry") + _path(q, settled, "success"))


def build_waiters() -> dict:
    """The waiter model (botocore waiter JSON, version 2) for every kind in the table."""
    waiters: dict[str, dict] = {}
    for k in KINDS.values():
        waiters[k.active_waiter] = _active(k)
        if k.deleted_waiter:
            waiters[k.deleted_waiter] = _deleted(k)
        if k.updated_waiter:
            waiters[k.updated_waiter] = _updated(k)
        if k.stopped_waiter:
            waiters[k.stopped_waiter] = _stopped(k)
    return {"version": 2, "waiters": waiters}


def render() -> str:
    return json.dumps(build_waiters(), indent=2, sort_keys=True) + "\n"


def write(path: Path = WAITER_PATH) -> Path:
    path.write_text(render())
    return path
