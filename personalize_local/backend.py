"""The backend: owns resource state and semantics; the HTTP layer only parses, calls `call` and serializes.

`call` dispatches an operation: Create/Describe/List/Delete, and Update where a kind has one, are generic over
the kind table (kinds.py), with per-kind rules (defaults, quotas, checks, what an update changes) as hooks in
semantics.py; ListRecipes/DescribeRecipe are catalog.py's; tags, metrics and stopping a version are methods
here. What happens after a create, update or delete (status transitions, jobs, removal) is lifecycle.py's and
jobs/'s.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from personalize_local import attribution, catalog, semantics
from personalize_local.aws_errors import (
    InvalidInput,
    NotImplementedOp,
    ResourceAlreadyExists,
    ResourceInUse,
    ResourceNotFound,
    TooManyTags,
    UnknownOperation,
)
from personalize_local.events import EventLog
from personalize_local.faults import Faults
from personalize_local.jobs import default_runners, deletion
from personalize_local.jobs.context import Runner
from personalize_local.kinds import (
    DEFAULT_ACCOUNT,
    DELETING,
    IN_FLIGHT,
    KINDS,
    Kind,
    arn_prefix,
    kind_of_arn,
    parse_arn,
)
from personalize_local.lifecycle import MAX_RESUMES, Lifecycle
from personalize_local.pagination import page
from personalize_local.scope import current_region, request_region
from personalize_local.service_model import ServiceModel
from personalize_local.store import Store

MAX_TAGS = 50
DAY_SECONDS = 86400.0


class Backend:
    """State and semantics of the local Personalize control plane."""

    def __init__(
        self,
        data_dir: Path,
        min_delay: float = 0.2,
        s3_endpoint: str | None = None,
        faults: Faults | None = None,
        runners: dict[str, Runner] | None = None,
        workers: int = 4,
        max_resumes: int = MAX_RESUMES,
        account_id: str = DEFAULT_ACCOUNT,
        iam_endpoint: str | None = None,
        auto_training_day_seconds: float = DAY_SECONDS,
        attribution_publish_seconds: float = attribution.WINDOW_SECONDS,
    ):
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account id {account_id!r} must be 12 digits, as AWS account ids are")
        self.account_id = account_id
        self.iam_endpoint = iam_endpoint  # roleArn must name a role that exists there (None: not checked)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.min_delay = float(min_delay)
        if not auto_training_day_seconds > 0:
            raise ValueError(f"auto training seconds per day {auto_training_day_seconds!r} must be positive")
        self.auto_training_day_seconds = float(auto_training_day_seconds)  # a day of automatic training schedules
        if not attribution_publish_seconds > 0:
            raise ValueError(f"attribution publish seconds {attribution_publish_seconds!r} must be positive")
        self.attribution_publish_seconds = float(attribution_publish_seconds)  # PutEvents metrics -> S3 period
        self.s3_endpoint = s3_endpoint
        self.faults = faults or Faults()
        self.model = ServiceModel("personalize")
        self.store = Store(self.data_dir / "state.sqlite")
        self.events = EventLog(self.data_dir / "events.sqlite")
        runners = default_runners() if runners is None else runners
        self.lifecycle = Lifecycle(self, runners, workers=workers, max_resumes=max_resumes)
        self._ops = self._dispatch_table()

    def start(self) -> None:
        """Resume jobs interrupted by a crash, then start the status ticker."""
        self.lifecycle.start()

    def close(self) -> None:
        self.lifecycle.close()
        self.store.close()
        self.events.close()

    # -- entry point --------------------------------------------------------------------------------------
    def call(self, operation: str, params: dict) -> dict:
        """Validate `params` against the service model and run `operation`; raises ServiceError."""
        handler = self._ops.get(operation)
        if handler is None:
            if operation in self.model.operations:
                raise NotImplementedOp(f"not implemented by personalize_local: {operation}")
            raise UnknownOperation(f"Unknown operation: {operation}")
        self.model.validate(operation, params)
        return handler(params)

    def _dispatch_table(self) -> dict[str, Callable[[dict], dict]]:
        ops: dict[str, Callable[[dict], dict]] = {}
        for kind in KINDS.values():
            if semantics.updatable(kind):
                ops[f"Update{kind.name}"] = partial(self.update, kind)
            ops[kind.create_op] = partial(self.create, kind)
            ops[kind.describe_op] = partial(self.describe, kind)
            ops[kind.list_op] = partial(self.list, kind)
            if kind.deletable:
                ops[kind.delete_op] = partial(self.delete, kind)
        ops.update(
            {
                "StopSolutionVersionCreation": self.stop_solution_version,
                "ListRecipes": partial(catalog.list_recipes, self.model),
                "DescribeRecipe": partial(catalog.describe_recipe, self.model),
                "TagResource": self.tag_resource,
                "UntagResource": self.untag_resource,
                "ListTagsForResource": self.list_tags,
                "GetSolutionMetrics": self.get_solution_metrics,
                "UpdateMetricAttribution": self.update_metric_attribution,
                "ListMetricAttributionMetrics": self.list_metric_attribution_metrics,
            }
        )
        # Kinds this service cannot create can still be listed: the answer is truthfully empty, so clients that
        # enumerate a dataset group (e.g. a teardown) work unchanged.
        for op, key in (("ListRecommenders", "recommenders"), ("ListBatchSegmentJobs", "batchSegmentJobs")):
            ops[op] = partial(_empty_list, key)
        return ops

    # -- generic resource operations ------------------------------------------------------------------------
    def create(self, kind: Kind, params: dict) -> dict:
        shape = self.model.single_member(kind.describe_op)[1]
        members = self.model.members(shape)
        now = time.time()
        with self.store.lock:
            parent = self._parent_of(kind, params)
            for member, ref_kind in kind.refs:
                if params.get(member):
                    self.require(params[member], ref_kind)
            doc = {m: copy.deepcopy(v) for m, v in params.items() if m in members}
            doc["_kind"] = kind.name
            ancestors = {}
            if parent is not None:
                pkind = KINDS[parent["_kind"]]
                ancestors = {**parent["_ancestors"], pkind.arn_member: parent[pkind.arn_member]}
            doc["_ancestors"] = ancestors
            extra = semantics.before_create(self, kind, doc, params, parent) or {}
            uid = uuid.uuid4().hex[:8]
            if not doc.get(kind.name_member):
                doc[kind.name_member] = uid
            fields = {
                **params,
                **doc,
                "name": doc[kind.name_member],
                "uid": uid,
                "parent_name": parent.get("name") if parent else None,
            }
            arn = self.arn_prefix() + kind.arn_path.format(**fields)
            self._check_unique(kind, doc, arn)
            doc[kind.arn_member] = arn
            doc["_tags"] = {t["tagKey"]: t["tagValue"] for t in params.get("tags") or []}
            doc["creationDateTime"] = doc["lastUpdatedDateTime"] = now
            if kind.has_status:
                doc["status"] = "CREATE PENDING"
                doc["_due"] = now + self.min_delay
            self.store.put(arn, doc)
        return {kind.arn_member: arn, **extra}

    def describe(self, kind: Kind, params: dict) -> dict:
        member, shape = self.model.single_member(kind.describe_op)
        with self.store.lock:
            doc = self.require(params[kind.arn_member], kind.name)
            return {member: self._project(shape, doc)}

    def list(self, kind: Kind, params: dict) -> dict:
        member, shape = self.model.list_member(kind.list_op)
        links = {m: v for m, v in params.items() if m not in ("nextToken", "maxResults") and v}
        with self.store.lock:
            docs = [
                d
                for d in self.in_region(kind.name)
                if all(d.get(m) == v or d["_ancestors"].get(m) == v for m, v in links.items())
            ]
            order = partial(_newest_first, kind.arn_member)
            docs.sort(key=order)
            project = partial(self._project, shape)
            return page(member, docs, params, kind.list_op, project, order)

    def delete(self, kind: Kind, params: dict) -> dict:
        arn = params[kind.arn_member]
        with self.store.lock:
            doc = self.require(arn, kind.name)
            status = doc.get("status")
            if status in IN_FLIGHT or status in DELETING:
                raise ResourceInUse(
                    f"{kind.name} {arn} is {status}; it can be deleted once it is ACTIVE or CREATE FAILED."
                )
            for blocker, member, in_flight_only in kind.delete_blockers:
                for other in self.linked(blocker, member, arn):
                    if not in_flight_only or other.get("status") in IN_FLIGHT:
                        other_arn = other[KINDS[blocker].arn_member]
                        raise ResourceInUse(
                            f"Cannot delete {kind.name} {arn}: {blocker} {other_arn} "
                            f"({other.get('status', 'exists')}) uses it; delete or wait for "
                            "it first."
                        )
            deletion.check(self, kind, arn)
            if not kind.has_status:
                deletion.remove(self, kind, arn)
            else:
                self.set_fields(arn, status="DELETE PENDING", _due=time.time() + self.min_delay)
        return {}

    # -- special operations ---------------------------------------------------------------------------------
    def update(self, kind: Kind, params: dict) -> dict:
        """Update<Kind>: the requested fields become the latest<Kind>Update summary, applied once it is ACTIVE."""
        arn = params[kind.arn_member]
        with self.store.lock:
            doc = self.require(arn, kind.name)
            fields = semantics.requested_update(self, kind, doc, params)
            self._start_update(doc, kind, fields)
        return {kind.arn_member: arn}

    def stop_solution_version(self, params: dict) -> dict:
        arn = params["solutionVersionArn"]
        with self.store.lock:
            doc = self.require(arn, "SolutionVersion")
            if doc["status"] not in ("CREATE PENDING", "CREATE IN_PROGRESS"):
                raise ResourceInUse(
                    f"Solution version {arn} is {doc['status']}; only CREATE PENDING or "
                    "CREATE IN_PROGRESS versions can be stopped."
                )
            self.set_fields(arn, status="CREATE STOPPING", _due=time.time() + self.min_delay)
        return {}

    def update_metric_attribution(self, params: dict) -> dict:
        """UpdateMetricAttribution: the metrics and output change at once (README, known differences)."""
        arn = _required(params, "metricAttributionArn")
        with self.store.lock:
            doc = self.require(arn, "MetricAttribution")
            self.require_active(doc, "MetricAttribution")
            self.set_fields(arn, **attribution.update(self, doc, params))
        return {"metricAttributionArn": arn}

    def list_metric_attribution_metrics(self, params: dict) -> dict:
        with self.store.lock:
            doc = self.require(_required(params, "metricAttributionArn"), "MetricAttribution")
            metrics = [dict(m) for m in doc.get("_metrics") or []]
        return page("metrics", metrics, params, "ListMetricAttributionMetrics")

    def tag_resource(self, params: dict) -> dict:
        arn = params["resourceArn"]
        with self.store.lock:
            doc = self.require(arn)
            tags = {**doc["_tags"], **{t["tagKey"]: t["tagValue"] for t in params["tags"]}}
            if len(tags) > MAX_TAGS:
                raise TooManyTags(f"{arn} would have {len(tags)} tags; the limit is {MAX_TAGS}.")
            self.set_fields(arn, _tags=tags, touch=False)
        return {}

    def untag_resource(self, params: dict) -> dict:
        arn = params["resourceArn"]
        with self.store.lock:
            doc = self.require(arn)
            tags = {k: v for k, v in doc["_tags"].items() if k not in params["tagKeys"]}
            self.set_fields(arn, _tags=tags, touch=False)
        return {}

    def list_tags(self, params: dict) -> dict:
        with self.store.lock:
            doc = self.require(params["resourceArn"])
            return {"tags": [{"tagKey": k, "tagValue": v} for k, v in doc["_tags"].items()]}

    def get_solution_metrics(self, params: dict) -> dict:
        arn = params["solutionVersionArn"]
        with self.store.lock:
            doc = self.require(arn, "SolutionVersion")
            return {"solutionVersionArn": arn, "metrics": dict(doc.get("_metrics") or {})}

    def describe_any(self, arn: str) -> dict:
        """The Describe* response for any ARN (the admin "console link"), whatever its region."""
        kind = kind_of_arn(arn)
        if kind is not None:
            with request_region(parse_arn(arn)[0]):
                return self.describe(kind, {kind.arn_member: arn})
        if arn in catalog.recipes():
            return catalog.describe_recipe(self.model, {"recipeArn": arn})
        raise ResourceNotFound(f"{arn} is not an ARN this service issues.")

    # -- helpers --------------------------------------------------------------------------------------------
    def arn_prefix(self) -> str:
        """The ARN head of resources created by the current request: its signing region, the service's account."""
        return arn_prefix(current_region(), self.account_id)

    def visible(self, arn: str) -> bool:
        """Whether `arn` belongs to the current request's region and the service's account (AWS serves each
        region separately: another region's resource does not exist for this one)."""
        parsed = parse_arn(arn)
        return parsed is not None and parsed[:2] == (current_region(), self.account_id)

    def in_region(self, kind: str) -> list[dict]:
        """Documents of `kind` in the current request's region (and the service's account)."""
        member = KINDS[kind].arn_member
        return [d for d in self.store.all(kind) if self.visible(d[member])]

    def require(self, arn: str, kind: str | None = None) -> dict:
        """The stored document (hold the lock) or ResourceNotFoundException; a resource of another region or
        account is not found, as on AWS."""
        doc = self.store.peek(arn)
        if doc is None or (kind is not None and doc["_kind"] != kind) or not self.visible(arn):
            raise ResourceNotFound(f"Resource {arn} does not exist" + (f" (expected a {kind})." if kind else "."))
        return doc

    def linked(self, kind: str, member: str, arn: str) -> list[dict]:
        """Documents of `kind` that point at `arn` through `member`, directly or as an ancestor."""
        return [d for d in self.store.all(kind) if d.get(member) == arn or d["_ancestors"].get(member) == arn]

    def set_fields(self, arn: str, touch: bool = True, **fields) -> dict | None:
        with self.store.lock:
            doc = self.store.get(arn)
            if doc is None:
                return None
            doc.update(fields)
            if touch:
                doc["lastUpdatedDateTime"] = time.time()
            self.store.put(arn, doc)
            return doc

    def _parent_of(self, kind: Kind, params: dict) -> dict | None:
        if kind.parent is None:
            return None
        member, parent_kind = kind.parent
        parent = self.require(params[member], parent_kind)
        self.require_active(parent, parent_kind)
        return parent

    @staticmethod
    def require_active(doc: dict, kind: str) -> None:
        if doc.get("status") != "ACTIVE":
            arn = doc[KINDS[kind].arn_member]
            raise ResourceInUse(f"{kind} {arn} is {doc.get('status')}; it must be ACTIVE. Wait for it first.")

    def _check_unique(self, kind: Kind, doc: dict, arn: str) -> None:
        if self.store.peek(arn) is not None:
            raise ResourceAlreadyExists(f"{kind.name} {arn} already exists.")
        if kind.name_scope != "parent":
            return
        member = kind.parent[0]
        name = doc.get(kind.name_member)
        for other in self.linked(kind.name, member, doc[member]):
            if other.get(kind.name_member) == name:
                raise ResourceAlreadyExists(f"{kind.name} named {name} already exists in {doc[member]}.")

    def _project(self, shape: str, doc: dict) -> dict:
        """The document as Describe/List answer it: derived members added, only the shape's members kept."""
        return self.model.project(shape, semantics.view(self, doc))

    def _start_update(self, doc: dict, kind: Kind, fields: dict) -> None:
        self.require_active(doc, kind.name)
        member = f"latest{kind.name}Update"
        current = doc.get(member) or {}
        if current.get("status") in IN_FLIGHT:
            raise ResourceInUse(
                f"{kind.name} {doc[kind.arn_member]} has an update {current['status']}; wait for it to finish."
            )
        now = time.time()
        update = {**fields, "status": "CREATE PENDING", "creationDateTime": now, "lastUpdatedDateTime": now}
        self.set_fields(
            doc[kind.arn_member], **{member: update}, _update={"member": member, "due": now + self.min_delay}
        )


def _newest_first(arn_member: str, doc: dict) -> tuple:
    return (-doc["creationDateTime"], doc[arn_member])


def _required(params: dict, member: str) -> str:
    """A member the service model leaves optional but the operation cannot do without."""
    if not params.get(member):
        raise InvalidInput(f"{member} is required.")
    return params[member]


def _empty_list(key: str, params: dict) -> dict:
    return {key: []}
