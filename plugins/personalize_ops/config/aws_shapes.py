"""Pass-through request members (e.g. ``solution_config``) checked against botocore's own input shapes at load time.

The config passes some members to Personalize as they are written. Checking them with botocore's ``ParamValidator``
(the validation boto3 runs before sending a request) turns a wrong type or an unknown member into a load-time error
naming the config key, instead of a failed task hours later. botocore is imported on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _member_shape(operation: str, member: str):
    import botocore.session

    model = botocore.session.get_session().get_service_model("personalize")
    return model.operation_model(operation).input_shape.members[member]


def request_member_problems(operation: str, member: str, value: Any) -> list[str]:
    """botocore's reasons why ``value`` is not a valid ``member`` of an ``operation`` request (empty when valid)."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(value, _member_shape(operation, member))
    if not report.has_errors():
        return []
    return [f"{line} (botocore, {operation} {member})" for line in report.generate_report().splitlines()]
