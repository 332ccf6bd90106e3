"""The whole config file as one model: its sections, and the references between them checked on validation."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from personalize_ops.config.attribution import MetricAttribution
from personalize_ops.config.base import Strict
from personalize_ops.config.datasets import Datasets
from personalize_ops.config.errors import validated_with
from personalize_ops.config.notifications import Costs, Notifications
from personalize_ops.config.prepare import Prepare
from personalize_ops.config.references import Sections, reference_problems
from personalize_ops.config.resources import BatchJob, Campaign, DatasetGroup, EventTracker, Filter, Schedules, Solution
from personalize_ops.experiments.config import Experiment
from personalize_ops.experiments.config import reference_problems as experiment_problems


class PipelineConfig(Strict):
    """The whole file: one dataset group, its datasets and the resources in it. Names are unique per section, and
    every reference (a campaign's solution, a batch job's filter, a filter's fields) must resolve."""

    dataset_group: DatasetGroup = Field(description="the dataset group, its AWS connection and S3 location")
    datasets: Datasets = Field(description="the raw data of each dataset and how it maps to Personalize's fields")
    solutions: list[Solution] = Field(min_length=1, description="the solutions each retrain run trains")
    campaigns: list[Campaign] = Field(default_factory=list, description="campaigns and their promotion gates")
    filters: list[Filter] = Field(default_factory=list, description="recommendation filters")
    event_tracker: EventTracker | None = Field(None, description="an event tracker for real-time events")
    batch_jobs: list[BatchJob] = Field(default_factory=list, description="batch-inference exports")
    schedules: Schedules = Field(Schedules(), description="when the scheduled DAGs run")
    notifications: Notifications = Field(Notifications(), description="alert channels")
    costs: Costs = Field(Costs(), description="prices for the retrain run's cost estimate")
    metric_attribution: MetricAttribution | None = Field(
        None, description="a metric attribution: online metrics per event source, published to S3"
    )
    experiments: list[Experiment] = Field(default_factory=list, description="A/B experiments between campaigns")
    prepare: Prepare = Field(Prepare(), description="the prepare stage's engine: this machine or Spark")
    source_file: str | None = Field(None, exclude=True)  # set by load_config, not a YAML key

    @model_validator(mode="wrap")
    @classmethod
    def _cross_references(cls, data: Any, handler) -> PipelineConfig:
        """References between sections and unique names (``references.py``), reported with pydantic's errors."""

        def problems(cfg: PipelineConfig | None) -> list:
            sections = Sections.of(cfg) if cfg is not None else Sections.partial(data)
            raw = cfg.experiments if cfg is not None else (data.get("experiments") if isinstance(data, dict) else None)
            return reference_problems(sections) + experiment_problems(raw, sections.lists["campaigns"].names.values())

        return validated_with(cls.__name__, handler, data, problems)

    def solution(self, name: str) -> Solution:
        return next(s for s in self.solutions if s.name == name)

    def filter(self, name: str) -> Filter:
        return next(f for f in self.filters if f.name == name)

    def experiment(self, name: str) -> Experiment:
        return next(e for e in self.experiments if e.name == name)
