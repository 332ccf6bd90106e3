"""One non-retryable pipeline error: the known failure families become PipelineError in one place."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException
from personalize_ops.config import ConfigError
from personalize_ops.metrics import GateInputError
from personalize_ops.pipeline.errors import PipelineError, failing_fast
from personalize_ops.pipeline.gate_task import GateMetricsError, GateRejectedError
from personalize_ops.pipeline.teardown import TeardownError
from personalize_ops.quality.errors import DataQualityError


@pytest.mark.parametrize(
    "error",
    [ConfigError("p.yaml", [("datasets.items", "unknown key")]), DataQualityError("3 rows have no USER_ID"),
     GateInputError("challenger metrics have no 'x'")],
    ids=type,
)  # fmt: skip
def test_known_failures_are_not_retried_and_keep_their_message(error):
    with pytest.raises(PipelineError) as raised, failing_fast():
        raise error
    assert isinstance(raised.value, AirflowFailException) and str(raised.value) == str(error)
    # the original stays reachable, but is not printed as a chained traceback: the message says it all
    assert raised.value.__context__ is error and raised.value.__suppress_context__


def test_other_errors_pass_through_for_airflow_to_retry():
    with pytest.raises(ConnectionError), failing_fast():
        raise ConnectionError("S3 not reachable")


def test_the_pipelines_own_refusals_are_pipeline_errors():
    for cls in (GateRejectedError, GateMetricsError, TeardownError):
        assert issubclass(cls, PipelineError), cls
