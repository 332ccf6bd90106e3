"""Server-side SVG chart: geometry and escaping, without a browser."""

import re
from datetime import UTC, datetime, timedelta

from personalize_ui_app.svg import Point, line_chart

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_empty_chart_says_so():
    svg = line_chart({}, "coverage")
    assert svg.startswith('<svg class="metric-chart" data-metric="coverage"')
    assert "no solution versions" in svg


def test_lines_points_and_promoted_marks():
    svg = line_chart(
        {
            "a": [Point(T0 + timedelta(days=7), 0.2, "v2", promoted=True), Point(T0, 0.1, "v1")],
            "<b>": [Point(T0, 0.05, "v1")],
        },
        "precision_at_5",
    )
    assert svg.count("<polyline") == 2 and "&lt;b&gt;" in svg and "<b>" not in svg
    points = re.search(r'data-series="a" points="([^"]+)"', svg).group(1)
    xs = [float(x.split(",")[0]) for x in points.split()]
    assert xs == sorted(xs) and xs[0] < xs[1]  # sorted by time, left to right
    assert re.findall(r'class="point promoted"[^>]*data-value="([0-9.]+)"', svg) == ["0.2000"]
    ys = dict(re.findall(r'cy="([0-9.]+)"[^>]*data-value="([0-9.]+)"', svg))
    assert float(min(ys, key=float)) < float(max(ys, key=float))
    assert ys[min(ys, key=float)] == "0.2000"  # highest value is drawn highest (smallest y)


def test_single_point_is_centred():
    svg = line_chart({"a": [Point(T0, 0.3, "v1")]}, "coverage")
    assert "2026-11-01 00:00" in svg and 'data-value="0.3000"' in svg


def test_legend_fits_the_longest_label():
    """The legend column grows with the label (7 px per character at font-size 12), the plot keeps 600 px."""
    for name in ("a", "demo-user-personalization (aws-user-personalization-v2) " * 2):
        svg = line_chart({name: [Point(T0, 0.3, "v1")]}, "coverage")
        width = float(re.search(r'<svg[^>]* width="([0-9.]+)"', svg).group(1))
        label_x = float(re.search(r'<text x="([0-9.]+)"[^>]*>' + re.escape(name.strip()[:20]), svg).group(1))
        plot_w = float(re.search(r'<rect x="56" y="20" width="([0-9.]+)"', svg).group(1))
        assert label_x + 7 * len(name) <= width and plot_w >= 600
