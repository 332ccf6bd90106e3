"""``python -m personalize_ops <command>``: a small registry of subcommands.

Add one with ``@command("name", "help")`` on a function ``(args) -> int`` and ``@<fn>.arguments``-style
set-up via the ``configure`` argument: ``command(name, help, configure=lambda p: p.add_argument(...))``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

COMMANDS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a subcommand; the decorated function gets the parsed args and returns an exit code."""

    def deco(fn: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help, configure, fn)
        return fn

    return deco


def _fmt_time(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d")


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="*")
    p.add_argument("--live", action="store_true", help="also compare each dataset's schema with the one its live "
                   "dataset uses (through the config's aws_conn_id): list planned schema replacements, and fail on "
                   "changes AWS does not allow")  # fmt: skip


@command("validate-config", "check pipeline configs (default: every one the DAGs use); exit 1 listing every error",
         _validate_args)  # fmt: skip
def _validate(args: argparse.Namespace) -> int:
    from personalize_ops.config import ConfigError, load_config
    from personalize_ops.pipeline.registry import discover

    if not args.path:  # the deployment's pipelines, found as the DAG files find them (checks across files too)
        found = discover()
        for broken in found.broken:
            print(f"{broken.message}", file=sys.stderr)
        bad = 0
        for pipeline in found.good:
            try:
                cfg = _with_transforms(pipeline.config)
            except ConfigError as e:
                print(f"{len(e.errors)} error(s):\n{e}", file=sys.stderr)
                bad += 1
                continue
            _describe(pipeline.path, cfg)
            bad += _live(pipeline.path, cfg) if args.live else 0
        if not found.good and not found.broken:
            print(f"no pipeline config found ({found.where})", file=sys.stderr)
        return 1 if found.broken or bad or not found.good else 0
    failed = 0
    for path in args.path:
        try:
            cfg = _with_transforms(load_config(path))
        except ConfigError as e:
            print(f"{len(e.errors)} error(s):\n{e}", file=sys.stderr)
            failed = 1
            continue
        _describe(path, cfg)
        failed |= _live(path, cfg) if args.live else 0
    return failed


def _with_transforms(cfg):
    """``cfg`` once its custom transforms import and take one table; else ConfigError naming each key."""
    from personalize_ops.config import ConfigError
    from personalize_ops.transform.custom import transform_problems

    problems = transform_problems(cfg)
    if problems:
        raise ConfigError(cfg.source_file, problems)
    return cfg


def _live(path, cfg) -> int:
    """``--live``: the schema changes against the live datasets; 1 when AWS would refuse one."""
    from botocore.exceptions import BotoCoreError, ClientError

    from personalize_ops.hook import PersonalizeHook
    from personalize_ops.pipeline.schema_change import DOC, live_report

    conn = cfg.dataset_group.aws_conn_id
    try:
        planned, refused = live_report(PersonalizeHook(aws_conn_id=conn), cfg)
    except (BotoCoreError, ClientError) as err:
        print(f"{path}: --live could not read the live datasets through the Airflow connection {conn!r} "
              f"(dataset_group.aws_conn_id): {str(err).rstrip('.')}. Define it (e.g. AIRFLOW_CONN_{conn.upper()}, see "
              f"docs/connections.md) or run without --live.", file=sys.stderr)  # fmt: skip
        return 1
    for line in planned:
        print(f"  {line}")
    if refused:
        print(f"{path}: schema change(s) AWS does not allow ({DOC}):", file=sys.stderr)
        for line in refused:
            print(f"  {line}", file=sys.stderr)
    elif not planned:
        print("  schemas: every live dataset uses the config's schema (or does not exist yet)")
    return 1 if refused else 0


def _describe(path, cfg) -> None:
    dg = cfg.dataset_group
    print(f"{path}: OK - dataset group {dg.name} ({dg.region}, s3://{dg.bucket}/{dg.prefix})")
    for name, ds in cfg.datasets.present().items():
        src = f"{ds.source.format} {ds.source.path}"
        print(f"  dataset {name}: {src} -> {len(ds.fields)} fields, {ds.import_mode}")
    print(f"  solutions: {', '.join(f'{s.name} ({s.recipe})' for s in cfg.solutions)}")
    print(f"  campaigns: {', '.join(c.name for c in cfg.campaigns) or '-'}; "
          f"filters: {', '.join(f.name for f in cfg.filters) or '-'}; "
          f"event tracker: {cfg.event_tracker.name if cfg.event_tracker else '-'}; "
          f"batch jobs: {', '.join(b.name for b in cfg.batch_jobs) or '-'}")  # fmt: skip
    print(f"  schedules: retrain {cfg.schedules.retrain}, incremental {cfg.schedules.incremental}, "
          f"batch export {cfg.schedules.batch_export}")


def _prepare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="include/pipelines/shop.yaml")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", action="append", help="only these datasets (repeatable)")


#: ``prepare`` exit codes (also in its --help and the README).
EXIT_OK, EXIT_CONFIG, EXIT_DATA = 0, 1, 2


@command("prepare", "data quality + transform every dataset into Personalize CSVs; exit 0 when every dataset "
         "passed, 1 on a config or usage error, 2 on bad data (the message names file, rule, line/row, what to do)",
         _prepare_args)  # fmt: skip
def _prepare(args: argparse.Namespace) -> int:
    import logging

    from personalize_ops.config import ConfigError, load_config
    from personalize_ops.quality import DataQualityError
    from personalize_ops.transform import prepare_dataset

    # the project's own INFO lines; other libraries' (Great Expectations, botocore, ...) only from WARNING up
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("personalize_ops").setLevel(logging.INFO)
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return EXIT_CONFIG
    present = cfg.datasets.present()
    unknown = [n for n in args.dataset or [] if n not in present]
    if unknown:
        print(f"--dataset {', '.join(unknown)}: not in {args.config} (have: {', '.join(present)})", file=sys.stderr)
        return EXIT_CONFIG
    results = []
    for name in args.dataset or list(present):
        try:
            results.append(prepare_dataset(cfg, name, args.out))
        except ConfigError as e:  # e.g. a custom transform that cannot be imported or breaks its contract
            print(str(e), file=sys.stderr)
            return EXIT_CONFIG
        except DataQualityError as e:
            print(str(e), file=sys.stderr)
            return EXIT_DATA
    print(format_summary(results))
    return EXIT_OK


def format_summary(results) -> str:
    """The prepare summary table: rows in/out, drops by reason, users, items, time range, reports."""
    head = ("dataset", "rows in", "rows out", "dropped (by reason)", "users", "items", "time range")
    rows = [
        (r.name, f"{r.rows_in:,}", f"{r.rows_out:,}",
         ", ".join(f"{k}={v:,}" for k, v in sorted(r.dropped.items())) or "-",
         "-" if r.users is None else f"{r.users:,}", "-" if r.items is None else f"{r.items:,}",
         f"{_fmt_time(r.time_min)}..{_fmt_time(r.time_max)}" if r.time_min is not None else "-")
        for r in results
    ]  # fmt: skip
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", *format_checks(results), ""]
    for r in results:
        lines.append(f"{r.name}: csv {r.csv_path} (sha256 {r.sha256[:12]}...), schema {r.schema_path}, "
                     f"reports {', '.join(r.report_paths.values())}"
                     + (f", quarantine {r.quarantine_path}" if r.quarantine_path else ""))  # fmt: skip
    return "\n".join(lines)


def format_checks(results) -> list[str]:
    """The data-quality counts per dataset: rows checked; per row rule the rows that broke it, summed over the
    rule's columns (quarantined ones in parentheses; '-': the rule does not apply); per whole-file rule the
    observed value."""
    names = [r.name for r in results]
    table: dict[str, dict[str, str]] = {"rows checked": {r.name: f"{r.checks['rows_checked']:,}" for r in results}}
    totals: dict[str, dict[str, str]] = {}
    for r in results:
        found: dict[str, list[int]] = {}
        for c in r.checks.get("rules", []):
            n = found.setdefault(c["rule"], [0, 0])
            n[0], n[1] = n[0] + c["unexpected"], n[1] + c["quarantined"]
        for rule, (n, q) in found.items():
            table.setdefault(rule, {})[r.name] = f"{n:,}" + (f" ({q:,} quarantined)" if q else "")
        for c in r.checks.get("totals", []):
            if isinstance(c.get("observed"), int):
                label = c["rule"] if c["rule"] == c["column"] else f"{c['rule']}: {c['column']}"
                totals.setdefault(label, {})[r.name] = f"{c['observed']:,}"
    table |= totals
    rows = [("data quality", *names)] + [(k, *(v.get(n, "-") for n in names)) for k, v in table.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def _sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interactions", type=int, default=50_000)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=42)


@command("generate-sample", "write seeded synthetic raw interactions/items/users", _sample_args)
def _sample(args: argparse.Namespace) -> int:
    from personalize_ops.sample_data import generate

    info = generate(args.out, args.interactions, args.seed)
    counts = f"{info['events']:,} interactions, {info['n_items']:,} items, {info['n_users']:,} users"
    print(f"wrote {counts} to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m personalize_ops")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_, description=help_))
    args = parser.parse_args(argv)
    return COMMANDS[args.command][2](args)
