"""The Personalize resource table: every resource kind's lifecycle, as data.

Operators, waiters (``waiters/personalize.json``), triggers, sensors, console links and the teardown order
are all derived from :data:`KINDS`. Adding a kind means adding a row here (and regenerating the waiter JSON
with ``python -m personalize_ops.waiters``). ``tests/personalize_ops/test_resources.py`` checks every name
used below against botocore's own service model.

Naming in the Personalize API is regular: the ARN member (``datasetGroupArn``) is the same in the Create
response, the Describe/Delete request, the Describe response object and the List summaries, so one
``arn_member`` covers all four.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Status spellings. Batch jobs are documented as "PENDING" / "IN PROGRESS" but real responses say
# "CREATE PENDING" / "CREATE IN_PROGRESS": every kind accepts both.
IN_PROGRESS = ("CREATE PENDING", "CREATE IN_PROGRESS", "PENDING", "IN PROGRESS", "IN_PROGRESS")
ACTIVE = ("ACTIVE",)
CREATE_FAILED = ("CREATE FAILED", "CREATE STOPPED", "CREATE STOPPING", "FAILED")
DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")
DELETE_FAILED = ("DELETE FAILED",)
NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class ResourceKind:
    """One Personalize resource kind.

    ``status_path`` is None for kinds without a status (schemas: ready as soon as created);
    ``failure_reason_path`` is None for kinds whose Describe has no ``failureReason``.
    ``parent`` / ``list_parent_member`` filter the List call; ``create_parent_member`` is where the
    parent ARN goes in the Create request (None when the parent is not a create argument, e.g. campaigns are
    listed per solution but created from a solution version given in the config).
    ``config_members`` are the Describe members compared by the ensure operators for drift.
    ``teardown_rank``: lower is deleted first (dependents before what they depend on).
    """

    key: str
    title: str  # CamelCase, used for operation and waiter names
    describe_key: str
    list_key: str
    arn_member: str
    name_member: str = "name"
    parent: str | None = None
    list_parent_member: str | None = None
    create_parent_member: str | None = None
    status_path: str | None = "status"
    failure_reason_path: str | None = "failureReason"
    config_members: tuple[str, ...] = ()
    create_defaults: dict = field(default_factory=dict)
    deletable: bool = True
    update_op: str | None = None
    update_status_path: str | None = None  # e.g. latestCampaignUpdate.status
    stop_op: str | None = None
    teardown_rank: int = 100
    in_progress: tuple[str, ...] = IN_PROGRESS
    success: tuple[str, ...] = ACTIVE
    failure: tuple[str, ...] = CREATE_FAILED

    # Derived operation names -------------------------------------------------------------------
    @property
    def create_op(self) -> str:
        return f"Create{self.title}"

    @property
    def describe_op(self) -> str:
        return f"Describe{self.title}"

    @property
    def list_op(self) -> str:
        return f"List{self.title}s"

    @property
    def delete_op(self) -> str | None:
        return f"Delete{self.title}" if self.deletable else None

    @property
    def active_waiter(self) -> str:
        return f"{self.title}Active"

    @property
    def deleted_waiter(self) -> str | None:
        return f"{self.title}Deleted" if self.deletable else None

    @property
    def updated_waiter(self) -> str | None:
        return f"{self.title}Updated" if self.update_status_path else None

    @property
    def stopped_waiter(self) -> str | None:
        return f"{self.title}Stopped" if self.stop_op else None

    @property
    def status_query(self) -> str | None:
        """JMESPath of the status in the Describe response."""
        return f"{self.describe_key}.{self.status_path}" if self.status_path else None

    @property
    def failure_reason_query(self) -> str | None:
        return f"{self.describe_key}.{self.failure_reason_path}" if self.failure_reason_path else None

    @property
    def update_status_query(self) -> str | None:
        return f"{self.describe_key}.{self.update_status_path}" if self.update_status_path else None

    def waiter_name(self, target: str) -> str:
        """Name of the generated waiter for ``target`` in active / deleted / updated / stopped."""
        name = getattr(self, f"{target}_waiter", None)
        if not name:
            raise ValueError(f"resource kind {self.key!r} has no {target!r} waiter")
        return name


_JOB = {"name_member": "jobName", "deletable": False, "teardown_rank": 0}

KINDS: dict[str, ResourceKind] = {
    k.key: k
    for k in (
        ResourceKind(
            key="dataset_group",
            title="DatasetGroup",
            describe_key="datasetGroup",
            list_key="datasetGroups",
            arn_member="datasetGroupArn",
            config_members=("roleArn", "kmsKeyArn", "domain"),
            teardown_rank=90,
        ),
        ResourceKind(
            key="schema",
            title="Schema",
            describe_key="schema",
            list_key="schemas",
            arn_member="schemaArn",
            status_path=None,
            failure_reason_path=None,
            config_members=("schema", "domain"),
            teardown_rank=95,
        ),
        ResourceKind(
            key="dataset",
            title="Dataset",
            describe_key="dataset",
            list_key="datasets",
            arn_member="datasetArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            failure_reason_path=None,
            config_members=("datasetType", "schemaArn"),
            teardown_rank=80,
        ),
        ResourceKind(
            key="dataset_import_job",
            title="DatasetImportJob",
            describe_key="datasetImportJob",
            list_key="datasetImportJobs",
            arn_member="datasetImportJobArn",
            parent="dataset",
            list_parent_member="datasetArn",
            create_parent_member="datasetArn",
            config_members=("dataSource", "roleArn", "importMode"),
            **_JOB,
        ),
        ResourceKind(
            key="solution",
            title="Solution",
            describe_key="solution",
            list_key="solutions",
            arn_member="solutionArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            failure_reason_path=None,
            config_members=(
                "recipeArn",
                "performHPO",
                "performAutoML",
                "performAutoTraining",
                "eventType",
                "solutionConfig",
            ),
            create_defaults={"performAutoTraining": False},
            update_op="UpdateSolution",
            teardown_rank=60,
        ),
        ResourceKind(
            key="solution_version",
            title="SolutionVersion",
            describe_key="solutionVersion",
            list_key="solutionVersions",
            arn_member="solutionVersionArn",
            parent="solution",
            list_parent_member="solutionArn",
            create_parent_member="solutionArn",
            config_members=("trainingMode",),
            deletable=False,
            stop_op="StopSolutionVersionCreation",
            teardown_rank=0,
        ),
        ResourceKind(
            key="campaign",
            title="Campaign",
            describe_key="campaign",
            list_key="campaigns",
            arn_member="campaignArn",
            parent="solution",
            list_parent_member="solutionArn",
            config_members=("solutionVersionArn", "minProvisionedTPS", "campaignConfig"),
            update_op="UpdateCampaign",
            update_status_path="latestCampaignUpdate.status",
            teardown_rank=10,
        ),
        ResourceKind(
            key="filter",
            title="Filter",
            describe_key="filter",
            list_key="Filters",
            arn_member="filterArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            config_members=("filterExpression",),
            teardown_rank=30,
        ),
        ResourceKind(
            key="event_tracker",
            title="EventTracker",
            describe_key="eventTracker",
            list_key="eventTrackers",
            arn_member="eventTrackerArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            failure_reason_path=None,
            teardown_rank=20,
        ),
        ResourceKind(
            key="batch_inference_job",
            title="BatchInferenceJob",
            describe_key="batchInferenceJob",
            list_key="batchInferenceJobs",
            arn_member="batchInferenceJobArn",
            parent="solution_version",
            list_parent_member="solutionVersionArn",
            create_parent_member="solutionVersionArn",
            config_members=(
                "filterArn",
                "numResults",
                "jobInput",
                "jobOutput",
                "roleArn",
                "batchInferenceJobConfig",
            ),
            **_JOB,
        ),
        ResourceKind(
            key="batch_segment_job",
            title="BatchSegmentJob",
            describe_key="batchSegmentJob",
            list_key="batchSegmentJobs",
            arn_member="batchSegmentJobArn",
            parent="solution_version",
            list_parent_member="solutionVersionArn",
            create_parent_member="solutionVersionArn",
            config_members=("filterArn", "numResults", "jobInput", "jobOutput", "roleArn"),
            **_JOB,
        ),
        ResourceKind(
            key="metric_attribution",
            title="MetricAttribution",
            describe_key="metricAttribution",
            list_key="metricAttributions",
            arn_member="metricAttributionArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            config_members=("metricsOutputConfig",),
            teardown_rank=40,
        ),
        ResourceKind(
            key="recommender",
            title="Recommender",
            describe_key="recommender",
            list_key="recommenders",
            arn_member="recommenderArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            config_members=("recipeArn", "recommenderConfig"),
            update_op="UpdateRecommender",
            teardown_rank=10,
        ),
    )
}

#: Deletable kinds, dependents first: the order a teardown deletes in.
TEARDOWN_ORDER: tuple[str, ...] = tuple(
    k.key for k in sorted(KINDS.values(), key=lambda k: k.teardown_rank) if k.deletable
)


def kind(key: str | ResourceKind) -> ResourceKind:
    """Look a kind up by key (``"dataset_group"``) or title (``"DatasetGroup"``); clear error otherwise."""
    if isinstance(key, ResourceKind):
        return key
    if key in KINDS:
        return KINDS[key]
    for k in KINDS.values():
        if k.title == key:
            return k
    raise ValueError(f"unknown Personalize resource kind {key!r}; known kinds: {', '.join(KINDS)}")
