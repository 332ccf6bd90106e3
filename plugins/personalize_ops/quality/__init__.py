"""Data quality for the prepare stage: rule table (rules.py), GX Core runner (gx_runner.py).

Importing this package is cheap; great_expectations is imported only when a suite runs.
"""

from personalize_ops.quality.errors import DataQualityError

__all__ = ["DataQualityError"]
