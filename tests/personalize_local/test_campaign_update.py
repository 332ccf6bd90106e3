"""UpdateCampaign switches the served solution version with no failed GetRecommendations during the switch."""

from __future__ import annotations

import threading
import time

from tests.personalize_local.helpers import wait_status


def test_update_campaign_switches_versions_without_a_failed_request(local_stack, sc, trained):
    up = sc.version(sc.solution(trained["group"], recipe="aws-user-personalization"))
    assert up["status"] == "ACTIVE", up
    campaign = sc.campaign(trained["version"])  # popularity-count first
    rt = local_stack.client("personalize-runtime")
    answers: list[tuple[str, ...]] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                recs = rt.get_recommendations(campaignArn=campaign, userId="u1", numResults=5)["itemList"]
                answers.append(tuple(r["itemId"] for r in recs))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                errors.append(exc)

    def wait_for_answers(count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(answers) < count and not errors:
            assert time.monotonic() < deadline, f"{len(answers)} of {count} answers after {timeout}s"
            time.sleep(0.01)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        wait_for_answers(20)
        before = answers[-1]
        sc.pz.update_campaign(campaignArn=campaign, solutionVersionArn=up["solutionVersionArn"])
        update = wait_status(lambda: sc.pz.describe_campaign(campaignArn=campaign)["campaign"], "latestCampaignUpdate")
        assert update["status"] == "ACTIVE", update
        wait_for_answers(len(answers) + 20)
        served = sc.pz.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"]
    finally:
        stop.set()
        thread.join(timeout=10)
        sc.pz.delete_campaign(campaignArn=campaign)
    assert not errors, errors[:3]
    assert served == up["solutionVersionArn"]
    assert answers[-1] != before  # the new version answers (u1's history is excluded by user-personalization)
