"""Durable resource state: one SQLite table (WAL) of JSON documents, mirrored in memory for fast reads.

All mutation goes through `put`/`remove` under `lock` (writes are serialized); readers take the same lock
briefly, so concurrent HTTP worker threads always see whole documents.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from pathlib import Path


class Store:
    """Resource documents keyed by ARN. Internal keys start with "_" ("_kind", "_ancestors", "_tags", ...)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS resources (arn TEXT PRIMARY KEY, kind TEXT, doc TEXT)")
        self._docs: dict[str, dict] = {
            arn: json.loads(doc) for arn, doc in self._db.execute("SELECT arn, doc FROM resources")
        }

    def get(self, arn: str) -> dict | None:
        """A deep copy of the document (callers may mutate it and `put` it back)."""
        with self.lock:
            doc = self._docs.get(arn)
            return copy.deepcopy(doc) if doc is not None else None

    def peek(self, arn: str) -> dict | None:
        """The stored document itself, read-only, for callers already holding `lock`."""
        return self._docs.get(arn)

    def all(self, kind: str | None = None) -> list[dict]:
        """Stored documents (not copies) of one kind, or all; hold `lock` while using them."""
        with self.lock:
            return [d for d in self._docs.values() if kind is None or d["_kind"] == kind]

    def put(self, arn: str, doc: dict) -> None:
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?)", (arn, doc["_kind"], json.dumps(doc))
            )
            self._docs[arn] = doc

    def remove(self, arn: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM resources WHERE arn = ?", (arn,))
            self._docs.pop(arn, None)

    def close(self) -> None:
        with self.lock:
            self._db.close()
