"""Names the DAGs derive from a pipeline config: task-id slugs and Airflow Assets (importing this is cheap)."""

from __future__ import annotations


def slug(name: str) -> str:
    """A config name as a task-id part: ``demo-user-personalization`` -> ``demo_user_personalization``."""
    return name.replace("-", "_")


def solution_group(solution: str) -> str:
    """The retrain DAG's task group of one solution (``solution_<slug>``)."""
    return f"solution_{slug(solution)}"


def gate_task(campaign: str) -> str:
    return f"gate_{slug(campaign)}"


def deploy_task(campaign: str) -> str:
    return f"deploy_{slug(campaign)}"


def filter_task(name: str) -> str:
    return f"ensure_filter_{slug(name)}"


def batch_job_group(job: str) -> str:
    """The batch-export DAG's task group of one batch job (``job_<slug>``)."""
    return f"job_{slug(job)}"


def imported_asset(group: str, dataset: str):
    """The Asset a dataset import emits (``personalize://<group>/datasets/<dataset>``)."""
    from airflow.sdk import Asset

    return Asset(name=f"personalize-{group}-{dataset}", uri=f"personalize://{group}/datasets/{dataset}")


def promoted_asset(group: str, campaign: str):
    """The Asset a campaign deploy emits; it triggers the batch export (``personalize://<group>/campaigns/<c>``)."""
    from airflow.sdk import Asset

    return Asset(name=f"personalize-{group}-campaign-{campaign}", uri=f"personalize://{group}/campaigns/{campaign}")


def refit_task(campaign: str) -> str:
    """The retrain DAG's task that retrains a backtest-promoted solution on all data (``refit_<slug>``)."""
    return f"refit_{slug(campaign)}"
