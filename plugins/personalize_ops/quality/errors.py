"""The exception that stops the prepare stage when data breaks a rule set to 'fail'."""

from __future__ import annotations


class DataQualityError(RuntimeError):
    """Lists each failed expectation with counts and example rows; ``report_paths`` point to the
    full GX result JSON and Data Docs HTML written next to the output."""

    def __init__(self, message: str, failures: list[dict] | None = None, report_paths: dict | None = None):
        super().__init__(message)
        self.failures = failures or []
        self.report_paths = report_paths or {}
