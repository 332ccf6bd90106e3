"""Recommendations of one solution version for the sampled users: a batch inference job or GetRecommendations.

Both paths ask for the same thing: the top :data:`NUM_RESULTS` items per user from one solution version, with the
gate's filter (and its values) applied, so champion, challenger and baseline face the same rules.

- **batch** (:func:`score_batch`, or its three steps for a DAG that runs the job with
  ``PersonalizeBatchInferenceJobOperator``: :func:`write_batch_input`, :func:`batch_job_config`,
  :func:`read_batch_output`): JSON Lines ``{"userId", "filterValues"}`` in the batch work area of S3, one job
  per model (idempotent by name: a retried task reuses its job), output parsed from ``<output>/<input>.out``.
  Works for every version, deployed or not.
- **runtime** (:func:`score_runtime`): one GetRecommendations call per user against the campaign that serves
  the version. No job start-up and no per-job charge, but only for a version a campaign serves (in practice the
  champion), and the campaign's minimum provisioned TPS bounds how fast it goes.

The rule (:func:`choose_path`, ``gate.scoring: auto``): runtime when a campaign serves the version, the campaign
does not explore, the sample has at most ``runtime_max_users`` users and the dataset group has no event tracker;
batch otherwise. A campaign that explores (``campaignConfig.itemExplorationConfig.explorationWeight`` above 0;
AWS's default for User-Personalization is 0.3) fills part of every list with items chosen for exposure, not for
relevance, and batch jobs do not: the champion would be judged on a different list than the challenger. The event
tracker condition keeps the comparison fair: a campaign adapts to events recorded through PutEvents, including
events after the cut C, which would let the champion see part of the holdout. Personalize documents that
campaigns use real-time events; it does not say that batch jobs do, and the local service's batch jobs do not,
so batch is the path that sees the same training data for every model. ``scoring: batch`` always uses batch;
``scoring: runtime`` uses the campaign whenever there is one (the team vouches there are no recorded events).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from personalize_ops import s3_layout
from personalize_ops.pipeline import s3uri

log = logging.getLogger(__name__)
NUM_RESULTS = 25
BATCH, RUNTIME = "batch", "runtime"


class ScoringError(RuntimeError):
    """A model's recommendations do not account for every sampled user, or a path cannot be used."""


@dataclass(frozen=True)
class Recommendations:
    """Top items per user of one solution version (``errors``: users the model could not answer, and why)."""

    solution_version_arn: str
    path: str
    source: str
    num_results: int
    filter_arn: str | None
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["lists"] = {u: list(items) for u, items in sorted(self.lists.items())}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendations:
        d = dict(data)
        d["lists"] = {u: tuple(items) for u, items in d["lists"].items()}
        return cls(**d)


def choose_path(
    *,
    n_users: int,
    campaign_arn: str | None,
    has_event_tracker: bool,
    runtime_max_users: int,
    scoring: str = "auto",
    campaign_explores: bool = True,
) -> tuple[str, str]:
    """(``"batch"`` or ``"runtime"``, why) by the rule in the module docstring."""
    if scoring not in ("auto", BATCH, RUNTIME):
        raise ValueError(f"scoring={scoring!r}: use auto, batch or runtime")
    if scoring == BATCH:
        return BATCH, "scoring: batch"
    if not campaign_arn:
        return BATCH, "no campaign serves this version"
    if scoring == RUNTIME:
        return RUNTIME, f"scoring: runtime, served by {campaign_arn}"
    if campaign_explores:
        return BATCH, "the campaign explores (explorationWeight > 0): its lists are not the model's alone"
    if has_event_tracker:
        return BATCH, "the dataset group records real-time events, which a campaign would use (holdout leak)"
    if n_users > runtime_max_users:
        return BATCH, f"{n_users} users > runtime_max_users {runtime_max_users}"
    return RUNTIME, f"{n_users} users <= runtime_max_users {runtime_max_users}, served by {campaign_arn}"


def campaign_explores(campaign: dict) -> bool:
    """Whether a campaign (DescribeCampaign's ``campaign``) mixes exploration into its lists: an explicit
    ``explorationWeight`` of 0 turns it off; absent, AWS applies its default (0.3), so the campaign explores."""
    config = (campaign.get("campaignConfig") or {}).get("itemExplorationConfig") or {}
    try:
        return float(config.get("explorationWeight", "0.3")) > 0
    except ValueError:
        return True


# --------------------------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class BatchLocations:
    """Where one model's batch job of one gate run reads and writes, and its (idempotent) job name."""

    job_name: str
    input_path: str
    output_path: str


def batch_locations(bucket: str, prefix: str, group: str, campaign: str, token: str, label: str) -> BatchLocations:
    """Paths in the batch work area (``batch/<group>/gate-<campaign>/<token>/``) for the model ``label``."""
    job = f"gate-{campaign}"
    key_in = s3_layout.batch_key(prefix, group, job, token, "input", f"{label}.jsonl")
    key_out = s3_layout.batch_key(prefix, group, job, token, "output", label)
    return BatchLocations(f"{job}-{token[:10]}-{label}"[:63], f"s3://{bucket}/{key_in}", f"s3://{bucket}/{key_out}/")


def write_batch_input(s3, input_path: str, users: list[str], filter_values: dict[str, str] | None = None) -> None:
    """One ``{"userId": ..., "filterValues": ...}`` line per user (Personalize's batch input format)."""
    if not users:
        raise ScoringError("no users to score")
    extra = {"filterValues": dict(filter_values)} if filter_values else {}
    body = "".join(json.dumps({"userId": u, **extra}) + "\n" for u in users)
    bucket, key = s3uri.split(input_path)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def batch_job_config(
    where: BatchLocations, role_arn: str, num_results: int = NUM_RESULTS, filter_arn: str | None = None
) -> dict[str, Any]:
    """The CreateBatchInferenceJob members besides name and version (for ``ensure_resource`` or the operator)."""
    config: dict[str, Any] = {
        "jobInput": {"s3DataSource": {"path": where.input_path}},
        "jobOutput": {"s3DataDestination": {"path": where.output_path}},
        "roleArn": role_arn,
        "numResults": int(num_results),
    }
    if filter_arn:
        config["filterArn"] = filter_arn
    return config


def read_batch_output(
    s3,
    where: BatchLocations,
    *,
    solution_version_arn: str,
    users: list[str],
    job_arn: str,
    num_results: int = NUM_RESULTS,
    filter_arn: str | None = None,
) -> Recommendations:
    """Parse the job's ``.out`` file; every input user must be answered or reported as an error."""
    from personalize_ops.pipeline.batch_export import output_lines

    lists: dict[str, tuple[str, ...]] = {}
    errors: dict[str, str] = {}
    for rec in output_lines(s3, where.input_path, where.output_path):
        user = str((rec.get("input") or {}).get("userId"))
        if rec.get("error") or not rec.get("output"):
            errors[user] = str(rec.get("error") or "no output")
        else:
            lists[user] = tuple(str(i) for i in rec["output"].get("recommendedItems") or [])
    missing = sorted(set(users) - set(lists) - set(errors))
    if missing:
        raise ScoringError(f"batch job {job_arn} output {where.output_path} has no line for {len(missing)} of "
                           f"{len(users)} users (e.g. {missing[:3]}); the output is incomplete")  # fmt: skip
    answered = {u: lists[u] for u in users if u in lists}
    failed = {u: errors[u] for u in users if u in errors}
    return Recommendations(solution_version_arn, BATCH, job_arn, num_results, filter_arn, answered, failed)


def score_batch(
    hook,
    s3,
    where: BatchLocations,
    *,
    solution_version_arn: str,
    users: list[str],
    role_arn: str,
    num_results: int = NUM_RESULTS,
    filter_arn: str | None = None,
    filter_values: dict[str, str] | None = None,
    delay: float = 30,
    max_attempts: int = 720,
) -> Recommendations:
    """Write the input, run (or reuse) the batch inference job, wait for it and parse its output."""
    from personalize_ops.operators.ensure import ensure_resource
    from personalize_ops.resources import KINDS

    kind = KINDS["batch_inference_job"]
    write_batch_input(s3, where.input_path, users, filter_values)
    config = batch_job_config(where, role_arn, num_results, filter_arn)
    arn = ensure_resource(hook, kind, where.job_name, solution_version_arn, config, {}, "fail", log)
    hook.wait(kind, arn, "active", delay=delay, max_attempts=max_attempts)
    return read_batch_output(s3, where, solution_version_arn=solution_version_arn, users=users, job_arn=arn,
                             num_results=num_results, filter_arn=filter_arn)  # fmt: skip


# --------------------------------------------------------------------------------------------- runtime


def score_runtime(
    client,
    *,
    campaign_arn: str,
    solution_version_arn: str,
    users: list[str],
    num_results: int = NUM_RESULTS,
    filter_arn: str | None = None,
    filter_values: dict[str, str] | None = None,
) -> Recommendations:
    """GetRecommendations per user on ``campaign_arn`` (which must serve ``solution_version_arn``).

    ``client`` is a personalize-runtime client (``PersonalizeRuntimeHook(aws_conn_id=...).conn``); its botocore
    config retries throttling. A user the service refuses is recorded in ``errors``; any other failure raises.
    """
    from botocore.exceptions import ClientError

    params: dict[str, Any] = {"campaignArn": campaign_arn, "numResults": int(num_results)}
    if filter_arn:
        params["filterArn"] = filter_arn
        if filter_values:
            params["filterValues"] = dict(filter_values)
    lists: dict[str, tuple[str, ...]] = {}
    errors: dict[str, str] = {}
    for user in users:
        try:
            items = client.get_recommendations(userId=user, **params)["itemList"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "InvalidInputException":
                raise
            errors[user] = str(e)
            continue
        lists[user] = tuple(str(i["itemId"]) for i in items)
    return Recommendations(solution_version_arn, RUNTIME, campaign_arn, num_results, filter_arn, lists, errors)
