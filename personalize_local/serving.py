"""personalize-runtime and personalize-events semantics: campaigns that serve, filters that filter,
PutEvents that change the next recommendation, PutItems/PutUsers that upsert dataset rows."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from functools import lru_cache

import pyarrow as pa

from personalize_local.aws_errors import InvalidInput, ResourceInUse, ResourceNotFound
from personalize_local.datasets import ARROW_TYPES, ID_FIELDS, field_types, parse_schema, write_rows
from personalize_local.paths import dataset_file, model_dir


@lru_cache(maxsize=256)
def _parsed_filter(expression: str):
    from personalize_local.engine import parse_filter

    return parse_filter(expression)


def field_name(prop: str) -> str:
    """AWS maps camelCase property names to schema fields: numberOfRatings -> NUMBER_OF_RATINGS."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", prop).upper()


class Serving:
    """Runtime and events operations over the backend's state (validated params in, response dict out)."""

    def __init__(self, backend):
        self.backend = backend
        self._write_lock = threading.Lock()
        self._models: dict[str, object] = {}

    # -- runtime ----------------------------------------------------------------------------------------
    def get_recommendations(self, params: dict) -> dict:
        if params.get("recommenderArn"):
            raise InvalidInput("not implemented by personalize_local: recommenders (use a campaignArn)")
        if not params.get("campaignArn"):
            raise InvalidInput("campaignArn is required.")
        model, group, trained_at = self._campaign_model(params["campaignArn"])
        user = params.get("userId")
        recent = self.backend.events.recent(group, user, trained_at) if user else []
        item_filter = self._filter(params, group)
        try:
            recs = model.recommend(
                user_id=user,
                item_id=params.get("itemId"),
                num_results=params.get("numResults", 25),
                item_filter=item_filter,
                recent_events=recent,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        return {"itemList": [{"itemId": i, "score": s} for i, s in recs], "recommendationId": _rid()}

    def get_personalized_ranking(self, params: dict) -> dict:
        model, group, trained_at = self._campaign_model(params["campaignArn"])
        user = params["userId"]
        try:
            ranked = model.rank(
                user,
                params["inputList"],
                item_filter=self._filter(params, group),
                recent_events=self.backend.events.recent(group, user, trained_at),
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        return {
            "personalizedRanking": [{"itemId": i, "score": s} for i, s in ranked],
            "recommendationId": _rid(),
        }

    def _campaign_model(self, campaign_arn: str):
        from personalize_local.engine import load_model

        with self.backend.store.lock:
            campaign = self.backend.require(campaign_arn, "Campaign")
            if campaign.get("status") != "ACTIVE":
                raise ResourceNotFound(f"Campaign {campaign_arn} is {campaign.get('status')}, not ACTIVE.")
            version_arn = campaign["solutionVersionArn"]
            version = self.backend.require(version_arn, "SolutionVersion")
            trained, trained_at = version.get("_model_dir"), version["lastUpdatedDateTime"]
            group = campaign["_ancestors"]["datasetGroupArn"]
        if not trained:
            raise ResourceNotFound(f"Solution version {version_arn} has no trained model.")
        model = self._models.get(version_arn)
        if model is None:  # model directories are immutable: load (and stat) each one once
            if len(self._models) >= 16:  # versions come and go; drop the cache rather than grow
                self._models = {}
            model = self._models[version_arn] = load_model(model_dir(self.backend.data_dir, version_arn))
        return model, group, trained_at

    def _filter(self, params: dict, group: str):
        if not params.get("filterArn"):
            return None
        with self.backend.store.lock:
            flt = self.backend.require(params["filterArn"], "Filter")
            expression, status, flt_group = flt["filterExpression"], flt.get("status"), flt["datasetGroupArn"]
        if status != "ACTIVE":
            raise InvalidInput(f"Filter {params['filterArn']} is {status}, not ACTIVE.")
        if flt_group != group:
            raise InvalidInput(
                f"Filter {params['filterArn']} belongs to {flt_group}, not to the campaign's dataset group {group}."
            )
        try:
            return _parsed_filter(expression).bind(params.get("filterValues") or {})
        except Exception as exc:  # noqa: BLE001 - engine reports bad filter values as errors
            raise InvalidInput(f"filterValues do not fit filter {params['filterArn']}: {exc}") from exc

    # -- events -----------------------------------------------------------------------------------------
    def put_events(self, params: dict) -> dict:
        tracking_id = params["trackingId"]
        with self.backend.store.lock:
            trackers = [t for t in self.backend.store.all("EventTracker") if t.get("trackingId") == tracking_id]
            if not trackers:
                raise ResourceNotFound(f"No event tracker has trackingId {tracking_id}.")
            group = trackers[0]["datasetGroupArn"]
        user = params.get("userId") or params["sessionId"]
        now = time.time()
        rows = [
            (group, user, e.get("itemId"), e["eventType"], e.get("eventValue"), _epoch(e["sentAt"]), now)
            for e in params["eventList"]
        ]
        self.backend.events.add(rows)
        return {}

    def put_items(self, params: dict) -> dict:
        return self._put_rows(params["datasetArn"], "ITEMS", "itemId", params["items"])

    def put_users(self, params: dict) -> dict:
        return self._put_rows(params["datasetArn"], "USERS", "userId", params["users"])

    def _put_rows(self, dataset_arn: str, dtype: str, id_member: str, records: list) -> dict:
        id_field = ID_FIELDS[dtype]
        with self.backend.store.lock:
            dataset = self.backend.require(dataset_arn, "Dataset")
            if dataset["datasetType"] != dtype:
                raise InvalidInput(f"{dataset_arn} is a {dataset['datasetType']} dataset, not {dtype}.")
            if dataset.get("status") != "ACTIVE":
                raise ResourceInUse(f"Dataset {dataset_arn} is {dataset.get('status')}, not ACTIVE.")
            fields = parse_schema(self.backend.require(dataset["schemaArn"], "Schema")["schema"])
        types = {name: base for name, (base, _) in field_types(fields).items()}
        columns: dict[str, list] = {name: [] for name in types}
        for n, record in enumerate(records):
            try:
                props = json.loads(record.get("properties") or "{}")
            except ValueError as exc:
                raise InvalidInput(f"{id_member} {record[id_member]}: properties is not JSON: {exc}") from exc
            row = {field_name(k): v for k, v in props.items()}
            unknown = sorted(set(row) - set(types))
            if unknown:
                raise InvalidInput(
                    f"record {n + 1} ({record[id_member]}): properties {unknown} are not fields "
                    f"of the dataset schema {sorted(types)}"
                )
            row[id_field] = record[id_member]
            for name in types:
                columns[name].append(row.get(name))
        try:
            table = pa.table({n: pa.array(v, type=ARROW_TYPES[types[n]]) for n, v in columns.items()})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInput(f"property values do not match the schema types {types}: {exc}") from exc
        with self._write_lock:
            write_rows(dataset_file(self.backend.data_dir, dataset_arn), table, "INCREMENTAL", id_field)
        return {}


def _rid() -> str:
    return f"RID-{uuid.uuid4()}"


def _epoch(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
