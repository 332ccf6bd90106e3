"""docs/architecture.md says why each long module is long: its table lists exactly the modules over 400 lines."""

from __future__ import annotations

import re

from tests.docs.bare_shell import ROOT

LIMIT = 400
DOC = ROOT / "docs" / "architecture.md"


def long_modules() -> dict[str, int]:
    """Every module of plugins/ and personalize_local/ over LIMIT lines (as `wc -l` counts), by path."""
    found = {}
    for top in ("plugins", "personalize_local"):
        for path in (ROOT / top).rglob("*.py"):
            lines = path.read_bytes().count(b"\n")
            if lines > LIMIT:
                found[str(path.relative_to(ROOT))] = lines
    return found


def table() -> dict[str, int]:
    section = DOC.read_text().split("## Modules over 400 lines", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| `([\w/]+\.py)` \| (\d+) \|", section, re.M)}


def test_every_long_module_has_a_reason_and_every_row_is_a_long_module():
    actual, listed = long_modules(), table()
    missing = sorted(set(actual) - set(listed))
    assert not missing, f"over {LIMIT} lines without a row in docs/architecture.md: {missing}"
    stale = sorted(set(listed) - set(actual))
    assert not stale, f"docs/architecture.md lists modules that are no longer over {LIMIT} lines: {stale}"


def test_the_line_counts_are_current():
    """Within 10%: small edits do not touch the page; a module that grew or shrank a lot gets its row re-read."""
    actual = long_modules()
    off = {m: (n, actual[m]) for m, n in table().items() if m in actual and abs(actual[m] - n) > 0.1 * actual[m]}
    assert not off, f"docs/architecture.md line counts (listed, actual) to refresh: {off}"


def test_architecture_is_linked_from_the_readme_and_contributing():
    for doc in ("README.md", "CONTRIBUTING.md"):
        assert "docs/architecture.md" in (ROOT / doc).read_text(), doc
