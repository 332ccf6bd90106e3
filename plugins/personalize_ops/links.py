"""Console links for every Personalize operator: the AWS console, or the local service's admin page.

When the Airflow connection has an ``endpoint_url`` (the local stack), the link is
``<endpoint>/_admin/describe?arn=<arn>``; otherwise it is the Personalize console for the region.
Register :class:`PersonalizeConsoleLink` in an AirflowPlugin's ``operator_extra_links`` so the UI can show it.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from airflow.providers.amazon.aws.links.base_aws import BaseAwsLink


def console_url(
    arn: str,
    region_name: str | None,
    aws_domain: str | None = "aws.amazon.com",
    endpoint_url: str | None = None,
) -> str:
    """URL showing ``arn``: the local admin describe page if ``endpoint_url`` is set, else the AWS console."""
    if not arn:
        return ""
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/_admin/describe?arn={quote(arn, safe='')}"
    region = region_name or arn.split(":")[3]
    return (
        f"https://{region}.console.{aws_domain or 'aws.amazon.com'}/personalize/home"
        f"?region={region}#{quote(arn, safe=':/$')}"
    )


class PersonalizeConsoleLink(BaseAwsLink):
    """ "Personalize Console" extra link: the resource the task created, adopted or watched."""

    name: ClassVar[str] = "Personalize Console"
    key: ClassVar[str] = "personalize_resource"
    format_str: ClassVar[str] = ""

    def format_link(self, **kwargs) -> str:
        return console_url(
            kwargs.get("arn", ""),
            kwargs.get("region_name"),
            kwargs.get("aws_domain"),
            kwargs.get("endpoint_url"),
        )


def persist_link(context, operator, hook, arn: str) -> None:
    """Store what :class:`PersonalizeConsoleLink` needs (region, partition, endpoint, ARN) in XCom."""
    PersonalizeConsoleLink.persist(
        context=context,
        operator=operator,
        region_name=hook.conn_region_name,
        aws_partition=hook.conn_partition,
        arn=arn,
        endpoint_url=hook.conn_config.endpoint_url,
    )
