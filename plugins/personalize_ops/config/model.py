"""The whole config file as one model: its sections, and the references between them checked on validation."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, model_validator

from personalize_ops.config.base import Strict
from personalize_ops.config.datasets import Datasets
from personalize_ops.config.errors import validated_with
from personalize_ops.config.notifications import Costs, Notifications
from personalize_ops.config.prepare import Prepare
from personalize_ops.config.references import Sections, reference_problems
from personalize_ops.config.resources import BatchJob, Campaign, DatasetGroup, EventTracker, Filter, Schedules, Solution


class PipelineConfig(Strict):
    """The whole file. ``source_file`` is set by load_config (not a YAML key)."""

    dataset_group: DatasetGroup
    datasets: Datasets
    solutions: list[Solution] = Field(min_length=1)
    campaigns: list[Campaign] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    event_tracker: EventTracker | None = None
    batch_jobs: list[BatchJob] = Field(default_factory=list)
    schedules: Schedules = Schedules()
    notifications: Notifications = Notifications()
    costs: Costs = Costs()
    prepare: Prepare = Prepare()
    source_file: str | None = Field(None, exclude=True)

    @model_validator(mode="wrap")
    @classmethod
    def _cross_references(cls, data: Any, handler, info: ValidationInfo) -> PipelineConfig:
        """References between sections and unique names (``references.py``), reported with pydantic's errors."""

        def problems(cfg: PipelineConfig | None) -> list:
            sections = Sections.of(cfg) if cfg is not None else Sections.partial(data, info.context)
            return reference_problems(sections)

        return validated_with(cls.__name__, handler, data, problems)

    def solution(self, name: str) -> Solution:
        return next(s for s in self.solutions if s.name == name)

    def filter(self, name: str) -> Filter:
        return next(f for f in self.filters if f.name == name)
