"""Asynchronous status transitions and the jobs that run during them.

A ticker thread moves statuses along (CREATE PENDING -> CREATE IN_PROGRESS -> ACTIVE, CREATE STOPPING ->
CREATE STOPPED, DELETE PENDING -> DELETE IN_PROGRESS -> gone, and the same for latest*Update summaries), each
step after the backend's `min_delay`. A kind with a `job` (kinds.py) runs its runner in a worker pool while
CREATE IN_PROGRESS instead; a job interrupted by a crash is re-run from scratch after the restart, at most
`max_resumes` times, then ends CREATE FAILED. The ticker also starts automatic trainings when they are due
(autotraining.py).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from personalize_local import attribution, autotraining, semantics
from personalize_local.jobs import deletion
from personalize_local.jobs.context import JobContext, JobFailed, Runner
from personalize_local.kinds import KINDS, Kind, parse_arn
from personalize_local.paths import UnsafePath
from personalize_local.scope import request_region

log = logging.getLogger("personalize_local")
MAX_RESUMES = 3


class Lifecycle:
    """The ticker and the job pool of one Backend (`backend`: personalize_local.backend.Backend)."""

    def __init__(self, backend, runners: dict[str, Runner], workers: int = 4, max_resumes: int = MAX_RESUMES):
        self.backend = backend
        self.runners = runners
        self.max_resumes = max_resumes
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pz-job")
        self._running: set[str] = set()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        """Resume jobs interrupted by a crash, then start the ticker."""
        store = self.backend.store
        with store.lock:
            for doc in store.all():
                kind = KINDS[doc["_kind"]]
                if kind.job and doc.get("status") == "CREATE IN_PROGRESS":
                    arn = doc[kind.arn_member]
                    if doc.get("_attempts", 0) >= self.max_resumes:
                        reason = f"Interrupted by {self.max_resumes} service restarts; create it again."
                        self._finish(arn, "CREATE FAILED", {"failureReason": reason})
                    else:
                        log.info("resuming %s job %s after restart", kind.job, arn)
                        self._submit(arn)
        self._ticker = threading.Thread(target=self._tick_loop, name="pz-ticker", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- status transitions ------------------------------------------------------------------------------
    def _tick_loop(self) -> None:
        interval = max(0.01, min(0.1, self.backend.min_delay / 4))
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the ticker must survive any single bad document
                log.exception("status ticker failed")

    def tick(self) -> None:
        """Advance every document whose current step is due."""
        now = time.time()
        with self.backend.store.lock:
            for doc in list(self.backend.store.all()):
                if doc.get("_due") is not None and doc["_due"] <= now:
                    self._advance(KINDS[doc["_kind"]], doc, now)
                update = doc.get("_update")
                if update and update["due"] <= now:
                    self._advance_update(KINDS[doc["_kind"]], doc, update, now)
            autotraining.tick(self.backend, now)
        attribution.tick(self.backend, now)  # S3 writes: outside the store lock

    def _advance(self, kind: Kind, doc: dict, now: float) -> None:
        set_fields = self.backend.set_fields
        arn, status = doc[kind.arn_member], doc.get("status")
        due = now + self.backend.min_delay
        if status == "CREATE PENDING":
            if kind.job:
                set_fields(arn, status="CREATE IN_PROGRESS", _due=None)
                self._submit(arn)
            else:
                set_fields(arn, status="CREATE IN_PROGRESS", _due=due)
        elif status == "CREATE IN_PROGRESS":
            set_fields(arn, status="ACTIVE", _due=None)
            if kind.name == "Solution" and doc.get("performAutoTraining"):
                set_fields(arn, touch=False, **autotraining.first_training(self.backend, now))
        elif status == "CREATE STOPPING":
            set_fields(arn, status="CREATE STOPPED", _due=None)
        elif status == "DELETE PENDING":
            set_fields(arn, status="DELETE IN_PROGRESS", _due=due)
        elif status == "DELETE IN_PROGRESS":
            deletion.remove(self.backend, kind, arn)
        else:
            set_fields(arn, _due=None, touch=False)

    def _advance_update(self, kind: Kind, doc: dict, update: dict, now: float) -> None:
        arn, member = doc[kind.arn_member], update["member"]
        summary = dict(doc[member])
        summary["lastUpdatedDateTime"] = now
        if summary["status"] == "CREATE PENDING":
            summary["status"] = "CREATE IN_PROGRESS"
            due = now + self.backend.min_delay
            self.backend.set_fields(arn, touch=False, **{member: summary}, _update={**update, "due": due})
            return
        try:
            with request_region(parse_arn(arn)[0]):  # the resource's region: what it refers to lives there
                applied = semantics.apply_update(self.backend, kind, doc, summary)
        except semantics.UpdateFailed as exc:
            summary.update(status="CREATE FAILED", failureReason=str(exc))
            self.backend.set_fields(arn, touch=False, **{member: summary}, _update=None)
            return
        summary["status"] = "ACTIVE"
        self.backend.set_fields(arn, **applied, **{member: summary}, _update=None)

    # -- jobs --------------------------------------------------------------------------------------------
    def _submit(self, arn: str) -> None:
        if arn in self._running:
            return
        store = self.backend.store
        doc = self.backend.set_fields(arn, touch=False, _attempts=(store.peek(arn) or {}).get("_attempts", 0) + 1)
        if doc is None:
            return
        self._running.add(arn)
        self._pool.submit(self._run_job, arn)

    def _run_job(self, arn: str) -> None:
        faults, min_delay = self.backend.faults, self.backend.min_delay
        try:
            time.sleep(faults.job_delay())
            doc = self.backend.store.get(arn)
            kind = KINDS[doc["_kind"]]
            reason = faults.take(kind.job)
            if reason:
                raise JobFailed(reason)
            runner = self.runners.get(kind.job)
            if runner is None:
                raise JobFailed(f"{kind.job} jobs are not available in this personalize_local installation.")
            started = time.time()
            updates = runner(JobContext(self.backend, doc)) or {}
            time.sleep(max(0.0, started + min_delay - time.time()))
            self._finish(arn, "ACTIVE", updates)
        except (JobFailed, UnsafePath) as exc:
            self._finish(arn, "CREATE FAILED", {"failureReason": str(exc)})
        except Exception as exc:  # noqa: BLE001 - any runner bug must end the job, never leave it pending
            log.exception("job %s crashed", arn)
            reason = f"Internal error in personalize_local: {type(exc).__name__}: {exc}"
            self._finish(arn, "CREATE FAILED", {"failureReason": reason})
        finally:
            self._running.discard(arn)

    def _finish(self, arn: str, status: str, updates: dict) -> None:
        with self.backend.store.lock:
            doc = self.backend.store.peek(arn)
            if doc is None or doc.get("status") != "CREATE IN_PROGRESS":
                return  # stopped or deleted meanwhile: the result is discarded
            self.backend.set_fields(arn, status=status, **updates)
        log.info("job %s -> %s %s", arn, status, updates.get("failureReason", ""))


def warm_up() -> None:
    """Import what jobs need and compile the service models' patterns in a background thread (call once the
    server listens), so the first import/training job or tagged request does not pay for it."""
    threading.Thread(target=_warm_up, name="pz-warm-up", daemon=True).start()


def _warm_up() -> None:
    import importlib

    from personalize_local.service_model import compile_patterns

    for service in ("personalize", "personalize-runtime", "personalize-events"):
        compile_patterns(service)
    for module in ("pyarrow.csv", "pyarrow.parquet", "boto3", "personalize_local.engine"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a missing optional module is reported by the job that needs it
            log.debug("warm-up import of %s failed", module)
