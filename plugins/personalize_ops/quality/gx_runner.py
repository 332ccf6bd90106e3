"""Run the rule table with GX Core 1.x: one ephemeral context per process, one suite per
(dataset, suite kind), validated chunk by chunk (streaming) on pandas batches.

``SuiteRunner(..., spark=True)`` validates Spark DataFrames through GX's Spark datasource instead (the Spark engine,
``transform/spark``), with the same expectations.

``SuiteRunner.validate(df)`` validates one chunk and tallies per-expectation counts across chunks;
``write_reports`` writes the tallied JSON, the full GX result of the first failing chunk and, on
failure, Data Docs HTML (rendered from that failing chunk).
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from pathlib import Path

from personalize_ops.quality.rules import Rule

log = logging.getLogger(__name__)
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}


@cache
def _context():
    """The shared ephemeral context (created once: GX start-up is slow), progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.disable(logging.INFO)  # GX logs hundreds of INFO lines while importing and starting
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
    finally:
        logging.disable(logging.NOTSET)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch_def = ctx.data_sources.add_pandas("personalize_ops").add_dataframe_asset("chunk")
    return ctx, batch_def.add_batch_definition_whole_dataframe("whole")


@cache
def _spark_batch_definition():
    """The Spark datasource's whole-DataFrame batch definition, in the shared context (the active SparkSession)."""
    ctx, _ = _context()
    asset = ctx.data_sources.add_spark("personalize_ops_spark").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def _expectation(rule: Rule):
    import great_expectations.expectations as gxe

    return getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule": rule.name, "reason": rule.reason})


_DEFINITIONS: dict[str, tuple[str, object]] = {}


def _validation_definition(name: str, signature: str, rules: list[Rule], spark: bool = False):
    """The suite + validation definition for ``name``; rebuilt only when its rules changed (GX is slow
    to register suites, and a DAG task or test session prepares the same datasets repeatedly)."""
    name = f"{name}@spark" if spark else name
    cached = _DEFINITIONS.get(name)
    if cached and cached[0] == signature:
        return cached[1]
    ctx, batch_def = _context()  # first: it imports GX with its INFO logging muted
    if spark:
        batch_def = _spark_batch_definition()
    import great_expectations as gx
    for store in (ctx.validation_definitions, ctx.suites):
        try:
            store.delete(name)
        except Exception:  # noqa: BLE001 - not there yet
            pass
    suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=[_expectation(r) for r in rules]))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
    _DEFINITIONS[name] = (signature, vd)
    return vd


class SuiteRunner:
    """One GX suite + validation definition; ``validate`` returns (success, raw GX result dict)."""

    def __init__(self, name: str, rules: list[Rule], spark: bool = False):
        self.name, self.rules = name, rules
        signature = json.dumps([(r.expectation, r.kwargs, r.name) for r in rules])
        self.vd = _validation_definition(name, signature, rules, spark)
        self.chunks = 0
        self.tally: list[dict] = [
            {"rule": r.name, "column": r.column, "expectation": r.expectation, "reason": r.reason,
             "element_count": 0, "unexpected_count": 0, "success": True, "examples": []}
            for r in rules
        ]  # fmt: skip
        self.first_failure: dict | None = None

    def validate(self, df) -> tuple[bool, dict]:
        res = self.vd.run(batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT).to_json_dict()
        self.chunks += 1
        for t, r in zip(self.tally, res["results"], strict=True):
            out = r.get("result") or {}
            n = out.get("element_count")
            if n is None and r["success"]:
                n = df.count() if hasattr(df, "rdd") else len(df)  # a Spark DataFrame counts with a job
            t["element_count"] += n or 0
            t["unexpected_count"] += out.get("unexpected_count") or 0
            if not r["success"]:
                t["success"] = False
                if "observed_value" in out:
                    t["observed_value"] = out["observed_value"]
                t["examples"] = (t["examples"] + list(out.get("partial_unexpected_list") or []))[:5]
        if not res["success"] and self.first_failure is None:
            self.first_failure = res
        return res["success"], res

    @property
    def success(self) -> bool:
        return all(t["success"] for t in self.tally)

    def summary(self) -> dict:
        """GX's own tally: ``gx_batches`` data frames validated (in gx_mode stats a row suite runs only on a failing
        chunk, so 0 there is normal; the rows-checked counts are in the results' ``checks``)."""
        return {
            "suite": self.name,
            "success": self.success,
            "gx_batches": self.chunks,
            "expectations": self.tally,
        }

    def build_docs(self, df, docs_dir: Path) -> Path:
        """Data Docs for the failing chunk ``df`` (a checkpoint with UpdateDataDocsAction)."""
        import great_expectations as gx

        ctx, _ = _context()
        site = f"docs_{abs(hash(str(docs_dir)))}"
        if site not in (ctx.get_site_names() or []):
            store = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}
            index = {"class_name": "DefaultSiteIndexBuilder"}
            config = {"class_name": "SiteBuilder", "site_index_builder": index, "store_backend": store}
            ctx.add_data_docs_site(site_name=site, site_config=config)
        name = f"{self.vd.name}.docs"
        try:
            ctx.checkpoints.delete(name)
        except Exception:  # noqa: BLE001
            pass
        cp = ctx.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[self.vd],
                result_format=RESULT_FORMAT,
                actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[site])],
            )
        )
        cp.run(batch_parameters={"dataframe": df})
        return docs_dir / "index.html"


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, indent=2, default=str))
    return path
