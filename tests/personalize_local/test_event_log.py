"""EventLog: the recent-events index answers like the SQLite query, survives a restart, forgets by group."""

from personalize_local.events import EventLog


def _row(group, user, item, received, event_type="click"):
    return (group, user, item, event_type, None, received - 1, received)


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
