"""Point a campaign at another solution version and/or change its minimum TPS."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.hook import config_differences
from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.resources import KINDS

CAMPAIGN = KINDS["campaign"]


class PersonalizeUpdateCampaignOperator(PersonalizeBaseOperator):
    """Update a campaign (UpdateCampaign) unless it already has (or is moving to) the wanted settings.

    Waits on ``campaign.latestCampaignUpdate.status``; returns the campaign ARN.

    :param campaign_arn: the campaign. Templated.
    :param solution_version_arn: version to serve. Templated.
    :param min_provisioned_tps: minimum provisioned transactions per second. Templated.
    :param campaign_config: ``campaignConfig`` (e.g. ``itemExplorationConfig``). Templated.
    :param in_use_timeout: seconds to keep retrying while the campaign is busy (ResourceInUseException).
    """

    template_fields = aws_template_fields(
        "campaign_arn", "solution_version_arn", "min_provisioned_tps", "campaign_config"
    )

    def __init__(
        self,
        *,
        campaign_arn: str,
        solution_version_arn: str | None = None,
        min_provisioned_tps: int | None = None,
        campaign_config: dict | None = None,
        in_use_timeout: float = 1800,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_arn = campaign_arn
        self.solution_version_arn = solution_version_arn
        self.min_provisioned_tps = min_provisioned_tps
        self.campaign_config = campaign_config
        self.in_use_timeout = in_use_timeout

    def wanted(self) -> dict[str, Any]:
        wanted = {
            "solutionVersionArn": self.solution_version_arn,
            "minProvisionedTPS": self.min_provisioned_tps,
            "campaignConfig": self.campaign_config,
        }
        return {key: v for key, v in wanted.items() if v is not None}

    def execute(self, context) -> str:
        arn, wanted = self.campaign_arn, self.wanted()
        self.persist_link(context, arn)
        current = self.hook.describe(CAMPAIGN, arn)
        latest = current.get("latestCampaignUpdate") or {}
        target = latest if latest.get("status") not in (None, *CAMPAIGN.failure) else current
        diffs = config_differences(CAMPAIGN, wanted, target)
        if diffs:
            self.log.info("Updating campaign %s: %s", arn, {m: w for m, (w, _) in diffs.items()})
            self.hook.call_when_free("UpdateCampaign", timeout=self.in_use_timeout, campaignArn=arn, **wanted)
        else:
            self.log.info("Campaign %s already has %s", arn, wanted)
        return self.wait_or_defer(context, CAMPAIGN, arn, "updated")
