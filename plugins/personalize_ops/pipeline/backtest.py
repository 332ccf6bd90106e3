"""The retrain DAG's backtest gate (``gate.evaluation: backtest``, docs/gate.md): cut, score, decide, refit.

The run, in the order the DAG calls these:

1. :func:`cut` downloads this run's staged interactions, finds each backtest campaign's cut C (its
   ``holdout`` window or share, after the leakage rule against the champion's recorded training cut-off) and
   stages the events before the earliest of them: the file the backtest solutions are imported and trained on.
2. The backtest solutions (:func:`solutions`: the backtest campaigns' solutions and baselines) train on that file;
   every other solution trains after the full file is imported back (:func:`restore_plan`, step 4).
3. :func:`evaluate` (one per campaign): the holdout (post-C events of a seeded sample of users with history before
   C), champion, challenger and popularity baseline scored on those users with the gate's filter (batch inference
   jobs, or GetRecommendations on the champion's campaign: ``evaluation.scoring.choose_path``), per-user metrics,
   paired bootstrap, decision; the record goes to the metric history, the table to the task log.
4. :func:`restore_plan`: the full staged file is imported again, whatever the gates said, so filters, the next run
   and the refit see every event.
5. :func:`refit`: with ``refit: full`` a promoted campaign's solution trains once more on all data, and that version
   is deployed; ``refit: none`` deploys the backtest version.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.values import BacktestCut, GateOutcome, ImportPlan, StagedDataset, TrainedVersion

log = logging.getLogger(__name__)


class BacktestDataError(PipelineError):
    """The staged interactions cannot give a backtest (no events before the cut, no time column ...)."""


def campaigns(cfg) -> list:
    """The campaigns whose gate is a backtest."""
    return [c for c in cfg.campaigns if c.gate.evaluation == "backtest"]


def solutions(cfg) -> set[str]:
    """Solutions trained on the events before C: the backtest campaigns' solutions and their baselines."""
    out = set()
    for c in campaigns(cfg):
        out.add(c.solution)
        if c.gate.beat_baseline:
            out.add(c.gate.beat_baseline)
    return out


def _solution_arn(hook, group_arn: str, name: str) -> str | None:
    from personalize_ops.resources import KINDS

    return hook.find_by_name(KINDS["solution"], name, group_arn)


def champion_trained_until(s3, cfg, solution: str, champion_arn: str | None) -> int | None:
    """The newest event the champion was trained on, from its metric-history record (None: unknown)."""
    from personalize_ops.metrics import load_version

    if not champion_arn:
        return None
    group = cfg.dataset_group
    record = load_version(s3, group.bucket, group.prefix, group.name, solution, champion_arn)
    return None if record is None else record.get("trained_until")


# --------------------------------------------------------------------------------------------- 1. cut


def cut(hook, s3, cfg, group_arn: str, staged: StagedDataset) -> BacktestCut:
    """Each backtest campaign's cut, and the events before the earliest cut staged for the training import."""
    from personalize_ops.evaluation.holdout import Cut, HoldoutError, build_holdout, download, find_cut, iso
    from personalize_ops.pipeline.gate_task import serving_version
    from personalize_ops.pipeline.settings import work_dir
    from personalize_ops.staging import stage_file

    group = cfg.dataset_group
    if not staged.uri:
        raise BacktestDataError("the backtest needs the staged interactions file in S3 (not a dry run)")
    cuts, champions = {}, {}
    with work_dir("backtest-cut") as work:
        path = download(s3, staged.uri, work.path)
        try:
            for c in campaigns(cfg):
                solution_arn = _solution_arn(hook, group_arn, c.solution)
                _, champion = serving_version(hook, c.name, solution_arn) if solution_arn else (None, None)
                h = c.gate.holdout
                found = find_cut(path, window_seconds=h.window_seconds, share=h.share, has_champion=bool(champion),
                                 champion_trained_until=champion_trained_until(s3, cfg, c.solution, champion),
                                 leakage_rule=c.gate.leakage)  # fmt: skip
                cuts[c.name], champions[c.name] = found.to_dict(), champion
                log.info("%s: cut %s (%s, leakage: %s), champion %s", c.name, iso(found.cutoff), found.rule,
                         found.leakage, champion)  # fmt: skip
            cutoff = min(x["cutoff"] for x in cuts.values())
            first = next(iter(cuts.values()))
            if cutoff <= first["data_start"]:
                raise BacktestDataError(
                    f"{staged.uri}: the holdout starts at {iso(cutoff)}, at or before the first event "
                    f"({iso(first['data_start'])}): nothing is left to train on; shorten gate.holdout.window "
                    "(or share) of the backtest campaigns"
                )
            whole = Cut.from_dict({**first, "cutoff": cutoff, "requested_cutoff": cutoff, "leakage": "no champion"})
            _, training = build_holdout(path, whole, sample_size=1, seed=0, training_out=work.path / "before.csv")
        except HoldoutError as e:
            raise BacktestDataError(str(e)) from None
        out = stage_file(s3, group.bucket, group.prefix, "interactions", training.path, training.sha256,
                         group=group.name)  # fmt: skip
    log.info("backtest training file: %d of %d events, before %s: %s", training.rows, staged.rows_out,
             iso(cutoff), out.uri)  # fmt: skip
    before = StagedDataset(dataset="interactions", rows_in=staged.rows_out, rows_out=training.rows,
                           sha256=out.sha256, uri=out.uri, uploaded=out.uploaded, time_max=cutoff - 1)  # fmt: skip
    return BacktestCut(full=staged, training=before, training_cutoff=cutoff, cuts=cuts, champions=champions)


def training_plan(hook, dataset_arn: str, bt: BacktestCut, force: bool, token: str) -> ImportPlan:
    """The interactions import before training: the events before C."""
    from personalize_ops.pipeline.imports import plan_import

    return plan_import(hook, dataset_arn, bt.training, force, token)


def restore_plan(hook, dataset_arn: str, bt: BacktestCut, token: str) -> ImportPlan:
    """The interactions import after the gates: the full staged file again."""
    from personalize_ops.pipeline.imports import plan_import

    return plan_import(hook, dataset_arn, bt.full, False, token)


# --------------------------------------------------------------------------------------------- 3. evaluate


def _wait_args() -> dict:
    from personalize_ops.pipeline.settings import wait_args

    w = wait_args()
    return {"delay": w["waiter_delay"], "max_attempts": w["waiter_max_attempts"]}


def score(hook, runtime, s3, cfg, campaign, holdout, models: dict[str, str], campaign_arn: str | None,
          filter_arn: str | None, token: str) -> dict:  # fmt: skip
    """Recommendations of each model (role -> version ARN) for the holdout's users, with the gate's filter.

    The champion goes through GetRecommendations on its campaign when ``choose_path`` says so; every other
    model (and the champion otherwise) through a batch inference job in the batch work area.
    """
    from personalize_ops.evaluation import scoring

    gate, group = campaign.gate, cfg.dataset_group
    users = holdout.users
    champion_path, why = scoring.BATCH, "no champion"
    if models.get("champion"):
        explores = scoring.campaign_explores(hook.describe("campaign", campaign_arn)) if campaign_arn else True
        champion_path, why = scoring.choose_path(
            n_users=len(users), campaign_arn=campaign_arn, has_event_tracker=cfg.event_tracker is not None,
            runtime_max_users=gate.runtime_max_users, scoring=gate.scoring, campaign_explores=explores,
        )  # fmt: skip
        log.info("%s: champion scored by %s (%s)", campaign.name, champion_path, why)
    values = gate.filter_values or None
    out = {}
    for role, version in models.items():
        if not version:
            continue
        if role == "champion" and champion_path == scoring.RUNTIME:
            out[role] = scoring.score_runtime(runtime, campaign_arn=campaign_arn, solution_version_arn=version,
                                              users=users, filter_arn=filter_arn, filter_values=values)  # fmt: skip
            continue
        where = scoring.batch_locations(group.bucket, group.prefix, group.name, campaign.name, token, role)
        out[role] = scoring.score_batch(hook, s3, where, solution_version_arn=version, users=users,
                                        role_arn=group.role_arn, filter_arn=filter_arn, filter_values=values,
                                        **_wait_args())  # fmt: skip
    return out


def _not_scored(role: str, arn: str, trained_until: int | None):
    from personalize_ops.evaluation.comparison import ModelResult

    return ModelResult(role, arn, trained_until, "not scored", 0, 0, 0.0, {})


def _deployed_by(s3, cfg, campaign, champion_arn: str | None, challenger_arn: str, run_id: str) -> bool:
    """Does the campaign serve the challenger or a version this run logged (its refit)?"""
    from personalize_ops.metrics import load_version

    if not champion_arn:
        return False
    if champion_arn == challenger_arn:
        return True
    group = cfg.dataset_group
    record = load_version(s3, group.bucket, group.prefix, group.name, campaign.solution, champion_arn)
    return (record or {}).get("run_id") == run_id


def evaluate(hook, runtime, s3, cfg, campaign, challenger: TrainedVersion, baseline: TrainedVersion | None,
             bt: BacktestCut, filter_arn: str | None, run_id: str, token: str, skip: bool) -> GateOutcome:  # fmt: skip
    """The backtest gate of one campaign (module docstring, step 3): decide, record, print, alert, return.

    A campaign that already serves the challenger, or a version this run trained (its refit), is this run's own
    deploy having happened: nothing is decided, recorded or alerted again.
    """
    from personalize_ops.evaluation.comparison import Evaluation, compare_models
    from personalize_ops.evaluation.decision import decide_backtest, render_table
    from personalize_ops.evaluation.holdout import Cut, build_holdout, download
    from personalize_ops.evaluation.scoring import NUM_RESULTS, Recommendations
    from personalize_ops.metrics import load_gate_decision, record_gate_decision
    from personalize_ops.pipeline import alerts
    from personalize_ops.pipeline.gate_task import GateRejectedError, serving_version
    from personalize_ops.pipeline.settings import work_dir

    gate, group = campaign.gate, cfg.dataset_group
    campaign_arn, champion_arn = serving_version(hook, campaign.name, challenger.solution_arn)
    if _deployed_by(s3, cfg, campaign, champion_arn, challenger.arn, run_id):
        earlier = load_gate_decision(s3, group.bucket, group.prefix, group.name, campaign.name, run_id)
        reason = f"campaign already serves {champion_arn}"
        log.info("Gate %s: %s; this run decided earlier: %s", campaign.name, reason, (earlier or {}).get("reason"))
        return GateOutcome(campaign.name, campaign_arn, challenger.solution_arn, False, reason, challenger.arn,
                           champion_arn, 0.0, None, already_serving=True)  # fmt: skip
    if champion_arn != bt.champions.get(campaign.name):
        raise PipelineError(f"campaign {campaign.name} served {bt.champions.get(campaign.name)} when the data "
                            f"was cut and serves {champion_arn} now; re-run so the cut sees the current champion")
    the_cut = Cut.from_dict(bt.cuts[campaign.name])
    until = {"challenger": bt.trained_until, "baseline": bt.trained_until, "champion": the_cut.champion_trained_until}
    with work_dir(f"backtest-{campaign.name}") as work:
        holdout, _ = build_holdout(download(s3, bt.full.uri, work.path), the_cut, sample_size=gate.holdout.sample_size,
                                   seed=gate.seed, event_types=gate.holdout.event_types)  # fmt: skip
    models = {"challenger": challenger.arn, "champion": champion_arn, "baseline": baseline.arn if baseline else None}
    if the_cut.usable:  # no leakage left, or no champion
        if holdout.truth:
            recs = score(hook, runtime, s3, cfg, campaign, holdout, models, campaign_arn, filter_arn, token)
        else:  # nobody to score: every interval says "no users"
            recs = {r: Recommendations(arn, "not scored", "", NUM_RESULTS, filter_arn) for r, arn in models.items()
                    if arn}  # fmt: skip
        evaluation = compare_models(holdout, recs, metric=gate.metric, trained_until=until,
                                    confidence_level=gate.confidence_level, n_resamples=gate.resamples,
                                    seed=gate.seed)  # fmt: skip
    else:  # leakage: the decision refuses without numbers, so nothing is scored
        evaluation = Evaluation(gate.metric, holdout.summary(), tuple(
            _not_scored(role, arn, until[role]) for role, arn in models.items() if arn), None, None)  # fmt: skip
    decision = decide_backtest(evaluation, min_improvement=gate.min_improvement)
    print(render_table(decision))
    if skip:
        decision = replace(decision, promoted=True, reason=f"promoted: skip_gate set (gate said: {decision.reason})")
    record = decision.to_record(campaign=campaign.name, champion_arn=champion_arn, challenger_arn=challenger.arn,
                                run_id=run_id)  # fmt: skip
    record["skipped"] = skip
    key = record_gate_decision(s3, group.bucket, group.prefix, group.name, record)
    log.info("Gate %s: %s [recorded s3://%s/%s]", campaign.name, decision.reason, group.bucket, key)
    outcome = GateOutcome(
        campaign=campaign.name, campaign_arn=campaign_arn, solution_arn=challenger.solution_arn,
        promote=decision.promoted, reason=decision.reason, solution_version_arn=challenger.arn,
        champion_arn=champion_arn, challenger_value=decision.challenger_value, champion_value=decision.champion_value,
        skipped=skip,
    )  # fmt: skip
    alerts.gate_decided(cfg, campaign, outcome, {m.role: m.metrics or None for m in evaluation.models})
    if not outcome.promote:
        if gate.on_fail == "fail":
            raise GateRejectedError(f"campaign {campaign.name} left on {champion_arn}: {decision.reason}")
        log.warning("Campaign %s not promoted: %s", campaign.name, decision.reason)
    return outcome


# --------------------------------------------------------------------------------------------- 5. refit


def refit(hook, s3, cfg, campaign, outcome: GateOutcome | None, bt: BacktestCut, run_id: str,
          token: str) -> GateOutcome | None:  # fmt: skip
    """With ``refit: full`` and a promotion: train the solution again on all data (imported back by now), log the
    version (trained until the newest event) and return the outcome pointing at it. Otherwise the outcome as is.

    A retried task adopts the version its earlier try started (tagged with ``token``), so it trains once.
    """
    from personalize_ops.metrics import make_version_record, record_version
    from personalize_ops.operators.solution_version import SOLUTION_VERSION, create_or_adopt_solution_version

    if outcome is None or not outcome.promote or outcome.already_serving:
        return outcome
    if campaign.gate.refit == "none":
        log.info("%s: refit none: deploying the backtest version %s", campaign.name, outcome.solution_version_arn)
        return outcome
    solution = next(s for s in cfg.solutions if s.name == campaign.solution)
    arn, adopted = create_or_adopt_solution_version(hook, outcome.solution_arn, solution.training_mode, token, None,
                                                    log)  # fmt: skip
    hook.wait(SOLUTION_VERSION, arn, "active", **_wait_args())
    metrics = hook.call("GetSolutionMetrics", solutionVersionArn=arn)["metrics"]
    group = cfg.dataset_group
    record = make_version_record(dataset_group=group.name, solution=solution.name, recipe=solution.recipe,
                                 solution_version_arn=arn, run_id=run_id, metrics=metrics, data_hash=bt.full.sha256,
                                 trained_until=bt.full.time_max)  # fmt: skip
    record_version(s3, group.bucket, group.prefix, record)
    log.info("%s: refit full: %s %s on all data; deploying it instead of the backtest version %s", campaign.name,
             "adopted" if adopted else "trained", arn, outcome.solution_version_arn)  # fmt: skip
    return replace(outcome, solution_version_arn=arn,
                   reason=f"{outcome.reason}; deployed the refit on all data {arn}")  # fmt: skip
