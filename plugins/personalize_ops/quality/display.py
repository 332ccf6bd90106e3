"""How data values appear in log and exception messages: every value bounded, identifiers masked.

Messages end up in task logs, which live apart from the data and are read by more people. So by default an
identifier value (USER_ID, ITEM_ID, SESSION_ID, any field named ``*_ID``, and the source columns they come
from) is shown as ``<masked N chars #a1b2c3>``: its length and a 6-hex-digit token of a keyed hash whose key is
drawn at random per process. Equal values share a token within one run, but a token cannot be reversed by
hashing guessed IDs. A raw source line (a row that could not be parsed, so its fields cannot be told apart)
has every character of every value shown as ``*``; separators, quotes and line breaks stay visible, so the shape
of the row (e.g. a trailing tab) shows. ``quality.show_values_in_logs: true`` shows the values. The quarantine
file and the GX reports, written next to the data, always hold full rows.

Each shown value is cut to ``MAX_VALUE_CHARS`` (an ellipsis and the original length mark the cut), a raw line
to ``MAX_RAW_CHARS``, and a message shows at most ``MAX_EXAMPLES`` example rows (or values) per rule.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

MAX_VALUE_CHARS = 80
MAX_RAW_CHARS = 200
MAX_EXAMPLES = 3
ID_NAMES = frozenset({"USER_ID", "ITEM_ID", "SESSION_ID"})
_KEY = secrets.token_bytes(16)


def is_identifier(field: str) -> bool:
    name = field.upper()
    return name in ID_NAMES or name.endswith("_ID")


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis and the original length."""
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


def mask(value) -> str:
    text = value if isinstance(value, str) else str(value)
    token = hmac.new(_KEY, text.encode("utf-8", "surrogatepass"), "sha256").hexdigest()[:6]
    return f"<masked {len(text)} chars #{token}>"


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Display:
    """Formats values of one dataset for messages (see the module docstring)."""

    identifiers: frozenset[str] = frozenset()
    show: bool = False

    @classmethod
    def for_dataset(cls, ds) -> Display:
        ids = {name for f in ds.fields if is_identifier(f.name) for name in (f.name, f.column)}
        return cls(frozenset(ids), ds.quality.show_values_in_logs)

    def value(self, column: str, value):
        if value is None or isinstance(value, bool | int | float):
            return value
        if column in self.identifiers and not self.show:
            return mask(_text(value))
        return shorten(_text(value))

    def values(self, column: str, values) -> list:
        return [self.value(column, v) for v in list(values)[:MAX_EXAMPLES]]

    def row(self, row: dict) -> dict:
        return {k: self.value(k, v) for k, v in row.items()}

    def raw(self, text: str, sep: str = ",") -> str:
        """A raw source line, quoted with escapes (a trailing tab shows as \\t), cut to ``MAX_RAW_CHARS``."""
        text = _text(text)
        cut = text[:MAX_RAW_CHARS]
        if not self.show:
            cut = re.sub(f'[^{re.escape(sep)}"\\r\\n]', "*", cut)
        more = f"...({len(text)} chars)" if len(text) > MAX_RAW_CHARS else ""
        return repr(cut) + more
