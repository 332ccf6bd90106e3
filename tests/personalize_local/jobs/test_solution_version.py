"""Solution version jobs: training on the group's imported rows; what the job says when it cannot train."""

from __future__ import annotations

from tests.personalize_local.helpers import interactions_csv, make_bucket, put


def test_a_group_without_imported_interactions_fails_with_the_reason(sc):
    group = sc.group()
    sc.dataset(group)  # a dataset without any import
    version = sc.version(sc.solution(group))
    assert version["status"] == "CREATE FAILED", version
    assert "has no imported interactions data" in version["failureReason"]


def test_update_without_an_active_version_fails_with_the_reason(sc):
    group = sc.group()
    bucket = make_bucket(sc.s3)
    job = sc.import_job(sc.dataset(group), put(sc.s3, bucket, "in/interactions.csv", interactions_csv()))
    assert job["status"] == "ACTIVE", job
    version = sc.version(sc.solution(group, recipe="aws-user-personalization"), trainingMode="UPDATE")
    assert version["status"] == "CREATE FAILED", version
    assert "needs an ACTIVE solution version" in version["failureReason"]


def test_too_few_interactions_for_the_event_type_fails_with_aws_words(sc):
    group, _ = sc.populated_group()
    version = sc.version(sc.solution(group, eventType="purchase"))
    assert version["status"] == "CREATE FAILED", version
    assert "after filtering by event type: purchase" in version["failureReason"]
