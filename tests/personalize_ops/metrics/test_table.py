"""Log tables of metrics."""

from personalize_ops.metrics import METRIC_NAMES, render_metrics_table


def test_table_aligned_with_legend_and_best_marks():
    text = render_metrics_table(
        {
            "sol-up/v1": dict.fromkeys(METRIC_NAMES, 0.25),
            "sol-pop/v1": {"coverage": 0.5, "precision_at_5": 0.0125},
        }
    )
    lines = text.splitlines()
    assert lines[0].split() == ["solution", "/", "version", "cov", "mrr@25", "ndcg@5", "ndcg@10", "ndcg@25",
                                "p@5", "p@10", "p@25"]
    assert len(lines[2]) == len(lines[0])  # fixed width: rows align with the header
    assert "0.5000*" in lines[3] and "0.0125" in lines[3] and "-" in lines[3]
    assert "0.2500*" in lines[2]
    legend = " ".join(lines[4:])
    assert "ndcg@25 = normalized_discounted_cumulative_gain_at_25" in legend
    assert "* = best in column" in legend


def test_single_row_and_empty():
    one = render_metrics_table([("v1", {"coverage": 0.123456})], metrics=["coverage"], digits=2)
    assert "0.12" in one and "*" not in one
    assert "(no rows)" in render_metrics_table({})
