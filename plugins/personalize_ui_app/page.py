"""HTML of the dataset-group page: chart of a metric over time, campaigns, versions, gate decisions."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from personalize_ops.metrics.names import METRIC_NAMES, short_label

from personalize_ui_app.data import Catalog, PageData, PageSettings
from personalize_ui_app.svg import Point, line_chart

STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px;display:block;max-width:100%;overflow-x:auto}
svg.metric-chart{max-width:100%;height:auto}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.yes{color:#1a7f37;font-weight:600}.no{color:#b42318;font-weight:600}.note{color:#8a6d3b}
"""


def _run_link(settings: PageSettings, run_id: str | None) -> str:
    if not run_id:
        return ""
    href = f"/dags/{quote(settings.retrain_dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return f'<a href="{escape(href)}" target="_top">{escape(run_id)}</a>'


def _version_id(arn: str | None) -> str:
    return (arn or "").rsplit("/", 1)[-1]


def _num(v: float | None) -> str:
    return '<td class="num">-</td>' if v is None else f'<td class="num">{v:.4f}</td>'


def _problem_rows(problems: list[tuple[str, str]], columns: int) -> list[str]:
    """One error row per record that could not be shown, naming its S3 key."""
    return [
        f'<tr class="record-error"><td colspan="{columns}"><span class="no">unreadable record</span> '
        f"<code>{escape(uri)}</code>: {escape(reason)}</td></tr>"
        for uri, reason in problems
    ]


def _table(header: list[str], rows: list[str], cls: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(rows) or f'<tr><td colspan="{len(header)}">none yet</td></tr>'
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def chart(settings: PageSettings, data: PageData, metric: str) -> str:
    promoted = data.promoted_arns
    series: dict[str, list[Point]] = {}
    for r in data.history:
        if metric in r["metrics"]:
            label = f"{r['solution']} ({r['recipe'].rsplit('/', 1)[-1]})"
            series.setdefault(label, []).append(
                Point(
                    datetime.fromisoformat(r["created_at"]),
                    r["metrics"][metric],
                    f"{_version_id(r['solution_version_arn'])} run {r['run_id']}",
                    r["solution_version_arn"] in promoted,
                )
            )
    return line_chart(series, metric)


def campaigns_table(settings: PageSettings, data: PageData) -> str:
    gate = data.served_by_gate()
    rows = []
    for name, (solution, metric) in settings.campaigns.items():
        d = gate.get(name)
        live = data.live.get(name, {})
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(solution)}</td><td>{escape(metric)}</td>"
            f"<td>{escape(_version_id(data.deployed(d))) if d else '-'}</td>"
            f"<td>{escape(d['decided_at']) if d else ''}</td>"
            f"<td>{_run_link(settings, d and d['run_id'])}</td>"
            f"<td>{escape(_version_id(live.get('solution_version_arn')) or '-')}</td>"
            f"<td>{escape(live.get('status') or '-')}</td></tr>"
        )
    header = ["campaign", "solution", "gate metric", "serves (gate)", "promoted at", "run",
              "serves (Personalize)", "status"]  # fmt: skip
    return _table(header, rows, "campaigns")


def versions_table(settings: PageSettings, data: PageData) -> str:
    promoted = data.promoted_arns
    rows = []
    for r in reversed(data.history):
        star = ' <span class="yes" title="promoted by the gate">&#9733;</span>' if (
            r["solution_version_arn"] in promoted
        ) else ""
        cells = "".join(_num(r["metrics"].get(m)) for m in METRIC_NAMES)
        rows.append(
            f"<tr><td>{escape(r['solution'])}</td><td>{escape(r['recipe'].rsplit('/', 1)[-1])}</td>"
            f"<td>{escape(_version_id(r['solution_version_arn']))}{star}</td><td>{escape(r['created_at'])}</td>"
            f"<td>{_run_link(settings, r['run_id'])}</td>{cells}</tr>"
        )
    header = ["solution", "recipe", "version", "created", "run", *(short_label(m) for m in METRIC_NAMES)]
    return _table(header, _problem_rows(data.history_problems, len(header)) + rows, "versions")


def _difference(d: dict) -> str:
    """The challenger's difference with its interval (a backtest's record), e.g. ``vs champion: +4.8% (99% interval
    -21.9% .. +38.3%, ...)``; an ``offline_metrics`` decision has no interval."""
    from personalize_ops.evaluation.bootstrap import Interval

    ev = d.get("evaluation")
    if not isinstance(ev, dict):
        return '<td class="interval">offline metrics: no interval</td>'
    parts = []
    for key in ("versus_champion", "versus_baseline"):
        raw = ev.get(key)
        if isinstance(raw, dict):
            try:
                iv = Interval.from_dict(raw)
            except TypeError:
                continue
            parts.append(f"vs {escape(iv.versus)}: {escape(iv.describe())}")
    body = "<br>".join(parts) or "not compared"
    return f'<td class="interval">backtest: {body}</td>'


def decisions_table(settings: PageSettings, data: PageData) -> str:
    rows = []
    for d in reversed(data.decisions):
        verdict = (
            '<span class="yes">promoted</span>' if d["promoted"] else '<span class="no">kept champion</span>'
        )
        rows.append(
            f"<tr><td>{escape(d['decided_at'])}</td><td>{escape(d['campaign'])}</td><td>{verdict}</td>"
            f"<td>{escape(short_label(d['metric']))}</td>{_num(d['champion_value'])}{_num(d['challenger_value'])}"
            f"{_num(d['baseline_value'])}<td class='num'>{d['margin']:.1%}</td>{_difference(d)}"
            f"<td>{escape(d['reason'])}</td>"
            f"<td>{_run_link(settings, d['run_id'])}</td></tr>"
        )
    header = ["decided", "campaign", "decision", "metric", "champion", "challenger", "baseline", "margin",
              "difference (interval)", "reason", "run"]  # fmt: skip
    return _table(header, _problem_rows(data.decision_problems, len(header)) + rows, "decisions")


def _interval(low: float | None, high: float | None, pct: bool = False) -> str:
    if low is None or high is None:
        return "-"
    return f"{low:+.1%} .. {high:+.1%}" if pct else f"{low:.4g} .. {high:.4g}"


def experiments_table(settings: PageSettings, data: PageData) -> str:
    """The newest report of each online experiment: verdict, per-variant primary metric with its interval, the
    lift of each challenger, the sample-ratio check, a promotion; the number of daily reports so far."""
    rows = []
    for name in settings.experiments:
        reports = data.experiments.get(name) or []
        if not reports:
            rows.append(f"<tr><td>{escape(name)}</td><td colspan='8'>no report yet</td></tr>")
            continue
        r, res = reports[-1], reports[-1]["result"]
        verdict = escape(r["verdict"].replace("_", " ")) + (f" ({escape(r['winner'])})" if r.get("winner") else "")
        cls = {"winner": "yes", "sample_ratio_mismatch": "no", "guardrail_violated": "no"}.get(r["verdict"], "")
        variants = "<br>".join(
            f"{escape(v['name'])}: {v['value']:.4g} [{_interval(v['low'], v['high'])}], {v['users']:,} users"
            if v.get("value") is not None else f"{escape(v['name'])}: -, {v['users']:,} users"
            for v in res["variants"]
        )
        lifts = "<br>".join(
            f"{escape(c['variant'])}: {'-' if c['lift'] is None else format(c['lift'], '+.1%')} "
            f"[{_interval(c['low'], c['high'], pct=True)}] {escape(c['status'])}"
            for c in res["comparisons"]
        )
        p = r.get("promotion")
        promoted = f"{escape(_version_id(p['solution_version_arn']))} to {escape(p['campaign'])}" if p else "-"
        ended = " (ended)" if r.get("ended") else ""
        rows.append(
            f"<tr><td>{escape(name)}</td><td><span class='{cls}'>{verdict}</span>{ended}</td>"
            f"<td class='num'>{res['day']:g}</td><td>{escape(res['primary_metric'])}</td><td>{variants}</td>"
            f"<td>{lifts}</td><td class='num'>{res['srm']['p_value']:.2g}</td><td>{promoted}</td>"
            f"<td>{escape(r['recorded_at'])} ({len(reports)} reports)</td></tr>"
        )
    header = ["experiment", "verdict", "day", "metric", "variants (value [confidence sequence])",
              "lift vs control [interval]", "sample ratio p", "promoted", "reported"]  # fmt: skip
    return _table(header, rows, "experiments")


def metric_form(metric: str) -> str:
    options = "".join(
        f'<option value="{m}"{" selected" if m == metric else ""}>{short_label(m)} ({m})</option>'
        for m in METRIC_NAMES
    )
    return f'<form method="get">Metric: <select name="metric">{options}</select> <button>show</button></form>'


def render_page(settings: PageSettings, data: PageData, metric: str) -> str:
    dg = escape(settings.dataset_group)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in data.notes)
    root = "/".join(p for p in (settings.bucket, settings.prefix.strip("/"), "metrics") if p)
    where = escape(f"s3://{root}/")
    bad = len(data.history_problems) + len(data.decision_problems)
    unreadable = f', <span class="no">{bad} unreadable records</span> (listed in the tables)' if bad else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Personalize: {dg}</title><style>{STYLE}</style></head>
<body>
<h1>Amazon Personalize &mdash; dataset group {dg}</h1>
<p>{len(data.history)} solution versions, {len(data.decisions)} gate decisions{unreadable}, from {where}
via connection <code>{escape(settings.aws_conn_id)}</code>.</p>{notes}
<h2>Metric history</h2>
{metric_form(metric)}
{chart(settings, data, metric)}
{_experiments_section(settings, data)}
<h2>Campaigns</h2>
{campaigns_table(settings, data)}
<h2>Solution versions</h2>
{versions_table(settings, data)}
<h2>Gate decisions</h2>
{decisions_table(settings, data)}
</body></html>"""


def _experiments_section(settings: PageSettings, data: PageData) -> str:
    if not settings.experiments:
        return ""
    return ("<h2>Online experiments</h2><p>The newest daily report of each experiment "
            "(personalize_experiment_report; docs/experiments.md explains the verdicts).</p>"
            + experiments_table(settings, data))  # fmt: skip


def render_index(catalog: Catalog, href) -> str:
    """Every dataset group the user may see (``href(name)``: its page), and the configs that do not load."""
    rows = [
        f'<tr><td><a href="{escape(href(name))}" target="_self">{escape(name)}</a></td>'
        f"<td>{escape(', '.join(s.solutions))}</td><td>{escape(', '.join(s.campaigns) or '-')}</td>"
        f"<td><code>{escape(s.retrain_dag_id)}</code></td></tr>"
        for name, s in sorted(catalog.groups.items())
    ]
    groups = _table(["dataset group", "solutions", "campaigns", "retrain DAG"], rows, "dataset-groups")
    broken = "".join(
        f'<h2 class="no">Config not loaded: <code>{escape(str(b.path))}</code></h2><pre>{escape(b.message)}</pre>'
        for b in catalog.broken
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Personalize pipelines</title><style>{STYLE}</style></head>
<body>
<h1>Amazon Personalize &mdash; {len(catalog.groups)} dataset groups</h1>
{groups}{broken}
</body></html>"""
