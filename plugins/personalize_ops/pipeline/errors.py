"""The pipeline's one non-retryable error, and the one place that turns the known failure families into it.

A retry reads the same data, the same config and the same metrics, so data-quality failures, config errors,
gate refusals and teardown refusals fail the task at once (an ``AirflowFailException``) with the message that says
what to fix. Tasks call their logic inside :func:`failing_fast`; they translate nothing by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from airflow.sdk.exceptions import AirflowFailException


class PipelineError(AirflowFailException):
    """A pipeline failure that retrying cannot fix; the message names the file, field or resource and what to do."""


def _families() -> tuple[type[BaseException], ...]:
    from personalize_ops.config import ConfigError
    from personalize_ops.metrics.gate import GateInputError
    from personalize_ops.quality.errors import DataQualityError

    return ConfigError, DataQualityError, GateInputError


@contextlib.contextmanager
def failing_fast() -> Iterator[None]:
    """Re-raise a config, data-quality or gate-input error as :class:`PipelineError` (same message, no retry).

    ``from None``: the message says it all; the internal traceback of a user's mistake is noise in the task log."""
    try:
        yield
    except PipelineError:
        raise
    except _families() as err:
        raise PipelineError(str(err)) from None
