"""The config's metric attribution, created and kept in sync by personalize_retrain.

Personalize allows one metric attribution per dataset group. The task finds it by name (creating it when
missing), waits until it is ACTIVE, then compares its metrics (ListMetricAttributionMetrics) and output with the
config and sends one UpdateMetricAttribution with what differs: metrics removed, metrics added (a changed metric is
removed and added again) and the output. A metric attribution of the group under another name is not ours to
change: the task fails and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from personalize_ops import s3_layout
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.s3uri import join
from personalize_ops.resources import KINDS

KIND = KINDS["metric_attribution"]


def attribution_name(cfg) -> str:
    return cfg.metric_attribution.name or f"{cfg.dataset_group.name}-attribution"[:63]


def output_path(cfg) -> str:
    """The s3:// prefix the reports go to: the config's ``s3_output`` or the pipeline's attribution area."""
    ma, group = cfg.metric_attribution, cfg.dataset_group
    if ma.s3_output:
        return ma.s3_output.rstrip("/") + "/"
    return join(group.bucket, s3_layout.area(group.prefix, "attribution", group.name)) + "/"


def wanted(cfg) -> tuple[list[dict], dict]:
    """(metrics, metricsOutputConfig) as the API spells them."""
    ma = cfg.metric_attribution
    output = {"roleArn": ma.role_arn or cfg.dataset_group.role_arn, "s3DataDestination": {"path": output_path(cfg)}}
    return [m.request() for m in ma.metrics], output


@dataclass
class AttributionSync:
    arn: str
    created: bool = False
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    output_changed: bool = False

    def describe(self) -> str:
        if self.created:
            return f"created metric attribution {self.arn}"
        changes = [f"removed {', '.join(self.removed)}" if self.removed else "",
                   f"added {', '.join(self.added)}" if self.added else "",
                   "output changed" if self.output_changed else ""]  # fmt: skip
        changes = [c for c in changes if c]
        return f"metric attribution {self.arn}: " + ("; ".join(changes) if changes else "in sync")


def _metrics(hook, arn: str) -> list[dict]:
    out, token = [], None
    while True:
        more = {"nextToken": token} if token else {}
        page = hook.call("ListMetricAttributionMetrics", metricAttributionArn=arn, **more)
        out += page.get("metrics", [])
        token = page.get("nextToken")
        if not token:
            return out


def _same_output(found: dict[str, Any], want: dict[str, Any]) -> bool:
    path = lambda c: ((c or {}).get("s3DataDestination") or {}).get("path", "").rstrip("/")  # noqa: E731
    return (found or {}).get("roleArn") == want["roleArn"] and path(found) == path(want)


def ensure(hook, cfg, group_arn: str, delay: float = 2, max_attempts: int = 300) -> AttributionSync:
    """Create the config's metric attribution or bring the existing one in line; returns what was done."""
    name = attribution_name(cfg)
    metrics, output = wanted(cfg)
    summaries = list(hook.list(KIND, group_arn))
    ours = next((s for s in summaries if s["name"] == name), None)
    if ours is None and summaries:
        other = summaries[0]
        raise PipelineError(
            f"dataset group {cfg.dataset_group.name} already has metric attribution {other['name']} "
            f"({other['metricAttributionArn']}) and Personalize allows one per group: set metric_attribution.name "
            f"to {other['name']!r} to manage it from this config, or delete it."
        )
    if ours is None:
        request = KIND.create_request(name, group_arn, {"metrics": metrics, "metricsOutputConfig": output})
        arn = hook.call(KIND.create_op, **request)[KIND.arn_member]
        hook.wait(KIND, arn, "active", delay=delay, max_attempts=max_attempts)
        return AttributionSync(arn, created=True)
    arn = ours[KIND.arn_member]
    hook.wait(KIND, arn, "active", delay=delay, max_attempts=max_attempts)
    found = {m["metricName"]: m for m in _metrics(hook, arn)}
    want = {m["metricName"]: m for m in metrics}
    same = lambda a, b: all(a.get(k) == b.get(k) for k in ("eventType", "expression"))  # noqa: E731
    removed = sorted(n for n, m in found.items() if n not in want or not same(m, want[n]))
    added = [n for n, m in want.items() if n not in found or n in removed]
    output_changed = not _same_output(hook.describe(KIND, arn).get("metricsOutputConfig"), output)
    sync = AttributionSync(arn, removed=removed, added=added, output_changed=output_changed)
    if removed or added or output_changed:
        update: dict[str, Any] = {"metricAttributionArn": arn}
        if removed:
            update["removeMetrics"] = removed
        if added:
            update["addMetrics"] = [want[n] for n in added]
        if output_changed:
            update["metricsOutputConfig"] = output
        hook.call(KIND.update_op, **update)
        hook.wait(KIND, arn, "active", delay=delay, max_attempts=max_attempts)
    return sync
