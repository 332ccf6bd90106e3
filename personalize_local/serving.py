"""personalize-runtime and personalize-events semantics: campaigns that serve (filters, promotions, item metadata,
exploration, new items), PutEvents that change the next recommendation, PutItems/PutUsers that upsert rows.

What each request does, as the developer guide documents it (README "Known differences from AWS" lists where
this service still differs):
- GetRecommendations: `filterArn` applies to the recommended items, a promotion's filter to its promoted share
  (marked with `promotionName`); `metadataColumns` returns Items dataset columns per item when the campaign's
  campaignConfig.enableMetadataWithRecommendations is on (numResults then at most 50, else 500);
  user-personalization campaigns explore (campaignConfig.itemExplorationConfig, default weight 0.3 and 30 days)
  and recommend items added with PutItems since training (the automatic update, simulated at once);
  filters see the Items and Users data as they are now (Personalize updates filters with new data);
  `context` (checked against the API's shape) names categorical Interactions fields and their value of the
  moment; user-personalization and personalized-ranking rank items picked in that context higher.
- PutEvents: every event member is kept in the event log; events with only a sessionId personalize requests
  that pass that sessionId as the userId, and join a user's history for training once an event carries both.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import OrderedDict
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq

from personalize_local.aws_errors import InvalidInput, ResourceInUse, ResourceNotFound
from personalize_local.datasets import ARROW_TYPES, ID_FIELDS, field_types, parse_schema, write_rows
from personalize_local.paths import dataset_file, model_dir

MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
MAX_METADATA_COLUMNS = 10
#: PutEvents `properties` may not name these (case-insensitive), the API reference's Event.properties says.
RESERVED_PROPERTIES = ("userid", "sessionid", "eventtype", "timestamp", "recommendationid", "impression")
_REMEMBERED_RECOMMENDATIONS = 10_000


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
        self._current_models: dict[str, tuple] = {}  # solution version -> (data file stamps, current model, model)
        self._row_cache: dict[str, tuple] = {}  # dataset file -> (file stamp, rows, rows by id)
        self._paths: dict[tuple, tuple] = {}  # (dataset group, type) -> (its dataset file or None, checked at)
        self._recommended: OrderedDict[str, list[str]] = OrderedDict()  # recommendationId -> item ids
        self._recommended_by: dict[str, str] = {}  # recommendationId -> the campaign that returned it

    # -- runtime ----------------------------------------------------------------------------------------
    def get_recommendations(self, params: dict) -> dict:
        if params.get("recommenderArn"):
            raise InvalidInput("not implemented by personalize_local: recommenders (use a campaignArn)")
        if not params.get("campaignArn"):
            raise InvalidInput("campaignArn is required.")
        from personalize_local.engine.exploration import Exploration

        model, group, trained_at, campaign = self._campaign_model(params["campaignArn"])
        columns = self._metadata_columns(params, campaign, group)
        num_results = self._num_results(params.get("numResults", 25), columns)
        user = params.get("userId")
        recent = self.backend.events.recent(group, user, trained_at) if user else []
        model = self._current(model, campaign["solutionVersionArn"], group)
        exploration = None
        if model.recipe.explores:
            try:
                exploration = Exploration.from_config(
                    (campaign.get("campaignConfig") or {}).get("itemExplorationConfig")
                )
            except ValueError as exc:
                raise InvalidInput(f"Campaign {params['campaignArn']}: campaignConfig.{exc}") from exc
        item_filter = self._filter(params.get("filterArn"), params.get("filterValues"), group, model)
        promotion = self._promotion(params.get("promotions"), group, model)
        try:
            recs = model.recommendations(
                user_id=user,
                item_id=params.get("itemId"),
                num_results=num_results,
                item_filter=item_filter,
                recent_events=recent,
                exploration=exploration,
                promotion=promotion,
                seed=random.getrandbits(64),
                context=params.get("context"),
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        items = []
        for r in recs:
            entry = {"itemId": r.item_id, "score": r.score}
            if r.promotion:
                entry["promotionName"] = r.promotion
            items.append(entry)
        self._add_metadata(items, columns, group)
        rid = self._remember([r.item_id for r in recs], params["campaignArn"])
        return {"itemList": items, "recommendationId": rid}

    def get_personalized_ranking(self, params: dict) -> dict:
        model, group, trained_at, campaign = self._campaign_model(params["campaignArn"])
        model = self._current(model, campaign["solutionVersionArn"], group)
        columns = self._metadata_columns(params, campaign, group)
        user = params["userId"]
        try:
            ranked = model.rank(
                user,
                params["inputList"],
                item_filter=self._filter(params.get("filterArn"), params.get("filterValues"), group, model),
                recent_events=self.backend.events.recent(group, user, trained_at),
                context=params.get("context"),
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        items = [{"itemId": i, "score": s} for i, s in ranked]
        self._add_metadata(items, columns, group)
        rid = self._remember([i for i, _ in ranked], params["campaignArn"])
        return {"personalizedRanking": items, "recommendationId": rid}

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
            campaign = dict(campaign)
        if not trained:
            raise ResourceNotFound(f"Solution version {version_arn} has no trained model.")
        model = self._models.get(version_arn)
        if model is None:  # model directories are immutable: load (and stat) each one once
            if len(self._models) >= 16:  # versions come and go; drop the cache rather than grow
                self._models = {}
            model = self._models[version_arn] = load_model(model_dir(self.backend.data_dir, version_arn))
        return model, group, trained_at, campaign

    def _num_results(self, value, columns) -> int:
        limit = MAX_RESULTS_WITH_METADATA if columns else MAX_RESULTS
        if value > limit:
            why = " when metadataColumns are requested" if columns else ""
            raise InvalidInput(f"numResults is {value}; the maximum is {limit}{why}.")
        return value

    # -- filters and promotions -------------------------------------------------------------------------
    def _filter(self, filter_arn: str | None, values: dict | None, group: str, model, what: str = "filterArn"):
        """The request's filter bound to its values, checked as Personalize checks it; None without a filter."""
        if not filter_arn:
            return None
        with self.backend.store.lock:
            flt = self.backend.require(filter_arn, "Filter")
            expression, status, flt_group = flt["filterExpression"], flt.get("status"), flt["datasetGroupArn"]
        if status != "ACTIVE":
            raise InvalidInput(f"Filter {filter_arn} is {status}, not ACTIVE.")
        if flt_group != group:
            raise InvalidInput(
                f"Filter {filter_arn} belongs to {flt_group}, not to the campaign's dataset group {group}."
            )
        expr = _parsed_filter(expression)
        if expr.target != "ItemID":
            raise InvalidInput(
                f"{what} {filter_arn} filters {expr.target}s (user segments); recommendations take an ItemID filter."
            )
        if expr.uses_current_item and model.recipe.query != "itemId":
            raise InvalidInput(
                f"{what} {filter_arn} uses CurrentItem, which applies only to related-items recommendations "
                f"(an itemId request); {model.recipe_arn} recommends for a userId."
            )
        try:
            bound = expr.bind(values or {})
        except Exception as exc:  # noqa: BLE001 - engine reports bad filter values as errors
            raise InvalidInput(f"filterValues do not fit filter {filter_arn}: {exc}") from exc
        missing = bound.missing_include_values()
        if missing:
            raise InvalidInput(
                f"{what} {filter_arn}: filterValues has no value for {', '.join('$' + m for m in missing)}; an "
                "INCLUDE expression needs values for all its parameters."
            )
        return bound

    def _promotion(self, promotions: list | None, group: str, model):
        if not promotions:
            return None
        from personalize_local.engine.model import Promotion

        (promo,) = promotions  # the API allows one
        for member in ("name", "percentPromotedItems", "filterArn"):
            if promo.get(member) is None:
                raise InvalidInput(f"promotions[0].{member} is required.")
        item_filter = self._filter(
            promo["filterArn"], promo.get("filterValues"), group, model, what="promotions[0].filterArn"
        )
        return Promotion(promo["name"], int(promo["percentPromotedItems"]), item_filter)

    # -- item metadata ----------------------------------------------------------------------------------
    def _metadata_columns(self, params: dict, campaign: dict, group: str) -> list[str] | None:
        requested = params.get("metadataColumns")
        if not requested:
            return None
        if not (campaign.get("campaignConfig") or {}).get("enableMetadataWithRecommendations"):
            raise InvalidInput(
                f"metadataColumns: campaign {campaign['campaignArn']} does not return item metadata; enable it with "
                "campaignConfig.enableMetadataWithRecommendations (CreateCampaign or UpdateCampaign)."
            )
        unknown = sorted(set(requested) - {"ITEMS"})
        if unknown:
            raise InvalidInput(f"metadataColumns: {unknown} is not a dataset type with metadata; use ITEMS.")
        columns = list(requested["ITEMS"])
        if len(columns) > MAX_METADATA_COLUMNS:
            raise InvalidInput(
                f"metadataColumns.ITEMS names {len(columns)} columns; the maximum is {MAX_METADATA_COLUMNS}."
            )
        schema = self._items_schema(group)
        missing = [c for c in columns if c.upper() not in schema]
        if missing:
            raise InvalidInput(
                f"metadataColumns.ITEMS: {missing} are not columns of the Items dataset (it has {sorted(schema)})."
            )
        return columns

    def _dataset(self, group: str, dtype: str) -> dict | None:
        with self.backend.store.lock:
            found = [d for d in self.backend.linked("Dataset", "datasetGroupArn", group) if d["datasetType"] == dtype]
            return dict(found[0]) if found else None

    def _dataset_path(self, group: str, dtype: str):
        """Where the group's dataset of `dtype` keeps its rows (looked up once; None: no such dataset yet)."""
        path, checked = self._paths.get((group, dtype), (None, 0.0))
        if path is None and time.monotonic() - checked > 1.0:  # look again for a dataset created since
            dataset = self._dataset(group, dtype)
            path = dataset_file(self.backend.data_dir, dataset["datasetArn"]) if dataset else None
            self._paths[(group, dtype)] = (path, time.monotonic())
        return path

    def _items_schema(self, group: str) -> set[str]:
        dataset = self._dataset(group, "ITEMS")
        if dataset is None:
            return set()
        with self.backend.store.lock:
            schema = self.backend.require(dataset["schemaArn"], "Schema")["schema"]
        return {name.upper() for name in field_types(parse_schema(schema))} - {"ITEM_ID"}

    def _rows(self, group: str, dtype: str):
        """(file stamp, rows, rows by id) of the Items or Users dataset as it is now (imports and PutItems /
        PutUsers included), re-read when the file changes; Nones without rows."""
        path = self._dataset_path(group, dtype)
        try:
            st = path.stat() if path is not None else None
        except FileNotFoundError:
            st = None
        if st is None:
            return None, None, None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._row_cache.get(str(path))
        if cached is None or cached[0] != stamp:
            key = ID_FIELDS[dtype]
            frame = pq.read_table(path).to_pandas()
            frame[key] = frame[key].astype(str)
            frame = frame.drop_duplicates(key, keep="last").reset_index(drop=True)
            if len(self._row_cache) >= 16:
                self._row_cache = {}
            cached = self._row_cache[str(path)] = (stamp, frame, frame.set_index(key))
        return cached

    def _add_metadata(self, items: list[dict], columns: list[str] | None, group: str) -> None:
        """Each item's `metadata` {column: value as a string}, for the requested Items dataset columns."""
        if not columns:
            return
        _, _, by_id = self._rows(group, "ITEMS")
        if by_id is None:
            return
        names = {c.upper(): c for c in by_id.columns}
        for entry in items:
            if entry["itemId"] not in by_id.index:
                continue
            row = by_id.loc[entry["itemId"]]
            metadata = {}
            for column in columns:
                value = row.get(names.get(column.upper()))
                if value is not None and value == value:  # NaN != NaN: a missing value is left out
                    metadata[column] = _as_text(value)
            entry["metadata"] = metadata

    def _current(self, model, version_arn: str, group: str):
        """The model over the group's Items and Users data as they are now (filters see current metadata; a
        recipe that explores also recommends items added since training)."""
        item_stamp, items, _ = self._rows(group, "ITEMS")
        user_stamp, users, _ = self._rows(group, "USERS")
        stamp = (item_stamp, user_stamp)
        cached = self._current_models.get(version_arn)
        if cached is None or cached[0] != stamp or cached[2] is not model:
            if len(self._current_models) >= 16:
                self._current_models = {}
            current = model.with_data(items, users, new_items=model.recipe.explores)
            cached = self._current_models[version_arn] = (stamp, current, model)
        return cached[1]

    def _remember(self, item_ids: list[str], campaign_arn: str | None = None) -> str:
        """A new recommendationId; its items (for the implicit impressions of PutEvents) and its campaign (the
        attribution source of events that name it) are kept, bounded."""
        rid = f"RID-{uuid.uuid4()}"
        with self._write_lock:
            self._recommended[rid] = item_ids
            if campaign_arn:
                self._recommended_by[rid] = campaign_arn
            while len(self._recommended) > _REMEMBERED_RECOMMENDATIONS:
                old, _ = self._recommended.popitem(last=False)
                self._recommended_by.pop(old, None)
        return rid

    # -- events -----------------------------------------------------------------------------------------
    def put_events(self, params: dict) -> dict:
        tracking_id = params["trackingId"]
        with self.backend.store.lock:
            trackers = [t for t in self.backend.store.all("EventTracker") if t.get("trackingId") == tracking_id]
            if not trackers:
                raise ResourceNotFound(f"No event tracker has trackingId {tracking_id}.")
            group = trackers[0]["datasetGroupArn"]
        fields = self._interactions_fields(group)
        now = time.time()
        rows = []
        for n, e in enumerate(params["eventList"]):
            properties = _event_properties(e.get("properties"), n, fields)
            impression = e.get("impression")
            if impression is None and e.get("recommendationId"):
                impression = self._recommended.get(e["recommendationId"])  # implicit impressions
            rows.append(
                {
                    "grp": group,
                    "user_id": params.get("userId"),
                    "session_id": params["sessionId"],
                    "event_id": e.get("eventId"),
                    "item_id": e.get("itemId"),
                    "event_type": e["eventType"],
                    "event_value": e.get("eventValue"),
                    "sent_at": _epoch(e["sentAt"]),
                    "received_at": now,
                    "properties": json.dumps(properties) if properties else None,
                    "impression": "|".join(impression) if impression else None,
                    "recommendation_id": e.get("recommendationId"),
                    "attribution_source": (e.get("metricAttribution") or {}).get("eventAttributionSource"),
                    "recommendation_source": self._recommended_by.get(e.get("recommendationId") or ""),
                }
            )
        self.backend.events.add(rows)
        return {}

    def _interactions_fields(self, group: str) -> set[str] | None:
        """Field names of the group's Interactions schema (None: no interactions dataset yet)."""
        with self.backend.store.lock:
            found = [
                d
                for d in self.backend.linked("Dataset", "datasetGroupArn", group)
                if d["datasetType"] == "INTERACTIONS"
            ]
            if not found:
                return None
            schema = self.backend.require(found[0]["schemaArn"], "Schema")["schema"]
        return set(field_types(parse_schema(schema)))

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


def _event_properties(raw: str | None, n: int, fields: set[str] | None) -> dict:
    """PutEvents `properties` ({"numberOfRatings": "12"}) as interactions fields ({"NUMBER_OF_RATINGS": "12"})."""
    if raw is None:
        return {}
    try:
        props = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"eventList[{n}].properties is not JSON: {exc}") from exc
    if not isinstance(props, dict):
        raise InvalidInput(f'eventList[{n}].properties must be a JSON object, e.g. {{"numberOfRatings": "12"}}.')
    reserved = sorted(k for k in props if k.lower() in RESERVED_PROPERTIES)
    if reserved:
        raise InvalidInput(
            f"eventList[{n}].properties cannot name {reserved}: userId, sessionId, eventType, timestamp, "
            "recommendationId and impression are event members, not properties."
        )
    out = {field_name(k): v for k, v in props.items()}
    unknown = sorted(set(out) - fields) if fields is not None else []
    if unknown:
        raise InvalidInput(
            f"eventList[{n}].properties {unknown} are not fields of the Interactions schema {sorted(fields)}."
        )
    return out


def _as_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _epoch(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
