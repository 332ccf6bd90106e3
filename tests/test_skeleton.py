"""The repository layout the README promises exists."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layout():
    for rel in ["dags", "plugins/personalize_ops", "include", "personalize_local", "benchmarks", ".ci/run"]:
        assert (ROOT / rel).exists(), rel
