"""Custom botocore waiters for Personalize, generated from the resource table, and their evaluation.

``personalize.json`` (next to this file) is what :class:`~personalize_ops.hook.PersonalizeHook` loads through
the provider's ``waiter_path`` mechanism. Regenerate it after editing ``resources.py``::

    python -m personalize_ops.waiters

:func:`state_of` evaluates the same JSON's acceptors against one Describe response with botocore's own
matchers: ``PersonalizeHook.state()`` is that evaluation, so it cannot disagree with the waiters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from botocore.waiter import AcceptorConfig, SingleWaiterConfig, WaiterModel, is_valid_waiter_error

from personalize_ops.resources import DELETE_FAILED, DELETING, KINDS, NOT_FOUND, STOPPING, ResourceKind

WAITER_PATH = Path(__file__).with_name("personalize.json")
DEFAULT_DELAY = 30
DEFAULT_MAX_ATTEMPTS = 720  # 6 hours at the default delay; operators pass their own
State = Literal["success", "failure", "pending"]


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
    # Stopping settles in CREATE STOPPED, or the training had already ended: every end state is fine.
    q = k.status_query
    return _waiter(k, _path(q, (*STOPPING, *k.in_progress), "retry") + _path(q, k.settled, "success"))


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


# --- evaluation ------------------------------------------------------------------------------------
@cache
def waiter_config(name: str) -> SingleWaiterConfig:
    """One waiter of the committed JSON, as botocore loads it."""
    return WaiterModel(json.loads(WAITER_PATH.read_text())).get_waiter(name)


def evaluate(acceptors: list[AcceptorConfig], response: Mapping[str, Any]) -> State:
    """What one poll of a botocore waiter concludes from ``response`` (a parsed response or error response).

    As in ``botocore.waiter.Waiter.wait``: the first matching acceptor decides (``retry`` is pending); an error
    response no acceptor matches ends the wait (failure); any other response keeps it waiting (pending).
    """
    for acceptor in acceptors:
        if acceptor.matcher_func(response):
            return "pending" if acceptor.state == "retry" else acceptor.state
    return "failure" if is_valid_waiter_error(response) else "pending"


def state_of(k: ResourceKind, target: str, response: Mapping[str, Any]) -> State:
    """``k``'s ``target`` waiter evaluated on one Describe response (``{describe_key: {...}}`` or an error)."""
    return evaluate(waiter_config(k.waiter_name(target)).acceptors, response)


def described_state(k: ResourceKind, target: str, described: Mapping[str, Any]) -> State:
    """:func:`state_of` for a Describe object (``response[describe_key]``) or a List summary with its status."""
    return state_of(k, target, {k.describe_key: dict(described)})
