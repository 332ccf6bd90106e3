"""README "From offline metrics to an experiment to production": the application snippet runs against the local
stack, assigns as the assignment module does, and what it logs is what the experiment report reads."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import yaml
from personalize_ops import s3_layout
from personalize_ops.config import load_config
from personalize_ops.experiments.analysis import analyze
from personalize_ops.experiments.assignment import assign
from personalize_ops.experiments.events import aggregate
from personalize_ops.pipeline.experiment_report import experiment_day, read_logs

README = Path(__file__).resolve().parents[3] / "README.md"
BUCKET, PREFIX, GROUP = "pz-readme-experiment", "pz", "readme"


def section() -> str:
    return README.read_text().split("### From offline metrics to an experiment to production", 1)[1].split("\n### ")[0]


def blocks(lang: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(rf"```{lang}\n(.*?)```", section(), re.S)]


def config(tmp_path):
    """The README's YAML block as a pipeline config (campaign names as the README gives them)."""
    sections = yaml.safe_load(blocks("yaml")[0])
    data = {
        "dataset_group": {"name": GROUP, "bucket": BUCKET, "prefix": PREFIX,
                          "role_arn": "arn:aws:iam::000000000000:role/R"},
        "datasets": {"interactions": {"source": {"path": "i.csv"}, "fields": [
            {"name": "USER_ID"}, {"name": "ITEM_ID"}, {"name": "TIMESTAMP", "type": "long"}]}},
        "solutions": [{"name": "up", "recipe": "aws-user-personalization"}],
        "campaigns": [{"name": "demo-user-personalization", "solution": "up"},
                      {"name": "demo-challenger", "solution": "up"}],
        **sections,
    }  # fmt: skip
    path = tmp_path / "readme.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def test_the_readme_config_block_loads(tmp_path):
    cfg = config(tmp_path)
    assert cfg.experiments[0].on_end == "promote" and [m.name for m in cfg.metric_attribution.metrics] == [
        "CLICKS", "REVENUE"]  # fmt: skip


def test_the_snippet_serves_logs_and_sends_what_the_report_reads(local_stack, served, tmp_path, monkeypatch):
    campaigns, tracking_id = served
    runtime, events, s3 = (local_stack.client(s) for s in ("personalize-runtime", "personalize-events", "s3"))
    monkeypatch.chdir(tmp_path)
    (code,) = blocks("python")
    ns: dict = {"runtime": runtime, "events": events, "campaigns": campaigns, "tracking_id": tracking_id}
    exec(code, ns)  # u0000001: one list shown, a click and a purchase
    with open("exposures.jsonl", "a") as exposures, open("events.jsonl", "a") as event_log:
        for i in range(40):  # more users of the stack's data: every third one clicks the second item
            shown = ns["show"](f"u{i}", f"s{i}", exposures)
            if i % 3 == 0:
                ns["send"](shown, shown["impression"][1], event_log)
    for i in range(3000):
        assert ns["variant_of"](f"user-{i}") == assign("up-vs-popularity", f"user-{i}", ns["SPLIT"])

    cfg = config(tmp_path)
    experiment = cfg.experiments[0]
    s3.create_bucket(Bucket=BUCKET)
    for kind, name in (("exposures", "exposures.jsonl"), ("events", "events.jsonl")):
        key = s3_layout.experiment_log_prefix(PREFIX, GROUP, experiment.name, kind) + "app-1.jsonl"
        s3.put_object(Bucket=BUCKET, Key=key, Body=Path(name).read_bytes())
    logs = read_logs(s3, cfg, experiment)
    assert len(logs.exposures) == 41 and len(logs.calls) == 2 + 14
    data = aggregate(experiment, logs.exposures, logs.calls)
    assert sum(d.users for d in data.values()) == 41
    assert sum(d.metrics["ctr"].sum_y for d in data.values()) == 1 + 14
    first = logs.exposures[0].variant
    assert data[first].metrics["conversion:purchase"].sum_y == 1
    result = analyze(experiment, data, experiment_day(experiment, logs))
    assert result.verdict == "running" and "day 1 of at least 7" in result.reason
