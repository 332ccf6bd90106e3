"""What the page shows, read through Airflow's AWS connection: metric history and gate decisions from S3,
and (when the Personalize endpoint answers) the solution version each campaign serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from personalize_ops.metrics.names import DEFAULT_GATE_METRIC as DEFAULT_METRIC


@dataclass(frozen=True)
class PageSettings:
    """The few values of one pipeline's config the page needs (personalize_ops.pipeline.registry)."""

    dataset_group: str
    bucket: str
    prefix: str
    aws_conn_id: str
    solutions: dict[str, str]  # solution name -> recipe
    campaigns: dict[str, tuple[str, str]]  # campaign name -> (solution, gate metric)
    retrain_dag_id: str  # run links point at it; reading it is the permission the page requires
    experiments: tuple[str, ...] = ()  # the config's online experiments (their reports are shown)

    @property
    def default_metric(self) -> str:
        return next(iter(self.campaigns.values()), ("", DEFAULT_METRIC))[1]


@dataclass(frozen=True)
class Catalog:
    """Every pipeline of the deployment: the page settings of each dataset group, and the configs that are broken."""

    groups: dict[str, PageSettings]
    broken: list[Any]  # personalize_ops.pipeline.registry.BrokenConfig


def settings_of(pipeline) -> PageSettings:
    cfg = pipeline.config
    dg = cfg.dataset_group
    return PageSettings(
        dataset_group=dg.name,
        bucket=dg.bucket,
        prefix=dg.prefix,
        aws_conn_id=dg.aws_conn_id,
        solutions={s.name: s.recipe for s in cfg.solutions},
        campaigns={c.name: (c.solution, c.gate.metric) for c in cfg.campaigns},
        retrain_dag_id=pipeline.dag_id("retrain"),
        experiments=tuple(e.name for e in cfg.experiments),
    )


def load_catalog() -> Catalog:
    """Every pipeline config the DAGs use (found the way the DAG files find them)."""
    from personalize_ops.pipeline.registry import discover

    found = discover()
    return Catalog({p.config.dataset_group.name: settings_of(p) for p in found.good}, found.broken)


def load_settings(group: str | None = None) -> PageSettings:
    """The page settings of dataset group ``group`` (default: the only one); KeyError if there is no such group."""
    groups = load_catalog().groups
    if group is None and len(groups) == 1:
        return next(iter(groups.values()))
    return groups[group]


#: The page reads at most this many records of each kind (the newest), each at most this big.
MAX_RECORDS = 1000
MAX_RECORD_BYTES = 64 * 1024


@dataclass
class PageData:
    history: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # campaign -> DescribeCampaign subset
    notes: list[str] = field(default_factory=list)  # what could not be read, shown on the page
    history_problems: list[tuple[str, str]] = field(default_factory=list)  # (s3 uri, reason): error rows
    decision_problems: list[tuple[str, str]] = field(default_factory=list)
    experiments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # name -> reports, oldest first

    @property
    def promoted_arns(self) -> set[str]:
        """Versions the gate deployed: each promoting decision's challenger, and a backtest's refit of it."""
        return {arn for d in self.decisions if d["promoted"] for arn in {d["challenger_arn"], self.deployed(d)}}

    def deployed(self, d: dict[str, Any]) -> str:
        """The version a promoting decision deployed: its challenger, or (a backtest with ``refit: full``) the version
        of the challenger's solution the same run trained on all data afterwards."""
        if not d.get("evaluation"):
            return d["challenger_arn"]
        solution = next((r["solution"] for r in self.history if r["solution_version_arn"] == d["challenger_arn"]), None)
        refits = [r["solution_version_arn"] for r in self.history if r["run_id"] == d["run_id"]
                  and r["solution"] == solution and r["solution_version_arn"] != d["challenger_arn"]]  # fmt: skip
        return refits[-1] if refits else d["challenger_arn"]

    def served_by_gate(self) -> dict[str, dict[str, Any]]:
        """Campaign -> its latest promoting gate decision (decisions are sorted oldest first)."""
        return {d["campaign"]: d for d in self.decisions if d["promoted"]}


def load_page_data(settings: PageSettings, describe_campaigns: bool = True) -> PageData:
    """Metric history and gate decisions from S3; live campaign state from Personalize when reachable."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.exceptions import BotoCoreError, ClientError
    from personalize_ops.metrics import scan_gate_decisions, scan_history
    from personalize_ops.metrics.history import SCAN_LIST_LIMIT

    s3 = S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()
    args = (s3, settings.bucket, settings.prefix, settings.dataset_group)
    bounds = {"max_records": MAX_RECORDS, "max_bytes": MAX_RECORD_BYTES}
    data = PageData(history=[], decisions=[])
    try:
        history, decisions = scan_history(*args, **bounds), scan_gate_decisions(*args, **bounds)
    except (BotoCoreError, ClientError) as err:  # e.g. bucket not created yet: show it, keep the page
        data.notes.append(f"metric history not readable from s3://{settings.bucket}: {err}")
    else:
        data.history, data.history_problems = history.records, history.problems
        data.decisions, data.decision_problems = decisions.records, decisions.problems
        for scan, what in ((history, "solution-version records"), (decisions, "gate decisions")):
            if scan.total is not None:
                total = f"{'at least ' if scan.total >= SCAN_LIST_LIMIT else ''}{scan.total:,}"
                data.notes.append(f"truncated: showing the newest {MAX_RECORDS:,} of {total} {what} "
                                  f"(the page reads at most {MAX_RECORDS:,})")  # fmt: skip
    if settings.experiments:
        try:
            data.experiments = load_experiment_reports(s3, settings)
        except (BotoCoreError, ClientError) as err:
            data.notes.append(f"experiment reports not readable from s3://{settings.bucket}: {err}")
    if describe_campaigns and settings.campaigns:
        try:
            data.live = _describe_campaigns(settings)
        except Exception as err:  # the page still works from S3 alone
            data.notes.append(f"Personalize not reachable through '{settings.aws_conn_id}': {err}")
    return data


def load_experiment_reports(s3, settings: PageSettings) -> dict[str, list[dict[str, Any]]]:
    """Each experiment's reports (personalize_experiment_report's records), oldest first, the newest
    ``MAX_RECORDS`` at most; a record that is too big or not JSON is skipped with a note in its place."""
    import json

    from personalize_ops import s3_layout

    out: dict[str, list[dict[str, Any]]] = {}
    for name in settings.experiments:
        prefix = s3_layout.area(settings.prefix, "exp_reports", settings.dataset_group, name)
        objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix)
                   for o in page.get("Contents", [])]  # fmt: skip
        records = []
        for obj in sorted(objects, key=lambda o: o["LastModified"])[-MAX_RECORDS:]:
            if obj["Size"] > MAX_RECORD_BYTES:
                continue
            try:
                records.append(json.loads(s3.get_object(Bucket=settings.bucket, Key=obj["Key"])["Body"].read()))
            except ValueError:
                continue
        out[name] = sorted(records, key=lambda r: str(r.get("recorded_at", "")))
    return out


def _describe_campaigns(settings: PageSettings) -> dict[str, dict[str, Any]]:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    quick = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
    client = AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type="personalize", config=quick).get_conn()
    live = {}
    for page in client.get_paginator("list_campaigns").paginate():
        for summary in page.get("campaigns", []):
            if summary["name"] in settings.campaigns:
                c = client.describe_campaign(campaignArn=summary["campaignArn"])["campaign"]
                live[c["name"]] = {
                    "status": c.get("status"),
                    "solution_version_arn": c.get("solutionVersionArn"),
                    "campaign_arn": c.get("campaignArn"),
                }
    return live
