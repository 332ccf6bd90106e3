"""Airflow operators for Amazon Personalize (one module per idea; everything is re-exported here)."""

from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.operators.batch import PersonalizeBatchInferenceJobOperator
from personalize_ops.operators.campaign import PersonalizeUpdateCampaignOperator
from personalize_ops.operators.delete import PersonalizeDeleteResourceOperator
from personalize_ops.operators.ensure import NAMED_ENSURE_OPERATORS, PersonalizeEnsureResourceOperator
from personalize_ops.operators.metrics import PersonalizeGetSolutionMetricsOperator
from personalize_ops.operators.solution_version import (
    PersonalizeCreateSolutionVersionOperator,
    PersonalizeStopSolutionVersionCreationOperator,
)

globals().update({cls.__name__: cls for cls in NAMED_ENSURE_OPERATORS.values()})

__all__ = [
    "PersonalizeBaseOperator",
    "PersonalizeBatchInferenceJobOperator",
    "PersonalizeCreateSolutionVersionOperator",
    "PersonalizeDeleteResourceOperator",
    "PersonalizeEnsureResourceOperator",
    "PersonalizeGetSolutionMetricsOperator",
    "PersonalizeStopSolutionVersionCreationOperator",
    "PersonalizeUpdateCampaignOperator",
    *(cls.__name__ for cls in NAMED_ENSURE_OPERATORS.values()),
]
