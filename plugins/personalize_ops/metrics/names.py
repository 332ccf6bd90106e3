"""The offline metrics Amazon Personalize reports for a solution version (GetSolutionMetrics)."""

METRIC_NAMES: tuple[str, ...] = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)

#: The metric a campaign's gate compares unless the config names another.
DEFAULT_GATE_METRIC = "normalized_discounted_cumulative_gain_at_10"

SHORT_LABELS: dict[str, str] = {
    "coverage": "cov",
    "mean_reciprocal_rank_at_25": "mrr@25",
    "normalized_discounted_cumulative_gain_at_5": "ndcg@5",
    "normalized_discounted_cumulative_gain_at_10": "ndcg@10",
    "normalized_discounted_cumulative_gain_at_25": "ndcg@25",
    "precision_at_5": "p@5",
    "precision_at_10": "p@10",
    "precision_at_25": "p@25",
}


def short_label(metric: str) -> str:
    """Short column label of a metric (the metric name itself when it has none)."""
    return SHORT_LABELS.get(metric, metric)
