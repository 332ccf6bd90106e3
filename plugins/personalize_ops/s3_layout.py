"""Where the pipeline keeps its objects in S3: one area per kind of data, each keyed by dataset group.

Under ``s3://<bucket>/<prefix>/`` (the ``dataset_group`` section of the config):

| area      | keys                                                              | written by            |
|-----------|-------------------------------------------------------------------|-----------------------|
| staging   | ``staging/<group>/<dataset>/<sha256>.csv``                        | prepare + stage       |
| batch     | ``batch/<group>/<job>/<token>/{input,output}/part-NNNNN...``     | batch export (scratch)|
| history   | ``metrics/history/<group>/<solution>/<solution_version_id>.json`` | metric logging        |
| gate      | ``metrics/gate/<group>/<campaign>/<run_id>.json``                 | the gate              |
| exp_logs  | ``experiments/logs/<group>/<experiment>/{exposures,events}/...``  | the application       |
| exp_reports | ``experiments/reports/<group>/<experiment>/<run_id>.json``      | the experiment report |
| attribution | ``attribution/<group>/AggregatedAttributionMetrics - ...csv``   | Personalize (default) |
| cadence   | ``cadence/<group>/lock.json``, ``cadence/<group>/watermark/<dataset>.json`` | every run, incremental |
| privacy   | ``privacy/<group>/deny-list.csv``, ``privacy/<group>/deletions/<job>/users.csv`` | user deletions |

Batch exports are not here: they go to each batch job's configured ``destination``. Every area ends in the
dataset group's name, so pipelines sharing a bucket and prefix never read or delete each other's objects.
The teardown has no option for ``cadence`` and ``privacy``: the deny-list is a record of deletion requests that
must outlive the group (a group created again under the same name must not import those users).
"""

from __future__ import annotations

#: Area name -> the path segments between the prefix and the dataset group.
AREAS: dict[str, tuple[str, ...]] = {
    "staging": ("staging",),
    "batch": ("batch",),
    "history": ("metrics", "history"),
    "gate": ("metrics", "gate"),
    "exp_logs": ("experiments", "logs"),
    "exp_reports": ("experiments", "reports"),
    "attribution": ("attribution",),
    "cadence": ("cadence",),
    "privacy": ("privacy",),
}


class KeyPartError(ValueError):
    """A value that must become one S3 key segment is empty or contains '/'."""


def segment(value: str, field: str) -> str:
    """``value`` as one key segment; a clear error for anything that would change the layout."""
    if not isinstance(value, str) or not value or "/" in value:
        raise KeyPartError(f"{field}={value!r}: must be a non-empty string without '/'")
    return value


def _join(prefix: str, *parts: str) -> str:
    return "/".join(p for p in (prefix.strip("/"), *parts) if p)


def area(prefix: str, name: str, group: str, *parts: str) -> str:
    """Key prefix (ending in '/') of area ``name`` of ``group``, optionally narrowed by further segments."""
    return _join(prefix, *AREAS[name], segment(group, "dataset_group"), *parts) + "/"


def group_areas(prefix: str, group: str) -> dict[str, str]:
    """Every area of one dataset group: area name -> key prefix."""
    return {name: area(prefix, name, group) for name in AREAS}


def roots(prefix: str) -> list[str]:
    """Key prefixes holding the areas of every dataset group under ``prefix`` (e.g. ``p/staging/``)."""
    return sorted({_join(prefix, path[0]) + "/" for path in AREAS.values()})


def staging_key(prefix: str, group: str, dataset: str, sha256: str, suffix: str = ".csv") -> str:
    """The content-addressed key of one prepared file."""
    return area(prefix, "staging", group, segment(dataset, "dataset")) + segment(sha256, "sha256") + suffix


def batch_key(prefix: str, group: str, job: str, token: str, *parts: str) -> str:
    """A key in the batch work area of one batch job's run (``parts`` e.g. ``"input", "part-00000.jsonl"``)."""
    return area(prefix, "batch", group, segment(job, "batch_job"), segment(token, "run_token")) + "/".join(parts)


def history_key(prefix: str, group: str, solution: str, version_id: str) -> str:
    """Key of one solution version's metric record."""
    version = segment(version_id, "solution_version_arn")
    return area(prefix, "history", group, segment(solution, "solution")) + f"{version}.json"


def gate_key(prefix: str, group: str, campaign: str, run_id: str) -> str:
    """Key of one gate decision (one per campaign and DAG run)."""
    return area(prefix, "gate", group, segment(campaign, "campaign")) + f"{segment(run_id, 'run_id')}.json"


def experiment_log_prefix(prefix: str, group: str, experiment: str, kind: str) -> str:
    """Where the application ships an experiment's logs: ``kind`` is ``exposures`` (lists shown) or ``events``
    (the PutEvents calls it made), JSON Lines files of any name under it."""
    return area(prefix, "exp_logs", group, segment(experiment, "experiment"), segment(kind, "log kind"))


def experiment_report_key(prefix: str, group: str, experiment: str, run_id: str) -> str:
    """Key of one experiment report (one per experiment and DAG run)."""
    return area(prefix, "exp_reports", group, segment(experiment, "experiment")) + f"{segment(run_id, 'run_id')}.json"


def lock_key(prefix: str, group: str) -> str:
    """Key of the dataset group's run lock (one active run of the retrain, incremental and deletion DAGs)."""
    return area(prefix, "cadence", group) + "lock.json"


def watermark_key(prefix: str, group: str, dataset: str) -> str:
    """Key of the incremental cadence's watermark of one dataset (the newest event timestamp imported)."""
    return area(prefix, "cadence", group, "watermark") + f"{segment(dataset, 'dataset')}.json"


def deny_list_key(prefix: str, group: str) -> str:
    """Key of the dataset group's deny-list: users deleted on request, left out of every later import."""
    return area(prefix, "privacy", group) + "deny-list.csv"


def deletion_input_key(prefix: str, group: str, job: str) -> str:
    """Key of one data deletion job's input file (a CSV with a single USER_ID column)."""
    return area(prefix, "privacy", group, "deletions", segment(job, "job")) + "users.csv"
