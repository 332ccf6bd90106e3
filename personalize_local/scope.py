"""The region a request is for: the signing region of its SigV4 `Authorization` header, per request thread.

AWS serves each region at its own endpoint and a client signs for that region; this one endpoint serves every
region, so the credential scope (`Credential=<key>/<date>/<region>/<service>/aws4_request`) says which one a
request is for. Unsigned requests, and code outside a request (job runners, the ticker), use DEFAULT_REGION.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from personalize_local.kinds import DEFAULT_REGION

_REGION: ContextVar[str] = ContextVar("personalize_local_region", default=DEFAULT_REGION)
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z]{2}(?:-[a-z]+)+-\d+)/[^/,\s]+/aws4_request")


def signing_region(authorization: str | None) -> str | None:
    """The region of a SigV4 Authorization header's credential scope, or None (unsigned, or another scheme)."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else None


def current_region() -> str:
    return _REGION.get()


@contextmanager
def request_region(region: str | None) -> Iterator[str]:
    """Run the block as a request for `region` (DEFAULT_REGION when None)."""
    token = _REGION.set(region or DEFAULT_REGION)
    try:
        yield _REGION.get()
    finally:
        _REGION.reset(token)
