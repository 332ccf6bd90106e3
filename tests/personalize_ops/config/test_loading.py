"""``load_config`` itself: the file it read, paths, ``${VAR}`` expansion and its prefixes, values kept out of
messages, and key paths as people write them."""

from __future__ import annotations

import codecs
import copy
import locale

import pytest
import yaml
from personalize_ops.config import ConfigError, load_config
from personalize_ops.config.loading import ENV_PREFIXES, env_prefixes

from tests.personalize_ops.test_config_validators import RICH

PREFIXES = "PERSONALIZE_*, PZ_*, MOVIELENS_*"


def write(tmp_path, cfg: dict, name: str = "pipeline.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def errors(path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as ei:
        load_config(path)
    return ei.value.errors


def rich(**group) -> dict:
    cfg = copy.deepcopy(RICH)
    cfg["dataset_group"].update(group)
    return cfg


def test_the_config_knows_its_file_and_resolves_local_paths_against_its_folder(tmp_path):
    path = write(tmp_path, rich())
    cfg = load_config(path)
    assert cfg.source_file == str(path)
    assert cfg.datasets.interactions.source.path == str((tmp_path / "interactions.csv").resolve())


def test_s3_sources_stay_as_written(tmp_path):
    cfg = rich()
    cfg["datasets"]["interactions"]["source"]["path"] = "s3://raw-bucket/events/part-0.csv"
    assert load_config(write(tmp_path, cfg)).datasets.interactions.source.path == "s3://raw-bucket/events/part-0.csv"


def test_a_file_that_cannot_be_read_says_why(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert errors(missing) == [("", "cannot read: No such file or directory")]
    assert str(ConfigError(missing, errors(missing))) == f"{missing}: <root>: cannot read: No such file or directory"


def test_a_variable_without_an_allowed_prefix_is_refused_by_name_only(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "hunter2")
    monkeypatch.delenv("PERSONALIZE_CONFIG_ENV_PREFIXES", raising=False)
    found = errors(write(tmp_path, rich(bucket="${DB_PASSWORD}")))
    assert found == [
        ("dataset_group.bucket", "${DB_PASSWORD}: a config may only expand environment variables named "
                                 f"{PREFIXES} (allow more prefixes with PERSONALIZE_CONFIG_ENV_PREFIXES)")
    ]  # fmt: skip


def test_more_prefixes_are_comma_separated(tmp_path, monkeypatch):
    monkeypatch.delenv("PERSONALIZE_CONFIG_ENV_PREFIXES", raising=False)
    assert env_prefixes() == ENV_PREFIXES
    monkeypatch.setenv("PERSONALIZE_CONFIG_ENV_PREFIXES", "ACME_, TEAM_,")
    assert env_prefixes() == (*ENV_PREFIXES, "ACME_", "TEAM_")
    monkeypatch.setenv("ACME_BUCKET", "acme-bucket")
    monkeypatch.setenv("TEAM_PREFIX", "team")
    cfg = load_config(write(tmp_path, rich(bucket="${ACME_BUCKET}", prefix="${TEAM_PREFIX}")))
    assert (cfg.dataset_group.bucket, cfg.dataset_group.prefix) == ("acme-bucket", "team")


def test_a_value_from_the_environment_never_shows_even_when_another_value_is_part_of_it(tmp_path, monkeypatch):
    """Values are replaced longest first: a short value inside a long one must not leave the rest of the long one."""
    monkeypatch.setenv("PZ_A", "bad")  # sorts first by name, and is part of PZ_B's value
    monkeypatch.setenv("PZ_B", "bad group-name")
    found = errors(write(tmp_path, rich(prefix="${PZ_A}", name="${PZ_B}")))
    assert len(found) == 1 and found[0][0] == "dataset_group.name"
    msg = found[0][1]
    assert "group-name" not in msg and "${PZ_B}" in msg and msg.endswith("(value from ${PZ_B}, not shown)")


def test_a_value_made_of_several_variables_names_each(tmp_path, monkeypatch):
    monkeypatch.setenv("PZ_TEAM", "data team")
    monkeypatch.setenv("PZ_ENV", "prod")
    found = errors(write(tmp_path, rich(name="${PZ_TEAM}-${PZ_ENV}")))
    assert found[0][0] == "dataset_group.name"
    assert found[0][1].endswith("(value from ${PZ_TEAM}, ${PZ_ENV}, not shown)")


def test_union_errors_are_located_at_the_key_people_wrote(tmp_path):
    """pydantic tags each member of a union in the location (``literal[...]``, ``list[str]``, ``dict[str,str]``);
    messages name the key only."""
    cfg = rich()
    cfg["batch_jobs"][0]["users"] = 5
    cfg["datasets"]["items"]["fields"][1]["one_hot"] = 5
    locs = {loc for loc, _ in errors(write(tmp_path, cfg))}
    assert locs == {"batch_jobs[0].users", "datasets.items.fields[1].one_hot"}


def test_a_refused_variable_is_the_only_error_of_its_key(tmp_path, monkeypatch):
    """The unexpanded ``${VAR}`` would also break the name rule; that second error would only repeat the first."""
    monkeypatch.delenv("PERSONALIZE_CONFIG_ENV_PREFIXES", raising=False)
    found = errors(write(tmp_path, rich(name="${HOME}")))
    assert [loc for loc, _ in found] == ["dataset_group.name"] and found[0][1].startswith("${HOME}: a config may only")


@pytest.mark.parametrize(
    ("where", "value", "loc"),
    [
        ("solutions", ["up"], "solutions[0]"),
        ("datasets", {"interactions": "interactions.csv"}, "datasets.interactions"),
        (
            "datasets",
            {"interactions": {"source": {"path": "i.csv"}, "fields": "USER_ID"}},
            "datasets.interactions.fields",
        ),
    ],
)
def test_a_section_of_the_wrong_shape_is_an_error_at_its_key_not_a_crash(tmp_path, where, value, loc):
    cfg = rich()
    cfg[where] = value
    assert loc in {loc for loc, _ in errors(write(tmp_path, cfg))}


def test_a_config_that_is_not_a_mapping_is_a_validation_error_not_a_crash():
    from personalize_ops.config import PipelineConfig
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PipelineConfig.model_validate(["not", "a", "mapping"])


def test_an_unset_variable_is_the_only_error_of_its_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PZ_UNSET_NAME", raising=False)
    found = errors(write(tmp_path, rich(name="${PZ_UNSET_NAME}")))
    assert found == [
        ("dataset_group.name", "environment variable PZ_UNSET_NAME is not set (or use ${PZ_UNSET_NAME:-default})")
    ]


def test_datasets_can_be_given_as_validated_objects(tmp_path):
    """Python callers may build the datasets section from Dataset objects (e.g. another config's)."""
    from personalize_ops.config.datasets import Datasets

    loaded = load_config(write(tmp_path, rich()))
    again = Datasets(interactions=loaded.datasets.interactions, items=loaded.datasets.items)
    assert again.interactions == loaded.datasets.interactions


@pytest.fixture
def ascii_locale():
    """A process whose locale encoding is ASCII (LC_CTYPE=C without Python's UTF-8 mode), restored afterwards."""
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        encoding = locale.getpreferredencoding(False)
        assert codecs.lookup(encoding).name == "ascii", f"needs an ASCII locale encoding, got {encoding} (PYTHONUTF8?)"
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, old)


def test_the_file_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    cfg = rich()
    cfg["filters"][0]["expression"] = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("vue-complète")'
    path = tmp_path / "pipeline.yaml"
    path.write_text("# Pipeline für das Café\n" + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")  # fmt: skip
    loaded = load_config(path)
    assert loaded.filters[0].expression == 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("vue-complète")'
