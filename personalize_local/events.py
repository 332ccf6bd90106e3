"""Events received through personalize-events PutEvents: durable (SQLite, WAL), per dataset group.

They feed two things: the `recent_events` of the next GetRecommendations/GetPersonalizedRanking for that
user (events received after the solution version was trained), and the next training, as interactions.
Most requests are for users without new events: an in-memory map of each (group, user)'s newest receipt time
answers those without touching SQLite (or its lock) on the serving path.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pandas as pd


class EventLog:
    def __init__(self, path: Path):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events (grp TEXT, user_id TEXT, item_id TEXT, event_type TEXT, "
            "event_value REAL, sent_at REAL, received_at REAL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS events_user ON events (grp, user_id, received_at)")
        self._newest: dict[tuple[str, str], float] = {
            (grp, user): newest
            for grp, user, newest in self._db.execute(
                "SELECT grp, user_id, MAX(received_at) FROM events WHERE item_id IS NOT NULL GROUP BY grp, user_id"
            )
        }

    def add(self, rows: list[tuple]) -> None:
        """rows: (group, user_id, item_id, event_type, event_value, sent_at, received_at)."""
        with self._lock:
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            for grp, user, item, *_, received in rows:
                if item is not None:
                    key = (grp, user)
                    self._newest[key] = max(received, self._newest.get(key, received))

    def recent(self, group: str, user_id: str, since: float) -> list[tuple]:
        """[(item_id, event_type, sent_at)] of the user received after `since`, oldest first."""
        newest = self._newest.get((group, user_id))  # a dict read is atomic: no lock for the common case
        if newest is None or newest <= since:
            return []
        with self._lock:
            return self._db.execute(
                "SELECT item_id, event_type, sent_at FROM events WHERE grp = ? AND user_id = ? "
                "AND received_at > ? AND item_id IS NOT NULL ORDER BY received_at",
                (group, user_id, since),
            ).fetchall()

    def frame(self, group: str) -> pd.DataFrame:
        """All events of the group as interactions (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, item_id, CAST(sent_at AS INTEGER), event_type, event_value FROM events "
                "WHERE grp = ? AND item_id IS NOT NULL ORDER BY received_at",
                (group,),
            ).fetchall()
        return pd.DataFrame(rows, columns=["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"])

    def forget(self, group: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events WHERE grp = ?", (group,))
            self._newest = {k: v for k, v in self._newest.items() if k[0] != group}

    def close(self) -> None:
        with self._lock:
            self._db.close()
