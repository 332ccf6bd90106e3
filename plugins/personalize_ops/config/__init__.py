"""The pipeline config (include/pipelines/*.yaml): a typed model, loaded and checked all at once.

``load_config(path) -> PipelineConfig`` raises ``ConfigError`` whose message has one line per problem:
``<file>: <key.path>: <reason>``. Structure (unknown/missing keys, types, names, filter syntax, pass-through request
members against botocore's shapes) and the references between sections are all checked by the pydantic model.
Imports only pydantic + yaml (botocore on first use of a pass-through member): the DAG files import this at parse time.

Modules: ``base`` (shared rules), ``datasets`` (sources, fields, quality), ``resources`` (dataset group, solutions,
campaigns, filters, tracker, batch jobs, schedules), ``notifications`` (alert channels, prices), ``references``
(cross-section checks), ``aws_shapes`` (botocore input shapes), ``model`` (PipelineConfig), ``loading``
(YAML, ``${VAR}`` expansion, errors) and ``errors``.
"""

from personalize_ops.config.datasets import (
    AVRO_TYPES,
    REQUIRED_FIELDS,
    Dataset,
    Datasets,
    EventRule,
    EventRules,
    FieldSpec,
    Quality,
    Source,
)
from personalize_ops.config.errors import ConfigError
from personalize_ops.config.loading import ENV_PREFIXES, env_prefixes, load_config
from personalize_ops.config.model import PipelineConfig
from personalize_ops.config.notifications import (
    NOTIFY_EVENTS,
    Costs,
    Notifications,
    NotifyChannel,
    SmtpChannel,
    SnsChannel,
)
from personalize_ops.config.resources import (
    BACKTEST_METRICS,
    RECIPES,
    BatchJob,
    Campaign,
    DatasetGroup,
    EventTracker,
    Filter,
    Gate,
    Schedules,
    Solution,
)

__all__ = [
    "AVRO_TYPES",
    "BACKTEST_METRICS",
    "ENV_PREFIXES",
    "NOTIFY_EVENTS",
    "RECIPES",
    "REQUIRED_FIELDS",
    "BatchJob",
    "Campaign",
    "ConfigError",
    "Costs",
    "Dataset",
    "DatasetGroup",
    "Datasets",
    "EventRule",
    "EventRules",
    "EventTracker",
    "FieldSpec",
    "Filter",
    "Gate",
    "Notifications",
    "NotifyChannel",
    "PipelineConfig",
    "Quality",
    "Schedules",
    "SmtpChannel",
    "SnsChannel",
    "Solution",
    "Source",
    "env_prefixes",
    "load_config",
]
