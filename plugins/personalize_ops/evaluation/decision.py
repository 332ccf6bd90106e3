"""The backtest gate's decision: pure, its reason carries the numbers and the intervals.

Rule (:func:`decide_backtest`), in order:

1. leakage: with a champion whose training data reaches the cut C (``refused``) or whose cut-off is unknown,
   nothing is compared: not promoted (docs/gate.md, "Leakage");
2. no sampled user: not promoted (no signal);
3. with a baseline: the lower bound of the interval of the relative improvement over the baseline must be
   above 0 and at least ``min_improvement``, else not promoted;
4. no champion (the campaign does not exist yet): promoted;
5. the same test against the champion: promoted when it passes; otherwise "not promoted: not significant"
   (or "worse", when the whole interval is below 0), with the interval.

A lower bound of exactly 0 is a tie and never promotes. :meth:`BacktestDecision.to_record` has the fields of
``metrics.gate.Decision.to_record`` plus ``evaluation`` (holdout, seeds, cut-offs, per-model metrics, the
intervals), so the metric history and the UI read both modes alike.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from personalize_ops.evaluation.bootstrap import Interval
from personalize_ops.evaluation.comparison import Evaluation
from personalize_ops.evaluation.holdout import Cut, iso
from personalize_ops.metrics.gate import Decision
from personalize_ops.metrics.names import short_label


@dataclass(frozen=True)
class BacktestDecision(Decision):
    """Outcome of :func:`decide_backtest`; its record adds ``evaluation``."""

    evaluation: Evaluation

    def record_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Decision)}

    def record_extra(self) -> dict[str, Any]:
        return {"evaluation": {"mode": "backtest", **self.evaluation.to_dict()}}


def _leak_reason(cut: Cut) -> str:
    if cut.leakage == "unknown":
        return (f"not promoted: leakage: the champion's training cut-off is unknown, so the holdout after "
                f"{iso(cut.cutoff)} may be in its training data; nothing was compared")  # fmt: skip
    return (f"not promoted: leakage: the champion was trained on events until {iso(cut.champion_trained_until)}, "
            f"at or after the cut {iso(cut.requested_cutoff)} ({cut.rule}), and no later events are left to hold "
            f"out (or gate.leakage is refuse); nothing was compared")  # fmt: skip


def decide_backtest(evaluation: Evaluation, *, min_improvement: float = 0.0) -> BacktestDecision:
    """Decide whether the challenger replaces the champion (see module docstring)."""
    if not min_improvement >= 0:
        raise ValueError(f"min_improvement={min_improvement!r}: must be >= 0 (0.02 means 2% better)")
    cut = Cut.from_dict(evaluation.holdout["cut"])
    metric = evaluation.metric
    chal, champ, base = (evaluation.model(r) for r in ("challenger", "champion", "baseline"))
    has_champion = cut.leakage != "no champion"
    if chal is None:
        raise ValueError("the evaluation has no challenger")
    if has_champion and cut.usable and (champ is None or evaluation.versus_champion is None):
        raise ValueError("the cut says there is a champion but the evaluation has no champion scores")
    values = (chal.metrics.get(metric, 0.0), champ and champ.metrics.get(metric), base and base.metrics.get(metric))
    numbers = _numbers(evaluation, min_improvement)

    def result(promoted: bool, why: str) -> BacktestDecision:
        return BacktestDecision(promoted, f"{why} ({numbers})", metric, *values, float(min_improvement), evaluation)

    if has_champion and not cut.usable:
        return result(False, _leak_reason(cut))
    n_users = evaluation.holdout.get("n_users", 0)
    if not n_users:
        return result(False, f"not promoted: no signal: no sampled users ({evaluation.holdout.get('candidates', 0)} "
                             "users have history before the cut and relevant events after it)")  # fmt: skip
    vb, vc = evaluation.versus_baseline, evaluation.versus_champion
    if vb is not None and not vb.clears(min_improvement):
        also = "" if vc is None else f"; against the champion: {vc.describe()}"
        return result(False, _refusal("the popularity baseline", vb) + also)
    if not has_champion:
        suffix = "" if vb is None else f"; beats the baseline by {vb.describe()}"
        return result(True, f"promoted: no champion yet (campaign does not exist){suffix}")
    if vc.clears(min_improvement):
        return result(True, f"promoted: challenger beats champion by {vc.describe()}")
    return result(False, _refusal("the champion", vc))


def _refusal(other: str, iv: Interval) -> str:
    if iv.signal and iv.high is not None and iv.high < 0:
        return f"not promoted: challenger is worse than {other}: {iv.describe()}"
    return f"not promoted: not significant against {other}: {iv.describe()}"


def _numbers(ev: Evaluation, min_improvement: float) -> str:
    cutoff = iso(ev.holdout["cut"]["cutoff"])
    parts = [f"{_label(ev.metric)} on {ev.holdout.get('n_users', 0)} users after {cutoff}"]
    for m in ev.models:
        parts.append(f"{m.role} {m.metrics[ev.metric]:.4f}" if ev.metric in m.metrics else f"{m.role} not scored")
    parts.append(f"needed lower bound >= {min_improvement:+.1%} and > 0")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------- log table

TABLE_METRICS = (
    "normalized_discounted_cumulative_gain_at_10",
    "precision_at_10",
    "recall_at_10",
    "hit_rate_at_10",
    "mean_reciprocal_rank_at_25",
)


def _label(metric: str) -> str:
    """Short column label: ``ndcg@10``, ``recall@10``, ``hit@10`` ..."""
    for long, short in (("recall_at_", "recall@"), ("hit_rate_at_", "hit@")):
        if metric.startswith(long):
            return short + metric.removeprefix(long)
    return short_label(metric)


def render_table(decision: BacktestDecision) -> str:
    """A fixed-width table for the task log: holdout, one row per model, the intervals, the decision."""
    ev = decision.evaluation
    h, cut = ev.holdout, ev.holdout["cut"]
    metrics = (ev.metric, *(m for m in TABLE_METRICS if m != ev.metric))
    types = ", ".join(h["event_types"]) if h.get("event_types") else "all"
    lines = [
        f"Backtest gate on {_label(ev.metric)}: cut {iso(cut['cutoff'])} ({cut['rule']}; leakage: {cut['leakage']}), "
        f"data {iso(cut['data_start'])} .. {iso(cut['data_end'])}",
        f"holdout: {h.get('n_users', 0)} users sampled (seed {h['seed']}, asked {h['sample_size']}, "
        f"{h['candidates']} eligible, {h['dropped']} without new items), relevant event types: {types}",
    ]
    header = ["model", "trained until", "path", *(_label(m) for m in metrics), "coverage"]
    rows = [[m.role, iso(m.trained_until), m.path, *(f"{m.metrics[x]:.4f}" if x in m.metrics else "-" for x in metrics),
             f"{m.coverage:.4f}" if m.metrics else "-"] for m in ev.models]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    lines += [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    for iv in (ev.versus_champion, ev.versus_baseline):
        if iv is not None:
            lines.append(f"challenger vs {iv.versus}: {iv.describe()}")
    lines.append(f"decision: {decision.reason}")
    return "\n".join(lines)
