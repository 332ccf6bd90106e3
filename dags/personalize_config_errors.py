"""Airflow import errors for broken pipeline configs (no DAG is declared here).

Each pipeline config gives its own DAGs (personalize_ops.pipeline.registry). A config that does not load has no
DAGs, the other pipelines keep theirs, and this file fails to import with one ``<file>: <key>: <reason>`` line per
problem, so Airflow lists them under its import errors (UI, ``airflow dags list-import-errors``, REST API).
"""

from personalize_ops.pipeline import registry

registry.raise_for_broken()
