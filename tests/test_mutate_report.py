"""scripts/mutate.py's verdict per guard (`make mutate`): killed share against the target, and no mutant is a miss."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutate_script", ROOT / "scripts" / "mutate.py")
mutate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutate  # its dataclasses look their module up
_spec.loader.exec_module(mutate)

GUARD = mutate.Guard("demo", "quality/rules.py", (), 0.9)
PREFIX = "personalize_ops.quality.rules.x_row_rules__mutmut_"


def _status(killed: int, other: int) -> dict[str, str]:
    status = {f"{PREFIX}{i}": "killed" for i in range(killed)}
    status |= {f"{PREFIX}{killed + i}": "no tests" for i in range(other)}
    return status


def test_a_guard_without_mutants_is_a_miss(tmp_path, capsys):
    assert mutate.report(tmp_path, [GUARD], {}, set()) == 1
    assert "MISSED" in capsys.readouterr().out


def test_the_target_counts_unreached_mutants_against_the_guard(tmp_path, capsys):
    assert mutate.report(tmp_path, [GUARD], _status(9, 1), set()) == 0  # 90%
    assert mutate.report(tmp_path, [GUARD], _status(8, 2), set()) == 1  # 80%: "no tests" are not killed
    assert "80.0%" in capsys.readouterr().out


def test_the_copy_finds_the_reference_data_beside_it(tmp_path):
    """Tests read ../shared; without it in the copy mutmut's clean run fails and no mutant is checked."""
    if not (ROOT.parent / "shared" / "data").is_dir():
        pytest.skip(f"reference data folder {ROOT.parent / 'shared' / 'data'} is absent")
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    (tmp_path / "tests" / "conftest.py").write_text("pytest_plugins = []\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    mutate.configure(tmp_path, [GUARD])
    assert (tmp_path / "shared").resolve() == (ROOT.parent / "shared").resolve()
    assert (tmp_path / "shared" / "data").is_dir()


def test_the_docs_table_names_each_guards_tests():
    """docs/testing.md's guard table says which tests guard which module: the same files as mutate.py runs."""
    rows = {}
    for line in (ROOT / "docs" / "testing.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4:
            rows[cells[0]] = cells
    for g in mutate.GUARDS:
        assert g.name in rows, f"docs/testing.md has no row for guard {g.name!r}"
        _, module, tests, _ = rows[g.name]
        assert module == f"`{g.source}`" or module == f"`{g.source}/`"
        cited = re.findall(r"`([^`]+)`", tests)  # full paths or the tail after the first one's folder
        for t in g.tests:
            assert any(t.endswith(c) for c in cited), f"{g.name}: docs/testing.md does not name {t}"
        assert len(cited) == len(g.tests), f"{g.name}: the docs list other tests than mutate.py runs"
