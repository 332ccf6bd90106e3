"""scripts/mutate.py's verdict per guard (`make mutate`): killed share against the target, and no mutant is a miss."""

import importlib.util
import sys
from pathlib import Path

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
