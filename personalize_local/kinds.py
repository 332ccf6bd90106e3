"""The table of Personalize resource kinds served by the backend: lifecycle as data, one row per kind.

Operation names, ARN members and output shapes follow from the row: Create<Kind>, Describe<Kind>,
List<Kind>s, Delete<Kind>. Adding a kind means adding a row (plus its semantics hook, if any).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"  # when a request is not signed (or names no region)
DEFAULT_ACCOUNT = "000000000000"  # the dummy account id unless --account-id / PERSONALIZE_LOCAL_ACCOUNT_ID says
_ARN = re.compile(r"arn:aws:personalize:([a-z0-9-]+):(\d{12}):(.+)")


def arn_prefix(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """`arn:aws:personalize:<region>:<account>:`, the head of every ARN this service issues."""
    return f"arn:aws:personalize:{region}:{account}:"


ARN_PREFIX = arn_prefix()  # the ARN head of the default region and account


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, resource path) of a personalize ARN of this service's layout, or None."""
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    return match.groups() if match else None


@dataclass(frozen=True)
class Kind:
    name: str  # "DatasetGroup": the operation suffix
    arn_member: str  # "datasetGroupArn"
    arn_path: str  # format string over the create params + parent names, after the ARN prefix
    parent: tuple[str, str] | None = None  # (member in create params, parent kind name)
    refs: tuple[tuple[str, str], ...] = ()  # other ARNs that must exist: (member, kind name)
    name_member: str = "name"
    name_scope: str = "account"  # "account" or "parent": where names must be unique
    has_status: bool = True
    deletable: bool = True
    job: str | None = None  # job runner kind run while CREATE IN_PROGRESS ("import", "training", "batch", ...)
    # Delete answers ResourceInUseException while a resource of kind K links here through member M
    # (directly or as an ancestor); with in_flight=True only while that resource is still being created.
    delete_blockers: tuple[tuple[str, str, bool], ...] = ()

    @property
    def create_op(self) -> str:
        return f"Create{self.name}"

    @property
    def describe_op(self) -> str:
        return f"Describe{self.name}"

    @property
    def list_op(self) -> str:
        return f"List{self.name}s"

    @property
    def delete_op(self) -> str:
        return f"Delete{self.name}"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "DatasetGroup",
            "datasetGroupArn",
            "dataset-group/{name}",
            # What AWS's DeleteDatasetGroup documentation lists: event trackers, solutions, datasets. Filters
            # (and what else lives only in the group) go with it (jobs/deletion.py).
            delete_blockers=tuple((k, "datasetGroupArn", False) for k in ("Dataset", "Solution", "EventTracker")),
        ),
        Kind(
            "Schema",
            "schemaArn",
            "schema/{name}",
            has_status=False,
            delete_blockers=(("Dataset", "schemaArn", False),),
        ),
        Kind(
            "Dataset",
            "datasetArn",
            "dataset/{parent_name}/{datasetType}",
            parent=("datasetGroupArn", "DatasetGroup"),
            refs=(("schemaArn", "Schema"),),
            name_scope="parent",
            delete_blockers=(("DatasetImportJob", "datasetArn", True),),
        ),
        Kind(
            "Solution",
            "solutionArn",
            "solution/{name}",
            parent=("datasetGroupArn", "DatasetGroup"),
            delete_blockers=(("Campaign", "solutionArn", False), ("SolutionVersion", "solutionArn", True)),
        ),
        Kind(
            "SolutionVersion",
            "solutionVersionArn",
            "solution/{parent_name}/{uid}",
            parent=("solutionArn", "Solution"),
            name_scope="none",
            deletable=False,
            job="training",
        ),
        Kind("Campaign", "campaignArn", "campaign/{name}", parent=("solutionVersionArn", "SolutionVersion")),
        Kind("Filter", "filterArn", "filter/{name}", parent=("datasetGroupArn", "DatasetGroup")),
        Kind(
            "EventTracker",
            "eventTrackerArn",
            "event-tracker/{uid}",
            parent=("datasetGroupArn", "DatasetGroup"),
            name_scope="parent",
        ),
        Kind(
            "MetricAttribution",
            "metricAttributionArn",
            "metric-attribution/{name}",
            parent=("datasetGroupArn", "DatasetGroup"),
        ),
        Kind(
            "DatasetImportJob",
            "datasetImportJobArn",
            "dataset-import-job/{name}",
            parent=("datasetArn", "Dataset"),
            name_member="jobName",
            deletable=False,
            job="import",
        ),
        Kind(
            "DataDeletionJob",
            "dataDeletionJobArn",
            "data-deletion-job/{name}",
            parent=("datasetGroupArn", "DatasetGroup"),
            name_member="jobName",
            deletable=False,
            job="data_deletion",
        ),
        Kind(
            "BatchInferenceJob",
            "batchInferenceJobArn",
            "batch-inference-job/{name}",
            parent=("solutionVersionArn", "SolutionVersion"),
            refs=(("filterArn", "Filter"),),
            name_member="jobName",
            deletable=False,
            job="batch",
        ),
    )
}

IN_FLIGHT = ("CREATE PENDING", "CREATE IN_PROGRESS", "CREATE STOPPING")
DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")


def kind_of_arn(arn: str) -> Kind | None:
    """The kind whose ARN layout matches `arn` (solution versions have one more path segment)."""
    parsed = parse_arn(arn)
    if parsed is None:
        return None
    path = parsed[2].split("/")
    for kind in KINDS.values():
        layout = kind.arn_path.split("/")
        if layout[0] == path[0] and len(layout) == len(path):
            return kind
    return None
