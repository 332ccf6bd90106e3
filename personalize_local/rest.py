"""REST-JSON routes of personalize-runtime and personalize-events, validated against their service models."""

from __future__ import annotations

from personalize_local.service_model import ServiceModel
from personalize_local.serving import Serving

_HANDLERS = {
    "personalize-runtime": {
        "GetRecommendations": "get_recommendations",
        "GetPersonalizedRanking": "get_personalized_ranking",
    },
    "personalize-events": {"PutEvents": "put_events", "PutItems": "put_items", "PutUsers": "put_users"},
}


def routes(backend) -> dict:
    """{(method, path): (operation, handler(params) -> dict)} for every operation of both services; the
    ones without a handler answer "not implemented by personalize_local"."""
    from personalize_local.aws_errors import NotImplementedOp

    serving = Serving(backend)
    table = {}
    for service, handlers in _HANDLERS.items():
        model = ServiceModel(service)
        for operation, spec in model.operations.items():
            method = getattr(serving, handlers[operation]) if operation in handlers else None

            def handler(params, operation=operation, model=model, method=method):
                if method is None:
                    raise NotImplementedOp(f"not implemented by personalize_local: {operation}")
                model.validate(operation, params)
                return method(params)

            table[(spec["http"]["method"], spec["http"]["requestUri"].rstrip("/"))] = (operation, handler)
    return table
