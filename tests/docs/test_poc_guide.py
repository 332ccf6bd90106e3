"""docs/poc-guide.md and its Spanish version: every task id, config key and README section they cite is real, and
both say the same thing (the same tasks, keys and sections, row by row)."""

from __future__ import annotations

import re
import typing
from functools import cache

import pytest
from pydantic import BaseModel

from tests.docs.bare_shell import ROOT

GUIDES = {"en": ROOT / "docs" / "poc-guide.md", "es": ROOT / "docs" / "poc-guide.es.md"}


def rows(path) -> list[tuple[str, list[str], list[str], list[str]]]:
    """(first cell, task ids, config keys, README anchors) of every 4-column table row after the header rows."""
    found = []
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) != 4 or set(cells[1]) <= {"-"} or not cells[1].startswith("`"):
            continue
        ticks = [re.findall(r"`([^`]+)`", c) for c in cells[1:3]]
        anchors = re.findall(r"\(\.\./README\.md#([\w-]+)\)", cells[3])
        found.append((cells[0], ticks[0], ticks[1], anchors))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def dag_ids() -> dict[str, set[str]]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return {dag_id: {t.task_id for t in dag.tasks} for dag_id, dag in bag.dags.items()}


def pattern(cited: str) -> re.Pattern:
    return re.compile("".join("[a-z0-9_]+" if p.startswith("<") else re.escape(p)
                              for p in re.split(r"(<[a-z]+>)", cited)))  # fmt: skip


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for a in typing.get_args(annotation) if (m := _model_in(a))), None)


def config_key_problem(key: str) -> str | None:
    """None when ``key`` (``a.b[].c``) is a path of the pipeline config model, else what is wrong."""
    from personalize_ops.config import PipelineConfig

    model: type[BaseModel] | None = PipelineConfig
    for part in key.split("."):
        name = part.removesuffix("[]")
        if model is None or name not in model.model_fields:
            return f"{key}: no key {name!r} here"
        annotation = model.model_fields[name].annotation
        if part.endswith("[]") and typing.get_origin(annotation) is not list:
            return f"{key}: {name} is not a list"
        model = _model_in(annotation)
    return None


def test_both_guides_have_every_notebook_and_learning_goal():
    for lang, path in GUIDES.items():
        firsts = [r[0] for r in rows(path)]
        assert [f[:2] for f in firsts[:6]] == ["01", "02", "03", "04", "05", "06"], (lang, firsts)
        assert len(firsts) == 12, (lang, firsts)  # six notebooks, six learning goals


def test_the_spanish_guide_cites_what_the_english_one_does():
    english, spanish = ([r[1:] for r in rows(p)] for p in GUIDES.values())
    assert spanish == english


@pytest.mark.parametrize("lang", GUIDES)
def test_every_cited_task_is_a_task_or_dag_of_the_pipelines(lang):
    ids = dag_ids()
    known = set(ids) | {t for tasks in ids.values() for t in tasks}
    cited = {t for r in rows(GUIDES[lang]) for t in r[1]}
    missing = sorted(t for t in cited if not any(pattern(t).fullmatch(k) for k in known))
    assert not missing, f"{GUIDES[lang].name} cites tasks no DAG has: {missing}"


@pytest.mark.parametrize("lang", GUIDES)
def test_every_cited_config_key_is_in_the_model(lang):
    problems = [p for key in sorted({k for r in rows(GUIDES[lang]) for k in r[2]}) if (p := config_key_problem(key))]
    assert not problems, problems


@pytest.mark.parametrize("lang", GUIDES)
def test_every_readme_link_names_a_readme_section(lang):
    headings = {slug(h) for h in re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.M)}
    text = GUIDES[lang].read_text()
    anchors = set(re.findall(r"\(\.\./README\.md#([\w-]+)\)", text))
    assert anchors and not anchors - headings, sorted(anchors - headings)
    for rel in re.findall(r"\]\(((?!\.\./README|https?:)[^)#]+)\)", text):
        assert (GUIDES[lang].parent / rel).is_file(), rel


def test_the_checks_catch_mistakes():
    assert config_key_problem("solutions[].recipe") is None
    assert config_key_problem("campaigns[].gate.metric") is None
    assert config_key_problem("solutions[].recipes")
    assert config_key_problem("dataset_group[].name")
    assert pattern("solution_<solution>.train").fullmatch("solution_demo_sims.train")
    assert not pattern("solution_<solution>.train").fullmatch("solution_demo_sims.metrics")
    assert slug("Data quality (`datasets.<name>.quality`)") == "data-quality-datasetsnamequality"
