"""One deferrable trigger for every Personalize resource kind and wait target, from the resource table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError
from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger
from airflow.triggers.base import TriggerEvent

from personalize_ops.errors import PersonalizeError, PersonalizeTimeoutError
from personalize_ops.hook import PersonalizeHook, status_queries
from personalize_ops.resources import ResourceKind
from personalize_ops.resources import kind as _kind
from personalize_ops.waiters import DEFAULT_DELAY, DEFAULT_MAX_ATTEMPTS


class PersonalizeResourceTrigger(AwsBaseWaiterTrigger):
    """Wait in the triggerer until a resource reaches ``target``: active, deleted, updated or stopped.

    Uses the generated waiter ``<Kind><Target>`` (e.g. ``DatasetImportJobActive``) from
    ``waiters/personalize.json``. Emits ``{"status": "success", "resource": {"kind", "arn", "target"}}`` or
    ``{"status": "error", "message": ..., "timeout": bool, "resource": {...}}``; :func:`error_from_event` turns
    an error event into the typed exception.
    """

    aws_hook_class = PersonalizeHook

    def __init__(self, *, kind: str, arn: str, target: str = "active", **kwargs: Any) -> None:
        """``kwargs``: the provider trigger's ``waiter_delay``, ``waiter_max_attempts`` (defaults: the generated
        waiters'), ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``."""
        k = _kind(kind)
        super().__init__(
            serialized_fields={"kind": k.key, "arn": arn, "target": target},
            waiter_name=k.waiter_name(target),
            waiter_args={k.arn_member: arn},
            failure_message=f"Personalize {k.key} {arn} failed",
            status_message=f"Personalize {k.key} {arn} status",
            status_queries=status_queries(k),
            return_key="resource",
            return_value={"kind": k.key, "arn": arn, "target": target},
            **{"waiter_delay": DEFAULT_DELAY, "waiter_max_attempts": DEFAULT_MAX_ATTEMPTS, **kwargs},
        )

    def _event_from_exception(self, error: Exception) -> TriggerEvent:
        """The provider's error event, plus whether the wait ran out of attempts (known by the exception's type)."""
        event = super()._event_from_exception(error)
        return TriggerEvent({**event.payload, "timeout": isinstance(error, WaiterMaxAttemptsError)})


def defer_until(task, k: ResourceKind, arn: str, target: str, *, delay: float, max_attempts: int) -> None:
    """Defer ``task`` (an Amazon-provider operator or sensor) to :class:`PersonalizeResourceTrigger` with the
    task's connection settings; it resumes in ``task.execute_complete``."""
    task.defer(
        trigger=PersonalizeResourceTrigger(
            kind=k.key,
            arn=arn,
            target=target,
            waiter_delay=delay,
            waiter_max_attempts=max_attempts,
            aws_conn_id=task.aws_conn_id,
            region_name=task.region_name,
            verify=task.verify,
            botocore_config=task.botocore_config,
        ),
        method_name="execute_complete",
        timeout=timedelta(seconds=delay * max_attempts + 60),
    )


def error_from_event(hook: PersonalizeHook, event: dict[str, Any] | None) -> PersonalizeError:
    """The exception for a trigger's error event: the resource's failure (with AWS's failureReason) when it is in
    a failure state now, :class:`PersonalizeTimeoutError` when the wait ran out of attempts, else the message."""
    event = event or {"status": "error", "message": "trigger returned no event"}
    resource = event.get("resource") or {}
    k, arn, target = resource.get("kind", ""), resource.get("arn", ""), resource.get("target", "")
    if k and arn and target != "deleted" and hook.state(k, arn, target) == "failure":
        return hook.failure_error(k, arn)
    error = PersonalizeTimeoutError if event.get("timeout") else PersonalizeError
    return error(f"Personalize {k} {arn}: {event.get('message')}")
