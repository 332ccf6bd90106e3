"""Server-side SVG line charts (no JavaScript, no CDN): one line per series over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class Point:
    when: datetime
    value: float
    label: str  # tooltip, e.g. the solution version id and run
    promoted: bool = False


def _ticks(top: float, n: int = 5) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def line_chart(
    series: dict[str, list[Point]], metric: str, width: int = 1000, height: int = 340
) -> str:
    """An ``<svg class="metric-chart">``: x = time, y = metric value from 0; promoted points are ringed.
    The legend column is as wide as its longest label; the chart widens so the plot keeps 600 px."""
    longest = max((len(name) for name in series), default=0)
    left, right, top, bottom = 56, max(180, 40 + 7 * longest), 20, 44
    width = max(width, left + 600 + right)
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for pts in series.values() for p in pts]
    out = [
        f'<svg class="metric-chart" data-metric="{escape(metric)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" font-size="11" '
        f'aria-label="{escape(metric)} over time">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    if not points:
        out.append(f'<text x="{left + 10}" y="{top + 24}">no solution versions recorded</text>')
        return "\n".join([*out, "</svg>"])

    t0 = min(p.when for p in points).timestamp()
    t1 = max(p.when for p in points).timestamp()
    y_top = max(p.value for p in points) * 1.1 or 1.0

    def x(p: Point) -> float:
        frac = 0.5 if t1 == t0 else (p.when.timestamp() - t0) / (t1 - t0)
        return left + 10 + frac * (plot_w - 20)

    def y(v: float) -> float:
        return top + plot_h - v / y_top * plot_h

    for tick in _ticks(y_top):
        ty = y(tick)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick:.3f}</text>')
    times = sorted({p.when for p in points})
    for when in times if len(times) <= 8 else (times[0], times[-1]):
        tx = x(Point(when, 0, ""))
        out.append(
            f'<text x="{tx:.1f}" y="{height - bottom + 18}" font-size="11" text-anchor="middle">'
            f"{when:%Y-%m-%d %H:%M}</text>"
        )
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = sorted(pts, key=lambda p: p.when)
        coords = " ".join(f"{x(p):.1f},{y(p.value):.1f}" for p in pts)
        out.append(
            f'<polyline data-series="{escape(name)}" points="{coords}" fill="none" '
            f'stroke="{color}" stroke-width="2"/>'
        )
        for p in pts:
            cls = "point promoted" if p.promoted else "point"
            out.append(
                f'<circle class="{cls}" cx="{x(p):.1f}" cy="{y(p.value):.1f}" r="{6 if p.promoted else 3.5}" '
                f'fill="{color}" stroke="{"#000" if p.promoted else color}" '
                f'stroke-width="{2.5 if p.promoted else 1}" data-value="{p.value:.4f}">'
                f"<title>{escape(name)} {escape(p.label)}: {p.value:.4f}"
                f"{' (promoted)' if p.promoted else ''}</title></circle>"
            )
        ly = top + 14 + i * 18
        out.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="4" fill="{color}"/>')
        out.append(f'<text x="{width - right + 30}" y="{ly - 3}" font-size="12">{escape(name)}</text>')
    ly = top + 14 + len(series) * 18
    out.append(
        f'<circle cx="{width - right + 18}" cy="{ly - 7}" r="6" fill="#fff" stroke="#000" '
        'stroke-width="2.5"/>'
    )
    out.append(f'<text x="{width - right + 30}" y="{ly - 3}" font-size="12">promoted version</text>')
    out.append(
        f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="11" transform="rotate(-90 14 '
        f'{top + plot_h / 2:.0f})" text-anchor="middle">{escape(metric)}</text>'
    )
    return "\n".join([*out, "</svg>"])
