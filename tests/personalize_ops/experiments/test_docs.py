"""docs/experiments.md: the application snippet runs against the local stack, assigns exactly like the
assignment module, and what it logs and sends is what events.aggregate reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from personalize_ops.experiments.analysis import analyze, render_result
from personalize_ops.experiments.assignment import assign
from personalize_ops.experiments.config import Experiment
from personalize_ops.experiments.events import Exposure, aggregate

from tests.personalize_ops.experiments.test_analysis import data, experiment

DOC = Path(__file__).resolve().parents[3] / "docs" / "experiments.md"


def snippets() -> list[str]:
    """The python blocks of the "The application side" section, in order."""
    section = DOC.read_text().split("## The application side", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_section_has_the_definitions_and_the_usage():
    blocks = snippets()
    assert len(blocks) == 2
    assert "def variant_for" in blocks[0] and "put_events" in blocks[0] and "show_recommendations(" in blocks[1]


def test_the_documented_hash_assigns_exactly_like_the_module():
    ns: dict = {}
    exec(snippets()[0], ns)
    split = {"a": 0.2, "b": 0.3, "c": 0.5}
    for i in range(5000):
        assert ns["variant_for"]("doc-exp", f"user-{i}", split) == assign("doc-exp", f"user-{i}", split)


def test_the_snippet_serves_logs_and_sends_events_the_analysis_reads(local_stack, served, tmp_path, monkeypatch):
    campaigns, tracking_id = served
    runtime, events = local_stack.client("personalize-runtime"), local_stack.client("personalize-events")
    sent: list[dict] = []
    events.meta.events.register(
        "before-call.personalize-events.PutEvents", lambda params, **_: sent.append(json.loads(params["body"]))
    )
    monkeypatch.chdir(tmp_path)
    definitions, usage = snippets()
    ns: dict = {"runtime": runtime, "events": events, "campaigns": campaigns, "tracking_id": tracking_id}
    exec(definitions, ns)
    exec(usage, ns)  # u1: a list shown, a click and a purchase on its first item
    split = {"champion": 0.5, "challenger": 0.5}
    with open("exposures.jsonl", "a") as log:  # more users: every other one clicks the second item
        for i in range(2, 40):
            shown = ns["show_recommendations"](runtime, campaigns, "up-vs-popularity", split, f"u{i}", f"s{i}", log)
            if i % 2 == 0:
                ns["send_event"](events, tracking_id, shown, shown["impression"][1])

    exposures = [Exposure.from_record(json.loads(line)) for line in Path("exposures.jsonl").read_text().splitlines()]
    assert len(exposures) == 39 and all(e.recommendation_id and len(e.items) == 10 for e in exposures)
    assert all(e.variant == assign("up-vs-popularity", e.user_id, split) for e in exposures)
    assert len(sent) == 2 + 19
    assert sent[0]["eventList"][0]["metricAttribution"] == {
        "eventAttributionSource": f"up-vs-popularity:{exposures[0].variant}"
    }

    exp = Experiment.model_validate(
        {
            "name": "up-vs-popularity",
            "variants": [{"name": "champion", "campaign": "c1"}, {"name": "challenger", "campaign": "c2"}],
            "primary_metric": {"kind": "ctr"},
            "guardrails": [{"metric": {"kind": "revenue", "event_type": "purchase"}, "max_degradation": 0.1}],
        }
    )
    data = aggregate(exp, exposures, sent)
    assert sum(d.users for d in data.values()) == 39
    clicks = sum(d.metrics["ctr"].sum_y for d in data.values())
    assert clicks == 1 + 19  # every click was on a shown list of the same user
    u1 = exposures[0].variant
    assert data[u1].metrics["revenue:purchase"].sum_y == pytest.approx(19.99)


def test_the_example_report_is_what_render_result_prints():
    guardrail = {"metric": {"kind": "conversion", "event_type": "purchase"}, "max_degradation": 0.1}
    exp = experiment(name="up-vs-popularity", guardrails=[guardrail])
    result = analyze(exp, [data("champion", 20_000, 0.05, 0.3), data("challenger", 20_000, 0.055, 0.3)], day=9)
    assert f"```\n{render_result(result)}\n```" in DOC.read_text()
