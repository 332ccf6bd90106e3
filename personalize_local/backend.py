"""The backend: owns resource state and semantics; the HTTP layer only parses, calls `call` and serializes.

Create/Describe/List/Delete are generic over the kind table (kinds.py); per-kind rules (defaults, quotas,
schema checks) are small hooks in semantics.py. A ticker thread moves statuses along
(CREATE PENDING -> CREATE IN_PROGRESS -> ACTIVE, DELETE PENDING -> DELETE IN_PROGRESS -> gone); kinds with a
`job` run a pluggable runner in a worker pool while CREATE IN_PROGRESS, resumed after a restart.
"""

from __future__ import annotations

import base64
import bisect
import copy
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from personalize_local import semantics
from personalize_local.errors import (
    InvalidNextToken,
    JobFailed,
    NotImplementedOp,
    ResourceAlreadyExists,
    ResourceInUse,
    ResourceNotFound,
    TooManyTags,
    UnknownOperation,
)
from personalize_local.events import EventLog
from personalize_local.faults import Faults
from personalize_local.kinds import ARN_PREFIX, DELETING, IN_FLIGHT, KINDS, Kind, kind_of_arn
from personalize_local.paths import UnsafePath
from personalize_local.recipes import RECIPES
from personalize_local.service_model import ServiceModel
from personalize_local.store import Store

log = logging.getLogger("personalize_local")
MAX_RESUMES = 3
MAX_TAGS = 50


class JobContext:
    """What a job runner sees: its own document, read access to others, the data dir and S3."""

    def __init__(self, backend: Backend, doc: dict):
        self.backend = backend
        self.doc = doc
        self.data_dir: Path = backend.data_dir
        self.s3_endpoint: str | None = backend.s3_endpoint

    def get(self, arn: str) -> dict | None:
        return self.backend.store.get(arn)

    def children(self, kind: str, member: str, arn: str) -> list[dict]:
        return [copy.deepcopy(d) for d in self.backend.linked(kind, member, arn)]

    def update(self, **fields) -> None:
        """Persist intermediate fields on the job's document (e.g. progress) without changing status."""
        self.backend.set_fields(self.doc[KINDS[self.doc["_kind"]].arn_member], **fields)

    def s3(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


Runner = Callable[[JobContext], dict | None]


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
    ):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.min_delay = float(min_delay)
        self.max_resumes = max_resumes
        self.s3_endpoint = s3_endpoint
        self.faults = faults or Faults()
        self.model = ServiceModel("personalize")
        self.store = Store(self.data_dir / "state.sqlite")
        self.events = EventLog(self.data_dir / "events.sqlite")
        if runners is None:
            from personalize_local.jobs import default_runners

            runners = default_runners()
        self.runners = runners
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pz-job")
        self._running: set[str] = set()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._ops = self._dispatch_table()

    # -- lifecycle of the backend itself ----------------------------------------------------------------
    def start(self) -> None:
        """Resume jobs interrupted by a crash, then start the status ticker."""
        with self.store.lock:
            for doc in self.store.all():
                kind = KINDS[doc["_kind"]]
                if kind.job and doc.get("status") == "CREATE IN_PROGRESS":
                    arn = doc[kind.arn_member]
                    if doc.get("_attempts", 0) >= self.max_resumes:
                        self._finish(
                            arn,
                            "CREATE FAILED",
                            {
                                "failureReason": (
                                    f"Interrupted by {self.max_resumes} service restarts; create it again."
                                )
                            },
                        )
                    else:
                        log.info("resuming %s job %s after restart", kind.job, arn)
                        self._submit(arn)
        self._ticker = threading.Thread(target=self._tick_loop, name="pz-ticker", daemon=True)
        self._ticker.start()

    @staticmethod
    def warm_up() -> None:
        """Import what jobs need in a background thread (call once the server listens)."""
        threading.Thread(target=_warm_up, name="pz-warm-up", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)
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
            ops[kind.create_op] = partial(self.create, kind)
            ops[kind.describe_op] = partial(self.describe, kind)
            ops[kind.list_op] = partial(self.list, kind)
            if kind.deletable:
                ops[kind.delete_op] = partial(self.delete, kind)
        ops.update(
            {
                "UpdateCampaign": self.update_campaign,
                "UpdateSolution": self.update_solution,
                "StopSolutionVersionCreation": self.stop_solution_version,
                "ListRecipes": self.list_recipes,
                "DescribeRecipe": self.describe_recipe,
                "TagResource": self.tag_resource,
                "UntagResource": self.untag_resource,
                "ListTagsForResource": self.list_tags,
                "GetSolutionMetrics": self.get_solution_metrics,
            }
        )
        # Kinds this service cannot create can still be listed: the answer is truthfully empty, so clients that
        # enumerate a dataset group (e.g. a teardown) work unchanged.
        for op, key in (("ListRecommenders", "recommenders"), ("ListMetricAttributions", "metricAttributions"),
                        ("ListBatchSegmentJobs", "batchSegmentJobs")):  # fmt: skip
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
            arn = ARN_PREFIX + kind.arn_path.format(**fields)
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
            return {member: self.model.project(shape, self._view(doc))}

    def list(self, kind: Kind, params: dict) -> dict:
        member, shape = self.model.list_member(kind.list_op)
        links = {m: v for m, v in params.items() if m not in ("nextToken", "maxResults") and v}
        with self.store.lock:
            docs = [
                d
                for d in self.store.all(kind.name)
                if all(d.get(m) == v or d["_ancestors"].get(m) == v for m, v in links.items())
            ]
            order = partial(_newest_first, kind.arn_member)
            docs.sort(key=order)
            page, token = paginate(docs, params, kind.list_op, order)
            out = {member: [self.model.project(shape, self._view(d)) for d in page]}
        if token:
            out["nextToken"] = token
        return out

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
            self._check_owned_files(kind, arn)
            if not kind.has_status:
                self._remove(kind, arn)
            else:
                self.set_fields(arn, status="DELETE PENDING", _due=time.time() + self.min_delay)
        return {}

    # -- special operations ---------------------------------------------------------------------------------
    def update_campaign(self, params: dict) -> dict:
        arn = params["campaignArn"]
        with self.store.lock:
            doc = self.require(arn, "Campaign")
            new_sv = params.get("solutionVersionArn") or doc["solutionVersionArn"]
            if new_sv != doc["solutionVersionArn"]:
                sv = self.require(new_sv, "SolutionVersion")
                self._require_active(sv, "SolutionVersion")
            fields = {
                "solutionVersionArn": new_sv,
                "minProvisionedTPS": params.get("minProvisionedTPS", doc.get("minProvisionedTPS")),
                "campaignConfig": params.get("campaignConfig", doc.get("campaignConfig")),
            }
            self._start_update(doc, "Campaign", "latestCampaignUpdate", fields)
        return {"campaignArn": arn}

    def update_solution(self, params: dict) -> dict:
        arn = params["solutionArn"]
        with self.store.lock:
            doc = self.require(arn, "Solution")
            fields = {
                k: params[k]
                for k in ("performAutoTraining", "performIncrementalUpdate", "solutionUpdateConfig")
                if k in params
            }
            self._start_update(doc, "Solution", "latestSolutionUpdate", fields)
        return {"solutionArn": arn}

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

    def list_recipes(self, params: dict) -> dict:
        recipes = [] if params.get("domain") else sorted(RECIPES.values(), key=lambda r: r["name"])
        if params.get("recipeProvider") not in (None, "SERVICE"):
            recipes = []
        page, token = paginate(recipes, params, "ListRecipes")
        out = {"recipes": [self.model.project("RecipeSummary", r) for r in page]}
        if token:
            out["nextToken"] = token
        return out

    def describe_recipe(self, params: dict) -> dict:
        recipe = RECIPES.get(params["recipeArn"])
        if recipe is None:
            raise ResourceNotFound(f"Recipe {params['recipeArn']} does not exist. Known: {sorted(RECIPES)}")
        return {"recipe": self.model.project("Recipe", recipe)}

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
        """The Describe* response for any ARN (the admin "console link")."""
        if arn in RECIPES:
            return self.describe_recipe({"recipeArn": arn})
        kind = kind_of_arn(arn)
        if kind is None:
            raise ResourceNotFound(f"{arn} is not an ARN this service issues.")
        return self.describe(kind, {kind.arn_member: arn})

    # -- helpers --------------------------------------------------------------------------------------------
    def require(self, arn: str, kind: str | None = None) -> dict:
        """The stored document (hold the lock) or ResourceNotFoundException."""
        doc = self.store.peek(arn)
        if doc is None or (kind is not None and doc["_kind"] != kind):
            raise ResourceNotFound(
                f"Resource {arn} does not exist" + (f" (expected a {kind})." if kind else ".")
            )
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
        self._require_active(parent, parent_kind)
        return parent

    @staticmethod
    def _require_active(doc: dict, kind: str) -> None:
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

    def _view(self, doc: dict) -> dict:
        """The document as Describe/List show it (derived fields added)."""
        if doc["_kind"] != "Solution":
            return doc
        versions = self.linked("SolutionVersion", "solutionArn", doc["solutionArn"])
        if not versions:
            return doc
        latest = max(versions, key=lambda d: d["creationDateTime"])
        return {**doc, "latestSolutionVersion": latest}

    def _start_update(self, doc: dict, kind: str, member: str, fields: dict) -> None:
        self._require_active(doc, kind)
        current = doc.get(member) or {}
        if current.get("status") in IN_FLIGHT:
            raise ResourceInUse(
                f"{kind} {doc[KINDS[kind].arn_member]} has an update {current['status']}; "
                "wait for it to finish."
            )
        now = time.time()
        update = {**fields, "status": "CREATE PENDING", "creationDateTime": now, "lastUpdatedDateTime": now}
        self.set_fields(
            doc[KINDS[kind].arn_member],
            **{member: update},
            _update={"member": member, "due": now + self.min_delay},
        )

    def _doomed(self, kind: Kind, arn: str) -> list[dict]:
        """What a delete of `arn` removes: what lives only under it (versions, jobs), then itself."""
        doomed = [d for d in self.store.all() if d["_ancestors"].get(kind.arn_member) == arn]
        return [*doomed, self.store.peek(arn)] if self.store.peek(arn) is not None else doomed

    def _check_owned_files(self, kind: Kind, arn: str) -> None:
        """Refuse a delete, before anything changes, if a file it would remove is not provably in the data dir."""
        for doc in self._doomed(kind, arn):
            try:
                semantics.owned_files(self, doc)
            except UnsafePath as exc:
                raise UnsafePath(
                    f"Refusing to delete {kind.name} {arn}: {exc.message} Such a resource can only come from state "
                    "written before names were checked; start the service on a new --data-dir."
                ) from exc

    def _remove(self, kind: Kind, arn: str) -> None:
        """Forget `arn` and what lives only under it (versions, jobs)."""
        for doc in self._doomed(kind, arn):
            if doc is not None:
                semantics.after_remove(self, doc)
                self.store.remove(doc[KINDS[doc["_kind"]].arn_member])

    # -- asynchronous status transitions ---------------------------------------------------------------------
    def _tick_loop(self) -> None:
        interval = max(0.01, min(0.1, self.min_delay / 4))
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the ticker must survive any single bad document
                log.exception("status ticker failed")

    def tick(self) -> None:
        now = time.time()
        with self.store.lock:
            for doc in list(self.store.all()):
                if doc.get("_due") is not None and doc["_due"] <= now:
                    self._advance(KINDS[doc["_kind"]], doc, now)
                update = doc.get("_update")
                if update and update["due"] <= now:
                    self._advance_update(KINDS[doc["_kind"]], doc, update, now)

    def _advance(self, kind: Kind, doc: dict, now: float) -> None:
        arn, status = doc[kind.arn_member], doc.get("status")
        due = now + self.min_delay
        if status == "CREATE PENDING":
            if kind.job:
                self.set_fields(arn, status="CREATE IN_PROGRESS", _due=None)
                self._submit(arn)
            else:
                self.set_fields(arn, status="CREATE IN_PROGRESS", _due=due)
        elif status == "CREATE IN_PROGRESS":
            self.set_fields(arn, status="ACTIVE", _due=None)
        elif status == "CREATE STOPPING":
            self.set_fields(arn, status="CREATE STOPPED", _due=None)
        elif status == "DELETE PENDING":
            self.set_fields(arn, status="DELETE IN_PROGRESS", _due=due)
        elif status == "DELETE IN_PROGRESS":
            self._remove(kind, arn)
        else:
            self.set_fields(arn, _due=None, touch=False)

    def _advance_update(self, kind: Kind, doc: dict, update: dict, now: float) -> None:
        arn, member = doc[kind.arn_member], update["member"]
        summary = dict(doc[member])
        summary["lastUpdatedDateTime"] = now
        if summary["status"] == "CREATE PENDING":
            summary["status"] = "CREATE IN_PROGRESS"
            self.set_fields(
                arn, touch=False, **{member: summary}, _update={**update, "due": now + self.min_delay}
            )
            return
        summary["status"] = "ACTIVE"
        applied = semantics.apply_update(kind, doc, summary)
        self.set_fields(arn, **applied, **{member: summary}, _update=None)

    # -- jobs ----------------------------------------------------------------------------------------------
    def _submit(self, arn: str) -> None:
        if arn in self._running:
            return
        doc = self.set_fields(
            arn, touch=False, _attempts=(self.store.peek(arn) or {}).get("_attempts", 0) + 1
        )
        if doc is None:
            return
        self._running.add(arn)
        self._pool.submit(self._run_job, arn)

    def _run_job(self, arn: str) -> None:
        try:
            time.sleep(self.faults.job_delay())
            doc = self.store.get(arn)
            kind = KINDS[doc["_kind"]]
            reason = self.faults.take(kind.job)
            if reason:
                raise JobFailed(reason)
            runner = self.runners.get(kind.job)
            if runner is None:
                raise JobFailed(f"{kind.job} jobs are not available in this personalize_local installation.")
            started = time.time()
            updates = runner(JobContext(self, doc)) or {}
            time.sleep(max(0.0, started + self.min_delay - time.time()))
            self._finish(arn, "ACTIVE", updates)
        except (JobFailed, UnsafePath) as exc:
            self._finish(arn, "CREATE FAILED", {"failureReason": str(exc)})
        except Exception as exc:  # noqa: BLE001 - any runner bug must end the job, never leave it pending
            log.exception("job %s crashed", arn)
            self._finish(
                arn,
                "CREATE FAILED",
                {"failureReason": f"Internal error in personalize_local: {type(exc).__name__}: {exc}"},
            )
        finally:
            self._running.discard(arn)

    def _finish(self, arn: str, status: str, updates: dict) -> None:
        with self.store.lock:
            doc = self.store.peek(arn)
            if doc is None or doc.get("status") != "CREATE IN_PROGRESS":
                return  # stopped or deleted meanwhile: the result is discarded
            self.set_fields(arn, status=status, **updates)
        log.info("job %s -> %s %s", arn, status, updates.get("failureReason", ""))


def _warm_up() -> None:
    """Import what jobs need and compile the service models' patterns in the background, so the first
    import/training job or tagged request does not pay for it."""
    import importlib

    from personalize_local.service_model import compile_patterns

    for service in ("personalize", "personalize-runtime", "personalize-events"):
        compile_patterns(service)
    for module in ("pyarrow.csv", "pyarrow.parquet", "boto3", "personalize_local.engine"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a missing optional module is reported by the job that needs it
            log.debug("warm-up import of %s failed", module)


def paginate(items: list, params: dict, operation: str, sort_key: Callable | None = None) -> tuple[list, str | None]:
    """One page of `items` per `maxResults` (default 100) and an opaque `nextToken` for the rest.

    `items` are sorted by `sort_key` (default: their position). The token names the sort key of the last
    item returned, and the next page starts after it: resources created or deleted between two pages never
    shift one into the other or out of both (an offset token would skip an item whenever an earlier one
    finished deleting)."""
    keys = [tuple(sort_key(x)) for x in items] if sort_key else [(i,) for i in range(len(items))]
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            op, raw = base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)
            if op != operation:
                raise ValueError(op)
            start = bisect.bisect_right(keys, tuple(json.loads(raw)))
        except Exception as exc:  # noqa: BLE001
            raise InvalidNextToken(f"The nextToken {token!r} was not issued by {operation}.") from exc
    size = params.get("maxResults") or 100
    end = start + size
    if end >= len(items):
        return items[start:], None
    last = json.dumps(list(keys[end - 1]))
    return items[start:end], base64.urlsafe_b64encode(f"{operation}:{last}".encode()).decode()


def _newest_first(arn_member: str, doc: dict) -> tuple:
    return (-doc["creationDateTime"], doc[arn_member])


def _empty_list(key: str, params: dict) -> dict:
    return {key: []}
