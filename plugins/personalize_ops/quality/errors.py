"""The exceptions that stop the prepare stage on bad data (a rule set to 'fail', or a source that cannot be read)."""

from __future__ import annotations


class DataQualityError(RuntimeError):
    """Lists each failed rule with counts and example rows; ``report_paths`` point to the full GX result JSON
    and Data Docs HTML written next to the output. ``failures``: one dict per failed rule (``rule`` names it)."""

    def __init__(self, message: str, failures: list[dict] | None = None, report_paths: dict | None = None):
        super().__init__(message)
        self.failures = failures or []
        self.report_paths = report_paths or {}


class SourceError(DataQualityError):
    """The source cannot be read (missing, empty, corrupt, or a row that cannot be parsed): ``rule`` names the
    problem; ``line`` (1-based) and ``text`` (the raw line, unmasked) locate it when known. The message must not
    hold raw values: the caller, which knows the dataset's masking settings, shows them."""

    def __init__(self, message: str, rule: str, line: int | None = None, text: str | None = None):
        super().__init__(message, [{"rule": rule, "line": line}])
        self.rule, self.line, self.text = rule, line, text
