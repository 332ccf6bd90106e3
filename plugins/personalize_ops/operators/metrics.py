"""Read a solution version's offline metrics."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.operators.base import PersonalizeBaseOperator


class PersonalizeGetSolutionMetricsOperator(PersonalizeBaseOperator):
    """Return ``GetSolutionMetrics`` ``metrics`` (e.g. ``{"precision_at_25": 0.07, ...}``) as XCom.

    :param solution_version_arn: an ACTIVE solution version. Templated.
    """

    template_fields = aws_template_fields("solution_version_arn")

    def __init__(self, *, solution_version_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.solution_version_arn = solution_version_arn

    def execute(self, context) -> dict[str, float]:
        self.persist_link(context, self.solution_version_arn)
        response = self.hook.call("GetSolutionMetrics", solutionVersionArn=self.solution_version_arn)
        return dict(response.get("metrics") or {})
