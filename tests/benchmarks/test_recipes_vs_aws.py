"""The recipe benchmark's statistics: paired bootstrap interval and the pooled cross-validated ratio."""

import re

import numpy as np
import pytest

from benchmarks.recipes_vs_aws import paired_bootstrap_ratio, pooled_ratios
from personalize_local.engine.synthetic import generate


def test_paired_bootstrap_ratio():
    rng = np.random.default_rng(3)
    b = rng.random(80)
    assert paired_bootstrap_ratio(b, b) == pytest.approx((1.0, 1.0))
    assert paired_bootstrap_ratio(2 * b, b) == pytest.approx((2.0, 2.0))  # paired: every resample is exactly 2x
    a = rng.random(80)
    lo, hi = paired_bootstrap_ratio(a, b)
    assert lo < a.mean() / b.mean() < hi
    lo_big, hi_big = paired_bootstrap_ratio(np.tile(a, 10), np.tile(b, 10))
    assert hi_big - lo_big < (hi - lo) / 2  # 10x the users: a much narrower interval


def test_pooled_ratios_prints_the_split_and_the_pooled_comparison(capsys):
    pooled_ratios(generate(n_users=200, n_items=120, n_interactions=4000, seed=2), seed=42, n_folds=4)
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 4
    pattern = r"(\d\.\d{4}) / (\d\.\d{4}) = (\d+\.\d{2})x \((OK|BELOW) the 2x target; 95% interval ([\d.]+)-([\d.]+)x\)"
    for line in lines:
        up, pop, ratio, verdict, lo, hi = re.search(pattern, line).groups()
        assert float(ratio) == pytest.approx(float(up) / float(pop), abs=0.02)
        assert (verdict == "OK") == (float(ratio) >= 2)
        assert float(lo) <= float(ratio) <= float(hi)
    assert "split seed 42" in lines[0] and "4 folds pooled" in lines[2]
