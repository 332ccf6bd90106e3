"""Unit checks of the trigger (serialization) and console links (AWS and local)."""

import pytest
from airflow.triggers.base import BaseTrigger
from personalize_ops.links import PersonalizeConsoleLink, console_url
from personalize_ops.triggers import PersonalizeResourceTrigger

ARN = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/movies"


@pytest.mark.parametrize("target", ["active", "deleted"])
def test_trigger_serialize_deserialize_round_trip(target):
    trigger = PersonalizeResourceTrigger(
        kind="dataset_group",
        arn=ARN,
        target=target,
        waiter_delay=3,
        waiter_max_attempts=7,
        aws_conn_id="pz",
        region_name="eu-west-1",
        botocore_config={"retries": {"max_attempts": 3}},
    )
    path, kwargs = trigger.serialize()
    assert path == "personalize_ops.triggers.PersonalizeResourceTrigger"
    module, cls_name = path.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[cls_name]), cls_name)
    again = cls(**kwargs)
    assert isinstance(again, BaseTrigger)
    assert again.serialize() == (path, kwargs)
    assert again.waiter_name == ("DatasetGroupActive" if target == "active" else "DatasetGroupDeleted")
    assert again.waiter_args == {"datasetGroupArn": ARN}
    assert again.return_value == {"kind": "dataset_group", "arn": ARN, "target": target}
    assert (again.waiter_delay, again.attempts, again.aws_conn_id) == (3, 7, "pz")


def test_trigger_rejects_a_target_the_kind_does_not_have():
    with pytest.raises(ValueError, match="no 'deleted' waiter"):
        PersonalizeResourceTrigger(kind="dataset_import_job", arn=ARN, target="deleted")


def test_aws_console_link():
    url = PersonalizeConsoleLink().format_link(arn=ARN, region_name="eu-west-1", aws_domain="aws.amazon.com")
    assert url.startswith("https://eu-west-1.console.aws.amazon.com/personalize/home?region=eu-west-1#")
    assert url.endswith(ARN)


def test_local_link_points_at_the_admin_describe_page():
    url = PersonalizeConsoleLink().format_link(
        arn=ARN, region_name="us-east-1", aws_domain="aws.amazon.com", endpoint_url="http://127.0.0.1:4567/"
    )
    assert url == (
        "http://127.0.0.1:4567/_admin/describe?arn=arn%3Aaws%3Apersonalize%3Aeu-west-1%3A123456789012"
        "%3Adataset-group%2Fmovies"
    )


def test_link_without_arn_is_empty():
    assert console_url("", "us-east-1") == ""


def test_hook_retries_by_default_and_a_given_config_wins():
    from personalize_ops.hook import DEFAULT_RETRIES, PersonalizeHook

    assert PersonalizeHook(aws_conn_id=None, region_name="us-east-1").config.retries == DEFAULT_RETRIES
    mine = {"mode": "adaptive", "max_attempts": 3}
    hook = PersonalizeHook(aws_conn_id=None, region_name="us-east-1", config={"retries": mine})
    assert hook.config.retries == mine


def test_ensure_operator_rejects_unknown_kinds_and_solution_versions_at_parse_time():
    from personalize_ops.operators import PersonalizeEnsureResourceOperator

    with pytest.raises(ValueError, match="known kinds: dataset_group"):
        PersonalizeEnsureResourceOperator(task_id="x", kind="datasetgroup", name="n")
    with pytest.raises(ValueError, match="PersonalizeCreateSolutionVersionOperator"):
        PersonalizeEnsureResourceOperator(task_id="x", kind="solution_version", name="n")
