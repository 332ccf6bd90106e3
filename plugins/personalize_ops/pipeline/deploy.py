"""Create a campaign, or point it at the version the gate promoted; nothing when the gate said no."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.operators.campaign import CAMPAIGN, update_campaign
from personalize_ops.operators.ensure import ensure_resource


class PersonalizeDeployCampaignOperator(PersonalizeBaseOperator):
    """Apply a gate decision to a campaign: create it, update it, or leave it untouched.

    Updates go through :func:`~personalize_ops.operators.campaign.update_campaign`, the path
    ``PersonalizeUpdateCampaignOperator`` takes: a campaign that already serves the version is not updated again.

    :param campaign_name: the campaign. Templated.
    :param solution_arn: the solution the campaign belongs to (campaigns are listed per solution). Templated.
    :param decision: the gate task's :class:`~personalize_ops.pipeline.values.GateOutcome`. Templated (XCom).
    :param min_provisioned_tps: minimum provisioned TPS (billed per hour on AWS).
    :param in_use_timeout: seconds to keep retrying while the campaign is busy (ResourceInUseException).
    Returns the campaign ARN, or None when the campaign does not exist and nothing was promoted.
    """

    template_fields = aws_template_fields("campaign_name", "solution_arn", "decision")

    def __init__(
        self,
        *,
        campaign_name: str,
        solution_arn: str,
        decision: Any,
        min_provisioned_tps: int = 1,
        in_use_timeout: float = 600,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_name, self.solution_arn, self.decision = campaign_name, solution_arn, decision
        self.min_provisioned_tps, self.in_use_timeout = min_provisioned_tps, in_use_timeout

    def execute(self, context) -> str | None:
        version = self.decision.solution_version_arn
        arn = self.hook.find_by_name(CAMPAIGN, self.campaign_name, self.solution_arn)
        if not self.decision.promote:
            self.log.info("Campaign %s untouched: %s", self.campaign_name, self.decision.reason)
            return arn
        wanted = {"solutionVersionArn": version, "minProvisionedTPS": self.min_provisioned_tps}
        if arn is None:
            arn = ensure_resource(
                self.hook, CAMPAIGN, self.campaign_name, self.solution_arn, wanted, {}, "fail", self.log
            )
            self.persist_link(context, arn)
            return self.wait_or_defer(context, CAMPAIGN, arn, "active")
        self.persist_link(context, arn)
        self.log.info("Promoting %s on campaign %s", version, arn)
        update_campaign(self.hook, arn, wanted, in_use_timeout=self.in_use_timeout, log=self.log)
        return self.wait_or_defer(context, CAMPAIGN, arn, "updated")
