"""Champion/challenger gate for one campaign: compare, record the decision in S3, and say what to do."""

from __future__ import annotations

import logging

from personalize_ops.pipeline import alerts
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.values import GateOutcome, TrainedVersion
from personalize_ops.resources import KINDS

log = logging.getLogger(__name__)
CAMPAIGN = KINDS["campaign"]


class GateRejectedError(PipelineError):
    """The challenger did not beat the champion/baseline and the gate is configured to fail the run."""


class GateMetricsError(PipelineError):
    """A metric the gate compares is missing or not a finite number; a retry would read the same metrics."""


def serving_version(hook, campaign_name: str, solution_arn: str) -> tuple[str | None, str | None]:
    """(campaign ARN, solution version it serves) or (None, None) when the campaign does not exist."""
    arn = hook.find_by_name(CAMPAIGN, campaign_name, solution_arn)
    if not arn:
        return None, None
    d = hook.describe(CAMPAIGN, arn)
    latest = CAMPAIGN.latest_update_ready(d)
    if latest and latest.get("solutionVersionArn"):
        return arn, latest["solutionVersionArn"]
    return arn, d.get("solutionVersionArn")


def evaluate(hook, s3, cfg, campaign, challenger: TrainedVersion, baseline: TrainedVersion | None, run_id: str,
             skip: bool) -> GateOutcome:  # fmt: skip
    """Decide for ``campaign`` (:func:`personalize_ops.metrics.decide`), record the decision, alert, return it.

    A campaign that already serves the challenger is this run's own deploy having happened (the task is re-running,
    e.g. cleared): nothing is decided, recorded or alerted again, and ``on_fail: fail`` does not fail it.
    """
    from personalize_ops.metrics import GateInputError, decide, load_gate_decision, record_gate_decision

    campaign_arn, champion_arn = serving_version(hook, campaign.name, challenger.solution_arn)
    champion = None
    if champion_arn:
        champion = hook.call("GetSolutionMetrics", solutionVersionArn=champion_arn)["metrics"]
    gate, group = campaign.gate, cfg.dataset_group
    serving = challenger.arn if champion_arn == challenger.arn else None
    try:
        decision = decide(champion, challenger.metrics, gate.metric, gate.min_improvement,
                          baseline.metrics if baseline else None, skip=skip, already_serving=serving)  # fmt: skip
    except GateInputError as err:
        raise GateMetricsError(
            f"campaign {campaign.name} left on {champion_arn}: {err} (challenger {challenger.arn}, "
            f"champion {champion_arn}, baseline {baseline.arn if baseline else None})"
        ) from err
    earlier = None
    if decision.already_serving:
        earlier = load_gate_decision(s3, group.bucket, group.prefix, group.name, campaign.name, run_id)
    if earlier is None:
        record = decision.to_record(
            campaign=campaign.name, champion_arn=champion_arn, challenger_arn=challenger.arn, run_id=run_id
        )
        key = record_gate_decision(s3, group.bucket, group.prefix, group.name, record)
        log.info("Gate %s: %s [recorded s3://%s/%s]", campaign.name, decision.reason, group.bucket, key)
    else:
        log.info("Gate %s: %s; this run decided earlier: %s", campaign.name, decision.reason, earlier["reason"])
    outcome = GateOutcome(
        campaign=campaign.name, campaign_arn=campaign_arn, solution_arn=challenger.solution_arn,
        promote=decision.promoted, reason=decision.reason, solution_version_arn=challenger.arn,
        champion_arn=champion_arn, challenger_value=decision.challenger_value, champion_value=decision.champion_value,
        skipped=decision.skipped, already_serving=decision.already_serving,
    )  # fmt: skip
    if outcome.already_serving:  # nothing was decided: no alert either
        return outcome
    alerts.gate_decided(cfg, campaign, outcome, {"challenger": challenger.metrics, "champion": champion,
                                                 "baseline": baseline.metrics if baseline else None})  # fmt: skip
    if not outcome.promote:
        if gate.on_fail == "fail":
            raise GateRejectedError(f"campaign {campaign.name} left on {champion_arn}: {decision.reason}")
        log.warning("Campaign %s not promoted: %s", campaign.name, decision.reason)
    return outcome
