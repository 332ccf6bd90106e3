"""Per-kind rules: at create time (defaults AWS applies, quotas, schema checks), of Update<Kind> operations, and
members Describe/List derive from other resources: tables of hooks per kind (_HOOKS, _UPDATES, _VIEWS).

A create hook gets the backend (lock held), the new document (create params already copied in), the raw params
and the parent document; it may fill defaults into `doc` and returns extra create-response members.
"""

from __future__ import annotations

import time
import uuid
from typing import NamedTuple

from personalize_local import attribution, autotraining, catalog
from personalize_local.aws_errors import (
    InvalidInput,
    LimitExceeded,
    ResourceAlreadyExists,
    ResourceInUse,
    ResourceNotFound,
)
from personalize_local.datasets import DATASET_TYPES, field_types, parse_schema, replacement_problem
from personalize_local.kinds import DELETING, IN_FLIGHT, KINDS, Kind


class UpdateFailed(Exception):
    """Raised by an apply hook: the latest<Kind>Update summary ends CREATE FAILED with this failureReason."""


class Quota(NamedTuple):
    """At most `limit` resources of a kind that count, per region or per dataset group."""

    limit: int
    scope: str  # "region" (the request's region and the service's account) or "group" (one dataset group)
    # "in_flight" (CREATE PENDING/IN_PROGRESS/STOPPING), "pending" (CREATE PENDING), "live" (not failed or
    # deleting) or "all"
    counts: str


# AWS's quota page ("Amazon Personalize endpoints and quotas") and its error-messages page: 5 pending or in
# progress dataset import jobs per region (not adjustable), and the per-region table (active schemas, datasets,
# dataset groups, event trackers, solutions: 500; pending or in progress batch inference jobs 5, solution
# versions 20). Campaigns and filters stay per dataset group (README, "known differences from AWS"). Data
# deletion jobs: "You can have at most 5 deletion jobs with PENDING status for a dataset group" (Deleting users).
QUOTAS = {
    "DataDeletionJob": Quota(5, "group", "pending"),
    "DatasetImportJob": Quota(5, "region", "in_flight"),
    "BatchInferenceJob": Quota(5, "region", "in_flight"),
    "SolutionVersion": Quota(20, "region", "in_flight"),
    "Campaign": Quota(5, "group", "live"),
    "Filter": Quota(10, "group", "all"),
    **{
        kind: Quota(500, "region", "live") for kind in ("Schema", "Dataset", "DatasetGroup", "EventTracker", "Solution")
    },
}


def before_create(backend, kind: Kind, doc: dict, params: dict, parent: dict | None) -> dict | None:
    _check_quota(backend, kind, doc)
    if params.get("roleArn"):
        _check_role(backend, params["roleArn"])
    hook = _HOOKS.get(kind.name)
    return hook(backend, doc, params, parent) if hook else None


def _check_quota(backend, kind: Kind, doc: dict) -> None:
    quota = QUOTAS.get(kind.name)
    if quota is None:
        return
    if quota.scope == "region":
        docs = backend.in_region(kind.name)
        where = f"in {backend.arn_prefix().split(':')[3]}"
    else:
        group = doc.get("datasetGroupArn") or doc["_ancestors"]["datasetGroupArn"]
        docs = backend.linked(kind.name, "datasetGroupArn", group)
        where = f"in dataset group {group}"
    if quota.counts == "in_flight":
        docs = [d for d in docs if d.get("status") in IN_FLIGHT]
    elif quota.counts == "pending":
        docs = [d for d in docs if d.get("status") == "CREATE PENDING"]
    elif quota.counts == "live":
        docs = [d for d in docs if d.get("status") not in ("CREATE FAILED", *DELETING)]
    if len(docs) < quota.limit:
        return
    if quota.counts == "in_flight":  # AWS's own wording (error-messages page, CreateDatasetImportJob)
        raise LimitExceeded(f"More than {quota.limit} resources with PENDING or IN_PROGRESS status.")
    noun = {
        "Campaign": "active campaigns",
        "Filter": "filters",
        "DataDeletionJob": "data deletion jobs with PENDING status",
    }.get(kind.name, f"{kind.name} resources")
    raise LimitExceeded(
        f"There are already {len(docs)} {noun} {where} (the limit is {quota.limit}); delete one first. "
        f"{kind.name} {docs[0][KINDS[kind.name].arn_member]} is one of them."
    )


def _check_role(backend, role_arn: str) -> None:
    """With an IAM endpoint configured (--iam-endpoint, e.g. the stack's moto server), `roleArn` must name a role
    that exists there; its form (an IAM role ARN) the service model's pattern has already checked."""
    if not backend.iam_endpoint:
        return
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    iam = boto3.client(
        "iam",
        endpoint_url=backend.iam_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = role_arn.rsplit("/", 1)[-1]
    try:
        found = iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
        found = None
    except BotoCoreError as exc:
        raise InvalidInput(f"roleArn {role_arn} could not be checked: IAM at {backend.iam_endpoint}: {exc}") from exc
    if found != role_arn:
        raise InvalidInput(
            f"roleArn {role_arn} is not a role that exists in IAM"
            + (f" (a role of that name is {found})" if found else "")
            + ": create the role (trusted by personalize.amazonaws.com) or name an existing one."
        )


def view(backend, doc: dict) -> dict:
    """The document as Describe/List show it: with the members derived from other resources."""
    derive = _VIEWS.get(doc["_kind"])
    return derive(backend, doc) if derive else doc


def updatable(kind: Kind) -> bool:
    """Whether the kind has an Update<Kind> operation (and a latest<Kind>Update summary)."""
    return kind.name in _UPDATES


def requested_update(backend, kind: Kind, doc: dict, params: dict) -> dict:
    """The fields of an Update<Kind> request, checked (the backend holds the lock)."""
    return _UPDATES[kind.name][0](backend, doc, params)


def apply_update(backend, kind: Kind, doc: dict, summary: dict) -> dict:
    """Fields of the resource that change once its latest<Kind>Update summary is ACTIVE (the backend holds the
    lock); UpdateFailed if the update can no longer be applied."""
    return _UPDATES[kind.name][1](backend, doc, summary)


def _schema(backend, doc, params, parent):
    parse_schema(doc["schema"])


def _dataset(backend, doc, params, parent):
    dtype = doc["datasetType"].upper()
    if dtype not in DATASET_TYPES:
        raise InvalidInput(f"datasetType {doc['datasetType']!r} must be one of {sorted(DATASET_TYPES)}")
    doc["datasetType"] = dtype
    params["datasetType"] = dtype
    fields = {f["name"] for f in parse_schema(backend.require(doc["schemaArn"], "Schema")["schema"])}
    missing = [f for f in DATASET_TYPES[dtype] if f not in fields]
    if missing:
        raise InvalidInput(f"Schema {doc['schemaArn']} lacks the fields {missing} required for a {dtype} dataset")
    for other in backend.linked("Dataset", "datasetGroupArn", doc["datasetGroupArn"]):
        if other["datasetType"] == dtype:
            raise ResourceAlreadyExists(
                f"Dataset group {doc['datasetGroupArn']} already has a {dtype} dataset: {other['datasetArn']}"
            )


def _solution(backend, doc, params, parent):
    recipe = doc.get("recipeArn")
    if recipe:
        catalog.require(recipe)
    if not recipe and not doc.get("performAutoML"):
        raise InvalidInput("recipeArn is required unless performAutoML is true")
    doc.setdefault("performAutoTraining", True)
    for flag in ("performHPO", "performAutoML", "performIncrementalUpdate"):
        doc.setdefault(flag, False)
    expression = autotraining.expression_of(doc)
    if expression is not None:
        autotraining.days(expression, "solutionConfig.autoTrainingConfig.schedulingExpression")


def _solution_version(backend, doc, params, parent):
    busy = [
        d
        for d in backend.linked("SolutionVersion", "solutionArn", parent["solutionArn"])
        if d.get("status") in IN_FLIGHT
    ]
    if busy:
        raise ResourceInUse(
            f"Solution {parent['solutionArn']} already has a version being created: "
            f"{busy[0]['solutionVersionArn']}; wait for it or stop it."
        )
    for key in (
        "recipeArn",
        "eventType",
        "datasetGroupArn",
        "solutionConfig",
        "performHPO",
        "performAutoML",
        "performIncrementalUpdate",
    ):
        if parent.get(key) is not None:
            doc[key] = parent[key]
    doc.setdefault("trainingMode", "FULL")
    if doc["trainingMode"] == "AUTOTRAIN":
        raise InvalidInput(
            "trainingMode AUTOTRAIN is not a mode CreateSolutionVersion documents: use FULL (the default) or "
            "UPDATE. Automatic training is configured on the solution (performAutoTraining, "
            "solutionConfig.autoTrainingConfig)."
        )
    if doc["trainingMode"] == "UPDATE" and not _updatable(doc.get("recipeArn")):
        raise InvalidInput(
            f"trainingMode UPDATE is not available for solution {parent['solutionArn']} (recipe "
            f"{doc.get('recipeArn') or 'chosen by AutoML'}): the UPDATE option can only be used when the input "
            "solution was trained with the User-Personalization recipe or the legacy HRNN-Coldstart recipe. "
            "Use trainingMode FULL."
        )
    doc["trainingType"] = "MANUAL"
    autotraining.manual_version_created(backend, parent, time.time())


def _updatable(recipe_arn: str | None) -> bool:
    """Whether solutions of `recipe_arn` may train UPDATE versions (the engine's recipe supports it and the AWS
    recipe allows it: User-Personalization, not -v2)."""
    from personalize_local.engine import UnsupportedRecipeError, recipe_for

    try:
        recipe = recipe_for(recipe_arn) if recipe_arn is not None else None
    except UnsupportedRecipeError:
        return False
    return bool(recipe and recipe.supports_update and any(a.arn == recipe_arn and a.allows_update
                                                          for a in recipe.aws_recipes))


def _campaign(backend, doc, params, parent):
    doc.setdefault("minProvisionedTPS", 1)


def _filter(backend, doc, params, parent):
    from personalize_local.engine import FilterSyntaxError, parse_filter

    try:
        parse_filter(doc["filterExpression"])
    except FilterSyntaxError as exc:
        raise InvalidInput(f"filterExpression is invalid: {exc}") from exc


def _event_tracker(backend, doc, params, parent):
    existing = backend.linked("EventTracker", "datasetGroupArn", doc["datasetGroupArn"])
    if existing:
        raise ResourceAlreadyExists(
            f"Dataset group {doc['datasetGroupArn']} already has an event tracker: {existing[0]['eventTrackerArn']}"
        )
    doc["trackingId"] = str(uuid.uuid4())
    doc["accountId"] = backend.account_id
    return {"trackingId": doc["trackingId"]}


def _import_job(backend, doc, params, parent):
    update = parent.get("latestDatasetUpdate") or {}
    if update.get("status") in IN_FLIGHT:
        raise ResourceInUse(
            f"Dataset {parent['datasetArn']} is replacing its schema (latestDatasetUpdate {update['status']}); "
            "import once the update is ACTIVE, so that the data is checked against the new schema."
        )
    location = doc["dataSource"].get("dataLocation") or ""
    if not location.startswith("s3://"):
        raise InvalidInput(f"dataSource.dataLocation {location!r} must be an s3://bucket/key URL")
    doc.setdefault("importMode", "FULL")
    doc.setdefault("publishAttributionMetricsToS3", False)


def _data_deletion_job(backend, doc, params, parent):
    location = doc["dataSource"].get("dataLocation") or ""
    if not location.startswith("s3://"):
        raise InvalidInput(f"dataSource.dataLocation {location!r} must be an s3://bucket/key URL of a CSV file")


def _batch_job(backend, doc, params, parent):
    for member, sub in (("jobInput", "s3DataSource"), ("jobOutput", "s3DataDestination")):
        path = (doc[member].get(sub) or {}).get("path", "")
        if not path.startswith("s3://"):
            raise InvalidInput(f"{member}.{sub}.path {path!r} must be an s3:// URL")
    doc.setdefault("numResults", 25)
    doc.setdefault("batchInferenceJobMode", "BATCH_INFERENCE")


def _metric_attribution(backend, doc, params, parent):
    attribution.before_create(backend, doc, params)


_HOOKS = {
    "MetricAttribution": _metric_attribution,
    "Schema": _schema,
    "Dataset": _dataset,
    "Solution": _solution,
    "SolutionVersion": _solution_version,
    "Campaign": _campaign,
    "Filter": _filter,
    "EventTracker": _event_tracker,
    "DatasetImportJob": _import_job,
    "DataDeletionJob": _data_deletion_job,
    "BatchInferenceJob": _batch_job,
}


def _campaign_request(backend, doc: dict, params: dict) -> dict:
    version = params.get("solutionVersionArn") or doc["solutionVersionArn"]
    if version != doc["solutionVersionArn"]:
        backend.require_active(backend.require(version, "SolutionVersion"), "SolutionVersion")
    return {
        "solutionVersionArn": version,
        "minProvisionedTPS": params.get("minProvisionedTPS", doc.get("minProvisionedTPS")),
        "campaignConfig": params.get("campaignConfig", doc.get("campaignConfig")),
    }


def _campaign_applied(backend, doc: dict, summary: dict) -> dict:
    members = ("solutionVersionArn", "minProvisionedTPS", "campaignConfig")
    return {k: summary[k] for k in members if summary.get(k) is not None}


def _solution_request(backend, doc: dict, params: dict) -> dict:
    members = ("performAutoTraining", "performIncrementalUpdate", "solutionUpdateConfig")
    expression = ((params.get("solutionUpdateConfig") or {}).get("autoTrainingConfig") or {}).get(
        "schedulingExpression"
    )
    if expression is not None:
        autotraining.days(expression, "solutionUpdateConfig.autoTrainingConfig.schedulingExpression")
    return {k: params[k] for k in members if k in params}


def _solution_applied(backend, doc: dict, summary: dict) -> dict:
    """The new settings, and the automatic training schedule they imply: turned on, the first automatic
    training comes within an hour after the update completes; turned off, none; a new frequency resets the
    schedule (a training within the hour, then the new frequency)."""
    fields = {k: summary[k] for k in ("performAutoTraining", "performIncrementalUpdate") if k in summary}
    auto = (summary.get("solutionUpdateConfig") or {}).get("autoTrainingConfig")
    if auto:
        fields["solutionConfig"] = {**(doc.get("solutionConfig") or {}), "autoTrainingConfig": auto}
    on_before = bool(doc.get("performAutoTraining"))
    on_after = bool(fields.get("performAutoTraining", on_before))
    if on_after and not on_before:
        fields.update(autotraining.first_training(backend, time.time()))
    elif not on_after:
        fields.update(autotraining.no_training())
    elif auto:
        fields.update(autotraining.rescheduled(backend, doc, auto.get("schedulingExpression"), time.time()))
    return fields


def _dataset_request(backend, doc: dict, params: dict) -> dict:
    """UpdateDataset: the new schema, checked against the rules for replacing a schema; refused while an import
    job of the dataset is in flight."""
    busy = [d for d in backend.linked("DatasetImportJob", "datasetArn", doc["datasetArn"]) if d["status"] in IN_FLIGHT]
    if busy:
        raise ResourceInUse(
            f"Dataset {doc['datasetArn']} has a dataset import job {busy[0]['status']}: "
            f"{busy[0]['datasetImportJobArn']}; replace its schema once the import has finished."
        )
    _replacement_fields(backend, doc, params["schemaArn"], at_request=True)
    return {"schemaArn": params["schemaArn"]}


def _replacement_fields(backend, doc: dict, schema_arn: str, at_request: bool) -> list[dict]:
    """The fields of the schema `schema_arn` once checked to replace the dataset's current schema. Why not:
    at the request ResourceNotFound or InvalidInput, later (applying the update) UpdateFailed."""
    error = InvalidInput if at_request else UpdateFailed
    new_schema = backend.store.peek(schema_arn)
    if new_schema is None or new_schema["_kind"] != "Schema" or not backend.visible(schema_arn):
        message = f"Schema {schema_arn} does not exist."
        raise ResourceNotFound(message) if at_request else UpdateFailed(message)
    old_fields = parse_schema(backend.require(doc["schemaArn"], "Schema")["schema"])
    new_fields = parse_schema(new_schema["schema"])
    problem = replacement_problem(doc["datasetType"], old_fields, new_fields)
    if problem:
        raise error(f"Cannot replace the schema of dataset {doc['datasetArn']} with {schema_arn}. {problem}")
    return new_fields


def _dataset_applied(backend, doc: dict, summary: dict) -> dict:
    """The new schema, checked again (it may have been deleted meanwhile); the group's existing solutions
    exclude the new columns from training, as Personalize does for existing solutions."""
    new_fields = _replacement_fields(backend, doc, summary["schemaArn"], at_request=False)
    old = set(field_types(parse_schema(backend.require(doc["schemaArn"], "Schema")["schema"])))
    added = [f["name"] for f in new_fields if f["name"] not in old]
    for solution in backend.linked("Solution", "datasetGroupArn", doc["datasetGroupArn"]):
        excluded = dict(solution.get("_excluded_new_columns") or {})
        excluded[doc["datasetType"]] = sorted({*excluded.get(doc["datasetType"], []), *added})
        backend.set_fields(solution["solutionArn"], touch=False, _excluded_new_columns=excluded)
    return {"schemaArn": summary["schemaArn"]}


# Kind -> (the fields an Update<Kind> request sets, the fields of the resource they change once ACTIVE).
_UPDATES = {
    "Campaign": (_campaign_request, _campaign_applied),
    "Solution": (_solution_request, _solution_applied),
    "Dataset": (_dataset_request, _dataset_applied),
}


def _solution_view(backend, doc: dict) -> dict:
    versions = backend.linked("SolutionVersion", "solutionArn", doc["solutionArn"])
    if not versions:
        return doc
    return {**doc, "latestSolutionVersion": max(versions, key=lambda d: d["creationDateTime"])}


# DataDeletionJob statuses as AWS names them (PENDING > IN_PROGRESS > COMPLETED -or- FAILED); the lifecycle
# moves every job through the same CREATE PENDING > CREATE IN_PROGRESS > ACTIVE / CREATE FAILED steps.
DATA_DELETION_STATUSES = {
    "CREATE PENDING": "PENDING",
    "CREATE IN_PROGRESS": "IN_PROGRESS",
    "ACTIVE": "COMPLETED",
    "CREATE FAILED": "FAILED",
}


def _data_deletion_view(backend, doc: dict) -> dict:
    return {**doc, "status": DATA_DELETION_STATUSES.get(doc.get("status"), doc.get("status"))}


_VIEWS = {"Solution": _solution_view, "DataDeletionJob": _data_deletion_view}
