"""Ensure a Personalize resource exists with the given configuration: describe before create, detect drift."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from botocore.exceptions import ClientError

from personalize_ops.errors import PersonalizeDriftError
from personalize_ops.hook import PersonalizeHook, config_differences, error_code
from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.resources import KINDS, ResourceKind, kind
from personalize_ops.waiters import described_state


class PersonalizeEnsureResourceOperator(PersonalizeBaseOperator):
    """Create a Personalize resource unless one with this name already exists under ``parent_arn``.

    An existing resource whose configuration matches is reused; a different one raises
    :class:`~personalize_ops.errors.PersonalizeDriftError` listing the differing fields, unless
    ``on_drift="replace"`` (delete, wait until gone, recreate). Returns the ARN (XCom ``return_value``).

    :param kind: resource kind key from ``resources.KINDS`` (``"dataset_group"``, ``"filter"``, ...).
    :param name: resource name (``jobName`` for jobs). Templated.
    :param parent_arn: ARN of the parent (dataset group, dataset, solution, ...), if any. Templated.
    :param config: other Create request members, in the API's spelling, e.g.
        ``{"filterExpression": "..."}``. Templated.
    :param tags: tags added on create, ``{key: value}``. Templated.
    :param on_drift: ``"fail"`` (default) or ``"replace"``.
    """

    template_fields = aws_template_fields("name", "parent_arn", "config", "tags")
    template_fields_renderers = {"config": "json", "tags": "json"}
    default_kind: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        name: str,
        kind: str | None = None,
        parent_arn: str | None = None,
        config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        on_drift: Literal["fail", "replace"] = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kind = kind or self.default_kind
        if self.kind is None:
            raise ValueError("PersonalizeEnsureResourceOperator needs kind=, one of " + ", ".join(KINDS))
        self.resource_kind = _kind(self.kind)  # resolved once; an unknown kind fails at parse time
        if self.resource_kind.key == "solution_version":
            raise ValueError("solution versions have no name to ensure: use PersonalizeCreateSolutionVersionOperator")
        if on_drift not in ("fail", "replace"):
            raise ValueError(f"on_drift must be 'fail' or 'replace', not {on_drift!r}")
        self.name, self.parent_arn, self.on_drift = name, parent_arn, on_drift
        self.config, self.tags = config or {}, tags or {}

    def request_config(self) -> dict[str, Any]:
        """The Create members besides name and parent (subclasses build it from their own params)."""
        return dict(self.config)

    def execute(self, context) -> str:
        k = self.resource_kind
        request = (self.name, self.parent_arn, self.request_config(), self.tags)
        arn = ensure_resource(self.hook, k, *request, self.on_drift, self.log)
        self.persist_link(context, arn)
        return self.wait_or_defer(context, k, arn, "active")


def ensure_resource(
    hook: PersonalizeHook,
    k: ResourceKind,
    name: str,
    parent_arn: str | None,
    config: dict[str, Any],
    tags: dict[str, str],
    on_drift: str,
    log,
) -> str:
    """Describe-before-create; returns the ARN of the reused or newly created resource."""
    config = k.with_defaults(config)
    arn = hook.find_by_name(k, name, parent_arn)
    if arn:
        found = hook.describe(k, arn)
        diffs = config_differences(k, config, found)
        if diffs and (on_drift != "replace" or not k.deletable):
            raise PersonalizeDriftError(k.key, name, arn, diffs)
        if diffs:
            log.warning("Replacing drifted %s %s (%s): %s", k.key, name, arn, sorted(diffs))
            hook.delete(k, arn)
            hook.wait(k, arn, "deleted", delay=2, max_attempts=900)
        elif described_state(k, "active", found) == "failure":
            raise hook.failure_error(k, arn)
        else:
            log.info("Reusing %s %s: %s", k.key, name, arn)
            return arn
    try:
        arn = hook.call(k.create_op, **k.create_request(name, parent_arn, config, tags))[k.arn_member]
    except ClientError as e:  # created concurrently, or by a request whose response we lost
        if error_code(e) != "ResourceAlreadyExistsException":
            raise
        arn = hook.find_by_name(k, name, parent_arn)
        if not arn:
            raise
        return ensure_resource(hook, k, name, parent_arn, config, tags, on_drift, log)
    log.info("Created %s %s: %s", k.key, name, arn)
    return arn


_kind = kind
