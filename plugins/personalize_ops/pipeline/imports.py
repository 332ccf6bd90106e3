"""Decide whether a dataset needs a new import job, from Personalize's own record of past imports."""

from __future__ import annotations

import logging

from personalize_ops.resources import KINDS

log = logging.getLogger(__name__)
IMPORT_JOB = KINDS["dataset_import_job"]


def last_active_import(hook, dataset_arn: str) -> dict | None:
    """Describe of the newest ACTIVE import job of a dataset, or None."""
    active = [s for s in hook.list(IMPORT_JOB, dataset_arn) if s.get("status") == "ACTIVE"]
    if not active:
        return None
    newest = max(active, key=lambda s: (s.get("creationDateTime") or 0, s.get("lastUpdatedDateTime") or 0))
    return hook.describe(IMPORT_JOB, newest[IMPORT_JOB.arn_member])


def plan_import(hook, dataset: str, dataset_arn: str, staged: dict, force: bool, token: str) -> dict:
    """The import job to ensure: the last one when its data is this exact file (no re-import), else a new one.

    The new job's name is derived from the data hash and the DAG run, so a retried task ensures the same job.
    """
    last = last_active_import(hook, dataset_arn)
    location = (last or {}).get("dataSource", {}).get("dataLocation")
    if last and location == staged["uri"] and not force:
        log.info("%s: data unchanged since import %s (%s); not re-importing", dataset, last["jobName"], location)
        return {"job_name": last["jobName"], "reimport": False, "data_location": location}
    name = f"{dataset}-{staged['sha256'][:12]}-{token[:8]}"
    why = "force_import" if (last and location == staged["uri"]) else f"data changed (last: {location})"
    log.info("%s: importing %s as %s (%s)", dataset, staged["uri"], name, why)
    return {"job_name": name, "reimport": True, "data_location": staged["uri"]}
