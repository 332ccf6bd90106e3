"""Mutation testing of the guard modules (``make mutate``): which plausible bug would no test catch?

Runs mutmut (pinned in requirements-mutate.txt) over the modules that guard data and deployments, each guard in a
throwaway copy of the repository of its own and against its own fast tests only, and prints killed / survived per
module. A surviving mutant is a change to the code that no test noticed. Survivors judged equivalent (they change no
behaviour) are listed with their reason in docs/testing.md; every other survivor is printed with its diff.

mutmut derives module names from file paths under ``src/``, so the copy moves ``plugins/personalize_ops`` there.

Usage: python scripts/mutate.py [--module NAME ...] [--keep] [--max-children N]
Exit status: 1 when a module has a survivor that is not listed as equivalent and the module's target is missed
(gate and teardown: no survivor; the others: at least 90% killed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "personalize_ops"


@dataclass(frozen=True)
class Guard:
    """One guarded module, the fast tests that must catch its bugs, and the share of mutants they must kill."""

    name: str
    source: str  # relative to plugins/personalize_ops
    tests: tuple[str, ...]
    target: float  # minimum killed share among non-equivalent mutants


GUARDS = (
    Guard("gate", "metrics/gate.py", ("tests/personalize_ops/metrics/test_gate.py",), 1.0),
    Guard("gate wiring", "pipeline/gate_task.py", ("tests/personalize_ops/toolkit/test_gate_deploy.py",), 1.0),
    Guard(
        "teardown",
        "pipeline/teardown.py",
        (
            "tests/personalize_ops/pipeline/test_teardown_plan.py",
            "tests/personalize_ops/pipeline/test_teardown_s3.py",
            "tests/personalize_ops/pipeline/test_teardown_steps.py",
        ),
        1.0,
    ),
    Guard(
        "quality rules",
        "quality/rules.py",
        (
            "tests/personalize_ops/quality/test_dp_personalize_rules.py",
            "tests/personalize_ops/quality/test_message_values.py",
            "tests/personalize_ops/quality/test_rule_table.py",
            "tests/personalize_ops/quality/test_timestamp_window.py",
        ),
        0.9,
    ),
    Guard(
        "filter expression",
        "filter_expression.py",
        ("tests/personalize_ops/test_filter_expression.py", "tests/personalize_ops/test_filter_grammar.py"),
        0.9,
    ),
    Guard(
        "config validators",
        "config",
        (
            "tests/personalize_ops/test_config.py",
            "tests/personalize_ops/test_config_validators.py",
            "tests/personalize_ops/test_config_auto_training.py",
            "tests/personalize_ops/test_config_experiments.py",
            "tests/personalize_ops/evaluation/test_gate_config.py",
            "tests/personalize_ops/config/test_config_reference.py",
            "tests/personalize_ops/config/test_loading.py",
            "tests/personalize_ops/config/test_lookups.py",
        ),
        0.9,
    ),
    Guard(
        "duplicate removal",
        "transform/spill.py",
        ("tests/personalize_ops/transform/test_spill.py",),
        0.9,
    ),
    Guard(
        "training adoption",
        "operators/solution_version.py",
        (
            "tests/personalize_ops/toolkit/test_training_adoption.py",
            "tests/personalize_ops/toolkit/test_toolkit_training.py",
        ),
        0.9,
    ),
)
EQUIVALENTS_DOC = ROOT / "docs" / "testing.md"


def equivalents() -> set[str]:
    """Signatures of survivors judged equivalent: the ```mutmut-equivalent block of docs/testing.md."""
    if not EQUIVALENTS_DOC.exists():
        return set()
    block = re.search(r"```mutmut-equivalent\n(.*?)```", EQUIVALENTS_DOC.read_text(), re.S)
    return {line.strip() for line in (block.group(1).splitlines() if block else []) if line.strip()}


def copy_tree(dest: Path) -> None:
    """The tracked files (plus uncommitted edits of them), with the package moved under src/."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    for rel in files:
        src = ROOT / rel
        if not src.is_file():
            continue
        target = dest / rel.replace(f"plugins/{PACKAGE}/", f"src/{PACKAGE}/", 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


#: mutmut runs a mutant's tests fastest first; some test files build on their earlier tests (test_gate_deploy.py:
#: the skip_gate test promotes v2, the re-run test expects it served), so in that order they fail whatever the
#: mutant is and every mutant would count as killed. This plugin of the copy puts them back in file order.
FILE_ORDER_PLUGIN = '''"""Run the selected tests in file order (mutmut orders them by duration)."""


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: (str(item.path), item.reportinfo()[1] or 0))
'''


def configure(dest: Path, guards: list[Guard]) -> None:
    # Tests find the reference data beside the repository (../shared); mutmut runs them in <copy>/mutants, so the
    # copy gets the same neighbour. Without it the clean run fails and mutmut checks no mutant at all.
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (dest / "shared").symlink_to(shared)
    (dest / "tests" / "fixtures" / "mutate_file_order.py").write_text(FILE_ORDER_PLUGIN)
    with (dest / "tests" / "conftest.py").open("a") as conftest:
        conftest.write('\npytest_plugins += ["tests.fixtures.mutate_file_order"]\n')
    text = (dest / "pyproject.toml").read_text()
    text = text.replace('pythonpath = [".", "plugins", "dags"]', 'pythonpath = [".", "src", "plugins", "dags"]')
    sources = ", ".join(f'"src/{PACKAGE}/{g.source}"' for g in guards)
    tests = ", ".join(f'"{t}"' for g in guards for t in g.tests)
    text += (
        "\n[tool.mutmut]\n"
        f"source_paths = [{sources}]\n"
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        'also_copy = ["src", "plugins", "dags", "tests", "personalize_local", "include", "scripts", "docs"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
    )
    (dest / "pyproject.toml").write_text(text)


def mutmut(dest: Path, *args: str) -> str:
    exe = Path(sys.executable).with_name("mutmut")
    proc = subprocess.run([str(exe), *args], cwd=dest, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    if proc.returncode not in (0, 1) and args[0] == "run":
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"mutmut {' '.join(args)} failed with exit code {proc.returncode}")
    return proc.stdout


def signature(dest: Path, mutant: str) -> str:
    """``module.function: -original / +mutated`` from the mutant's diff (stable across line moves)."""
    diff = mutmut(dest, "show", mutant)
    old = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    new = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    func = mutant.split("__mutmut_")[0].replace(".x\u01c1", ".").replace("\u01c1", ".").replace(".x_", ".")
    return f"{func}: -{' '.join(old)} / +{' '.join(new)}"


def run_guard(guard: Guard, max_children: int) -> tuple[Path, dict[str, str]]:
    """Mutate one guard's module in a copy of its own, against that guard's tests only: mutmut runs every selected
    test that reaches a mutated function, so in a shared run one guard's tests (prepare's, say) could kill another
    guard's mutants and make its own tests look stronger than they are."""
    work = Path(tempfile.mkdtemp(prefix=f"mutate-{guard.name.replace(' ', '-')}-"))
    copy_tree(work)
    configure(work, [guard])
    mutmut(work, "run", "--max-children", str(max_children))
    status = dict(re.findall(r"^\s*(\S+): (\S.*?)\s*$", mutmut(work, "results", "--all", "true"), re.M))
    if status and set(status.values()) == {"not checked"}:
        raise SystemExit(f"{guard.name}: mutmut checked no mutant: its clean run of the guard's tests failed; run "
                         f"them in {work / 'mutants'} (kept) to see why")  # fmt: skip
    return work, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="only these guards (by name); default all")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies and print their paths")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    guards = [g for g in GUARDS if not args.module or g.name in args.module]
    if not guards:
        parser.error(f"no guard named {args.module}; known: {', '.join(g.name for g in GUARDS)}")
    missing = [t for g in guards for t in g.tests if not (ROOT / t).exists()]
    if missing:
        parser.error(f"test paths missing: {', '.join(missing)}")
    known, results = equivalents(), []
    for guard in guards:
        try:
            work, status = run_guard(guard, args.max_children)
        except BaseException:  # interrupted or failed: the guards done so far still get their table
            if results:
                report(results)
            raise
        results.append(tally(work, guard, status, known))
        if args.keep:
            print(f"kept: {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return report(results)


@dataclass(frozen=True)
class Tally:
    guard: Guard
    mutants: int
    killed: int
    survived: int  # not listed as equivalent
    equivalent: int
    other: int  # no tests, suspicious, ...: not killed, so they count against the guard
    survivors: tuple[str, ...]

    @property
    def share(self) -> float:
        judged = self.mutants - self.equivalent
        return self.killed / judged if judged else 1.0

    @property
    def ok(self) -> bool:
        return bool(self.mutants) and self.share >= self.guard.target  # no mutant at all: the guard was not tested


def tally(work: Path, guard: Guard, status: dict[str, str], known: set[str]) -> Tally:
    module = f"{PACKAGE}." + guard.source.removesuffix(".py").replace("/", ".") + "."
    mine = {m: s for m, s in status.items() if m.startswith(module)}
    killed = sum(s in ("killed", "timeout") for s in mine.values())
    sigs = [signature(work, m) for m, s in mine.items() if s == "survived"]
    equivalent = sum(s in known for s in sigs)
    return Tally(guard, len(mine), killed, len(sigs) - equivalent, equivalent, len(mine) - killed - len(sigs),
                 tuple(s for s in sigs if s not in known))  # fmt: skip


def report(results: list[Tally]) -> int:
    """The table (and every survivor not listed as equivalent); 1 when a guard missed its target."""
    rows = [(t.guard.name, t.guard.source, t.mutants, t.killed, t.survived, t.equivalent, t.other, f"{t.share:.1%}",
             f">= {t.guard.target:.0%}", "ok" if t.ok else "MISSED") for t in results]  # fmt: skip
    header = ("guard", "module", "mutants", "killed", "survived", "equivalent", "other", "killed %", "target", "")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    survivors = [s for t in results for s in t.survivors]
    if survivors:
        print("\nSurvivors (no test failed; add a test, or list the line in docs/testing.md if equivalent):")
        for s in survivors:
            print(f"  {s}")
    return 0 if results and all(t.ok for t in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
