"""The cost report's arithmetic and table (the quantities from Personalize are covered by the e2e retrain)."""

from __future__ import annotations

from personalize_ops.pipeline.cost import GIB, CostReport, Line


def report() -> CostReport:
    return CostReport(
        currency="USD",
        training=[
            Line("training demo-up", 1.5, "h", 0.24, 1.5 * 0.24, "arn:v1"),
            Line("training demo-pop", None, "h", 0.24, 0.0, "arn:v2"),
        ],
        ingestion=[Line("data import interactions", 2.0, "GB", 0.05, 0.1, "s3://b/k.csv")],
        campaigns=[Line("campaign demo-campaign", 2, "TPS", 0.2, 2 * 24 * 0.2, "arn:c")],
    )


def test_totals_and_xcom_value():
    r = report()
    assert r.run_cost == 1.5 * 0.24 + 0.1
    assert r.daily_cost == 2 * 24 * 0.2
    assert r.training_hours == 1.5
    d = r.to_dict()
    assert d["run_cost"] == r.run_cost and d["daily_cost"] == r.daily_cost and d["currency"] == "USD"
    assert [x["item"] for x in d["training"]] == ["training demo-up", "training demo-pop"]
    assert d["training"][1]["quantity"] is None
    assert d["campaigns"][0] == {"item": "campaign demo-campaign", "quantity": 2, "unit": "TPS", "price": 0.2,
                                 "cost": 2 * 24 * 0.2, "arn": "arn:c"}  # fmt: skip


def test_rendered_tables():
    lines = report().render().splitlines()
    assert lines[0] == "Estimated cost of this run (USD):"
    assert lines[1].split() == ["item", "quantity", "unit", "price", "cost"]
    assert lines[3].split() == ["training", "demo-up", "1.5000", "h", "0.2400/training", "hour", "0.3600"]
    assert lines[4].split() == ["training", "demo-pop", "not", "reported", "0.2400/training", "hour", "0.0000"]
    assert lines[5].split() == ["data", "import", "interactions", "2.0000", "GB", "0.0500/GB", "0.1000"]
    assert lines[6].split() == ["run", "total", "0.4600"]
    daily = lines.index("Standing cost of the campaigns (USD per day, at their minimum provisioned TPS):")
    assert lines[daily + 3].split() == ["campaign", "demo-campaign", "2", "TPS", "0.2000/TPS-hour", "9.6000"]
    assert lines[daily + 4].split() == ["per", "day", "9.6000"]
    widths = {len(line) for line in lines[1:7]}
    assert len(widths) == 1, "columns are aligned"


def test_empty_report_says_none():
    text = CostReport(currency="EUR").render()
    assert "Estimated cost of this run (EUR):" in text and "(none)" in text
    assert text.count("0.0000") == 2
    assert GIB == 2**30
