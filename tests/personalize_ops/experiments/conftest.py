"""Campaigns on the session's local stack for the tests that serve real traffic."""

from __future__ import annotations

import pytest

from tests.personalize_local.helpers import Scenario, uid, wait_status


@pytest.fixture(scope="session")
def served(local_stack) -> tuple[dict[str, str], str]:
    """({"champion": popularity campaign ARN, "challenger": user-personalization campaign ARN}, tracking id) over
    one group of synthetic interactions (users u0..u59, items i0..i39)."""
    sc = Scenario(local_stack)
    group, _bucket = sc.populated_group()
    campaigns = {}
    for variant, recipe in (("champion", "aws-popularity-count"), ("challenger", "aws-user-personalization")):
        version = sc.version(sc.solution(group, recipe=recipe))
        assert version["status"] == "ACTIVE", version
        campaigns[variant] = sc.campaign(version["solutionVersionArn"])
    tracker = sc.pz.create_event_tracker(name=uid("trk"), datasetGroupArn=group)
    wait_status(lambda: sc.pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker")
    return campaigns, tracker["trackingId"]
