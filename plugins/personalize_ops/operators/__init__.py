"""Airflow operators for Amazon Personalize (one module per idea; everything is re-exported here).

One operator serves every resource kind of the table: ``PersonalizeEnsureResourceOperator(kind=...)``. There
are no per-kind subclasses, so adding a kind to ``resources.KINDS`` adds no class.
"""

from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.operators.batch import PersonalizeBatchInferenceJobOperator
from personalize_ops.operators.campaign import PersonalizeUpdateCampaignOperator
from personalize_ops.operators.delete import PersonalizeDeleteResourceOperator
from personalize_ops.operators.ensure import PersonalizeEnsureResourceOperator
from personalize_ops.operators.metrics import PersonalizeGetSolutionMetricsOperator
from personalize_ops.operators.solution_version import (
    PersonalizeCreateSolutionVersionOperator,
    PersonalizeStopSolutionVersionCreationOperator,
)

__all__ = [
    "PersonalizeBaseOperator",
    "PersonalizeBatchInferenceJobOperator",
    "PersonalizeCreateSolutionVersionOperator",
    "PersonalizeDeleteResourceOperator",
    "PersonalizeEnsureResourceOperator",
    "PersonalizeGetSolutionMetricsOperator",
    "PersonalizeStopSolutionVersionCreationOperator",
    "PersonalizeUpdateCampaignOperator",
]
