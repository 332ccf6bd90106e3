"""Every validator of the pipeline config, table-driven: a failing input whose error names the file, the key path
and the reason (and nothing else), and a passing input next to it.

The base config uses every section (three datasets, a popularity baseline, a gate, filters with a parameter and
an IF, an event tracker, a batch job, schedules), so each case changes exactly one thing. Validators enumerated
from personalize_ops/config/: the ``field_validator`` / ``model_validator`` functions, the ``Field``
constraints, the ``Literal`` choices, the cross references (references.py), the botocore shapes (aws_shapes.py) and
``load_config`` itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import yaml
from personalize_ops.config import ConfigError, PipelineConfig, load_config
from pydantic import ValidationError

from tests.personalize_ops.transform.dataprep_helpers import INTERACTIONS

RICH = {
    "dataset_group": {"name": "g", "bucket": "bkt", "prefix": "p", "role_arn": "arn:aws:iam::000000000000:role/R"},
    "datasets": {
        "interactions": copy.deepcopy(INTERACTIONS),
        "items": {
            "source": {"path": "items.csv"},
            "fields": [{"name": "ITEM_ID"}, {"name": "CATEGORY", "categorical": True},
                       {"name": "PRICE", "type": "float"}],
        },
        "users": {"source": {"path": "users.jsonl", "format": "jsonl"},
                  "fields": [{"name": "USER_ID"}, {"name": "AGE", "type": "int"}]},
    },
    "solutions": [
        {"name": "up", "recipe": "aws-user-personalization"},
        {"name": "pop", "recipe": "aws-popularity-count"},
        {"name": "sims", "recipe": "aws-sims"},
    ],
    "campaigns": [{"name": "c", "solution": "up", "gate": {"beat_baseline": "pop"}}],
    "filters": [
        {"name": "f-int", "expression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'},
        {"name": "f-cat", "expression": "INCLUDE ItemID WHERE Items.CATEGORY IN ($CAT) IF CurrentUser.AGE > 18"},
    ],
    "event_tracker": {"name": "t"},
    "batch_jobs": [{"name": "j", "solution": "up", "filter": "f-int", "destination": "s3://bkt/exports/"}],
    "schedules": {"retrain": "0 3 * * 1", "batch_export": "@daily"},
}  # fmt: skip

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in _STEP.findall(path)]


def put(path: str, value) -> Callable[[dict], None]:
    """A mutation setting ``path`` (``a.b[0].c``) to ``value``."""

    def mutate(cfg: dict) -> None:
        *parents, last = _steps(path)
        node = cfg
        for step in parents:
            node = node[step]
        node[last] = value

    return mutate


def drop(path: str) -> Callable[[dict], None]:
    def mutate(cfg: dict) -> None:
        *parents, last = _steps(path)
        node = cfg
        for step in parents:
            node = node[step]
        del node[last]

    return mutate


def add(path: str, item) -> Callable[[dict], None]:
    """A mutation appending ``item`` to the list at ``path``."""

    def mutate(cfg: dict) -> None:
        node = cfg
        for step in _steps(path):
            node = node[step]
        node.append(item)

    return mutate


def both(*mutations: Callable[[dict], None]) -> Callable[[dict], None]:
    def mutate(cfg: dict) -> None:
        for m in mutations:
            m(cfg)

    return mutate


def keep(cfg: dict) -> None:
    """The base as it is (the passing side of a case whose base value is already the valid one)."""


@dataclass(frozen=True)
class Case:
    id: str
    bad: Callable[[dict], None]
    good: Callable[[dict], None]
    loc: str  # key path as reported
    reason: str  # a fragment of the reason


INTERACTION_RULES = {"column": "action", "rules": [{"op": "==", "value": "buy", "event_type": "purchase"}]}
NO_EVENT_TYPE = drop("datasets.interactions.fields[3]")

CASES = [
    # --- names (_name): Personalize's 63 characters and ^[a-zA-Z0-9][a-zA-Z0-9\-_]*, on every named resource
    Case("group-name-64", put("dataset_group.name", "g" * 64), put("dataset_group.name", "g" * 63),
         "dataset_group.name", "is 64 characters; Personalize allows at most 63"),
    Case("solution-name-dash-first", put("solutions[2].name", "-sims"), put("solutions[2].name", "Sims-2_b"),
         "solutions[2].name", "must match ^[a-zA-Z0-9]"),
    Case("solution-name-trailing-newline", put("solutions[2].name", "sims\n"), put("solutions[2].name", "sims"),
         "solutions[2].name", "must match ^[a-zA-Z0-9]"),
    Case("campaign-name-dot", put("campaigns[0].name", "c.1"), put("campaigns[0].name", "c-1"),
         "campaigns[0].name", "must match"),
    Case("campaign-name-empty", put("campaigns[0].name", ""), put("campaigns[0].name", "c"),
         "campaigns[0].name", "at least 1 character"),
    Case("filter-name-space", put("filters[1].name", "f cat"), put("filters[1].name", "f_cat"),
         "filters[1].name", "must match"),
    Case("tracker-name-underscore-first", put("event_tracker.name", "_t"), put("event_tracker.name", "t_"),
         "event_tracker.name", "must match"),
    Case("batch-job-name-slash", put("batch_jobs[0].name", "j/1"), put("batch_jobs[0].name", "j-1"),
         "batch_jobs[0].name", "must match"),
    # --- Source
    Case("delimiter-two-chars", put("datasets.interactions.source.delimiter", "::"),
         put("datasets.interactions.source.delimiter", ";"),
         "datasets.interactions.source.delimiter", "at most 1 character"),
    Case("headerless-csv-without-columns", put("datasets.interactions.source.header", False),
         both(put("datasets.interactions.source.header", False),
              put("datasets.interactions.source.columns", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])),
         "datasets.interactions.source", "header: false needs explicit 'columns'"),
    Case("headerless-tsv-without-columns",
         both(put("datasets.interactions.source.header", False), put("datasets.interactions.source.format", "tsv")),
         both(put("datasets.users.source.header", False)),  # jsonl rows name their columns
         "datasets.interactions.source", "header: false needs explicit 'columns'"),
    Case("source-format", put("datasets.interactions.source.format", "xlsx"),
         put("datasets.interactions.source.format", "parquet"),
         "datasets.interactions.source.format", "Input should be 'csv', 'tsv', 'parquet' or 'jsonl'"),
    # --- FieldSpec
    Case("field-name-151", put("datasets.items.fields[2].name", "P" * 151),
         put("datasets.items.fields[2].name", "P" * 150),
         "datasets.items.fields[2].name", "must match ^[A-Za-z_][A-Za-z0-9_]* (max 150)"),
    Case("field-name-digit-first", put("datasets.items.fields[2].name", "1PRICE"),
         put("datasets.items.fields[2].name", "_PRICE1"), "datasets.items.fields[2].name", "must match"),
    Case("field-name-trailing-newline", put("datasets.items.fields[2].name", "PRICE\n"),
         put("datasets.items.fields[2].name", "PRICE"), "datasets.items.fields[2].name", "must match"),
    Case("field-type", put("datasets.items.fields[2].type", "decimal"), put("datasets.items.fields[2].type", "double"),
         "datasets.items.fields[2].type", "Input should be 'string', 'int', 'long', 'float', 'double' or 'boolean'"),
    Case("timestamp-format", put("datasets.interactions.fields[2].timestamp", "unix"),
         put("datasets.interactions.fields[2].timestamp", "%Y-%m-%dT%H:%M:%S"),
         "datasets.interactions.fields[2].timestamp", "timestamp 'unix': use epoch_s, epoch_ms, iso8601"),
    Case("extract-invalid-regex", put("datasets.interactions.fields[1].extract", "(item-"),
         put("datasets.interactions.fields[1].extract", r"item-(\d+)"),
         "datasets.interactions.fields[1].extract", "extract regex '(item-' is invalid: missing )"),
    Case("extract-no-group", put("datasets.interactions.fields[1].extract", r"item-\d+"),
         put("datasets.interactions.fields[1].extract", r"(?:item|sku)-(?P<id>\d+)"),
         "datasets.interactions.fields[1].extract", "must have exactly one group"),
    Case("extract-two-groups", put("datasets.interactions.fields[1].extract", r"(item)-(\d+)"),
         put("datasets.interactions.fields[1].extract", r"item-(\d+)"),
         "datasets.interactions.fields[1].extract", "must have exactly one group"),
    Case("categorical-not-string", put("datasets.items.fields[2].categorical", True),
         both(put("datasets.items.fields[2].categorical", True), put("datasets.items.fields[2].type", "string")),
         "datasets.items.fields[2]", "PRICE: only string fields can be categorical"),
    Case("timestamp-on-a-string", put("datasets.interactions.fields[2].type", "string"),
         put("datasets.interactions.fields[2].type", "long"),
         "datasets.interactions.fields[2]", "TIMESTAMP: a timestamp field must have type long"),
    # --- EventRules / EventRule
    Case("event-rules-need-event-type",
         both(NO_EVENT_TYPE, put("datasets.interactions.event_rules", INTERACTION_RULES)),
         put("datasets.interactions.event_rules", INTERACTION_RULES),
         "datasets.interactions", "event_rules need an EVENT_TYPE entry in fields"),
    Case("event-rules-empty", put("datasets.interactions.event_rules", {"column": "action", "rules": []}),
         put("datasets.interactions.event_rules", INTERACTION_RULES),
         "datasets.interactions.event_rules.rules", "at least 1 item"),
    Case("event-rule-op",
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": "=~", "value": 1,
                                                                            "event_type": "x"}]}),
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": "!=", "value": 1,
                                                                            "event_type": "x"}]}),
         "datasets.interactions.event_rules.rules[0].op", "Input should be '>', '>=', '<', '<=', '==' or '!='"),
    Case("event-rule-empty-type",
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": ">", "value": 1,
                                                                            "event_type": ""}]}),
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": ">", "value": 1, "event_type": "x",
                                                                            "event_value": "source"}]}),
         "datasets.interactions.event_rules.rules[0].event_type", "at least 1 character"),
    Case("event-value",
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": ">", "value": 1, "event_type": "x",
                                                                            "event_value": "sometimes"}]}),
         put("datasets.interactions.event_rules", {"column": "a", "rules": [{"op": ">", "value": 1, "event_type": "x",
                                                                            "event_value": 2.5}]}),
         "datasets.interactions.event_rules.rules[0].event_value", "Input should be"),
    # --- Dataset
    Case("no-fields", both(drop("filters[1]"), put("datasets.users.fields", [])), drop("filters[1]"),
         "datasets.users.fields", "at least 1 item"),
    Case("duplicate-fields", put("datasets.interactions.fields[3].name", "ITEM_ID"), keep,
         "datasets.interactions", "duplicate fields: ITEM_ID"),
    Case("transform-not-dotted", put("datasets.interactions.transform", "my transform"),
         put("datasets.interactions.transform", "mypkg.module:function"),
         "datasets.interactions.transform", "must be a dotted path like 'mypkg.module:function'"),
    Case("transform-trailing-newline", put("datasets.interactions.transform", "mypkg.module:function\n"),
         put("datasets.interactions.transform", "mypkg.module.function"),
         "datasets.interactions.transform", "must be a dotted path"),
    Case("import-mode", put("datasets.interactions.import_mode", "PARTIAL"),
         put("datasets.interactions.import_mode", "INCREMENTAL"),
         "datasets.interactions.import_mode", "Input should be 'FULL' or 'INCREMENTAL'"),
    # --- Quality
    Case("quality-unknown-rule", put("datasets.interactions.quality", {"rules": {"id_nul": "quarantine"}}),
         put("datasets.interactions.quality", {"rules": {"id_null": "quarantine"}}),
         "datasets.interactions.quality.rules",
         "unknown rule(s) id_nul (known: bad_encoding, bad_quoting, categorical_too_long"),
    Case("quality-rule-action", put("datasets.interactions.quality", {"rules": {"id_null": "ignore"}}),
         put("datasets.interactions.quality", {"rules": {"id_null": "fail"}}),
         "datasets.interactions.quality.rules.id_null", "Input should be 'fail' or 'quarantine'"),
    Case("quality-on-fail", put("datasets.interactions.quality", {"on_fail": "ignore"}),
         put("datasets.interactions.quality", {"on_fail": "quarantine"}),
         "datasets.interactions.quality.on_fail", "Input should be 'fail' or 'quarantine'"),
    Case("quality-gx-mode", put("datasets.interactions.quality", {"gx_mode": "fast"}),
         put("datasets.interactions.quality", {"gx_mode": "rows"}),
         "datasets.interactions.quality.gx_mode", "Input should be 'stats' or 'rows'"),
    # --- Solution
    Case("recipe-unknown", put("solutions[2].recipe", "aws-magic"),
         put("solutions[2].recipe", "arn:aws:personalize:::recipe/aws-similar-items"),
         "solutions[2].recipe", "unknown recipe 'aws-magic': use a full recipe ARN or one of"),
    Case("recipe-arn-trailing-newline", put("solutions[2].recipe", "arn:aws:personalize:::recipe/aws-sims\n"),
         put("solutions[2].recipe", "arn:aws-cn:personalize:::recipe/aws-sims"),
         "solutions[2].recipe", "unknown recipe"),
    Case("training-mode", put("solutions[2].training_mode", "PARTIAL"), put("solutions[2].training_mode", "UPDATE"),
         "solutions[2].training_mode", "Input should be 'FULL' or 'UPDATE'"),
    Case("hyperparameter-list", put("solutions[0].hyperparameters", {"hidden_dimension": [64]}),
         put("solutions[0].hyperparameters", {"hidden_dimension": 64, "bptt": "32", "recency_mask": True}),
         "solutions[0].hyperparameters.hidden_dimension", "Input should be a valid"),
    # --- pass-through members against botocore's CreateSolution input shape (aws_shapes.py)
    Case("solution-config-type", put("solutions[0].solution_config", {"eventValueThreshold": 3}),
         put("solutions[0].solution_config", {"eventValueThreshold": "3"}), "solutions[0].solution_config",
         "Invalid type for parameter eventValueThreshold, value: 3"),
    Case("solution-config-unknown-member", put("solutions[0].solution_config", {"hpoConfig": {"hpoObjective": {
         "type": "Maximize", "metricName": "m", "bogus": 1}}}),
         put("solutions[0].solution_config", {"hpoConfig": {"hpoObjective": {"type": "Maximize", "metricName": "m"}}}),
         "solutions[0].solution_config", 'Unknown parameter in hpoConfig.hpoObjective: "bogus"'),
    Case("solution-config-hyperparameter-number", put("solutions[0].solution_config",
         {"algorithmHyperParameters": {"hidden_dimension": 64}}),
         put("solutions[0].solution_config", {"algorithmHyperParameters": {"hidden_dimension": "64"}}),
         "solutions[0].solution_config", "Invalid type for parameter algorithmHyperParameters.hidden_dimension"),
    Case("no-solutions", both(put("solutions", []), put("campaigns", []), put("batch_jobs", [])),
         both(put("campaigns", []), put("batch_jobs", [])), "solutions", "at least 1 item"),
    # --- Campaign / Gate
    Case("gate-negative-margin", put("campaigns[0].gate.min_improvement", -0.01),
         put("campaigns[0].gate.min_improvement", 0), "campaigns[0].gate.min_improvement",
         "greater than or equal to 0"),
    Case("gate-metric", put("campaigns[0].gate.metric", "accuracy"), put("campaigns[0].gate.metric", "precision_at_5"),
         "campaigns[0].gate.metric", "unknown metric 'accuracy'"),
    Case("gate-on-fail", put("campaigns[0].gate.on_fail", "cry"), put("campaigns[0].gate.on_fail", "warn"),
         "campaigns[0].gate.on_fail", "Input should be 'warn' or 'fail'"),
    Case("campaign-tps-0", put("campaigns[0].min_provisioned_tps", 0), put("campaigns[0].min_provisioned_tps", 1),
         "campaigns[0].min_provisioned_tps", "greater than or equal to 1"),
    # --- Filter
    Case("filter-malformed", put("filters[0].expression", "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("),
         put("filters[0].expression", 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "buy")'),
         "filters[0].expression", "malformed filter expression: expected a value"),
    # --- BatchJob
    Case("batch-num-results-0", put("batch_jobs[0].num_results", 0), put("batch_jobs[0].num_results", 1),
         "batch_jobs[0].num_results", "greater than or equal to 1"),
    Case("batch-num-results-501", put("batch_jobs[0].num_results", 501), put("batch_jobs[0].num_results", 500),
         "batch_jobs[0].num_results", "less than or equal to 500"),
    Case("batch-users-local-file", put("batch_jobs[0].users", "users.txt"), put("batch_jobs[0].users", "s3://bkt/u.txt"),
         "batch_jobs[0].users", "users must be 'interactions', a list of user ids or an s3:// path"),
    Case("batch-users-list", put("batch_jobs[0].users", "u1,u2"), put("batch_jobs[0].users", ["u1", "u2"]),
         "batch_jobs[0].users", "users must be"),
    Case("batch-output-format", put("batch_jobs[0].output_format", "xlsx"),
         put("batch_jobs[0].output_format", "parquet"),
         "batch_jobs[0].output_format", "Input should be 'csv' or 'parquet'"),
    # --- Schedules
    Case("cron-words", put("schedules.retrain", "every tuesday"), put("schedules.retrain", "@weekly"),
         "schedules.retrain", "'every tuesday' is neither a preset"),
    Case("cron-four-fields", put("schedules.retrain", "0 3 * *"), put("schedules.retrain", "0 3 * * MON-FRI"),
         "schedules.retrain", "nor a 5-field cron"),
    Case("cron-six-fields", put("schedules.batch_export", "0 0 3 * * *"), put("schedules.batch_export", "*/15 * * * *"),
         "schedules.batch_export", "nor a 5-field cron"),
    Case("cron-minute-61", put("schedules.retrain", "61 * * * *"), put("schedules.retrain", "59 * * * *"),
         "schedules.retrain", "'61 * * * *' is not a valid cron expression"),
    Case("cron-hour-24", put("schedules.batch_export", "0 24 * * *"), put("schedules.batch_export", "0 23 * * *"),
         "schedules.batch_export", "is not a valid cron expression"),
    Case("cron-weekday-8", put("schedules.retrain", "0 0 * * 8"), put("schedules.retrain", None),
         "schedules.retrain", "is not a valid cron expression"),
    Case("cron-incremental", put("schedules.incremental", "daily"), put("schedules.incremental", "@daily"),
         "schedules.incremental", "'daily' is neither a preset"),
    # --- DatasetGroup
    Case("bucket-2-chars", put("dataset_group.bucket", "ab"), put("dataset_group.bucket", "abc"),
         "dataset_group.bucket", "at least 3 characters"),
    Case("role-arn-short-account", put("dataset_group.role_arn", "arn:aws:iam::123:role/R"),
         put("dataset_group.role_arn", "arn:aws-us-gov:iam::123456789012:role/path/R"),
         "dataset_group.role_arn", "String should match pattern"),
    Case("role-arn-user", put("dataset_group.role_arn", "arn:aws:iam::000000000000:user/R"), keep,
         "dataset_group.role_arn", "String should match pattern"),
    # --- structure
    Case("unknown-key", put("dataset_group.colour", "red"), keep, "dataset_group.colour", "unknown key"),
    Case("unknown-top-level-key", put("campaign", []), keep, "campaign", "unknown key"),
    Case("missing-key", drop("dataset_group.bucket"), keep, "dataset_group.bucket", "missing required key"),
    Case("missing-interactions", drop("datasets.interactions"), keep, "datasets.interactions", "missing required key"),
    Case("wrong-type", put("batch_jobs[0].num_results", "many"), keep, "batch_jobs[0].num_results",
         "Input should be a valid integer"),
    # --- references and uniqueness (config/references.py)
    Case("duplicate-solution", put("solutions[2].name", "up"), keep, "solutions[2].name", "duplicate name 'up'"),
    Case("duplicate-campaign", add("campaigns", {"name": "c", "solution": "sims"}),
         add("campaigns", {"name": "c2", "solution": "sims"}), "campaigns[1].name", "duplicate name 'c'"),
    Case("duplicate-filter", put("filters[1].name", "f-int"), keep, "filters[1].name", "duplicate name 'f-int'"),
    Case("duplicate-batch-job", add("batch_jobs", {"name": "j", "solution": "sims", "destination": "s3://b/x/"}),
         add("batch_jobs", {"name": "j2", "solution": "sims", "destination": "s3://b/x/"}),
         "batch_jobs[1].name", "duplicate name 'j'"),
    Case("campaign-unknown-solution", put("campaigns[0].solution", "nope"), put("campaigns[0].solution", "sims"),
         "campaigns[0].solution", "unknown solution 'nope' (known: up, pop, sims)"),
    Case("batch-unknown-solution", put("batch_jobs[0].solution", "nope"), put("batch_jobs[0].solution", "sims"),
         "batch_jobs[0].solution", "unknown solution 'nope' (known: up, pop, sims)"),
    Case("batch-unknown-filter", put("batch_jobs[0].filter", "nope"), put("batch_jobs[0].filter", "f-cat"),
         "batch_jobs[0].filter", "unknown filter 'nope' (known: f-int, f-cat)"),
    Case("baseline-unknown", put("campaigns[0].gate.beat_baseline", "nope"),
         put("campaigns[0].gate.beat_baseline", None),
         "campaigns[0].gate.beat_baseline", "unknown solution 'nope' (known: up, pop, sims)"),
    Case("baseline-not-popularity", put("campaigns[0].gate.beat_baseline", "sims"),
         put("solutions[1].recipe", "arn:aws:personalize:::recipe/aws-popularity-count"),
         "campaigns[0].gate.beat_baseline", "solution 'sims' is not a popularity-count baseline"),
    Case("interactions-need-timestamp", drop("datasets.interactions.fields[2]"), keep,
         "datasets.interactions.fields", "interactions needs a TIMESTAMP field"),
    Case("interactions-need-user", drop("datasets.interactions.fields[0]"), keep,
         "datasets.interactions.fields", "interactions needs a USER_ID field"),
    Case("items-need-item-id", drop("datasets.items.fields[0]"), keep, "datasets.items.fields",
         "items needs a ITEM_ID field"),
    Case("users-need-user-id", drop("datasets.users.fields[0]"), keep, "datasets.users.fields",
         "users needs a USER_ID field"),
    Case("filter-uses-missing-dataset", drop("datasets.users"), drop("filters[1]"), "filters[1].expression",
         "uses CurrentUser.AGE but there is no users dataset"),
    Case("filter-uses-missing-field",
         put("filters[1].expression", "INCLUDE ItemID WHERE Items.GENRE IN ($G)"),
         put("filters[1].expression", "INCLUDE ItemID WHERE Items.PRICE > 10"),
         "filters[1].expression", "Items.GENRE: items dataset has no field GENRE"),
    Case("filter-uses-missing-current-item-field",
         put("filters[1].expression", "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.COST"),
         put("filters[1].expression", "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE"),
         "filters[1].expression", "CurrentItem.COST: items dataset has no field COST"),
    Case("filter-lowercase-dataset-missing-field",
         put("filters[1].expression", "include ItemID where items.GENRE in ($G)"),
         put("filters[1].expression", "include ItemID where items.CATEGORY in ($G)"),
         "filters[1].expression", "Items.GENRE: items dataset has no field GENRE"),
]  # fmt: skip


def write(tmp_path, cfg: dict):
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_the_base_config_is_valid(tmp_path):
    cfg = load_config(write(tmp_path, RICH))
    assert [s.name for s in cfg.solutions] == ["up", "pop", "sims"] and len(cfg.filters) == 2


def test_the_cases_are_distinct():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rejected_naming_file_key_and_reason(tmp_path, case):
    cfg = copy.deepcopy(RICH)
    case.bad(cfg)
    path = write(tmp_path, cfg)
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    lines = str(ei.value).splitlines()
    assert lines, "a ConfigError without a message"
    assert all(line.startswith(f"{path}: {case.loc}: ") for line in lines), lines
    assert any(case.reason in line for line in lines), lines
    assert {loc for loc, _ in ei.value.errors} == {case.loc}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_accepted_when_valid(tmp_path, case):
    cfg = copy.deepcopy(RICH)
    case.good(cfg)
    load_config(write(tmp_path, cfg))


@pytest.mark.parametrize(
    "expression",
    ['EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', 'exclude ItemID where interactions.EVENT_TYPE in ("*")'],
)
def test_an_interactions_filter_needs_no_declared_event_type(tmp_path, expression):
    """``IN ("*")`` matches every interaction of the user whatever its type, so it is valid (and useful) for
    interactions without an EVENT_TYPE column; the field check applies to the other datasets only."""
    cfg = copy.deepcopy(RICH)
    drop("datasets.interactions.fields[3]")(cfg)
    put("filters[0].expression", expression)(cfg)
    loaded = load_config(write(tmp_path, cfg))
    assert [f.name for f in loaded.datasets.interactions.fields] == ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    assert loaded.filters[0].expression == expression


def test_every_error_is_reported_at_once(tmp_path):
    """Structural and reference errors from different sections come in one ConfigError."""
    cfg = copy.deepcopy(RICH)
    for case in (CASES[0], CASES[-1]):
        case.bad(cfg)
    put("campaigns[0].solution", "nope")(cfg)
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, cfg))
    locs = {loc for loc, _ in ei.value.errors}
    assert locs == {"dataset_group.name", "filters[1].expression", "campaigns[0].solution"}


def test_the_model_itself_checks_references():
    """References are checked by PipelineConfig's own validation, not only by load_config."""
    cfg = copy.deepcopy(RICH)
    put("campaigns[0].solution", "nope")(cfg)
    put("batch_jobs[0].filter", "gone")(cfg)
    with pytest.raises(ValidationError) as ei:
        PipelineConfig.model_validate(cfg)
    assert [(e["loc"], e["msg"]) for e in ei.value.errors()] == [
        (("campaigns", 0, "solution"), "unknown solution 'nope' (known: up, pop, sims)"),
        (("batch_jobs", 0, "filter"), "unknown filter 'gone' (known: f-int, f-cat)"),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("", "the top level must be a mapping"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, text, reason):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    assert str(ei.value).startswith(f"{path}: <root>: {reason}")


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    assert str(ei.value).startswith(f"{path}: <root>: cannot read")
