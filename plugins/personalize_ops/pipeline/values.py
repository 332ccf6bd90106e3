"""The typed values the pipeline's tasks hand each other through XCom.

Small frozen dataclasses, serialised by Airflow's own serde (``airflow.sdk.serde``): each is stored as its class
name, a version and its fields, and comes back as the same class in the consuming task. Fields are serialised
shallowly (:meth:`Value.serialize`), so a value nested in another (an export's parts) keeps its type too.

Airflow deserialises only allow-listed classes (``[core] allowed_deserialization_classes``, default
``airflow.*``). Importing this module allows these classes in the importing process (``airflow.sdk.serde.
allow_class``); every DAG file imports it, and a task process parses its DAG file before it pulls XCom, so no
deployment setting is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class Value:
    """Mixin of the values below: Airflow's serde calls :meth:`serialize` and :meth:`deserialize`."""

    __version__: ClassVar[int] = 1

    def serialize(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def deserialize(cls, data: dict[str, Any], version: int):
        if version > cls.__version__:
            raise TypeError(f"{cls.__name__} version {version} is newer than this code's {cls.__version__}")
        return cls(**data)


@dataclass(frozen=True)
class StagedDataset(Value):
    """One dataset after the prepare stage: rows in/out, content hash, and where it is staged in S3.

    ``uri`` is None on a dry run (prepared and checked, not uploaded).
    """

    dataset: str
    rows_in: int
    rows_out: int
    sha256: str
    uri: str | None = None
    uploaded: bool = False
    time_max: int | None = None  # newest TIMESTAMP (epoch seconds) of an interactions file, else None

    @classmethod
    def from_summary(cls, summary: dict) -> StagedDataset:
        """From the prepare stage's summary (:func:`personalize_ops.pipeline.prepare_stage.prepare_and_stage`)."""
        staged = summary.get("staged") or {}
        return cls(dataset=summary["name"], rows_in=summary["rows_in"], rows_out=summary["rows_out"],
                   sha256=summary["sha256"], uri=staged.get("uri"), uploaded=bool(staged.get("uploaded")),
                   time_max=summary.get("time_max"))  # fmt: skip


@dataclass(frozen=True)
class ImportPlan(Value):
    """The import job to ensure for a dataset; ``reimport`` is False when its newest import holds this file."""

    dataset: str
    job_name: str
    reimport: bool
    data_location: str


@dataclass(frozen=True)
class TrainingPlan(Value):
    """What the train step does for one solution (pipeline/training_reuse.py).

    ``action``: ``train`` (a new version, tagged with ``fingerprint``), ``reuse`` (``version_arn``, the newest ACTIVE
    version, was trained on the same data and configuration), ``automatic`` (``version_arn``, the newest ACTIVE
    version AWS's automatic training made) or ``none`` (automatic training has not made a version yet).
    """

    solution: str
    action: str
    reason: str
    fingerprint: str
    version_arn: str | None = None


@dataclass(frozen=True)
class TrainedVersion(Value):
    """A solution version this run trained (or reused, or picked up from automatic training), with its metrics.

    ``origin``: ``train``, ``reuse`` or ``automatic`` (a :class:`TrainingPlan` action); only ``train`` costs this
    run training hours.
    """

    solution: str
    recipe: str
    solution_arn: str
    arn: str
    metrics: dict[str, float] = field(default_factory=dict)
    trained_until: int | None = None  # newest event (epoch seconds) in its training data, when known
    origin: str = "train"


@dataclass(frozen=True)
class GateOutcome(Value):
    """What the gate decided for one campaign, and what the deploy task does with it."""

    campaign: str
    campaign_arn: str | None
    solution_arn: str
    promote: bool
    reason: str
    solution_version_arn: str  # the challenger
    champion_arn: str | None
    challenger_value: float
    champion_value: float | None
    skipped: bool = False  # skip_gate was set: promoted whatever the comparison said
    already_serving: bool = False  # the campaign already serves the challenger: nothing to do


@dataclass(frozen=True)
class BacktestCut(Value):
    """The backtest's cut of this run's interactions (personalize_ops.pipeline.backtest).

    ``training`` (the events before ``training_cutoff``) is what the backtest solutions train on; ``full`` is
    re-imported after the gates. ``cuts``: campaign -> its :class:`~personalize_ops.evaluation.holdout.Cut` as a
    dict (after the leakage rule); ``champions``: campaign -> the version it served when the cut was made.
    """

    full: StagedDataset
    training: StagedDataset
    training_cutoff: int
    cuts: dict[str, dict]
    champions: dict[str, str | None]

    @property
    def trained_until(self) -> int:
        """Upper bound of the newest event a backtest model saw (``training_cutoff - 1``)."""
        return self.training_cutoff - 1


@dataclass(frozen=True)
class BatchPart(Value):
    """One batch inference job: its input file and output folder in S3."""

    job_name: str
    input_path: str
    output_path: str
    users: int



@dataclass(frozen=True)
class ExportPlan(Value):
    """A batch export: the version to use (and why), the filter, the input parts and how many users they hold."""

    job: str
    version: str
    why: str
    filter_arn: str | None
    parts: list[BatchPart]
    users: int

    def job_kwargs(self) -> list[dict]:
        """Keyword arguments of the mapped ``PersonalizeBatchInferenceJobOperator``: one job per part."""
        return [{"job_name": p.job_name, "input_path": p.input_path, "output_path": p.output_path,
                 "solution_version_arn": self.version, "filter_arn": self.filter_arn} for p in self.parts]  # fmt: skip


VALUES = (StagedDataset, ImportPlan, TrainingPlan, TrainedVersion, GateOutcome, BacktestCut, BatchPart, ExportPlan)


# The incremental cadence and privacy deletions (pipeline/incremental.py, pipeline/deletions.py) -------------------
@dataclass(frozen=True)
class Increment(Value):
    """The events newer than the watermark, staged for an INCREMENTAL import (``job_name`` and ``data_location``
    are what ``PersonalizeImportOperator`` reads, as from an :class:`ImportPlan`)."""

    dataset: str
    job_name: str
    rows: int
    data_location: str
    watermark_from: int
    watermark_to: int
    base_import: str  # the FULL import the watermark builds on


@dataclass(frozen=True)
class UpdateDecision(Value):
    """Whether an UPDATE version replaces what a campaign serves (read by the deploy operator like a
    :class:`GateOutcome`: ``promote``, ``reason``, ``solution_version_arn``)."""

    campaign: str
    campaign_arn: str | None
    solution_arn: str
    promote: bool
    reason: str
    solution_version_arn: str  # the UPDATE version
    full_parent_arn: str | None
    served_arn: str | None


@dataclass(frozen=True)
class DeletionRequest(Value):
    """A privacy deletion: how many users, the group it applies to, what the data holds of them."""

    users: int
    dataset_group_arn: str | None
    already_denied: int
    imported_rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows of these users in imported files
    dry_run: bool = True


@dataclass(frozen=True)
class DeletionJobInput(Value):
    """The data deletion job to ensure and its input file; the deny-list after adding the users."""

    job_name: str
    data_location: str
    dataset_group_arn: str | None
    added_to_deny_list: int
    deny_list_size: int


VALUES = (*VALUES, Increment, UpdateDecision, DeletionRequest, DeletionJobInput)


def _allow() -> None:
    from airflow.sdk.serde import allow_class

    for cls in VALUES:
        allow_class(cls)


_allow()
