"""What a retrain run cost, and what its campaigns cost every day they stand, from the config's price table.

Quantities come from Personalize itself: ``trainingHours`` of each version trained in the run
(DescribeSolutionVersion), the size of each file imported in the run (S3 HeadObject), ``minProvisionedTPS`` of each
configured campaign (DescribeCampaign). Prices come from the config's ``costs`` table (:class:`~.config.Costs`): one
price per unit, no volume tiers or free tier, so the figures are estimates, not a bill. A campaign is billed for
its minimum provisioned TPS or, when traffic exceeds it, the TPS actually used; the standing cost here is the floor.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.values import ImportPlan, TrainedVersion

log = logging.getLogger(__name__)
GIB = 1024**3


@dataclass(frozen=True)
class Line:
    """One row of the estimate: what, how much of it, the unit price and the cost."""

    item: str
    quantity: float | None  # None: Personalize did not report it (e.g. a version that is not ACTIVE)
    unit: str
    price: float
    cost: float
    arn: str = ""


@dataclass(frozen=True)
class CostReport:
    currency: str
    training: list[Line] = field(default_factory=list)
    ingestion: list[Line] = field(default_factory=list)
    campaigns: list[Line] = field(default_factory=list)

    @property
    def run_cost(self) -> float:
        return sum(x.cost for x in (*self.training, *self.ingestion))

    @property
    def daily_cost(self) -> float:
        return sum(x.cost for x in self.campaigns)

    @property
    def training_hours(self) -> float:
        return sum(x.quantity or 0.0 for x in self.training)

    def to_dict(self) -> dict:
        return {
            "currency": self.currency,
            "training": [asdict(x) for x in self.training],
            "ingestion": [asdict(x) for x in self.ingestion],
            "campaigns": [asdict(x) for x in self.campaigns],
            "training_hours": self.training_hours,
            "run_cost": self.run_cost,
            "daily_cost": self.daily_cost,
        }

    def render(self) -> str:
        """Two fixed-width tables: this run's cost, and the campaigns' standing daily cost."""
        run = [*self.training, *self.ingestion]
        out = [f"Estimated cost of this run ({self.currency}):"]
        out += _table(run, ("run total", self.run_cost), "cost")
        out += ["", f"Standing cost of the campaigns ({self.currency} per day, at their minimum provisioned TPS):"]
        out += _table(self.campaigns, ("per day", self.daily_cost), "cost/day")
        out += ["", "Prices from the config's `costs` table: estimates (no volume tiers, free tier or taxes)."]
        return "\n".join(out)


def _qty(x: Line) -> str:
    if x.quantity is None:
        return "not reported"
    return f"{x.quantity:.0f} {x.unit}" if x.unit == "TPS" else f"{x.quantity:.4f} {x.unit}"


def _table(lines: list[Line], total: tuple[str, float], cost_label: str) -> list[str]:
    per = {"h": "training hour", "GB": "GB", "TPS": "TPS-hour"}
    rows = [("item", "quantity", "unit price", cost_label)]
    rows += [(x.item, _qty(x), f"{x.price:.4f}/{per.get(x.unit, x.unit)}", f"{x.cost:.4f}") for x in lines]
    if not lines:
        rows.append(("(none)", "", "", ""))
    rows.append((total[0], "", "", f"{total[1]:.4f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]

    def fmt(r):
        return "  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])

    return [fmt(rows[0]), "  ".join("-" * w for w in widths), *map(fmt, rows[1:])]


def training_lines(hook, cfg, versions: list[TrainedVersion | None]) -> list[Line]:
    """``versions``: the run's versions (None for a solution the run skipped); only those it trained cost it hours
    (a reused or automatic version does not: origin other than ``train``)."""
    price, out = cfg.costs.training_hour, []
    for v in versions:
        if not v or v.origin != "train":
            continue
        hours = hook.describe("solution_version", v.arn).get("trainingHours")
        if hours is None:
            log.warning("%s: Personalize reports no trainingHours for %s (not ACTIVE?)", v.solution, v.arn)
        hours = None if hours is None else float(hours)
        out.append(Line(f"training {v.solution}", hours, "h", price, (hours or 0.0) * price, v.arn))
    return out


def ingestion_lines(s3, cfg, imports: dict[str, ImportPlan | None]) -> list[Line]:
    """``imports``: {dataset: its import plan}; only files imported in this run count."""
    price, out = cfg.costs.data_ingestion_gb, []
    for dataset, plan in imports.items():
        if not plan or not plan.reimport:
            continue
        bucket, key = s3uri.split(plan.data_location)
        gb = s3.head_object(Bucket=bucket, Key=key)["ContentLength"] / GIB
        out.append(Line(f"data import {dataset}", gb, "GB", price, gb * price, plan.data_location))
    return out


def campaign_lines(hook, cfg) -> list[Line]:
    """Every configured campaign that exists, at its minProvisionedTPS for 24 hours."""
    price, out = cfg.costs.tps_hour, []
    group_arn = hook.find_by_name("dataset_group", cfg.dataset_group.name)
    for c in cfg.campaigns:
        solution_arn = group_arn and hook.find_by_name("solution", c.solution, group_arn)
        arn = solution_arn and hook.find_by_name("campaign", c.name, solution_arn)
        if not arn:
            continue
        tps = int(hook.describe("campaign", arn).get("minProvisionedTPS") or 1)
        out.append(Line(f"campaign {c.name}", tps, "TPS", price, tps * 24 * price, arn))
    return out


def estimate(hook, s3, cfg, versions: list[TrainedVersion | None], imports: dict[str, ImportPlan | None]) -> CostReport:
    """The run's cost (training hours and data imported) and the campaigns' standing daily cost."""
    return CostReport(
        currency=cfg.costs.currency,
        training=training_lines(hook, cfg, versions),
        ingestion=ingestion_lines(s3, cfg, imports),
        campaigns=campaign_lines(hook, cfg),
    )
