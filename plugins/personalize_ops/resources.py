"""The Personalize resource table: every resource kind's lifecycle, as data.

Operators, waiters (``waiters/personalize.json``), ``PersonalizeHook.state()``, triggers, sensors, console links
and the teardown order are all derived from :data:`KINDS`. Adding a kind means adding a row here (and
regenerating the waiter JSON with ``python -m personalize_ops.waiters``). ``tests/personalize_ops/test_resources.py``
checks every name used below against botocore's own service model.

Naming in the Personalize API is regular: the ARN member (``datasetGroupArn``) is the same in the Create
response, the Describe/Delete request, the Describe response object and the List summaries, so one
``arn_member`` covers all four.

What the status rules mean for each wait target (the generated waiters are the only evaluation of them):

- ``active``: ``in_progress`` retries, ``success`` succeeds, ``failure`` and the delete states fail.
- ``updated``: the same rules on the latest update's status (``update_status_path``), or on the resource's own
  status before the first update.
- ``deleted``: ``ResourceNotFoundException`` succeeds, ``DELETING`` retries, ``DELETE_FAILED`` fails.
- ``stopped`` (StopSolutionVersionCreation): AWS documents CREATE_PENDING > CREATE_STOPPED and
  CREATE_IN_PROGRESS > CREATE_STOPPING > CREATE_STOPPED. ``STOPPING`` and ``in_progress`` retry; every other
  end state of the create lifecycle succeeds (:attr:`ResourceKind.settled`): a training that became ACTIVE or
  failed (in any spelling) before the stop took effect has nothing left to stop.
- A status no rule names (a new one AWS may add) is *pending*: botocore's waiter keeps polling a response no
  acceptor matches, so ``state()`` says "pending" too, and the wait ends by its attempt limit. An error response
  no rule names (e.g. ResourceNotFoundException while waiting for ``active``) ends the wait: *failure*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Status spellings. Batch jobs are documented as "PENDING" / "IN PROGRESS" but real responses say
# "CREATE PENDING" / "CREATE IN_PROGRESS": every kind accepts both.
IN_PROGRESS = ("CREATE PENDING", "CREATE IN_PROGRESS", "PENDING", "IN PROGRESS", "IN_PROGRESS")
ACTIVE = ("ACTIVE",)
STOPPING = ("CREATE STOPPING",)
CREATE_FAILED = ("CREATE FAILED", "CREATE STOPPED", *STOPPING, "FAILED")
DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")
DELETE_FAILED = ("DELETE FAILED",)
NOT_FOUND = "ResourceNotFoundException"
TARGETS = ("active", "updated", "deleted", "stopped")

#: Tags: the request/response shape (``[{"tagKey": ..., "tagValue": ...}]``) and the tag that marks the
#: resource a task run created, so a retried run adopts it instead of creating another.
TAG_KEY, TAG_VALUE = "tagKey", "tagValue"
RUN_TAG = "airflow:run"
#: Tag on a solution version the pipeline trains: the fingerprint of its training input (data and configuration),
#: so a later run with the same input reuses the version instead of training again (pipeline/training_reuse.py).
TRAINING_INPUT_TAG = "airflow:training-input"


def tag_list(tags: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{key: value}`` as the ``tags`` member of a Create request."""
    return [{TAG_KEY: key, TAG_VALUE: str(value)} for key, value in tags.items()]


def tag_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The ``tags`` of a ListTagsForResource response as ``{key: value}``."""
    return {t[TAG_KEY]: t[TAG_VALUE] for t in tags}


@dataclass(frozen=True)
class ResourceKind:
    """One Personalize resource kind.

    ``status_path`` is None for kinds without a status (schemas: ready as soon as created);
    ``failure_reason_path`` is None for kinds whose Describe has no ``failureReason``.
    ``parent`` / ``list_parent_member`` filter the List call; ``create_parent_member`` is where the
    parent ARN goes in the Create request (None when the parent is not a create argument, e.g. campaigns are
    listed per solution but created from a solution version given in the config).
    ``config_members`` are the Describe members compared by the ensure operators for drift.
    ``update_status_path``: the status of the latest update in the Describe object (``latestCampaignUpdate.status``).
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
    update_status_path: str | None = None
    stop_op: str | None = None
    teardown_rank: int = 100
    in_progress: tuple[str, ...] = IN_PROGRESS
    success: tuple[str, ...] = ACTIVE
    failure: tuple[str, ...] = CREATE_FAILED

    # Derived names ------------------------------------------------------------------------------
    create_op = property(lambda self: f"Create{self.title}")
    describe_op = property(lambda self: f"Describe{self.title}")
    list_op = property(lambda self: f"List{self.title}s")
    delete_op = property(lambda self: f"Delete{self.title}" if self.deletable else None)
    active_waiter = property(lambda self: f"{self.title}Active")
    deleted_waiter = property(lambda self: f"{self.title}Deleted" if self.deletable else None)
    updated_waiter = property(lambda self: f"{self.title}Updated" if self.update_status_path else None)
    stopped_waiter = property(lambda self: f"{self.title}Stopped" if self.stop_op else None)

    def _query(self, path: str | None) -> str | None:
        return f"{self.describe_key}.{path}" if path else None

    @property
    def status_query(self) -> str | None:
        """JMESPath of the status in the Describe response."""
        return self._query(self.status_path)

    @property
    def failure_reason_query(self) -> str | None:
        return self._query(self.failure_reason_path)

    @property
    def update_status_query(self) -> str | None:
        return self._query(self.update_status_path)

    @property
    def update_member(self) -> str | None:
        """The Describe member holding the latest update (``latestCampaignUpdate``)."""
        return self.update_status_path.split(".")[0] if self.update_status_path else None

    @property
    def settled(self) -> tuple[str, ...]:
        """End states of the create lifecycle: what a stop waits for (see the module docstring)."""
        return (*self.success, *(s for s in self.failure if s not in STOPPING))

    def waiter_name(self, target: str) -> str:
        """Name of the generated waiter for ``target`` in active / deleted / updated / stopped."""
        name = getattr(self, f"{target}_waiter", None) if target in TARGETS else None
        if not name:
            raise ValueError(f"resource kind {self.key!r} has no {target!r} waiter")
        return name

    # Reading Describe objects and writing Create requests ----------------------------------------
    def status_of(self, described: Mapping[str, Any]) -> str | None:
        """The status member of a Describe object or List summary (None for kinds without a status)."""
        return described.get(self.status_path) if self.status_path else None

    def latest_update(self, described: Mapping[str, Any]) -> dict:
        """The latest update summary of a Describe object (``{}`` before the first update)."""
        return dict(described.get(self.update_member) or {}) if self.update_member else {}

    def is_ready(self, described: Mapping[str, Any]) -> bool:
        """Whether a Describe object or List summary is in a success state of this kind."""
        return self.status_of(described) in self.success

    def latest_update_ready(self, described: Mapping[str, Any]) -> dict | None:
        """The latest update summary when it finished successfully, else None (none yet, pending or failed)."""
        latest = self.latest_update(described)
        field_name = self.update_status_path.split(".", 1)[1] if self.update_status_path else None
        return latest if field_name and latest.get(field_name) in self.success else None

    def failure_reason_of(self, described: Mapping[str, Any]) -> str | None:
        """AWS's ``failureReason`` of the resource, else of its latest update."""
        own = described.get(self.failure_reason_path) if self.failure_reason_path else None
        return own or self.latest_update(described).get("failureReason")

    def with_defaults(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with this kind's create defaults filled in (what is created, and compared for drift)."""
        return {**self.create_defaults, **config}

    def create_request(
        self, name: str | None, parent_arn: str | None, config: Mapping[str, Any], tags: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The Create request: name and parent in this kind's members, defaults, ``config`` and tags."""
        params = self.with_defaults(config)
        if name is not None:
            params[self.name_member] = name
        if self.create_parent_member and parent_arn:
            params[self.create_parent_member] = parent_arn
        if tags:
            params["tags"] = tag_list(tags)
        return params


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
            update_op="UpdateDataset",
            update_status_path="latestDatasetUpdate.status",
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
            # PENDING > IN_PROGRESS > COMPLETED -or- FAILED (DescribeDataDeletionJob); never deleted (a record).
            key="data_deletion_job",
            title="DataDeletionJob",
            describe_key="dataDeletionJob",
            list_key="dataDeletionJobs",
            arn_member="dataDeletionJobArn",
            parent="dataset_group",
            list_parent_member="datasetGroupArn",
            create_parent_member="datasetGroupArn",
            config_members=("dataSource", "roleArn"),
            success=("COMPLETED",),
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
            update_op="UpdateMetricAttribution",  # metrics and output change in place (pipeline/attribution.py)
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
