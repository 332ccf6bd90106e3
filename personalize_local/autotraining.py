"""Automatic training: the solution versions the service trains on a solution's schedule (trainingType AUTOMATIC).

As "Configuring automatic training" documents it: a solution with performAutoTraining (the default) trains a
new version every `solutionConfig.autoTrainingConfig.schedulingExpression` ("rate(N days)", N from 1 to 30;
default 7 days), the first one within an hour after the solution is ACTIVE (or after an UpdateSolution that
turns it on has completed); a version created manually within that hour replaces the first automatic training,
and the schedule runs from the start of the last training. A scheduled training happens only if interaction
data was imported in bulk or recorded with PutEvents since the last training; each is a FULL training of all
the data. The service trains exactly one hour after (where AWS says "within"), and `day_seconds` (the service's
--auto-training-seconds-per-day) compresses time: 86400 is real time, 1 makes a day one second (an hour 1/24 s).

Schedule state lives on the solution document: `_auto_next` (when the next automatic training is due; None:
none is scheduled), `_auto_first` (that one is the first, which a manual version replaces) and `_auto_anchor`
(the start of the last automatic or replacing training). Call these with the store lock held.
"""

from __future__ import annotations

import logging
import re

from personalize_local.aws_errors import InvalidInput, ServiceError
from personalize_local.kinds import IN_FLIGHT, KINDS, parse_arn
from personalize_local.scope import request_region

log = logging.getLogger("personalize_local.autotraining")
DEFAULT_EXPRESSION = "rate(7 days)"
MIN_DAYS, MAX_DAYS = 1, 30
_RATE = re.compile(r"rate\((\d+) days?\)")


def days(expression: str | None, member: str = "schedulingExpression") -> int:
    """The number of days of a rate expression (the default one when None); InvalidInput outside 1-30 days."""
    match = _RATE.fullmatch(expression or DEFAULT_EXPRESSION)
    value = int(match.group(1)) if match else 0
    if not MIN_DAYS <= value <= MAX_DAYS:
        raise InvalidInput(
            f"{member} {expression!r} is not a valid training frequency: specify rate(value days) with a value "
            f"between {MIN_DAYS} and {MAX_DAYS}, e.g. rate(5 days)."
        )
    return value


def expression_of(solution: dict) -> str | None:
    return ((solution.get("solutionConfig") or {}).get("autoTrainingConfig") or {}).get("schedulingExpression")


def first_training(backend, now: float) -> dict:
    """Schedule fields of a solution whose automatic training starts now (ACTIVE, or turned on by an update)."""
    return {"_auto_next": now + backend.auto_training_day_seconds / 24, "_auto_first": True, "_auto_anchor": None}


def no_training() -> dict:
    return {"_auto_next": None, "_auto_first": False}


def rescheduled(backend, solution: dict, expression: str | None, now: float) -> dict:
    """Schedule fields after an update set the training frequency to `expression` (automatic training stays on).
    A changed frequency resets the schedule ("Updating a solution": a new version starts training within the hour,
    then the new frequency counts from the update); the same frequency again changes nothing."""
    if days(expression) == days(expression_of(solution)):
        return {}
    return {"_auto_next": now + backend.auto_training_day_seconds / 24, "_auto_first": False, "_auto_anchor": None}


def manual_version_created(backend, solution: dict, now: float) -> None:
    """A manual version created before the first automatic training replaces it; the schedule runs from it."""
    if solution.get("_auto_first") and solution.get("_auto_next") is not None and now < solution["_auto_next"]:
        backend.set_fields(
            solution["solutionArn"],
            touch=False,
            _auto_first=False,
            _auto_anchor=now,
            _auto_next=now + days(expression_of(solution)) * backend.auto_training_day_seconds,
        )


def tick(backend, now: float) -> None:
    """Start every automatic training that is due (called by the lifecycle ticker)."""
    for solution in list(backend.store.all("Solution")):
        due = solution.get("_auto_next")
        if due is None or due > now or solution.get("status") != "ACTIVE" or not solution.get("performAutoTraining"):
            continue
        period = days(expression_of(solution)) * backend.auto_training_day_seconds
        following = due + period if due + period > now else now + period  # after a stop, no catching up
        backend.set_fields(
            solution["solutionArn"], touch=False, _auto_next=following, _auto_first=False, _auto_anchor=due
        )
        reason = _reason_to_skip(backend, solution)
        if reason:
            log.info("automatic training of %s skipped: %s", solution["solutionArn"], reason)
            continue
        _start(backend, solution)


def _reason_to_skip(backend, solution: dict) -> str | None:
    versions = backend.linked("SolutionVersion", "solutionArn", solution["solutionArn"])
    busy = [v for v in versions if v.get("status") in IN_FLIGHT]
    if busy:
        return f"version {busy[0]['solutionVersionArn']} is {busy[0]['status']}"
    trained = [v["creationDateTime"] for v in versions if v.get("status") == "ACTIVE"]
    newest = newest_interactions(backend, solution["datasetGroupArn"])
    if newest is None:
        return "the dataset group has no interaction data"
    if trained and newest <= max(trained):
        return "no interaction data was imported or recorded since the last training"
    return None


def newest_interactions(backend, group: str) -> float | None:
    """When interaction data last reached the group: the end of its latest ACTIVE interactions import job, or
    its latest PutEvents event (None: neither)."""
    times = [
        job["lastUpdatedDateTime"]
        for dataset in backend.linked("Dataset", "datasetGroupArn", group)
        if dataset.get("datasetType") == "INTERACTIONS"
        for job in backend.linked("DatasetImportJob", "datasetArn", dataset["datasetArn"])
        if job.get("status") == "ACTIVE"
    ]
    event = backend.events.newest(group)
    if event is not None:
        times.append(event)
    return max(times) if times else None


def _start(backend, solution: dict) -> None:
    kind = KINDS["SolutionVersion"]
    try:
        with request_region(parse_arn(solution["solutionArn"])[0]):
            arn = backend.create(kind, {"solutionArn": solution["solutionArn"], "trainingMode": "FULL"})[
                kind.arn_member
            ]
    except ServiceError as exc:  # e.g. the region's quota of versions in training
        log.warning("automatic training of %s not started: %s", solution["solutionArn"], exc.message)
        return
    backend.set_fields(arn, touch=False, trainingType="AUTOMATIC")
    log.info("automatic training of %s started: %s", solution["solutionArn"], arn)
