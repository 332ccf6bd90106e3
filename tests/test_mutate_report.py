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


def _verdict(*runs: tuple) -> int:
    """report() over (guard, status) pairs; no survivor among them, so no mutant's diff is read."""
    return mutate.report([mutate.tally(Path("unused"), guard, status, set()) for guard, status in runs])


def test_a_guard_without_mutants_is_a_miss(capsys):
    assert _verdict((GUARD, {})) == 1
    assert "MISSED" in capsys.readouterr().out


def test_the_target_counts_unreached_mutants_against_the_guard(capsys):
    assert _verdict((GUARD, _status(9, 1))) == 0  # 90%
    assert _verdict((GUARD, _status(8, 2))) == 1  # 80%: "no tests" are not killed
    assert "80.0%" in capsys.readouterr().out


def test_a_guard_counts_only_the_mutants_of_its_own_module(capsys):
    other = {f"personalize_ops.metrics.gate.x_decide__mutmut_{i}": "no tests" for i in range(5)}
    tally = mutate.tally(Path("unused"), GUARD, _status(9, 1) | other, set())
    assert (tally.mutants, tally.killed, tally.other) == (10, 9, 1)


def test_one_missed_guard_fails_the_run_and_every_guard_is_in_the_table(capsys):
    strict = mutate.Guard("strict", "metrics/gate.py", (), 1.0)
    gate = {f"personalize_ops.metrics.gate.x_decide__mutmut_{i}": "killed" for i in range(3)}
    assert _verdict((GUARD, _status(9, 0)), (strict, gate)) == 0
    gate["personalize_ops.metrics.gate.x_decide__mutmut_9"] = "no tests"
    assert _verdict((GUARD, _status(9, 0)), (strict, gate)) == 1
    out = capsys.readouterr().out
    assert "demo " in out and "strict " in out and "75.0%" in out


def test_each_guards_copy_runs_only_that_guards_tests_on_its_module(tmp_path):
    """mutmut runs every selected test that reaches a mutant: a guard's copy must select its own tests only."""
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    (tmp_path / "tests" / "conftest.py").write_text("pytest_plugins = []\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    guard = next(g for g in mutate.GUARDS if g.name == "duplicate removal")
    mutate.configure(tmp_path, [guard])
    section = (tmp_path / "pyproject.toml").read_text().split("[tool.mutmut]")[1]
    assert re.findall(r'"(tests/[^"]+)"', section) == list(guard.tests)
    assert re.search(r"source_paths = \[(.*)\]", section).group(1) == f'"src/personalize_ops/{guard.source}"'


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
