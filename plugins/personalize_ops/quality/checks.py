"""What the rules found in one prepare run, as counts: rows checked, and per row rule the rows that broke it and
the rows set aside; per whole-file rule the observed value. The CLI prints it, the task log shows it, the results
JSON (``<dataset>.gx_results.json``, key ``checks``) holds it.

Counts come from each rule's vectorized row mask, in both ``gx_mode`` settings (GX validates those counts per
chunk in ``stats`` mode, every row in ``rows`` mode). A quarantined row counts for the first rule it broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from personalize_ops.quality.rules import UNPARSEABLE, Rule


def key(rule: Rule) -> str:
    """``rule:column`` as users read it (counts, quarantine reasons): the field's own name, never a helper column."""
    return f"{rule.name}:{rule.column.removeprefix(UNPARSEABLE)}"


@dataclass
class Checks:
    """Running counts over the chunks of one dataset (``add`` per chunk, ``to_dict`` at the end)."""

    rules: list[Rule]
    actions: dict[str, str]  # rule name -> fail | quarantine
    rows: int = 0
    unexpected: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    totals: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = [r for r in self.rules if r.mask is not None]
        for r in self.rules:
            self.unexpected.setdefault(key(r), 0)
            self.quarantined.setdefault(key(r), 0)

    def add(self, t: pa.Table, quarantined: dict[str, int]) -> dict[str, int]:
        """Count the rows of ``t`` (kept after quarantine) breaking each rule, plus the ``quarantined`` rows
        (``rule:column`` -> rows set aside from this chunk); returns this chunk's counts for ``t``."""
        counts: dict[str, int] = {}
        for r in self.rules:
            counts[key(r)] = counts.get(key(r), 0) + (pc.sum(r.mask(t)).as_py() or 0)
        self.rows += t.num_rows + sum(quarantined.values())
        for k, n in [*counts.items(), *quarantined.items()]:
            self.unexpected[k] = self.unexpected.get(k, 0) + n
        for k, n in quarantined.items():
            self.quarantined[k] = self.quarantined.get(k, 0) + n
        return counts

    def set_totals(self, rules: list[Rule], row: dict, tally: list[dict]) -> None:
        """The whole-file rules: observed value, bounds and outcome (``tally``: the GX suite's, same order)."""
        self.totals = [
            {"rule": r.name, "column": r.column, "observed": row.get(r.column),
             "min": r.kwargs.get("min_value"), "max": r.kwargs.get("max_value"), "success": t["success"]}
            for r, t in zip(rules, tally, strict=True)
        ]  # fmt: skip

    def to_dict(self) -> dict:
        return {
            "rows_checked": self.rows,
            "rules": [
                {"rule": r.name, "column": r.column.removeprefix(UNPARSEABLE), "suite": r.suite,
                 "action": self.actions.get(r.name, "fail"), "unexpected": self.unexpected[key(r)],
                 "quarantined": self.quarantined[key(r)]}
                for r in self.rules
            ],
            "totals": self.totals,
        }  # fmt: skip


def checks_line(name: str, checks: dict) -> str:
    """One line for a log: rows checked, rules, and the rules that found rows (all, when none did)."""
    rules = checks.get("rules", [])
    found = [f"{r['rule']}:{r['column']}={r['unexpected']:,}" + (f" ({r['quarantined']:,} quarantined)"
             if r["quarantined"] else "") for r in rules if r["unexpected"]]  # fmt: skip
    what = ", ".join(found) if found else "0 unexpected"
    totals = ", ".join(f"{t['column']}={t['observed']:,}" for t in checks.get("totals", [])
                       if isinstance(t.get("observed"), int))  # fmt: skip
    return (f"{name}: {len(rules)} row rules checked {checks.get('rows_checked', 0):,} rows: {what}"
            + (f"; whole file: {totals}" if totals else ""))  # fmt: skip
