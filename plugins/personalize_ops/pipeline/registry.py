"""Which pipelines this deployment runs: one config file per pipeline, one set of DAGs per pipeline.

Where the configs are:

- ``PERSONALIZE_PIPELINE_CONFIG`` names one file: the single-pipeline setup. Its DAGs keep the plain ids
  ``personalize_retrain``, ``personalize_batch_export`` and ``personalize_teardown``.
- otherwise every ``*.yaml`` / ``*.yml`` file directly in ``PERSONALIZE_PIPELINES_DIR`` (default
  ``include/pipelines/`` of this project) is one pipeline, named by its file name without the extension; its DAG ids
  carry that name: ``personalize_retrain__<name>``, ``personalize_batch_export__<name>``,
  ``personalize_teardown__<name>``, ``personalize_incremental__<name>``, ``personalize_delete_users__<name>`` (and
  ``personalize_experiment_report__<name>`` for a config with ``experiments``).

Pipelines are independent: a config that does not load (or whose file name cannot name DAGs, or whose dataset group
an earlier file in name order already uses) is *broken*; it has no DAGs, every other pipeline keeps its own, and
``dags/personalize_config_errors.py`` fails to import with the file, key and reason of every broken config, so it
shows in Airflow's import errors.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from personalize_ops.pipeline.settings import PROJECT_ROOT

CONFIG_ENV = "PERSONALIZE_PIPELINE_CONFIG"
DIR_ENV = "PERSONALIZE_PIPELINES_DIR"
DEFAULT_DIR = PROJECT_ROOT / "include" / "pipelines"
DAG_KINDS = ("retrain", "batch_export", "teardown", "incremental", "delete_users", "experiment_report")
#: A pipeline name becomes part of DAG ids (letters, digits, '-', '_'; Airflow allows '.' too, we keep it out).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def dag_id(kind: str, name: str) -> str:
    """``personalize_<kind>``, with ``__<name>`` for a pipeline of a folder (``name`` empty: single-file setup)."""
    return f"personalize_{kind}" + (f"__{name}" if name else "")


@dataclass(frozen=True)
class Pipeline:
    name: str  # "" in the single-file setup
    path: Path
    config: object  # personalize_ops.config.PipelineConfig

    def dag_id(self, kind: str) -> str:
        return dag_id(kind, self.name)


@dataclass(frozen=True)
class BrokenConfig:
    name: str
    path: Path
    message: str  # "<file>: <key>: <reason>" lines

    def dag_id(self, kind: str) -> str:
        return dag_id(kind, self.name)


@dataclass(frozen=True)
class Pipelines:
    where: str  # what was searched, for messages
    good: list[Pipeline] = field(default_factory=list)
    broken: list[BrokenConfig] = field(default_factory=list)

    def by_group(self, group: str) -> Pipeline | None:
        return next((p for p in self.good if p.config.dataset_group.name == group), None)


class PipelineConfigErrors(ValueError):
    """Raised by ``dags/personalize_config_errors.py``: every broken config, one ``<file>: <key>: <reason>`` line
    per problem."""


def config_files() -> tuple[str, list[tuple[str, Path]]]:
    """(what was searched, [(pipeline name, file)]) from the environment (see the module docstring)."""
    single = os.environ.get("PERSONALIZE_PIPELINE_CONFIG")  # CONFIG_ENV (spelt out: the compose test greps it)
    if single:
        return f"{CONFIG_ENV}={single}", [("", Path(single))]
    folder = Path(os.environ.get("PERSONALIZE_PIPELINES_DIR") or DEFAULT_DIR)  # DIR_ENV
    files = sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml") and p.is_file())
    return f"{folder}/*.yaml", [(p.stem, p) for p in files]


def discover() -> Pipelines:
    """Load every config; sort them into pipelines and broken configs. Never raises for a config's problem."""
    from personalize_ops.config import ConfigError, load_config

    where, files = config_files()
    out = Pipelines(where)
    groups: dict[str, Path] = {}
    names: dict[str, Path] = {}
    for name, path in files:
        if name and not NAME_RE.fullmatch(name):
            why = "the file name names the pipeline's DAGs: use letters, digits, '-' and '_' (at most 100)"
            out.broken.append(BrokenConfig(name, path, f"{path}: <file name>: {name!r}: {why}"))
            continue
        if name in names:
            why = f"pipeline {name!r} is already defined by {names[name]}: rename one of the files"
            out.broken.append(BrokenConfig(name, path, f"{path}: <file name>: {why}"))
            continue
        names[name] = path
        try:
            cfg = load_config(path)
        except ConfigError as err:
            out.broken.append(BrokenConfig(name, path, str(err)))
            continue
        group = cfg.dataset_group.name
        if group in groups:
            why = (f"dataset group {group!r} is already used by {groups[group]}; each pipeline needs a dataset group "
                   f"of its own (its teardown deletes the whole group)")  # fmt: skip
            out.broken.append(BrokenConfig(name, path, f"{path}: dataset_group.name: {why}"))
            continue
        groups[group] = path
        out.good.append(Pipeline(name, path, cfg))
    return out


def pipelines() -> list[Pipeline]:
    """The pipelines whose config loads (what the DAG files loop over)."""
    return discover().good


def raise_for_broken() -> None:
    """Raise :class:`PipelineConfigErrors` listing every broken config (or that there is no config at all)."""
    found = discover()
    if found.broken:
        names = ", ".join(b.dag_id("*") for b in found.broken)
        lines = "\n".join(b.message for b in found.broken)
        raise PipelineConfigErrors(
            f"{len(found.broken)} pipeline config(s) not loaded, so their DAGs ({names}) are missing until fixed; "
            f"other pipelines are not affected:\n{lines}"
        )
    if not found.good:
        raise PipelineConfigErrors(
            f"no pipeline config found ({found.where}): put one YAML file per pipeline in {DIR_ENV} "
            f"(default {DEFAULT_DIR}) or name one file with {CONFIG_ENV}"
        )
