"""Decide whether a dataset needs a new import job, from Personalize's own record of past imports."""

from __future__ import annotations

import logging

from personalize_ops.operators.ensure import PersonalizeEnsureResourceOperator
from personalize_ops.pipeline.values import ImportPlan, StagedDataset
from personalize_ops.resources import KINDS

log = logging.getLogger(__name__)
IMPORT_JOB = KINDS["dataset_import_job"]


def last_active_import(hook, dataset_arn: str) -> dict | None:
    """Describe of the newest ACTIVE import job of a dataset, or None."""
    active = [s for s in hook.list(IMPORT_JOB, dataset_arn) if IMPORT_JOB.is_ready(s)]
    if not active:
        return None
    newest = max(active, key=lambda s: (s.get("creationDateTime") or 0, s.get("lastUpdatedDateTime") or 0))
    return hook.describe(IMPORT_JOB, newest[IMPORT_JOB.arn_member])


def plan_import(hook, dataset_arn: str, staged: StagedDataset, force: bool, token: str) -> ImportPlan:
    """The import job to ensure: the last one when its data is this exact file (no re-import), else a new one.

    The new job's name is derived from the data hash and the DAG run, so a retried task ensures the same job.
    """
    dataset = staged.dataset
    last = last_active_import(hook, dataset_arn)
    location = (last or {}).get("dataSource", {}).get("dataLocation")
    if last and location == staged.uri and not force:
        log.info("%s: data unchanged since import %s (%s); not re-importing", dataset, last["jobName"], location)
        return ImportPlan(dataset, last["jobName"], False, location)
    name = f"{dataset}-{staged.sha256[:12]}-{token[:8]}"
    why = "force_import" if (last and location == staged.uri) else f"data changed (last: {location})"
    log.info("%s: importing %s as %s (%s)", dataset, staged.uri, name, why)
    return ImportPlan(dataset, name, True, staged.uri)


def created(summary: dict) -> float:
    """``creationDateTime`` of a Describe object or List summary, in epoch seconds."""
    value = summary.get("creationDateTime") or 0
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def imports_since_full(hook, dataset_arn: str) -> list[dict]:
    """Describes of the dataset's newest ACTIVE FULL import and every ACTIVE import after it, oldest first;
    [] when the dataset has no ACTIVE FULL import."""
    active = sorted((s for s in hook.list(IMPORT_JOB, dataset_arn) if s.get("status") == "ACTIVE"), key=created)
    described = [hook.describe(IMPORT_JOB, s[IMPORT_JOB.arn_member]) for s in active]
    full = [n for n, d in enumerate(described) if d.get("importMode", "FULL") == "FULL"]
    return described[full[-1]:] if full else []



class PersonalizeImportOperator(PersonalizeEnsureResourceOperator):
    """Ensure the dataset import job an :class:`ImportPlan` names (an unchanged dataset ensures its last import).

    :param plan: the ``plan_import`` task's :class:`ImportPlan`. Templated (XCom).
    :param role_arn: the role Personalize reads the data with.
    :param import_mode: ``FULL`` or ``INCREMENTAL``.
    """

    template_fields = (*PersonalizeEnsureResourceOperator.template_fields, "plan")
    default_kind = "dataset_import_job"

    def __init__(self, *, plan: ImportPlan, role_arn: str, import_mode: str, **kwargs) -> None:
        super().__init__(name="", **kwargs)
        self.plan, self.role_arn, self.import_mode = plan, role_arn, import_mode

    def request_config(self) -> dict:
        return {"dataSource": {"dataLocation": self.plan.data_location}, "roleArn": self.role_arn,
                "importMode": self.import_mode}  # fmt: skip

    def execute(self, context) -> str:
        self.name = self.plan.job_name
        return super().execute(context)
