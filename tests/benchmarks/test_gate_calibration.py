"""The gate calibration benchmark: one simulated retrain on small generated data, and its Wilson interval."""

import pytest

from benchmarks.gate_calibration import MODES, SCENARIOS, one_run, wilson
from personalize_local.engine.synthetic import generate


def test_one_run_decides_every_scenario_with_both_gates(tmp_path):
    frame = generate(n_users=400, n_items=150, n_interactions=12000, seed=4).interactions
    run = one_run(frame, seed=4, work=tmp_path, share=0.1, sample_size=300)
    assert 50 <= run.pop("users") <= 300
    assert set(run) == {(s, m) for s in SCENARIOS for m in MODES}
    assert all(isinstance(p, bool) and s >= 0 for p, s in run.values())
    assert run[("better", "backtest")][0] is True  # user-personalization over popularity, far beyond noise
    assert run[("crippled", "backtest")][0] is False


def test_wilson_interval():
    lo, hi = wilson(0, 20)
    assert lo == 0 and hi == pytest.approx(0.161, abs=1e-3)  # 3.84 / (20 + 3.84)
    lo, hi = wilson(10, 20)
    assert lo == pytest.approx(0.299, abs=1e-3) and hi == pytest.approx(0.701, abs=1e-3)
