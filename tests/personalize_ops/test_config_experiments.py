"""The config's ``metric_attribution`` and ``experiments`` sections: valid ones load, mistakes name their key."""

from __future__ import annotations

import pytest
from personalize_ops.config import ConfigError

from tests.personalize_ops.test_config import errors_for
from tests.personalize_ops.transform.dataprep_helpers import make_config

CAMPAIGNS = [{"name": "main", "solution": "s"}, {"name": "challenger", "solution": "s"}]
EXPERIMENT = {
    "name": "ab",
    "variants": [{"name": "champion", "campaign": "main"}, {"name": "challenger", "campaign": "challenger"}],
    "primary_metric": {"kind": "ctr"},
    "on_end": "promote",
    "promote_to": "main",
}
ATTRIBUTION = {
    "metrics": [
        {"name": "CLICKS", "event_type": "click", "expression": "SAMPLECOUNT()"},
        {"name": "REVENUE", "event_type": "purchase", "expression": "SUM(Items.PRICE)"},
    ]
}


def with_sections(cfg: dict, experiment: dict | None = None, attribution: dict | None = None) -> None:
    cfg["campaigns"] = CAMPAIGNS
    cfg["experiments"] = [experiment or EXPERIMENT]
    cfg["metric_attribution"] = attribution or ATTRIBUTION


def test_a_valid_config_loads_with_both_sections(tmp_path):
    cfg = make_config(tmp_path, with_sections)
    assert cfg.experiment("ab").split == {"champion": 0.5, "challenger": 0.5}
    assert [m.request() for m in cfg.metric_attribution.metrics][1] == {
        "eventType": "purchase", "metricName": "REVENUE", "expression": "SUM(Items.PRICE)"}  # fmt: skip
    assert cfg.schedules.experiment_report == "@daily"


def test_an_experiment_naming_an_unknown_campaign_is_reported_at_its_key(tmp_path):
    bad = {**EXPERIMENT, "variants": [EXPERIMENT["variants"][0], {"name": "x", "campaign": "nope"}]}
    errors = errors_for(tmp_path, lambda c: with_sections(c, bad))
    assert errors == ["experiments[0].variants[1].campaign: unknown campaign 'nope' (known: main, challenger)"]


def test_promoting_to_a_challengers_campaign_is_refused(tmp_path):
    errors = errors_for(tmp_path, lambda c: with_sections(c, {**EXPERIMENT, "promote_to": "challenger"}))
    assert len(errors) == 1 and errors[0].startswith("experiments[0].promote_to: 'challenger' serves a challenger")


@pytest.mark.parametrize(
    "attribution, where, why",
    [
        ({"metrics": [{"name": "C", "event_type": "click", "expression": "COUNT(*)"}]},
         "metric_attribution.metrics[0].expression", "must be SAMPLECOUNT() or SUM(Items.COLUMN)"),
        ({"metrics": [{"name": "C", "event_type": "click", "expression": "SAMPLECOUNT()"}] * 2},
         "metric_attribution", "listed twice: C"),
        ({"metrics": ATTRIBUTION["metrics"], "s3_output": "bucket/reports"},
         "metric_attribution.s3_output", "must be an s3://bucket/prefix/ URL"),
        ({"metrics": []}, "metric_attribution.metrics", "at least 1 item"),
    ],
)  # fmt: skip
def test_metric_attribution_mistakes_name_their_key(tmp_path, attribution, where, why):
    errors = errors_for(tmp_path, lambda c: with_sections(c, attribution=attribution))
    assert len(errors) == 1 and errors[0].startswith(f"{where}: ") and why in errors[0], errors


def test_an_experiment_mistake_is_one_located_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, lambda c: with_sections(c, {**EXPERIMENT, "variants": EXPERIMENT["variants"][:1]}))
    assert "experiments[0].variants: List should have at least 2 items" in str(err.value)


def test_the_documented_metric_attribution_block_loads(tmp_path):
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "experiments.md").read_text()
    section = doc.split("## Metric attribution", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    cfg = make_config(tmp_path, lambda c: c.update(yaml.safe_load(block)))
    assert cfg.metric_attribution.name == "shop-attribution" and len(cfg.metric_attribution.metrics) == 2
