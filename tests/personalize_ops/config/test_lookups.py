"""What the tasks ask a loaded config: a filter by name, a quality rule's action, the alert channels of an event,
and the email addresses those channels accept."""

from __future__ import annotations

import copy

import pytest
from personalize_ops.config import ConfigError, load_config

from tests.personalize_ops.config.test_loading import write
from tests.personalize_ops.test_config_validators import RICH

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def loaded(tmp_path, change=lambda cfg: None):
    cfg = copy.deepcopy(RICH)
    change(cfg)
    return load_config(write(tmp_path, cfg))


def test_a_filter_is_found_by_its_name_and_an_unknown_name_is_not_invented(tmp_path):
    cfg = loaded(tmp_path)
    assert cfg.filter("f-cat").expression.startswith("INCLUDE ItemID WHERE Items.CATEGORY")
    assert cfg.filter("f-int").name == "f-int"
    with pytest.raises(StopIteration):
        cfg.filter("f-missing")


def test_a_rule_without_its_own_action_follows_on_fail(tmp_path):
    def quality(cfg):
        cfg["datasets"]["interactions"]["quality"] = {"on_fail": "quarantine", "rules": {"id_null": "fail"}}

    q = loaded(tmp_path, quality).datasets.interactions.quality
    assert (q.action("id_null"), q.action("ragged_row")) == ("fail", "quarantine")
    default = loaded(tmp_path).datasets.interactions.quality
    assert (default.action("id_null"), default.action("ragged_row")) == ("fail", "fail")


def test_an_event_goes_to_the_channels_that_list_it_sns_first(tmp_path):
    def notifications(cfg):
        cfg["notifications"] = {
            "sns": [{"topic_arn": TOPIC, "events": ["failure", "promoted"]}],
            "smtp": [{"to": "ops@example.com", "events": ["failure"]},
                     {"to": ["ml@example.com"], "events": ["promoted", "deletion"]}],
        }  # fmt: skip

    n = loaded(tmp_path, notifications).notifications
    assert [getattr(c, "topic_arn", None) or c.to for c in n.channels("failure")] == [TOPIC, ["ops@example.com"]]
    assert [getattr(c, "topic_arn", None) or c.to for c in n.channels("promoted")] == [TOPIC, ["ml@example.com"]]
    assert [c.to for c in n.channels("deletion")] == [["ml@example.com"]]
    assert n.channels("teardown") == [] and n.channels("not_promoted") == []


@pytest.mark.parametrize("address", ["ops@example.com", "first.last+tag@mail.example.co.uk", "a@b-c.io"])
def test_an_email_address_is_accepted_as_written(tmp_path, address):
    def smtp(cfg):
        cfg["notifications"] = {"smtp": [{"to": address, "from_email": address, "events": ["failure"]}]}

    channel = loaded(tmp_path, smtp).notifications.smtp[0]
    assert (channel.to, channel.from_email) == ([address], address)


NOT_EMAILS = ["ops", "ops@", "@example.com", "ops@example", "o ps@example.com", "<ops@example.com>",
              "a@example.com,b@example.com", "ops@exa_mple.com"]  # fmt: skip


@pytest.mark.parametrize("address", NOT_EMAILS)
def test_what_is_not_an_email_address_is_named_with_its_key(tmp_path, address):
    def smtp(cfg):
        cfg["notifications"] = {"smtp": [{"to": ["ok@example.com", address], "events": ["failure"]}]}

    with pytest.raises(ConfigError) as err:
        loaded(tmp_path, smtp)
    assert err.value.errors == [
        ("notifications.smtp[0].to[1]", f"{address!r} is not an email address (like name@example.com)")
    ]
