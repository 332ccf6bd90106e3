"""EventLog: the recent-events index answers like the SQLite query, survives a restart, forgets by group; anonymous
sessions; every PutEvents member kept; the training frame."""

import json
import sqlite3

from personalize_local.events import EventLog


def _row(group, user, item, received, event_type="click", session="s0", **more):
    return {
        "grp": group,
        "user_id": user,
        "session_id": session,
        "item_id": item,
        "event_type": event_type,
        "sent_at": received - 1,
        "received_at": received,
        **more,
    }


def test_recent_events_index(tmp_path):
    path = tmp_path / "events.sqlite"
    log = EventLog(path)
    assert log.recent("g1", "u1", 0.0) == []
    log.add([_row("g1", "u1", "i1", 100.0), _row("g1", "u1", "i2", 200.0), _row("g1", "u2", None, 300.0)])
    log.add([_row("g2", "u1", "i9", 150.0, "watch")])

    assert log.recent("g1", "u1", 0.0) == [("i1", "click", 99.0), ("i2", "click", 199.0)]
    assert log.recent("g1", "u1", 100.0) == [("i2", "click", 199.0)]
    assert log.recent("g1", "u1", 200.0) == []  # nothing newer than the model
    assert log.recent("g1", "u2", 0.0) == []  # events without an item never count
    assert log.recent("g2", "u1", 0.0) == [("i9", "watch", 149.0)]
    log.close()

    reopened = EventLog(path)  # the index is rebuilt from SQLite
    assert reopened.recent("g1", "u1", 150.0) == [("i2", "click", 199.0)]
    reopened.forget("g1")
    assert reopened.recent("g1", "u1", 0.0) == []
    assert reopened.recent("g2", "u1", 0.0) == [("i9", "watch", 149.0)]
    reopened.add([_row("g1", "u1", "i3", 400.0)])
    assert reopened.recent("g1", "u1", 0.0) == [("i3", "click", 399.0)]
    reopened.close()


def test_anonymous_sessions_count_for_their_session_id_and_join_a_user_once_linked(tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    log.add([_row("g", None, "i1", 100.0, session="s1"), _row("g", None, "i2", 110.0, session="s1")])
    log.add([_row("g", None, "i7", 120.0, session="s9")])
    assert log.recent("g", "s1", 0.0) == [("i1", "click", 99.0), ("i2", "click", 109.0)]
    assert log.recent("g", "u1", 0.0) == []  # not the user's yet, in real time or in training
    assert set(log.frame("g")["USER_ID"]) == {"s1", "s9"}
    log.add([_row("g", "u1", "i3", 200.0, session="s1")])  # the user logs in: one event carries both ids
    frame = log.frame("g")
    assert frame.groupby("USER_ID")["ITEM_ID"].apply(list).to_dict() == {"u1": ["i1", "i2", "i3"], "s9": ["i7"]}
    assert log.recent("g", "u1", 0.0) == [("i3", "click", 199.0)]  # real time: the history joins at training
    assert log.recent("g", "s1", 0.0) == [("i1", "click", 99.0), ("i2", "click", 109.0)]
    log.close()


def test_every_member_is_kept_and_the_frame_has_the_fields(tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    extra = {
        "event_id": "e1",
        "properties": json.dumps({"NUMBER_OF_RATINGS": "12"}),
        "impression": "i1|i2|i3",
        "recommendation_id": "RID-1",
        "attribution_source": "email",
        "event_value": 4.5,
    }
    log.add([_row("g", "u1", "i1", 100.0, **extra), _row("g", "u1", "i1", 100.0, **extra)])
    log.add([_row("g", "u1", None, 101.0)])
    stored = log.rows("g").iloc[0].to_dict()
    assert {k: stored[k] for k in extra} == extra and stored["session_id"] == "s0"
    frame = log.frame("g")
    assert len(frame) == 1  # same timestamp, identical properties: kept once; events without an item: none
    assert frame.iloc[0][["IMPRESSION", "RECOMMENDATION_ID", "NUMBER_OF_RATINGS", "EVENT_VALUE"]].tolist() == [
        "i1|i2|i3",
        "RID-1",
        "12",
        4.5,
    ]
    log.close()


def test_a_data_dir_from_before_gains_the_new_columns(tmp_path):
    path = tmp_path / "events.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE events (grp TEXT, user_id TEXT, item_id TEXT, event_type TEXT, event_value REAL, "
        "sent_at REAL, received_at REAL)"
    )
    db.execute("INSERT INTO events VALUES ('g', 'u1', 'i1', 'click', NULL, 99, 100)")
    db.commit()
    db.close()
    log = EventLog(path)
    assert log.recent("g", "u1", 0.0) == [("i1", "click", 99.0)]
    log.add([_row("g", "u1", "i2", 200.0, recommendation_id="RID-2")])
    assert log.rows("g")["recommendation_id"].fillna("-").tolist() == ["-", "RID-2"]
    log.close()
