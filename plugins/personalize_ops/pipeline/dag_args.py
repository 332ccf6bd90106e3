"""The ``@dag`` arguments every pipeline DAG shares: id, start, one active run, tags, owner, retries, alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

from personalize_ops.notifications import on_failure
from personalize_ops.pipeline import settings
from personalize_ops.pipeline.registry import Pipeline

START_DATE = datetime(2024, 1, 1)


def dag_args(
    pipeline: Pipeline, kind: str, *, schedule, doc_md: str, tag: str | None = None, retries: int = 2,
    backoff: bool = False, max_retry_delay: timedelta | None = None, aws: bool = True, poll: bool = True,
    params: dict | None = None,
) -> dict:  # fmt: skip
    """Keyword arguments for ``@dag`` of the pipeline's ``kind`` DAG: no catchup, one active run, tags
    ``personalize``, the dataset group (and ``tag``). Task defaults: owner, ``retries`` 30 s apart (exponential
    ``backoff`` up to ``max_retry_delay``), the failure alert, the group's AWS connection (``aws``) and operator
    polling (``poll``)."""
    cfg = pipeline.config
    group = cfg.dataset_group
    default_args = {"owner": "data-platform", "retries": retries, "retry_delay": timedelta(seconds=30)}
    if backoff:
        default_args["retry_exponential_backoff"] = True
    if max_retry_delay is not None:
        default_args["max_retry_delay"] = max_retry_delay
    if aws:
        default_args["aws_conn_id"] = group.aws_conn_id
    default_args["on_failure_callback"] = on_failure(cfg)
    if poll:
        default_args.update(settings.wait_args())
    args = {
        "dag_id": pipeline.dag_id(kind), "schedule": schedule, "start_date": START_DATE, "catchup": False,
        "max_active_runs": 1, "doc_md": doc_md, "tags": ["personalize", group.name, *([tag] if tag else [])],
        "default_args": default_args,
    }  # fmt: skip
    if params is not None:
        args["params"] = params
    return args
