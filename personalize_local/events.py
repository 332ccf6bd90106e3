"""Events received through personalize-events PutEvents: durable (SQLite, WAL), per dataset group, with every
member of the request (sessionId, eventId, properties, impression, recommendationId, the metric attribution's
eventAttributionSource).

They feed two things: the `recent_events` of the next GetRecommendations/GetPersonalizedRanking for that
user (events received after the solution version was trained), and the next training, as interactions.
Anonymous events (a sessionId, no userId) count for requests that pass the sessionId as the userId; for
training they belong to the user of any event that carries both ids, else to the sessionId (the developer
guide, "Recording events for anonymous users").
Most requests are for users without new events: an in-memory map of each (group, user)'s newest receipt time
answers those without touching SQLite (or its lock) on the serving path.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pandas as pd

#: The columns of the events table, in order (a data dir from an earlier version gains the newer ones).
COLUMNS = (
    ("grp", "TEXT"),
    ("user_id", "TEXT"),
    ("item_id", "TEXT"),
    ("event_type", "TEXT"),
    ("event_value", "REAL"),
    ("sent_at", "REAL"),
    ("received_at", "REAL"),
    ("session_id", "TEXT"),
    ("event_id", "TEXT"),
    ("properties", "TEXT"),  # JSON object of interactions fields: {"NUMBER_OF_RATINGS": "12"}
    ("impression", "TEXT"),  # item ids joined by "|", as the IMPRESSION field holds them
    ("recommendation_id", "TEXT"),
    ("attribution_source", "TEXT"),
    ("recommendation_source", "TEXT"),  # the campaign that returned the event's recommendationId (if known)
)
NAMES = tuple(name for name, _ in COLUMNS)


class EventLog:
    def __init__(self, path: Path):
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS events ({', '.join(f'{n} {t}' for n, t in COLUMNS[:7])})")
        have = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        for name, kind in COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE events ADD COLUMN {name} {kind}")
        self._db.execute("CREATE INDEX IF NOT EXISTS events_user ON events (grp, user_id, received_at)")
        self._db.execute("CREATE INDEX IF NOT EXISTS events_session ON events (grp, session_id, received_at)")
        self._newest: dict[tuple[str, str], float] = {}
        for grp, key, newest in self._db.execute(
            "SELECT grp, COALESCE(user_id, session_id), MAX(received_at) FROM events WHERE item_id IS NOT NULL "
            "GROUP BY grp, COALESCE(user_id, session_id)"
        ):
            self._newest[(grp, key)] = newest

    def add(self, rows: list[dict]) -> None:
        """rows: {column: value} (COLUMNS; missing ones are NULL)."""
        with self._lock:
            self._db.executemany(
                f"INSERT INTO events ({', '.join(NAMES)}) VALUES ({', '.join('?' for _ in NAMES)})",
                [tuple(r.get(n) for n in NAMES) for r in rows],
            )
            for r in rows:
                if r.get("item_id") is not None:
                    key = (r["grp"], r.get("user_id") or r.get("session_id"))
                    self._newest[key] = max(r["received_at"], self._newest.get(key, r["received_at"]))

    def newest(self, group: str) -> float | None:
        """When the group's newest event with an item was received (None: no such event)."""
        times = [t for (grp, _), t in list(self._newest.items()) if grp == group]
        return max(times) if times else None

    def recent(self, group: str, user_id: str, since: float) -> list[tuple]:
        """[(item_id, event_type, sent_at)] received after `since` for `user_id`, or for the anonymous session of
        that id (events with only a sessionId), oldest first."""
        newest = self._newest.get((group, user_id))  # a dict read is atomic: no lock for the common case
        if newest is None or newest <= since:
            return []
        with self._lock:
            return self._db.execute(
                "SELECT item_id, event_type, sent_at FROM events WHERE grp = ? AND received_at > ? "
                "AND item_id IS NOT NULL AND (user_id = ? OR (user_id IS NULL AND session_id = ?)) "
                "ORDER BY received_at",
                (group, since, user_id, user_id),
            ).fetchall()

    def rows(self, group: str) -> pd.DataFrame:
        """Every event of the group as stored (COLUMNS), in the order received."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(NAMES)} FROM events WHERE grp = ? ORDER BY received_at, rowid", (group,)
            ).fetchall()
        return pd.DataFrame(rows, columns=list(NAMES))

    def last_rowid(self) -> int:
        """The newest event's row id (0: none yet): events after it are newer."""
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM events").fetchone()[0]

    def rows_after(self, group: str, rowid: int) -> tuple[int, list[dict]]:
        """(the newest row id, the group's events stored after ``rowid`` as {column: value}), oldest first."""
        with self._lock:
            found = self._db.execute(
                f"SELECT rowid, {', '.join(NAMES)} FROM events WHERE grp = ? AND rowid > ? ORDER BY rowid",
                (group, rowid),
            ).fetchall()
        if not found:
            return rowid, []
        return found[-1][0], [dict(zip(NAMES, row[1:], strict=True)) for row in found]

    def frame(self, group: str) -> pd.DataFrame:
        """The group's events with an item as interactions: USER_ID (anonymous sessions resolved as the module
        says), ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE, IMPRESSION, RECOMMENDATION_ID and the `properties`
        fields; two events with the same timestamp and identical properties count once, as Personalize keeps one."""
        events = self.rows(group)
        linked = events.dropna(subset=["user_id", "session_id"]).drop_duplicates("session_id", keep="last")
        owner = dict(zip(linked["session_id"], linked["user_id"], strict=True))
        events = events[events["item_id"].notna()]
        users = events["user_id"].where(events["user_id"].notna(), events["session_id"].map(owner))
        out = pd.DataFrame(
            {
                "USER_ID": users.fillna(events["session_id"]),
                "ITEM_ID": events["item_id"],
                "TIMESTAMP": events["sent_at"].astype("int64"),
                "EVENT_TYPE": events["event_type"],
                "EVENT_VALUE": events["event_value"],
                "IMPRESSION": events["impression"],
                "RECOMMENDATION_ID": events["recommendation_id"],
            }
        ).reset_index(drop=True)
        properties = pd.DataFrame([json.loads(p) if p else {} for p in events["properties"]])
        if len(properties.columns):
            out = pd.concat(
                [out, properties.drop(columns=[c for c in properties if c in out], errors="ignore")], axis=1
            )
        return out.drop_duplicates(ignore_index=True)

    def forget_users(self, group: str, user_ids: set[str]) -> int:
        """Delete the group's events of these users: with their userId, in anonymous sessions linked to one of
        them, or of an unlinked session of that id (it trains as a user of that name). Returns the count."""
        ids = sorted(user_ids)
        if not ids:
            return 0
        with self._lock:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM doomed")
            self._db.executemany("INSERT OR IGNORE INTO doomed VALUES (?)", [(i,) for i in ids])
            sessions = {
                row[0]
                for row in self._db.execute(
                    "SELECT DISTINCT session_id FROM events WHERE grp = ? AND session_id IS NOT NULL "
                    "AND user_id IN (SELECT id FROM doomed)",
                    (group,),
                )
            }
            self._db.executemany("INSERT OR IGNORE INTO doomed VALUES (?)", [(s,) for s in sessions])
            removed = self._db.execute(
                "DELETE FROM events WHERE grp = ? AND (user_id IN (SELECT id FROM doomed) OR "
                "(user_id IS NULL AND session_id IN (SELECT id FROM doomed)))",
                (group,),
            ).rowcount
            gone = set(ids) | sessions
            self._newest = {k: v for k, v in self._newest.items() if not (k[0] == group and k[1] in gone)}
            self._db.execute("DELETE FROM doomed")
        return removed

    def forget(self, group: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM events WHERE grp = ?", (group,))
            self._newest = {k: v for k, v in self._newest.items() if k[0] != group}

    def close(self) -> None:
        with self._lock:
            self._db.close()
