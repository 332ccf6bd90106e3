"""The shortcuts tests/fixtures/airflow.py gives the AWS clients made in process: the frame-walking caller lookup
answers as the provider's own ``inspect.stack()`` lookup does, and the shared botocore cache holds the models a
fresh loader reads."""

from __future__ import annotations

from tests.fixtures.airflow import _find_executor_class_name, _find_operator_class_name


def _both(provider, target: str):
    find_operator, find_executor = provider
    return (find_operator(target), find_executor()), (_find_operator_class_name(target), _find_executor_class_name())


class Operator:
    def execute(self, provider, target="execute"):
        return _both(provider, target)


class Sensor:
    def poke(self, provider):
        return Operator().execute(provider, "poke")


def test_same_answer_inside_an_operator_a_sensor_and_outside_any(frame_walking_aws_caller):
    provider = frame_walking_aws_caller
    ours, theirs = Operator().execute(provider)
    assert ours == theirs and ours[0] == "Operator"
    ours, theirs = Sensor().poke(provider)
    assert ours == theirs and ours[0] == "Sensor"
    ours, theirs = _both(provider, "execute")
    assert ours == theirs and ours[0] is None


def test_same_answer_under_an_executor_module(frame_walking_aws_caller):
    """No operator frame: the last class among the globals of the innermost module that has a BaseExecutor."""
    from airflow.executors.base_executor import BaseExecutor

    class LocalishExecutor(BaseExecutor):
        pass

    scope = {"BaseExecutor": BaseExecutor, "LocalishExecutor": LocalishExecutor, "_both": _both,
             "provider": frame_walking_aws_caller}  # fmt: skip
    exec("def heartbeat():\n    return _both(provider, 'execute')\n", scope)
    ours, theirs = scope["heartbeat"]()
    assert ours == theirs == (None, "LocalishExecutor")


def test_the_hook_uses_it(frame_walking_aws_caller):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

    class Uploader:
        def execute(self):
            return AwsGenericHook(aws_conn_id=None, client_type="s3")._get_caller()

    assert Uploader().execute() == "Uploader"


def test_loaders_share_the_models_a_fresh_loader_reads(shared_botocore_models):
    import botocore.loaders

    one, two = botocore.loaders.create_loader(), botocore.loaders.create_loader()
    fresh = botocore.loaders.Loader.__new__(botocore.loaders.Loader)
    shared_botocore_models(fresh)  # botocore's own __init__: a cache of its own
    assert fresh._cache is not one._cache is two._cache
    # Clients edit what they loaded in place (botocore rewrites S3 operations' request URIs and merges endpoint data
    # as they are used), in one session's cache as in the shared one: start from what earlier tests' clients left
    # behind being dropped, so each model below is decoded anew into the shared cache.
    one._cache.clear()
    for service in ("s3", "personalize", "personalize-runtime", "personalize-events", "sns", "sqs"):
        model = one.load_service_model(service, "service-2")
        assert two.load_service_model(service, "service-2") is model, "decoded once"
        assert fresh.load_service_model(service, "service-2") == model
        assert fresh.load_service_model(service, "endpoint-rule-set-1") == two.load_service_model(
            service, "endpoint-rule-set-1"
        )
    assert fresh.load_data("endpoints") == one.load_data("endpoints") and fresh._cache and one._cache
