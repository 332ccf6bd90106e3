"""The out-of-time holdout: cut, leakage rule, sample, truth and training file, on files small enough to check."""

import json

import numpy as np
import pandas as pd
import pytest
from personalize_ops.evaluation import holdout as H

DAY = 86400
T0 = 1_700_000_000


def write(tmp_path, rows, header="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE", name="interactions.csv"):
    p = tmp_path / name
    p.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return p


ROWS = [
    ("u1", "a", T0, "view"),
    ("u1", "b", T0 + 9 * DAY, "purchase"),  # after
    ("u1", "c", T0 + 9 * DAY + 5, "purchase"),
    ("u1", "b", T0 + 9 * DAY + 9, "purchase"),  # repeated: counted once
    ("u2", "a", T0 + 8 * DAY, "purchase"),  # only after: no history
    ("u3", "c", T0 + DAY, "purchase"),  # only before
    ("u4", "a", T0 + DAY, "view"),
    ("u4", "d", T0 + 9 * DAY, "view"),  # after, but not a relevant type when only purchases count
    ("u5", "a", T0 + 2 * DAY, "purchase"),
    ("u5", "a", T0 + 9 * DAY, "purchase"),  # after, but already in the history: dropped
    ("u6", "e", T0 + 9 * DAY + 1, "purchase"),  # after, listed before its earlier event
    ("u6", "d", T0 + 3 * DAY, "view"),
    ("u6", "f", T0 + 8 * DAY + 1, "view"),  # after (the cut is at 7 days + 10 s), not a purchase
]


def test_window_cut_sample_truth_and_training_file(tmp_path):
    path = write(tmp_path, ROWS)
    cut = H.find_cut(path, window_seconds=2 * DAY, has_champion=False)
    end = T0 + 9 * DAY + 9
    assert (cut.cutoff, cut.data_end, cut.data_start, cut.events) == (end + 1 - 2 * DAY, end, T0, len(ROWS))
    assert cut.leakage == "no champion" and cut.usable and cut.rule == "newest 2d"
    out = tmp_path / "train.csv"
    h, training = H.build_holdout(path, cut, sample_size=10, seed=1, event_types=["purchase"], training_out=out)
    assert h.candidates == 3 and h.dropped == 1  # u1, u5, u6 eligible; u5's only new item is in its history
    assert h.truth == {"u1": ("b", "c"), "u6": ("e",)}
    assert (h.events_before, h.events_after) == (5, 8)
    assert h.catalog_size == 3  # a, c, d before the cut
    before = pd.read_csv(out, dtype=str)
    assert list(before.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
    expected = pd.read_csv(path, dtype=str)
    expected = expected[expected.TIMESTAMP.astype(int) < cut.cutoff]
    assert before.values.tolist() == expected.values.tolist()
    assert training.rows == len(expected) and len(training.sha256) == 64


def test_every_event_type_counts_by_default(tmp_path):
    path = write(tmp_path, ROWS)
    cut = H.find_cut(path, window_seconds=2 * DAY, has_champion=False)
    h, training = H.build_holdout(path, cut, sample_size=10, seed=1)
    assert training is None
    assert h.truth == {"u1": ("b", "c"), "u4": ("d",), "u6": ("f", "e")} and h.event_types is None


def test_share_cut_counts_ties_as_after(tmp_path):
    rows = [(f"u{i % 7}", f"i{i}", T0 + i // 2, "view") for i in range(40)]  # two events per second
    path = write(tmp_path, rows)
    cut = H.find_cut(path, share=0.25, has_champion=False)
    ts = np.sort([r[2] for r in rows])
    assert cut.cutoff == ts[-10] and "0.25" in cut.rule  # the 10th newest event's second
    assert int((ts >= cut.cutoff).sum()) == 10
    cut = H.find_cut(path, share=0.26, has_champion=False)  # ceil(10.4) = 11 -> its second holds 12 events
    assert int((ts >= cut.cutoff).sum()) == 12


def test_share_cut_across_days_and_blocks(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    ts = T0 + rng.integers(0, 30 * DAY, 5000)
    rows = [(f"u{rng.integers(300)}", f"i{rng.integers(200)}", t, "view") for t in ts]
    path = write(tmp_path, rows)
    monkeypatch.setattr(H, "BLOCK_SIZE", 4096)  # many record batches
    for share in (0.01, 0.1, 0.5):
        cut = H.find_cut(path, share=share, has_champion=False)
        assert cut.cutoff == np.sort(ts)[-int(np.ceil(share * len(ts)))]


def test_sample_is_seeded_and_matches_an_independent_computation(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    n = 4000
    df = pd.DataFrame({
        "USER_ID": [f"u{x}" for x in rng.integers(0, 400, n)],
        "ITEM_ID": [f"i{x}" for x in rng.integers(0, 150, n)],
        "TIMESTAMP": T0 + rng.integers(0, 20 * DAY, n),
        "EVENT_TYPE": rng.choice(["view", "purchase"], n, p=[0.7, 0.3]),
    })  # fmt: skip
    path = tmp_path / "i.csv"
    df.to_csv(path, index=False)
    monkeypatch.setattr(H, "BLOCK_SIZE", 8192)
    cut = H.find_cut(path, window_seconds=5 * DAY, has_champion=False)
    h1, _ = H.build_holdout(path, cut, sample_size=50, seed=9, event_types=["purchase"])
    h2, _ = H.build_holdout(path, cut, sample_size=50, seed=9, event_types=["purchase"])
    h3, _ = H.build_holdout(path, cut, sample_size=50, seed=10, event_types=["purchase"])
    assert h1 == h2 and h1.users != h3.users

    before, after = df[df.TIMESTAMP < cut.cutoff], df[df.TIMESTAMP >= cut.cutoff]
    relevant = after[after.EVENT_TYPE == "purchase"]
    eligible = sorted(set(before.USER_ID) & set(relevant.USER_ID))
    assert h1.candidates == len(eligible) and len(h1.truth) + h1.dropped == 50
    assert h1.catalog_size == before.ITEM_ID.nunique()
    for user, items in h1.truth.items():
        seen = set(before[before.USER_ID == user].ITEM_ID)
        mine = relevant[relevant.USER_ID == user].reset_index().sort_values(["TIMESTAMP", "index"])
        assert list(items) == [i for i in dict.fromkeys(mine.ITEM_ID) if i not in seen]
    assert H.Holdout.from_dict(json.loads(json.dumps(h1.to_dict()))) == h1


def test_sample_smaller_than_asked_when_few_users_qualify(tmp_path):
    path = write(tmp_path, ROWS)
    cut = H.find_cut(path, window_seconds=2 * DAY, has_champion=False)
    h, _ = H.build_holdout(path, cut, sample_size=1, seed=0)
    assert len(h.truth) + h.dropped == 1 and h.candidates == 4


@pytest.mark.parametrize(
    ("trained_until", "rule", "leakage", "cutoff"),
    [
        (None, "shrink", "unknown", "requested"),
        (T0 + 5 * DAY, "shrink", "none", "requested"),
        (T0 + 8 * DAY + 100, "shrink", "shrunk", T0 + 8 * DAY + 101),
        (T0 + 8 * DAY + 100, "refuse", "refused", "requested"),
        (T0 + 9 * DAY + 9, "shrink", "refused", "requested"),  # the champion saw every event
    ],
)
def test_leakage_rule(tmp_path, trained_until, rule, leakage, cutoff):
    path = write(tmp_path, ROWS)
    cut = H.find_cut(path, window_seconds=2 * DAY, champion_trained_until=trained_until, leakage_rule=rule)
    requested = T0 + 9 * DAY + 10 - 2 * DAY
    assert cut.requested_cutoff == requested and cut.leakage == leakage
    assert cut.cutoff == (requested if cutoff == "requested" else cutoff)
    assert cut.usable == (leakage in ("none", "shrunk"))
    assert cut.champion_trained_until == trained_until
    assert H.Cut.from_dict(json.loads(json.dumps(cut.to_dict()))) == cut


def test_clear_errors_for_bad_files(tmp_path):
    with pytest.raises(H.HoldoutError, match=r"no TIMESTAMP column \(header: USER_ID, ITEM_ID\)"):
        H.find_cut(write(tmp_path, [("u", "i")], header="USER_ID,ITEM_ID"), window_seconds=DAY)
    bad = write(tmp_path, [("u1", "a", T0, "v"), ("u1", "b", "yesterday", "v")], name="bad.csv")
    with pytest.raises(H.HoldoutError, match=r"bad\.csv: line 3: TIMESTAMP .yesterday. is not whole epoch seconds"):
        H.find_cut(bad, window_seconds=DAY)
    no_types = write(tmp_path, [("u1", "a", T0), ("u1", "b", T0 + 5)], header="USER_ID,ITEM_ID,TIMESTAMP")
    cut = H.find_cut(no_types, window_seconds=3, has_champion=False)
    with pytest.raises(H.HoldoutError, match="event_types .*purchase.* no EVENT_TYPE column"):
        H.build_holdout(no_types, cut, sample_size=5, seed=0, event_types=["purchase"])
    with pytest.raises(H.HoldoutError, match="no events"):
        H.find_cut(write(tmp_path, [], name="empty.csv"), window_seconds=DAY)
    with pytest.raises(H.HoldoutError, match="no such file"):
        H.find_cut(tmp_path / "missing.csv", share=0.1)
    with pytest.raises(ValueError, match="exactly one"):
        H.find_cut(no_types, window_seconds=3, share=0.1)


def test_no_returning_user_gives_an_empty_holdout_not_an_error(tmp_path):
    path = write(tmp_path, [("u1", "a", T0), ("u2", "b", T0 + 100)], header="USER_ID,ITEM_ID,TIMESTAMP")
    cut = H.find_cut(path, window_seconds=50, has_champion=False)
    h, _ = H.build_holdout(path, cut, sample_size=5, seed=0)
    assert h.truth == {} and h.candidates == 0 and (h.events_before, h.events_after) == (1, 1)
    assert h.summary()["n_users"] == 0
