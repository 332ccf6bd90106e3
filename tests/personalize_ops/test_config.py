"""Pipeline config: the shipped files load; every error class is reported with file, key path, reason."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml
from personalize_ops.config import ConfigError, load_config
from personalize_ops.filter_expression import FilterExpressionError, parse_filter_expression

from tests.personalize_ops.transform.dataprep_helpers import BASE, REPO

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}


def write(tmp_path, cfg: dict, name="p.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def errors_for(tmp_path, mutate) -> list[str]:
    cfg = copy.deepcopy(BASE)
    mutate(cfg)
    path = write(tmp_path, cfg)
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    lines = str(ei.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    return [line.removeprefix(f"{path}: ") for line in lines]


def test_shipped_configs_load():
    cfg = load_config(REPO / "include" / "pipelines" / "shop.yaml")
    assert set(cfg.datasets.present()) == {"interactions", "items", "users"}
    recipes = {s.recipe for s in cfg.solutions}
    assert {
        "aws-user-personalization",
        "aws-sims",
        "aws-personalized-ranking",
        "aws-popularity-count",
    } <= recipes
    camp = cfg.campaigns[0]
    assert cfg.solution(camp.gate.beat_baseline).is_popularity and camp.min_provisioned_tps == 1
    assert len(cfg.filters) == 2 and cfg.event_tracker and len(cfg.batch_jobs) == 1
    assert cfg.schedules.retrain == "@weekly" and cfg.dataset_group.aws_conn_id == "aws_default"
    assert cfg.datasets.interactions.source.path.startswith(str(REPO / "include"))
    poc = load_config(REPO / "include" / "movielens-poc.yaml")
    assert len(poc.datasets.interactions.event_rules.rules) == 2


def test_defaults_and_recipe_arn(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    s = cfg.solutions[0]
    assert s.recipe_arn == "arn:aws:personalize:::recipe/aws-user-personalization"
    assert s.perform_auto_training is False and s.training_mode == "FULL"
    assert cfg.schedules.batch_export == "@daily"
    assert cfg.datasets.interactions.import_mode == "FULL"
    schema = cfg.datasets.interactions.avro_schema("interactions")
    assert [f["name"] for f in schema["fields"]] == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]


def test_unknown_and_missing_keys(tmp_path):
    def mutate(c):
        c["dataset_group"]["colour"] = "red"
        del c["dataset_group"]["bucket"]
        c["solutions"][0]["hyper"] = {}

    errs = errors_for(tmp_path, mutate)
    assert "dataset_group.colour: unknown key" in errs
    assert "dataset_group.bucket: missing required key" in errs
    assert "solutions[0].hyper: unknown key" in errs


def test_broken_references_all_at_once(tmp_path):
    def mutate(c):
        c["solutions"].append({"name": "b", "recipe": "aws-sims"})
        c["campaigns"] = [{"name": "c", "solution": "foo", "gate": {"beat_baseline": "b"}}]
        c["batch_jobs"] = [{"name": "j", "solution": "s", "filter": "nope", "destination": "s3://x/y"}]
        c["filters"] = [{"name": "f", "expression": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")'}]

    errs = errors_for(tmp_path, mutate)
    assert "campaigns[0].solution: unknown solution 'foo' (known: s, b)" in errs
    assert "batch_jobs[0].filter: unknown filter 'nope' (known: f)" in errs
    assert "campaigns[0].gate.beat_baseline: solution 'b' is not a popularity-count baseline" in errs


@pytest.mark.parametrize("name", ["-starts-with-dash", "has space", "x" * 64, "dot.name"])
def test_bad_resource_names(tmp_path, name):
    errs = errors_for(tmp_path, lambda c: c["solutions"][0].update(name=name))
    assert any(e.startswith("solutions[0].name: name") for e in errs), errs


def test_name_at_limit_is_fine(tmp_path):
    cfg = copy.deepcopy(BASE)
    cfg["solutions"][0]["name"] = "a" * 63
    assert load_config(write(tmp_path, cfg)).solutions[0].name == "a" * 63


def test_malformed_filter_and_unknown_field(tmp_path):
    def mutate(c):
        c["filters"] = [
            {"name": "f1", "expression": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("},
            {"name": "f2", "expression": "INCLUDE ItemID WHERE Items.GENRE IN ($G)"},
        ]

    errs = errors_for(tmp_path, mutate)
    assert any(e.startswith("filters[0].expression: malformed filter expression: expected") for e in errs), errs
    assert "filters[1].expression: uses Items.GENRE but there is no items dataset" in errs


def test_invalid_values(tmp_path):
    def mutate(c):
        c["solutions"][0]["recipe"] = "aws-magic"
        c["campaigns"] = [{"name": "c", "solution": "s", "gate": {"metric": "accuracy", "on_fail": "cry"}}]
        c["schedules"] = {"retrain": "every tuesday"}
        c["datasets"]["interactions"]["fields"][2]["timestamp"] = "unix"
        c["datasets"]["interactions"]["fields"].pop(0)

    errs = " | ".join(errors_for(tmp_path, mutate))
    for needle in (
        "solutions[0].recipe: unknown recipe 'aws-magic'",
        "campaigns[0].gate.metric:",
        "campaigns[0].gate.on_fail:",
        "schedules.retrain: 'every tuesday' is neither",
        "datasets.interactions.fields[1].timestamp: timestamp 'unix'",
        "datasets.interactions.fields: interactions needs a USER_ID field",
    ):
        assert needle in errs


def test_env_vars_and_relative_paths(tmp_path, monkeypatch):
    cfg = copy.deepcopy(BASE)
    cfg["datasets"]["interactions"]["source"]["path"] = "${PZ_T_DIR}/x.csv"
    cfg["dataset_group"]["bucket"] = "${PZ_T_BUCKET:-fallback}"
    path = write(tmp_path, cfg)
    errs = str(pytest.raises(ConfigError, load_config, path).value)
    assert "datasets.interactions.source.path: environment variable PZ_T_DIR is not set" in errs
    monkeypatch.setenv("PZ_T_DIR", "data")
    loaded = load_config(path)
    assert loaded.datasets.interactions.source.path == str(tmp_path / "data" / "x.csv")
    assert loaded.dataset_group.bucket == "fallback"


SECRET = "postgresql://airflow:s3cr3t-pw@db/airflow"


def test_variables_without_an_allowed_prefix_are_refused_and_never_read(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRET)
    monkeypatch.delenv("PERSONALIZE_CONFIG_ENV_PREFIXES", raising=False)
    errs = errors_for(tmp_path, lambda c: (
        c["dataset_group"].update(bucket="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}", prefix="${HOME:-x}"),
        c["solutions"][0].update(name="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}"),
    ))  # fmt: skip
    text = "\n".join(errs)
    assert "s3cr3t" not in text and "airflow:" not in text
    assert "dataset_group.bucket: ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}: a config may only expand" in text
    assert "dataset_group.prefix: ${HOME}: a config may only expand" in text  # a default does not make it ok
    assert "PERSONALIZE_CONFIG_ENV_PREFIXES" in text
    # one error per refused key: the unexpanded ${...} is not validated again
    assert [e.split(":")[0] for e in errs] == ["dataset_group.bucket", "dataset_group.prefix", "solutions[0].name"]


def test_allowed_prefixes_expand_and_more_can_be_configured(tmp_path, monkeypatch):
    cfg = copy.deepcopy(BASE)
    cfg["dataset_group"]["bucket"] = "${PERSONALIZE_T_BUCKET}"
    cfg["dataset_group"]["prefix"] = "${ACME_PREFIX}"
    path = write(tmp_path, cfg)
    monkeypatch.setenv("PERSONALIZE_T_BUCKET", "from-env-bucket")
    monkeypatch.setenv("ACME_PREFIX", "team/ml")
    monkeypatch.delenv("PERSONALIZE_CONFIG_ENV_PREFIXES", raising=False)
    refused = pytest.raises(ConfigError, load_config, path).value.errors
    assert [loc for loc, _ in refused] == ["dataset_group.prefix"] and "${ACME_PREFIX}" in refused[0][1]
    monkeypatch.setenv("PERSONALIZE_CONFIG_ENV_PREFIXES", " OTHER_, ACME_ ")
    loaded = load_config(path)
    assert (loaded.dataset_group.bucket, loaded.dataset_group.prefix) == ("from-env-bucket", "team/ml")


def test_invalid_values_from_the_environment_are_reported_without_the_value(tmp_path, monkeypatch):
    bad_name = "Bad Name With-Secret-Ish-Text"
    monkeypatch.setenv("PZ_T_SOLUTION", bad_name)
    monkeypatch.setenv("PZ_T_GROUP", "group-" + "secret" * 12)  # 78 characters: too long
    errs = errors_for(tmp_path, lambda c: (
        c["solutions"][0].update(name="${PZ_T_SOLUTION}"),
        c.update(campaigns=[{"name": "c", "solution": "nope"}]),
        c["dataset_group"].update(name="${PZ_T_GROUP}"),
    ))  # fmt: skip
    text = "\n".join(errs)
    assert "Secret" not in text and "secret" not in text, text
    by_key = {e.split(": ", 1)[0]: e.split(": ", 1)[1] for e in errs}
    assert by_key["solutions[0].name"].startswith("name '${PZ_T_SOLUTION}' must match")
    assert by_key["solutions[0].name"].endswith("(value from ${PZ_T_SOLUTION}, not shown)")
    assert by_key["dataset_group.name"] == (
        "name '${PZ_T_GROUP}' is 78 characters; Personalize allows at most 63 (value from ${PZ_T_GROUP}, not shown)"
    )
    assert "known: ${PZ_T_SOLUTION}" in by_key["campaigns[0].solution"]  # other keys' messages redact it too


def test_config_errors_shown_by_the_cli_and_dag_import_carry_no_env_values(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    cfg = copy.deepcopy(BASE)
    cfg["dataset_group"]["name"] = "${PZ_T_GROUP}"
    cfg["dataset_group"]["bucket"] = "${AIRFLOW__API_AUTH__JWT_SECRET}"
    path = write(tmp_path, cfg)
    env = {**ENV, "PZ_T_GROUP": "not a valid group s3cr3t", "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-s3cr3t"}
    cli = subprocess.run([sys.executable, "-m", "personalize_ops", "validate-config", str(path)],
                         capture_output=True, text=True, env=env)  # fmt: skip
    assert cli.returncode == 1 and "2 error(s)" in cli.stderr, cli.stderr
    assert "value from ${PZ_T_GROUP}" in cli.stderr and "s3cr3t" not in cli.stderr + cli.stdout
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))
    monkeypatch.setenv("PZ_T_GROUP", env["PZ_T_GROUP"])
    bag = DagBag(dag_folder=str(REPO / "dags" / "personalize_config_errors.py"))
    (err,) = bag.import_errors.values()
    assert "value from ${PZ_T_GROUP}" in err and "s3cr3t" not in err, err


def test_yaml_and_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    assert "not valid YAML" in str(pytest.raises(ConfigError, load_config, bad).value)
    assert "cannot read" in str(pytest.raises(ConfigError, load_config, tmp_path / "missing.yaml").value)


@pytest.mark.parametrize(
    "expr,fields,params,actions",
    [
        ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "watch")',
         [("Interactions", "EVENT_TYPE")], [], ["EXCLUDE"]),
        ("INCLUDE ItemID WHERE Items.PRICE > 10 AND Items.GENRE IN ($GENRE)",
         [("Items", "PRICE"), ("Items", "GENRE")], ["GENRE"], ["INCLUDE"]),
        ('EXCLUDE ItemID WHERE Items.GENRE NOT IN ("x") | INCLUDE ItemID WHERE Items.YEAR >= 2000',
         [("Items", "GENRE"), ("Items", "YEAR")], [], ["EXCLUDE", "INCLUDE"]),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18",
         [("Items", "GENRE"), ("CurrentUser", "AGE")], ["G"], ["INCLUDE"]),
    ],
)  # fmt: skip
def test_filter_expressions_valid_and_what_they_reference(expr, fields, params, actions):
    """The parse result is what the config checks use (fields against the dataset schemas, $PARAMETERS)."""
    parsed = parse_filter_expression(expr)
    assert (parsed.fields, parsed.params, parsed.actions) == (fields, params, actions)


@pytest.mark.parametrize(
    "expr,where",
    [
        ("", "expected INCLUDE or EXCLUDE"),
        ("INCLUDE ItemID Items.GENRE IN ($G)", "expected WHERE"),
        ('EXCLUDE ItemID WHERE Interactions.ITEM_ID IN ("1")', "only use EVENT_TYPE"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a" "b")', "',' or ')'"),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) extra", "'|', AND, OR, IF or end"),
        ("INCLUDE ItemID WHERE Foo.GENRE IN ($G)", "unknown dataset 'Foo'"),
    ],
)
def test_filter_expressions_invalid(expr, where):
    with pytest.raises(FilterExpressionError, match=None) as ei:
        parse_filter_expression(expr)
    assert where in str(ei.value)


def test_cli_validate_config(tmp_path):
    env_py = [sys.executable, "-m", "personalize_ops", "validate-config"]
    ok = subprocess.run(
        [*env_py, str(REPO / "include" / "pipelines" / "shop.yaml")], capture_output=True, text=True, env=ENV
    )
    assert ok.returncode == 0 and "OK - dataset group personalize-demo" in ok.stdout
    cfg = copy.deepcopy(BASE)
    cfg["campaigns"] = [{"name": "c", "solution": "foo"}]
    cfg["extra"] = 1
    bad = subprocess.run([*env_py, str(write(tmp_path, cfg))], capture_output=True, text=True, env=ENV)
    assert bad.returncode == 1
    assert "2 error(s)" in bad.stderr and "campaigns[0].solution: unknown solution 'foo'" in bad.stderr


def test_config_imports_fast():
    heavy = "('pandas', 'pyarrow', 'great_expectations')"
    code = f"import sys, personalize_ops.config; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV)
    assert out.stdout.strip() == "[]"


def test_the_avro_schema_sent_to_personalize(tmp_path):
    """Generated from the fields (in order, with nullable and categorical), or read from ``schema_file``."""
    cfg = copy.deepcopy(BASE)
    fields = [{"name": "ITEM_ID"}, {"name": "GENRES", "categorical": True},
              {"name": "PRICE", "type": "float", "nullable": True}]  # fmt: skip
    cfg["datasets"]["items"] = {"source": {"path": "items.csv"}, "fields": fields}
    generated = load_config(write(tmp_path, cfg)).datasets.items.avro_schema("items")
    assert generated == {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "GENRES", "type": "string", "categorical": True},
            {"name": "PRICE", "type": ["null", "float"]},
        ],
        "version": "1.0",
    }
    (tmp_path / "items.avsc").write_text(json.dumps({**generated, "fields": generated["fields"][:2]}))
    cfg["datasets"]["items"]["schema_file"] = str(tmp_path / "items.avsc")
    from_file = load_config(write(tmp_path, cfg)).datasets.items.avro_schema("items")
    assert from_file["fields"] == generated["fields"][:2]
