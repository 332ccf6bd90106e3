"""The backtest gate: an out-of-time holdout, both models scored on the same users, paired bootstrap, decision.

Modules, in the order a gate run uses them:

- :mod:`.holdout`: the cut C, the training file before C, the seeded user sample and its truth after C.
- :mod:`.scoring`: recommendations per sampled user through a batch inference job or GetRecommendations.
- :mod:`.metrics`: per-user NDCG@K, precision@K, recall@K, hit@K, reciprocal rank; catalog coverage.
- :mod:`.bootstrap`: paired bootstrap interval of the relative improvement (``scipy.stats.bootstrap``).
- :mod:`.decision`: the pure promotion rule, its record and a log table.

Every value crossing a task boundary is a small dataclass with ``to_dict`` / ``from_dict`` (JSON-safe).
docs/gate.md explains the method and its defaults.
"""
