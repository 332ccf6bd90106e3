"""Hooks for Amazon Personalize (control plane, runtime, events), built on the Amazon provider's AwsBaseHook.

Everything goes through the Airflow AWS connection: local vs AWS is only ``endpoint_url`` /
``service_config`` in its extra. :class:`PersonalizeHook` adds table-driven helpers (describe, find by name,
status, wait) on top of the boto3 client and loads our generated waiters through ``waiter_path``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import botocore.config
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.waiter import NormalizedOperationMethod

from personalize_ops.errors import PersonalizeResourceFailedError, PersonalizeTimeoutError
from personalize_ops.resources import KINDS, NOT_FOUND, STOPPING, ResourceKind, kind, tag_dict
from personalize_ops.waiters import DEFAULT_DELAY, DEFAULT_MAX_ATTEMPTS, WAITER_PATH, State, described_state, state_of

#: Retries for throttling and 5xx, unless the connection's ``config_kwargs`` sets ``retries`` itself.
DEFAULT_RETRIES = {"mode": "standard", "max_attempts": 10}


class _RetryingHook(AwsBaseHook):
    """AwsBaseHook whose botocore config retries throttling/5xx (standard mode, 10 attempts) by default."""

    @property
    def config(self) -> botocore.config.Config:
        configured = super().config
        if getattr(configured, "retries", None):
            return configured
        return botocore.config.Config(retries=dict(DEFAULT_RETRIES)).merge(configured)


class PersonalizeRuntimeHook(_RetryingHook):
    """Thin hook around ``boto3.client("personalize-runtime")`` (GetRecommendations, ...)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["client_type"] = "personalize-runtime"
        super().__init__(*args, **kwargs)


class PersonalizeEventsHook(_RetryingHook):
    """Thin hook around ``boto3.client("personalize-events")`` (PutEvents, PutItems, PutUsers)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["client_type"] = "personalize-events"
        super().__init__(*args, **kwargs)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def run_token(*parts: str) -> str:
    """Stable short hash of a task run's identity (dag_id, run_id, task_id, map_index)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def _resolving_kind(method):
    """Hook methods take a kind key (``"dataset_group"``) or a :class:`ResourceKind`; it is resolved here, once,
    where the call enters the hook (a ResourceKind passes through unchanged)."""

    @functools.wraps(method)
    def resolved(self, k: str | ResourceKind, *args, **kwargs):
        return method(self, kind(k), *args, **kwargs)

    return resolved


class PersonalizeHook(_RetryingHook):
    """Hook for the Personalize control plane; helpers are driven by :mod:`personalize_ops.resources`.

    ``kind`` arguments accept a table key (``"dataset_group"``) or a :class:`ResourceKind`.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["client_type"] = "personalize"
        super().__init__(*args, **kwargs)

    @cached_property
    def waiter_path(self) -> Path:
        return WAITER_PATH

    # --- generic calls ---------------------------------------------------------------------------
    def call(self, operation: str, **params: Any) -> dict:
        """Call a Personalize operation by its API name (``"CreateDatasetGroup"``)."""
        return getattr(self.conn, xform_name(operation))(**params)

    @_resolving_kind
    def describe(self, k: ResourceKind, arn: str) -> dict:
        """The Describe response object (``response[describe_key]``)."""
        return self.call(k.describe_op, **{k.arn_member: arn})[k.describe_key]

    @_resolving_kind
    def describe_or_none(self, k: ResourceKind, arn: str) -> dict | None:
        try:
            return self.describe(k, arn)
        except ClientError as e:
            if error_code(e) == NOT_FOUND:
                return None
            raise

    @_resolving_kind
    def status(self, k: ResourceKind, arn: str) -> str | None:
        """Current status (``None`` for kinds without one, e.g. schemas)."""
        return k.status_of(self.describe(k, arn)) if k.status_path else None

    @_resolving_kind
    def list(self, k: ResourceKind, parent_arn: str | None = None) -> Iterator[dict]:
        """Summaries from botocore's paginator for the List call, filtered by the parent when the kind has one
        (``nextToken`` followed by hand where botocore has no paginator: ListDataDeletionJobs)."""
        params = {k.list_parent_member: parent_arn} if parent_arn and k.list_parent_member else {}
        op = xform_name(k.list_op)
        if self.conn.can_paginate(op):
            for page in self.conn.get_paginator(op).paginate(**params):
                yield from page.get(k.list_key, [])
            return
        while True:
            page = getattr(self.conn, op)(**params)
            yield from page.get(k.list_key, [])
            if not page.get("nextToken"):
                return
            params["nextToken"] = page["nextToken"]

    @_resolving_kind
    def find_by_name(self, k: ResourceKind, name: str, parent_arn: str | None = None) -> str | None:
        """ARN of the resource of this kind named ``name`` under ``parent_arn``, or None."""
        for summary in self.list(k, parent_arn):
            if summary.get(k.name_member) == name:
                return summary[k.arn_member]
        return None

    def tags(self, arn: str) -> dict[str, str]:
        """The resource's tags as ``{key: value}`` (ListTagsForResource is not paginated: one call has them all)."""
        return tag_dict(self.call("ListTagsForResource", resourceArn=arn)["tags"])

    @_resolving_kind
    def failure_error(self, k: ResourceKind, arn: str) -> PersonalizeResourceFailedError:
        """The typed error for a failed resource, with its current status and failureReason."""
        d = self.describe_or_none(k, arn)
        if d is None:
            return PersonalizeResourceFailedError(k.key, arn, "not found", None)
        return PersonalizeResourceFailedError(k.key, arn, k.status_of(d), k.failure_reason_of(d))

    @_resolving_kind
    def state(self, k: ResourceKind, arn: str, target: str = "active") -> State:
        """``"success"``, ``"failure"`` or ``"pending"`` for ``target``: the generated waiter's acceptors
        evaluated on one Describe response (an error response included), exactly as one waiter poll would."""
        describe = NormalizedOperationMethod(getattr(self.conn, xform_name(k.describe_op)))
        return state_of(k, target, describe(**{k.arn_member: arn}))

    def call_when_free(self, operation: str, *, timeout: float = 600, **params: Any) -> dict:
        """Call ``operation``, retrying ResourceInUseException with exponential backoff up to ``timeout``."""
        deadline, pause = time.monotonic() + timeout, 1.0
        while True:
            try:
                return self.call(operation, **params)
            except ClientError as e:
                if error_code(e) != "ResourceInUseException" or time.monotonic() + pause > deadline:
                    if error_code(e) == "ResourceInUseException":
                        raise PersonalizeTimeoutError(
                            f"{operation}({params}) kept failing with ResourceInUseException for {timeout}s: "
                            f"{e}. Wait for or remove what uses the resource, or raise the timeout."
                        ) from e
                    raise
                self.log.info("%s: resource in use, retrying in %.0fs", operation, pause)
                time.sleep(pause)
                pause = min(pause * 2, 30)

    def stop_training(self, arn: str) -> bool:
        """Request StopSolutionVersionCreation unless the version already settled or is stopping.

        A version can finish between our status check and the request; Personalize then answers
        ResourceInUseException, which here means "nothing to stop", not "retry". Returns whether a stop was sent.
        """
        version = KINDS["solution_version"]

        def stoppable() -> bool:
            d = self.describe(version, arn)
            return described_state(version, "stopped", d) == "pending" and version.status_of(d) not in STOPPING

        if not stoppable():
            return False
        try:
            self.call(version.stop_op, **{version.arn_member: arn})
            return True
        except ClientError as e:
            if error_code(e) == "ResourceInUseException" and not stoppable():
                return False
            raise

    @_resolving_kind
    def delete(self, k: ResourceKind, arn: str, *, timeout: float = 600) -> bool:
        """Issue the Delete call (retrying while in use). False if the resource was already gone."""
        if not k.delete_op:
            raise ValueError(f"Personalize {k.key} resources cannot be deleted through the API")
        try:
            self.call_when_free(k.delete_op, timeout=timeout, **{k.arn_member: arn})
        except ClientError as e:
            if error_code(e) == NOT_FOUND:
                return False
            raise
        return True

    # --- waiting ---------------------------------------------------------------------------------
    @_resolving_kind
    def wait(
        self,
        k: ResourceKind,
        arn: str,
        target: str = "active",
        *,
        delay: float = DEFAULT_DELAY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        """Block until the resource reaches ``target`` (active / deleted / updated / stopped).

        Raises :class:`PersonalizeResourceFailedError` (ARN, status, failureReason) on a failure state and
        :class:`PersonalizeTimeoutError` after ``max_attempts`` polls.
        """
        from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError, WaiterTerminalFailure
        from airflow.providers.amazon.aws.utils.waiter_with_logging import wait

        try:
            wait(
                waiter=self.get_waiter(k.waiter_name(target)),
                waiter_delay=delay,  # type: ignore[arg-type]
                waiter_max_attempts=max_attempts,
                args={k.arn_member: arn},
                failure_message=f"Personalize {k.key} {arn} failed",
                status_message=f"Personalize {k.key} {arn} status",
                status_args=status_queries(k),
            )
        except WaiterTerminalFailure:
            raise self.failure_error(k, arn) from None
        except WaiterMaxAttemptsError as e:
            found = self.describe_or_none(k, arn)
            status = k.status_of(found) if found is not None else "gone"
            raise PersonalizeTimeoutError(
                f"Personalize {k.key} {arn} did not become {target} after {max_attempts} polls {delay}s apart "
                f"(status {status!r}); raise waiter_max_attempts or look at it."
            ) from e


def status_queries(k: ResourceKind) -> list[str]:
    """JMESPaths of what a wait logs after each poll: status, failure reason, latest update's status."""
    return [q for q in (k.status_query, k.failure_reason_query, k.update_status_query) if q]


def canonical(value: Any) -> Any:
    """Normalize a member for comparison: JSON strings (schemas, filter configs) compare as parsed JSON."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def config_differences(k: ResourceKind, wanted: dict, found: dict) -> dict[str, tuple]:
    """Members of ``wanted`` (restricted to the kind's config members) whose described value differs.

    Dicts compare as subsets (AWS fills in defaults inside nested configs); numbers compare by value.
    """

    def same(w: Any, f: Any) -> bool:
        w, f = canonical(w), canonical(f)
        if isinstance(w, dict):
            return isinstance(f, dict) and all(same(v, f.get(key)) for key, v in w.items())
        if isinstance(w, list):
            return isinstance(f, list) and len(w) == len(f) and all(map(same, w, f))
        if isinstance(w, bool) or isinstance(f, bool):
            return bool(w) == bool(f) if f is not None else not w
        if isinstance(w, int | float) and isinstance(f, int | float | str):
            try:
                return float(w) == float(f)
            except ValueError:
                return False
        return w == f

    return {m: (wanted[m], found.get(m)) for m in k.config_members if m in wanted and not same(wanted[m], found.get(m))}
