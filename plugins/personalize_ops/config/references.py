"""References between the config's sections, checked on validated values: unique names, campaign/batch job ->
solution, batch job -> filter, gate baseline -> a popularity-count solution, filter expression -> dataset fields.

``PipelineConfig`` runs :func:`reference_problems` on itself once it validated. When some section is broken, the
references are still checked for the items that validate on their own (:meth:`Sections.partial`), so one load
reports every problem: a name is known when an entry has it, even a broken entry (an entry's name is what a
reference points at), while a check that needs the referenced item itself (is the baseline a popularity-count
solution?) waits until that item is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from personalize_ops.config.datasets import Datasets
from personalize_ops.config.errors import Problem
from personalize_ops.config.resources import BatchJob, Campaign, Filter, Solution
from personalize_ops.dataset_kinds import BY_FILTER_NAME
from personalize_ops.filter_expression import parse_filter_expression

#: The list sections whose items have names, and their item models.
NAMED = {"solutions": Solution, "campaigns": Campaign, "filters": Filter, "batch_jobs": BatchJob}


@dataclass
class Section:
    """A list section: its validated items and every entry's name, by index."""

    items: dict[int, Any] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: list) -> Section:
        return cls(dict(enumerate(items)), {i: item.name for i, item in enumerate(items)})

    def by_name(self) -> dict[str, Any]:
        return {item.name: item for item in self.items.values()}

    def known(self) -> str:
        return ", ".join(dict.fromkeys(self.names.values())) or "none"


@dataclass
class Sections:
    """What the reference checks read: the named list sections and the datasets (None when broken)."""

    lists: dict[str, Section]
    datasets: Datasets | None

    @classmethod
    def of(cls, cfg: Any) -> Sections:
        """A validated config's sections."""
        return cls({name: Section.of(getattr(cfg, name)) for name in NAMED}, cfg.datasets)

    @classmethod
    def partial(cls, raw: Any) -> Sections:
        """The sections of a config pydantic rejected: each item validated on its own, broken ones left out. Only
        names and fields are read from them (for the cross references), so paths are left unresolved."""
        raw = raw if isinstance(raw, dict) else {}
        lists = {name: _section(raw.get(name), model) for name, model in NAMED.items()}
        return cls(lists, _valid(Datasets, raw.get("datasets")))


def _valid(model: Any, value: Any) -> Any:
    try:
        return TypeAdapter(model).validate_python(value)
    except ValidationError:
        return None


def _section(items: Any, model: Any) -> Section:
    items = items if isinstance(items, list) else []
    valid = {i: _valid(model, item) for i, item in enumerate(items)}
    names = {
        i: item["name"] for i, item in enumerate(items) if isinstance(item, dict) and isinstance(item.get("name"), str)
    }
    return Section({i: v for i, v in valid.items() if v is not None}, names)


def reference_problems(s: Sections) -> list[Problem]:
    """Every broken reference and repeated name, at its key path, with the reason."""
    return [*_duplicates(s), *_solution_references(s), *_filter_references(s), *_filter_fields(s)]


def _duplicates(s: Sections) -> list[Problem]:
    found = []
    for name, section in s.lists.items():
        seen: set[str] = set()
        for i, entry in sorted(section.names.items()):
            if entry in seen:
                found.append(((name, i, "name"), f"duplicate name {entry!r}"))
            seen.add(entry)
    return found


def _solution_references(s: Sections) -> list[Problem]:
    solutions = s.lists["solutions"]
    known, valid, found = set(solutions.names.values()), solutions.by_name(), []
    for name in ("campaigns", "batch_jobs"):
        for i, item in sorted(s.lists[name].items.items()):
            if item.solution not in known:
                found.append(
                    ((name, i, "solution"), f"unknown solution {item.solution!r} (known: {solutions.known()})")
                )
            base = item.gate.beat_baseline if isinstance(item, Campaign) else None
            if base is not None and base not in known:
                found.append(((name, i, "gate", "beat_baseline"),
                              f"unknown solution {base!r} (known: {solutions.known()})"))  # fmt: skip
            elif base in valid and not valid[base].is_popularity:
                found.append(
                    ((name, i, "gate", "beat_baseline"), f"solution {base!r} is not a popularity-count baseline")
                )
    return found


def _filter_references(s: Sections) -> list[Problem]:
    filters = s.lists["filters"]
    known = set(filters.names.values())
    found = [
        (("batch_jobs", i, "filter"), f"unknown filter {job.filter!r} (known: {filters.known()})")
        for i, job in sorted(s.lists["batch_jobs"].items.items())
        if job.filter is not None and job.filter not in known
    ]
    found += [
        (("campaigns", i, "gate", "filter"), f"unknown filter {c.gate.filter!r} (known: {filters.known()})")
        for i, c in sorted(s.lists["campaigns"].items.items())
        if c.gate.filter is not None and c.gate.filter not in known
    ]
    return found


def _filter_fields(s: Sections) -> list[Problem]:
    """Each field a filter expression names exists in the dataset it names."""
    if s.datasets is None:
        return []
    found, present = [], s.datasets.present()
    for i, flt in sorted(s.lists["filters"].items.items()):
        for ds_name, fld in parse_filter_expression(flt.expression).fields:
            # Interactions.EVENT_TYPE (the only interactions field the grammar allows) needs no declared field:
            # IN ("*") matches every interaction of the user, whatever its type, or when there is none
            kind = None if ds_name == "Interactions" else BY_FILTER_NAME.get(ds_name)
            if kind and kind not in present:
                found.append((("filters", i, "expression"), f"uses {ds_name}.{fld} but there is no {kind} dataset"))
            elif kind and present[kind].field(fld) is None:
                found.append((("filters", i, "expression"), f"{ds_name}.{fld}: {kind} dataset has no field {fld}"))
    return found
