"""Airflow plugin: the "Personalize" page (metric history, campaigns, gate decisions) in the Airflow UI.

Served by the API server under /personalize; the nav entry embeds it. Routes require an Airflow JWT
(bearer header or the UI's ``_token`` cookie), see personalize_ui_app/auth.py.
"""

from airflow.plugins_manager import AirflowPlugin
from personalize_ui_app.app import create_app

URL_PREFIX = "/personalize"


class PersonalizeUIPlugin(AirflowPlugin):
    name = "personalize_ui"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Amazon Personalize"}]
    external_views = [
        {
            "name": "Personalize",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "personalize",
        }
    ]
