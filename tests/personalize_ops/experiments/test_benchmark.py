"""benchmarks/experiments.py: its interpolation, its Wilson interval, and a small run that prints the tables."""

from __future__ import annotations

import pytest
from scipy import stats

from benchmarks.experiments import _needed, aa_table, power_table, synthetic_run, wilson


def test_users_needed_interpolates_on_the_log_scale():
    assert _needed([1000, 4000], [0.6, 1.0], 0.8) == "~2,000"  # halfway on log(users): sqrt(1000 * 4000)
    assert _needed([1000, 4000], [0.9, 1.0], 0.8) == "<= 1,000"
    assert _needed([1000, 4000], [0.1, 0.5], 0.8) == "> 4,000"


def test_wilson_is_scipys_wilson_interval():
    ci = stats.binomtest(3, 200).proportion_ci(method="wilson")
    assert wilson(3, 200) == pytest.approx((ci.low, ci.high))
    low, high = wilson(0, 400)
    assert low == pytest.approx(0.0, abs=1e-12) and 0 < high < 0.01


def test_a_run_is_deterministic_and_a_large_lift_is_found():
    assert synthetic_run(2000, 0.0, 5, seed=1) == synthetic_run(2000, 0.0, 5, seed=1)
    strong = synthetic_run(4000, 1.0, 10, seed=2)
    assert strong["seq"][0.05]["winner"] == "b" and strong["fixed"]


def test_the_tables_print(capsys):
    aa_table(3, 1000, 3, seed=0)
    power_table(2, [1000, 2000], 3, seed=0)
    out = capsys.readouterr().out
    assert "always-valid sequence (minimum_effect 5%), daily looks" in out
    assert "fixed-alpha z-test, daily looks (naive)" in out
    assert "users needed for 80% power (sequential, minimum_effect 5%)" in out
