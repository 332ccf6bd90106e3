"""One deferrable trigger for every Personalize resource kind and wait target, from the resource table."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger

from personalize_ops.hook import PersonalizeHook
from personalize_ops.resources import kind


class PersonalizeResourceTrigger(AwsBaseWaiterTrigger):
    """Wait in the triggerer until a resource reaches ``target``: active, deleted, updated or stopped.

    Uses the generated waiter ``<Kind><Target>`` (e.g. ``DatasetImportJobActive``) from
    ``waiters/personalize.json``. Emits ``{"status": "success", "resource": {"kind", "arn", "target"}}`` or
    ``{"status": "error", "message": ..., "resource": {...}}``; operators turn an error into
    :class:`~personalize_ops.errors.PersonalizeResourceFailedError` after describing the resource.
    """

    aws_hook_class = PersonalizeHook

    def __init__(
        self,
        *,
        kind: str,
        arn: str,
        target: str = "active",
        waiter_delay: int = 30,
        waiter_max_attempts: int = 720,
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        k = _kind(kind)
        super().__init__(
            serialized_fields={"kind": k.key, "arn": arn, "target": target},
            waiter_name=k.waiter_name(target),
            waiter_args={k.arn_member: arn},
            failure_message=f"Personalize {k.key} {arn} failed",
            status_message=f"Personalize {k.key} {arn} status",
            status_queries=[q for q in (k.status_query, k.failure_reason_query, k.update_status_query) if q],
            return_key="resource",
            return_value={"kind": k.key, "arn": arn, "target": target},
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            aws_conn_id=aws_conn_id,
            **kwargs,
        )


_kind = kind
