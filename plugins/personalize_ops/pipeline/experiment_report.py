"""The experiment report: read an experiment's logs, analyse them, record the verdict, act on it.

Per configured experiment, each run of personalize_experiment_report:

1. reads what the application shipped to the experiment's log area (``s3_layout.experiment_log_prefix``): the
   exposures (one JSON line per recommendation list shown, ``experiments.events.Exposure``) and the events (one
   JSON line per PutEvents call it made: ``{"userId", "sessionId", "eventList"}``), and, when the config has a
   ``metric_attribution``, Personalize's attribution reports for the experiment's sources (totals, shown next to
   the analysis as a cross-check: they carry no per-user data, so the verdict never rests on them);
2. analyses them (``experiments.analysis.analyze``: per-variant metrics with always-valid confidence sequences,
   the sample-ratio check) on the experiment's day: the days from its start (``start_date``, else the first
   exposure) to the newest exposure;
3. acts on a final verdict once: with ``on_end: promote`` and a challenger as the winner, the winner's solution
   version goes to ``promote_to`` through the campaign-update path of the deploy task;
4. records the result (verdict, numbers, promotion, the standing cost of the challengers' campaigns) as
   ``experiments/reports/<group>/<experiment>/<run_id>.json``, like a gate decision.

A final verdict ends the experiment: later runs report it again (``ended``) without analysing or promoting anew,
since the confidence sequence covers "stop at the first conclusive look", not "keep looking".
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from personalize_ops import s3_layout
from personalize_ops.experiments.analysis import ExperimentInputError, analyze, render_result
from personalize_ops.experiments.assignment import attribution_source
from personalize_ops.experiments.events import Exposure, aggregate
from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.errors import PipelineError

log = logging.getLogger(__name__)
DAY = 86400


@dataclass
class ExperimentLogs:
    exposures: list[Exposure] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    files: int = 0


def _objects(s3, bucket: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
            yield obj["Key"], s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()


def _lines(where: str, body: bytes) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(body.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise PipelineError(f"{where}: line {n}: not JSON ({exc}); each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise PipelineError(f"{where}: line {n}: a JSON object is expected, found {type(record).__name__}")
        yield n, record


def read_logs(s3, cfg, experiment) -> ExperimentLogs:
    """The experiment's exposures and PutEvents calls from its log area; a bad line fails with file and line."""
    group, out = cfg.dataset_group, ExperimentLogs()
    for kind in ("exposures", "events"):
        prefix = s3_layout.experiment_log_prefix(group.prefix, group.name, experiment.name, kind)
        for key, body in _objects(s3, group.bucket, prefix):
            out.files += 1
            where = s3uri.join(group.bucket, key)
            for n, record in _lines(where, body):
                if kind == "events":
                    if not isinstance(record.get("eventList"), list):
                        raise PipelineError(f"{where}: line {n}: a PutEvents call needs an eventList (a list)")
                    out.calls.append(record)
                    continue
                try:
                    out.exposures.append(Exposure.from_record(record))
                except (ValueError, TypeError) as exc:
                    raise PipelineError(f"{where}: line {n}: {exc}") from None
    return out


def attribution_totals(s3, cfg, experiment) -> dict[str, dict[str, float]]:
    """{variant: {metric name: total}} from the metric attribution's reports (empty without one)."""
    if cfg.metric_attribution is None:
        return {}
    from personalize_ops.pipeline.attribution import output_path

    bucket, prefix = s3uri.split(output_path(cfg))
    sources = {attribution_source(experiment.name, v.name): v.name for v in experiment.variants}
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, body in _objects(s3, bucket, prefix):
        name = key.rsplit("/", 1)[-1]
        if not (name.startswith("AggregatedAttributionMetrics") and name.endswith(".csv")):
            continue
        for row in csv.DictReader(io.StringIO(body.decode("utf-8", errors="replace"))):
            variant = sources.get(row.get("EVENT_ATTRIBUTION_SOURCE", ""))
            try:
                value = float(row.get("VALUE") or "nan")
            except ValueError:
                continue
            if variant and math.isfinite(value):
                totals[variant][row.get("METRIC_NAME", "")] += value
    return {v: dict(m) for v, m in totals.items()}


def experiment_day(experiment, logs: ExperimentLogs) -> float:
    """Days from the start (``start_date``, else the first exposure's day) to the newest exposure, counting the
    first day as day 1; 0 without exposures."""
    if not logs.exposures:
        return 0.0
    newest = max(e.sent_at for e in logs.exposures)
    if experiment.start_date is not None:
        start = datetime(*experiment.start_date.timetuple()[:3], tzinfo=UTC).timestamp()
    else:
        start = min(e.sent_at for e in logs.exposures) // DAY * DAY
    return float(max(0, math.floor((newest - start) / DAY) + 1))


def _campaign_arn(hook, cfg, campaign: str) -> str | None:
    spec = next(c for c in cfg.campaigns if c.name == campaign)
    group_arn = hook.find_by_name("dataset_group", cfg.dataset_group.name)
    solution_arn = group_arn and hook.find_by_name("solution", spec.solution, group_arn)
    return solution_arn and hook.find_by_name("campaign", campaign, solution_arn)


def standing_cost(hook, cfg, experiment) -> dict[str, Any]:
    """The daily cost of the campaigns only the challengers use (those the experiment adds), at minProvisionedTPS."""
    keep = {experiment.control.campaign, experiment.promote_to}
    extra = dict.fromkeys(v.campaign for v in experiment.variants[1:] if v.campaign not in keep)
    lines = []
    for name in extra:
        arn = _campaign_arn(hook, cfg, name)
        tps = int(hook.describe("campaign", arn).get("minProvisionedTPS") or 1) if arn else 0
        lines.append({"campaign": name, "arn": arn, "min_tps": tps, "per_day": tps * 24 * cfg.costs.tps_hour})
    return {"currency": cfg.costs.currency, "campaigns": lines, "per_day": sum(x["per_day"] for x in lines)}


def render_cost(cost: dict[str, Any]) -> str:
    if not cost["campaigns"]:
        return "standing cost of the experiment's extra campaigns: none (every variant uses a kept campaign)"
    parts = ", ".join(f"{c['campaign']} {c['min_tps']} TPS {c['per_day']:.2f}" for c in cost["campaigns"])
    return (f"standing cost of the experiment's extra campaigns: {cost['per_day']:.2f} {cost['currency']} per day "
            f"({parts}; minProvisionedTPS x 24 h x costs.tps_hour); delete them when the experiment ends")  # fmt: skip


def promote(hook, cfg, experiment, winner: str, in_use_timeout: float = 600) -> dict[str, Any]:
    """Point ``promote_to`` at the solution version the winner's campaign serves (the deploy task's update path)."""
    from personalize_ops.operators.campaign import CAMPAIGN, update_campaign

    source = next(v.campaign for v in experiment.variants if v.name == winner)
    source_arn, target_arn = _campaign_arn(hook, cfg, source), _campaign_arn(hook, cfg, experiment.promote_to)
    if not source_arn or not target_arn:
        missing = source if not source_arn else experiment.promote_to
        raise PipelineError(f"experiment {experiment.name}: campaign {missing} does not exist; cannot promote {winner}")
    version = hook.describe(CAMPAIGN, source_arn)["solutionVersionArn"]
    spec = next(c for c in cfg.campaigns if c.name == experiment.promote_to)
    wanted = {"solutionVersionArn": version, "minProvisionedTPS": spec.min_provisioned_tps}
    sent = update_campaign(hook, target_arn, wanted, in_use_timeout=in_use_timeout, log=log)
    hook.wait(CAMPAIGN, target_arn, "updated", delay=2, max_attempts=900)
    return {"campaign": experiment.promote_to, "campaign_arn": target_arn, "solution_version_arn": version,
            "from_variant": winner, "update_sent": sent}  # fmt: skip


def previous_final(s3, cfg, experiment) -> dict | None:
    """The first recorded final verdict of the experiment (None while it runs)."""
    group = cfg.dataset_group
    records = [json.loads(body) for _, body in _objects(s3, group.bucket, _reports_prefix(cfg, experiment.name))]
    finals = [r for r in records if r.get("final") and not r.get("ended")]
    return min(finals, key=lambda r: r["recorded_at"]) if finals else None


def report(hook, s3, cfg, experiment_name: str, run_id: str, promote_allowed: bool = True) -> dict[str, Any]:
    """Analyse one experiment, act on a final verdict as configured, record it; returns the record."""
    experiment = cfg.experiment(experiment_name)
    group = cfg.dataset_group
    key = s3_layout.experiment_report_key(group.prefix, group.name, experiment.name, run_id)
    cost = standing_cost(hook, cfg, experiment)
    ended = previous_final(s3, cfg, experiment)
    if ended is not None:
        first = ended["result"]
        text = f"ended on day {first['day']:g} ({ended['run_id']}): {first['reason']}"
        record = {**ended, "ended": True, "run_id": run_id, "recorded_at": _now(), "standing_cost": cost, "text": text}
    else:
        logs = read_logs(s3, cfg, experiment)
        try:
            data = aggregate(experiment, logs.exposures, logs.calls)
            result = analyze(experiment, data, experiment_day(experiment, logs))
        except ExperimentInputError as exc:
            raise PipelineError(f"experiment {experiment.name}: {exc}") from None
        promotion = None
        winner = result.winner if result.verdict == "winner" else None
        if experiment.on_end == "promote" and winner and winner != experiment.control.name and promote_allowed:
            promotion = promote(hook, cfg, experiment, winner)
        record = make_record(experiment, group.name, run_id, result, promotion, cost)
        record["attribution"] = attribution_totals(s3, cfg, experiment)
        record["logs"] = {"files": logs.files, "exposures": len(logs.exposures), "put_events_calls": len(logs.calls)}
    s3.put_object(Bucket=group.bucket, Key=key, Body=json.dumps(record, indent=1).encode(),
                  ContentType="application/json")  # fmt: skip
    return record


def make_record(experiment, group: str, run_id: str, result, promotion: dict | None, cost: dict) -> dict[str, Any]:
    """The JSON record of one report (what the history and the UI read)."""
    return {
        "experiment": experiment.name, "dataset_group": group, "run_id": run_id, "recorded_at": _now(),
        "final": result.final, "ended": False, "verdict": str(result.verdict), "winner": result.winner,
        "on_end": experiment.on_end, "promotion": promotion, "result": result.to_record(), "attribution": {},
        "standing_cost": cost, "logs": {}, "text": render_result(result),
    }  # fmt: skip


def render(record: dict[str, Any]) -> str:
    """The record as the task log prints it."""
    lines = [record["text"]]
    if record.get("attribution"):
        lines.append("metric attribution totals (Personalize's reports): " + "; ".join(
            f"{v}: " + ", ".join(f"{m} {x:g}" for m, x in sorted(ms.items())) for v, ms in record["attribution"].items()
        ))  # fmt: skip
    if record.get("promotion"):
        p = record["promotion"]
        lines.append(f"promoted {p['solution_version_arn']} (variant {p['from_variant']}) to campaign {p['campaign']}")
    lines.append(render_cost(record["standing_cost"]))
    return "\n".join(lines)


def _reports_prefix(cfg, experiment: str) -> str:
    group = cfg.dataset_group
    return s3_layout.area(group.prefix, "exp_reports", group.name, s3_layout.segment(experiment, "experiment"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load_reports(s3, cfg) -> dict[str, list[dict]]:
    """Every recorded report of the config's experiments, oldest first, per experiment (for the UI)."""
    group, out = cfg.dataset_group, {}
    for experiment in cfg.experiments:
        prefix = _reports_prefix(cfg, experiment.name)
        try:
            records = [json.loads(body) for _, body in _objects(s3, group.bucket, prefix)]
        except Exception:  # noqa: BLE001 - the UI shows what it can read
            log.warning("cannot read the reports of experiment %s", experiment.name, exc_info=True)
            records = []
        out[experiment.name] = sorted(records, key=lambda r: r.get("recorded_at", ""))
    return out
