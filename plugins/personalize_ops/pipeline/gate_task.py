"""Champion/challenger gate for one campaign: compare, record the decision in S3, and say what to do."""

from __future__ import annotations

import logging

from airflow.sdk.exceptions import AirflowFailException

from personalize_ops.pipeline import alerts
from personalize_ops.resources import KINDS

log = logging.getLogger(__name__)
CAMPAIGN = KINDS["campaign"]


class GateRejectedError(AirflowFailException):
    """The challenger did not beat the champion/baseline and the gate is configured to fail the run."""


class GateMetricsError(AirflowFailException):
    """A metric the gate compares is missing or not a finite number; a retry would read the same metrics."""


def serving_version(hook, campaign_name: str, solution_arn: str) -> tuple[str | None, str | None]:
    """(campaign ARN, solution version it serves) or (None, None) when the campaign does not exist."""
    arn = hook.find_by_name(CAMPAIGN, campaign_name, solution_arn)
    if not arn:
        return None, None
    d = hook.describe(CAMPAIGN, arn)
    latest = d.get("latestCampaignUpdate") or {}
    if latest.get("status") == "ACTIVE" and latest.get("solutionVersionArn"):
        return arn, latest["solutionVersionArn"]
    return arn, d.get("solutionVersionArn")


def evaluate(hook, s3, cfg, campaign, challenger: dict, baseline: dict | None, run_id: str, skip: bool) -> dict:
    """Decide for ``campaign``; ``challenger``/``baseline`` are ``{"arn": ..., "metrics": {...}}``."""
    from personalize_ops.metrics import GateInputError, decide, load_gate_decision, record_gate_decision

    solution_arn = challenger["solution_arn"]
    campaign_arn, champion_arn = serving_version(hook, campaign.name, solution_arn)
    champion = None
    if champion_arn:
        champion = hook.call("GetSolutionMetrics", solutionVersionArn=champion_arn)["metrics"]
    gate = campaign.gate
    try:
        decision = decide(champion, challenger["metrics"], gate.metric, gate.min_improvement,
                          (baseline or {}).get("metrics"))  # fmt: skip
    except GateInputError as err:
        raise GateMetricsError(
            f"campaign {campaign.name} left on {champion_arn}: {err} (challenger {challenger['arn']}, "
            f"champion {champion_arn}, baseline {(baseline or {}).get('arn')})"
        ) from err
    promoted, reason = decision.promoted, decision.reason
    group = cfg.dataset_group
    earlier = None
    if champion_arn == challenger["arn"]:
        # Only this run's deploy can have put this run's challenger on the campaign: the task is re-running
        # after that (e.g. cleared). The decision this run recorded then stands; nothing is decided again.
        earlier = load_gate_decision(s3, group.bucket, group.prefix, group.name, campaign.name, run_id)
        promoted, reason = False, f"campaign already serves {champion_arn}"
    elif skip and not promoted:
        promoted, reason = True, f"promoted: skip_gate set (gate said: {reason})"
    if earlier is None:
        record = decision.to_record(
            campaign=campaign.name, champion_arn=champion_arn, challenger_arn=challenger["arn"], run_id=run_id
        )
        record.update(promoted=promoted, reason=reason)
        key = record_gate_decision(s3, group.bucket, group.prefix, group.name, record)
        log.info("Gate %s: %s [recorded s3://%s/%s]", campaign.name, reason, group.bucket, key)
    else:
        log.info("Gate %s: %s; this run decided earlier: %s", campaign.name, reason, earlier["reason"])
    result = {
        "campaign": campaign.name,
        "campaign_arn": campaign_arn,
        "solution_arn": solution_arn,
        "promote": promoted,
        "reason": reason,
        "solution_version_arn": challenger["arn"],
        "champion_arn": champion_arn,
        "challenger_value": decision.challenger_value,
        "champion_value": decision.champion_value,
    }
    alerts.gate_decided(cfg, campaign, result, {"challenger": challenger["metrics"], "champion": champion,
                                                "baseline": (baseline or {}).get("metrics")})  # fmt: skip
    if not promoted and champion_arn != challenger["arn"] and gate.on_fail == "fail":
        raise GateRejectedError(f"campaign {campaign.name} left on {champion_arn}: {reason}")
    if not promoted:
        log.warning("Campaign %s not promoted: %s", campaign.name, reason)
    return result
