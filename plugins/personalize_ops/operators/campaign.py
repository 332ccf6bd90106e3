"""Point a campaign at another solution version and/or change its minimum TPS: the one campaign-update path."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.hook import PersonalizeHook, config_differences
from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.resources import KINDS
from personalize_ops.waiters import described_state

CAMPAIGN = KINDS["campaign"]


def update_campaign(hook: PersonalizeHook, arn: str, wanted: dict[str, Any], *, in_use_timeout: float, log) -> bool:
    """Send UpdateCampaign with ``wanted`` unless the campaign already has, or is moving to, those settings.

    The settings compared are those of the latest update unless it failed (then the campaign's own).
    ResourceInUseException is retried for up to ``in_use_timeout`` seconds. Returns whether an update was sent;
    wait for it with the ``updated`` target.
    """
    current = hook.describe(CAMPAIGN, arn)
    latest = CAMPAIGN.latest_update(current)
    failed = described_state(CAMPAIGN, "updated", current) == "failure"
    compared = latest if latest and not failed else current
    diffs = config_differences(CAMPAIGN, wanted, compared)
    if not diffs:
        log.info("Campaign %s already has %s", arn, wanted)
        return False
    log.info("Updating campaign %s: %s", arn, {m: w for m, (w, _) in diffs.items()})
    hook.call_when_free(CAMPAIGN.update_op, timeout=in_use_timeout, **{CAMPAIGN.arn_member: arn}, **wanted)
    return True


class PersonalizeUpdateCampaignOperator(PersonalizeBaseOperator):
    """Update a campaign (UpdateCampaign) unless it already has (or is moving to) the wanted settings.

    Waits on the campaign's latest update status (the table's ``update_status_path``); returns the campaign ARN.

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
        self.campaign_arn, self.solution_version_arn = campaign_arn, solution_version_arn
        self.min_provisioned_tps, self.campaign_config = min_provisioned_tps, campaign_config
        self.in_use_timeout = in_use_timeout

    def wanted(self) -> dict[str, Any]:
        wanted = {
            "solutionVersionArn": self.solution_version_arn,
            "minProvisionedTPS": self.min_provisioned_tps,
            "campaignConfig": self.campaign_config,
        }
        return {key: v for key, v in wanted.items() if v is not None}

    def execute(self, context) -> str:
        arn = self.campaign_arn
        self.persist_link(context, arn)
        update_campaign(self.hook, arn, self.wanted(), in_use_timeout=self.in_use_timeout, log=self.log)
        return self.wait_or_defer(context, CAMPAIGN, arn, "updated")
