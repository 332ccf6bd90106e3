"""Fixed-width metric tables for task logs: one row per solution/version, short labels plus a legend."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence

from personalize_ops.metrics.names import METRIC_NAMES, short_label


def render_metrics_table(
    rows: Mapping[str, Mapping[str, float]] | Iterable[tuple[str, Mapping[str, float]]],
    metrics: Sequence[str] = METRIC_NAMES,
    digits: int = 4,
    mark_best: bool = True,
) -> str:
    """Render ``{row label: {metric: value}}`` (or (label, metrics) pairs) as an aligned text table.

    Missing values print as ``-``; with ``mark_best`` the highest value of each column gets a ``*``
    (only when there are at least two rows). A legend maps short labels to the full metric names.
    """
    pairs = list(rows.items() if isinstance(rows, Mapping) else rows)
    best = {}
    if mark_best and len(pairs) > 1:
        for m in metrics:
            values = [v[m] for _, v in pairs if v.get(m) is not None]
            if values:
                best[m] = max(values)
    header = ["solution / version", *(short_label(m) for m in metrics)]
    body = []
    for label, values in pairs:
        cells = [str(label)]
        for m in metrics:
            v = values.get(m)
            cell = "-" if v is None else f"{v:.{digits}f}"
            if m in best and v is not None and v == best[m]:
                cell += "*"
            cells.append(cell)
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body] or ["(no rows)"]
    legend = ", ".join(f"{short_label(m)} = {m}" for m in metrics)
    legend += "; * = best in column" if best else ""
    out.append(textwrap.fill(f"legend: {legend}", width=110, subsequent_indent="        "))
    return "\n".join(out)
