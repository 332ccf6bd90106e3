"""Task logic of the project's DAGs (retrain, batch export, teardown); the DAG files only wire it up."""
