"""Request gating of the HTTP layer: which Host names are served, how large a body may be, which content types.

The service has no authentication (like other local AWS emulators). These rules keep a web page in the
developer's browser from driving it: a page may send "simple" cross-origin POSTs (text/plain, form types) to
127.0.0.1 without a CORS preflight, and with DNS rebinding it may even read answers from a name it controls;
JSON content types are never "simple", and the Host header of a rebinding page names the attacker's domain.
"""

from __future__ import annotations

import os
import re

ALLOWED_HOSTS_ENV = "PERSONALIZE_LOCAL_ALLOWED_HOSTS"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
JSON_TYPES = frozenset({"application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1"})

# The largest request a boto3 client can legitimately send is a PutItems (or PutActions) batch: 10 records whose
# `properties` hold the maximum 32,000 characters, which botocore's json.dumps escapes to 6 bytes per non-ASCII
# character: ~1.9 MB. PutEvents tops out near 0.6 MB, GetPersonalizedRanking's 500 items near 0.8 MB, and every
# control-plane request of a real configuration stays far below (only an HPO config that filled every categorical
# range to its documented maximum would pass 10 MB). 4 MiB admits all of that with room; `--max-body-bytes`
# changes it.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{1,5})?")


def allowed_hosts(extra: list[str] | tuple[str, ...] = (), bind_address: str = "", environ=None) -> frozenset[str]:
    """Host names (lower case, without port) the service answers: the loopback names, the address it binds to
    (unless a wildcard), names given with `--allow-host`, and the comma-separated names of
    PERSONALIZE_LOCAL_ALLOWED_HOSTS (e.g. the Compose service name `personalize-local`)."""
    environ = os.environ if environ is None else environ
    names = {*LOCAL_HOSTS, *extra, *environ.get(ALLOWED_HOSTS_ENV, "").split(",")}
    if bind_address not in WILDCARD_ADDRESSES:
        names.add(bind_address)
    return frozenset(n.strip().lower().strip("[]") for n in names if n and n.strip())


def host_name(header: str | None) -> str | None:
    """The name in a Host header without its port ("[::1]:4567" -> "::1"); None if it is missing or malformed."""
    match = _HOST.fullmatch((header or "").strip().lower())
    if match is None:
        return None
    return match["v6"] or match["name"]


def media_type(header: str | None) -> str:
    """ "application/json; charset=utf-8" -> "application/json"."""
    return (header or "").split(";", 1)[0].strip().lower()
