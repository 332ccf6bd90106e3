"""Server side of the Personalize UI page (plugins/personalize_ui.py registers it with Airflow)."""
