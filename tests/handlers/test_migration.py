"""The migration hook against botocore Stubbers: botocore validates every request and response against the
service models, so the calls (RunTask's overrides, ListTasks' startedBy, GetDeployment's AppSpec) have the shapes
AWS takes; the answers (a stopped task's exit code, stopCode and stoppedReason) are written here, in the shapes of
the ECS API reference's DescribeTasks."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from blue_green_ecs.handlers.migration import (
    MigrationConfig,
    judge,
    make_handler,
    started_by,
    task_definition_from_appspec,
)

REGION = "eu-west-1"
CLUSTER = "arn:aws:ecs:eu-west-1:111111111111:cluster/shop"
# The new revision of each engine's service family in configurations.migration (the roles run their own family).
NEW_TD = "arn:aws:ecs:eu-west-1:111111111111:task-definition/shop-api:8"
NEW_TD_ECS = "arn:aws:ecs:eu-west-1:111111111111:task-definition/shop-native:8"
TASK = "arn:aws:ecs:eu-west-1:111111111111:task/shop/0123456789abcdef0123456789abcdef"
TARGET_REVISION = "arn:aws:ecs:eu-west-1:111111111111:service-revision/shop/web/9876543210"
ENV = {
    "CLUSTER": CLUSTER,
    "SUBNETS": "subnet-1,subnet-2",
    "SECURITY_GROUPS": "sg-1",
    "CONTAINER_NAME": "web",
    "COMMAND": json.dumps(["python", "manage.py", "migrate"]),
    "ENVIRONMENT": json.dumps({"MODE": "migrate"}),
    "POLL_SECONDS": "10",
}
ECS_EVENT = {
    "executionId": "exec-1",
    "lifecycleStage": "PRE_SCALE_UP",
    "resourceArn": "arn:aws:ecs:eu-west-1:111111111111:service-deployment/shop/web/abc",
    "executionDetails": {
        "serviceArn": "arn:aws:ecs:eu-west-1:111111111111:service/shop/web",
        "targetServiceRevisionArn": TARGET_REVISION,
    },
}
CD_EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "hook-1"}
NOW = datetime.datetime.now(datetime.UTC)


class Context:
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:migration"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def clients() -> Iterator[dict[str, tuple[Any, Stubber]]]:
    made = {}
    for service in ("ecs", "codedeploy", "lambda"):
        client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        made[service] = (client, Stubber(client))
    for _, stubber in made.values():
        stubber.activate()
    yield made
    for _, stubber in made.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _handler(clients: dict[str, tuple[Any, Stubber]], env: dict[str, str] = ENV) -> Any:
    return make_handler(environ=env, client=lambda service: clients[service][0], sleep=lambda _: None)


def _no_task(ecs: Stubber, tag: str) -> None:
    for status in ("RUNNING", "STOPPED"):
        ecs.add_response(
            "list_tasks", {"taskArns": []}, {"cluster": CLUSTER, "startedBy": tag, "desiredStatus": status}
        )


def _found(ecs: Stubber, tag: str, task: dict[str, Any]) -> None:
    ecs.add_response(
        "list_tasks", {"taskArns": [TASK]}, {"cluster": CLUSTER, "startedBy": tag, "desiredStatus": "RUNNING"}
    )
    ecs.add_response("list_tasks", {"taskArns": []}, {"cluster": CLUSTER, "startedBy": tag, "desiredStatus": "STOPPED"})
    ecs.add_response("describe_tasks", {"tasks": [task], "failures": []}, {"cluster": CLUSTER, "tasks": [TASK]})


def _run_task(ecs: Stubber, tag: str, td: str = NEW_TD) -> None:
    ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": td,
            "count": 1,
            "startedBy": tag,
            "launchType": "FARGATE",
            "platformVersion": "LATEST",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1", "subnet-2"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED",
                }
            },
            "overrides": {
                "containerOverrides": [
                    {
                        "name": "web",
                        "command": ["python", "manage.py", "migrate"],
                        "environment": [{"name": "MODE", "value": "migrate"}],
                    }
                ]
            },
        },
    )


def _stopped(exit_code: int | None, td: str = NEW_TD, **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "taskArn": TASK,
        "taskDefinitionArn": td,
        "lastStatus": "STOPPED",
        "createdAt": NOW,
        "containers": [container],
        **extra,
    }


def _awslogs(ecs: Stubber, td: str = NEW_TD) -> None:
    ecs.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": td,
                "containerDefinitions": [
                    {
                        "name": "web",
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {"awslogs-group": "/ecs/shop", "awslogs-stream-prefix": "web"},
                        },
                    }
                ],
            }
        },
        {"taskDefinition": td},
    )


def test_ecs_first_invocation_starts_the_new_revision_task_and_waits(clients: Any) -> None:
    # given no migration task of this deployment yet
    ecs = clients["ecs"][1]
    tag = started_by(TARGET_REVISION)
    _no_task(ecs, tag)
    ecs.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": TARGET_REVISION, "taskDefinition": NEW_TD_ECS}], "failures": []},
        {"serviceRevisionArns": [TARGET_REVISION]},
    )
    _run_task(ecs, tag, NEW_TD_ECS)
    # when
    result = _handler(clients)(ECS_EVENT, None)
    # then
    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": 10}


def test_ecs_reinvocation_polls_the_task_it_started_and_fails_on_non_zero_exit_with_log_link(
    clients: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs = clients["ecs"][1]
    tag = started_by(TARGET_REVISION)
    _found(
        ecs,
        tag,
        _stopped(
            3, NEW_TD_ECS, stoppedReason="Essential container in task exited", stopCode="EssentialContainerExited"
        ),
    )
    _awslogs(ecs, NEW_TD_ECS)
    assert _handler(clients)(ECS_EVENT, None) == {"hookStatus": "FAILED"}
    # ECS reads only the status: the reason, with the link, is the function's log line.
    reported = [json.loads(line) for line in capsys.readouterr().out.splitlines()][-1]
    assert reported["reason"] == (
        f"Migration task {TASK}: container web exited 3. Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/"
        "home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fshop/log-events/"
        "web$252Fweb$252F0123456789abcdef0123456789abcdef"
    )


def test_ecs_zero_exit_succeeds(clients: Any) -> None:
    ecs = clients["ecs"][1]
    _found(ecs, started_by(TARGET_REVISION), _stopped(0, NEW_TD_ECS))
    assert _handler(clients)(ECS_EVENT, None) == {"hookStatus": "SUCCEEDED"}


def test_codedeploy_reads_the_appspec_task_definition_polls_and_reports_failure(clients: Any) -> None:
    # given a deployment whose AppSpec names the new revision, a task that runs once, then exits 1
    ecs, codedeploy = clients["ecs"][1], clients["codedeploy"][1]
    tag = started_by("d-ABCDEF123")
    appspec = {
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": NEW_TD}}}]
    }
    _no_task(ecs, tag)
    codedeploy.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-ABCDEF123",
                "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
            }
        },
        {"deploymentId": "d-ABCDEF123"},
    )
    _run_task(ecs, tag)
    _found(ecs, tag, {"taskArn": TASK, "taskDefinitionArn": NEW_TD, "lastStatus": "RUNNING", "createdAt": NOW})
    _found(
        ecs, tag, _stopped(1, stopCode="EssentialContainerExited", stoppedReason="Essential container in task exited")
    )
    _awslogs(ecs)
    codedeploy.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-1"},
        {"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "hook-1", "status": "Failed"},
    )
    # when
    result = _handler(clients)(CD_EVENT, Context(remaining_ms=600_000))
    # then
    assert result["Status"] == "Failed"
    assert result["Reason"] == (
        f"Migration task {TASK}: container web exited 1. Logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/"
        "home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fshop/log-events/"
        "web$252Fweb$252F0123456789abcdef0123456789abcdef"
    )


def test_codedeploy_hands_over_to_a_fresh_invocation_before_its_own_timeout(clients: Any) -> None:
    ecs, lam = clients["ecs"][1], clients["lambda"][1]
    tag = started_by("d-ABCDEF123")
    _found(ecs, tag, {"taskArn": TASK, "taskDefinitionArn": NEW_TD, "lastStatus": "RUNNING", "createdAt": NOW})
    lam.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": Context.invoked_function_arn, "InvocationType": "Event", "Payload": ANY},
    )
    result = _handler(clients)(CD_EVENT, Context(remaining_ms=30_000))
    assert result["Status"] == "InProgress"


def test_task_that_never_started_fails_with_stop_code_and_reason() -> None:
    config = MigrationConfig.from_env(ENV)
    task = _stopped(
        None,
        stopCode="TaskFailedToStart",
        stoppedReason="CannotPullContainerError: pull image manifest has been retried 5 time(s)",
    )
    outcome = judge(task, config, NOW)
    assert (outcome.done, outcome.passed) == (True, False)
    assert outcome.reason == (
        f"Migration task {TASK} stopped without an exit code of container web (stopCode TaskFailedToStart: "
        "CannotPullContainerError: pull image manifest has been retried 5 time(s))"
    )


def test_task_running_past_the_timeout_fails() -> None:
    config = MigrationConfig.from_env({**ENV, "TIMEOUT_SECONDS": "60"})
    task = {"taskArn": TASK, "lastStatus": "RUNNING", "createdAt": NOW - datetime.timedelta(seconds=61)}
    assert judge(task, config, NOW).reason == f"Migration task {TASK} still ran after 60 s"


def test_started_by_fits_ecs_limits() -> None:
    # ECS: startedBy up to 128 letters, numbers, hyphens and underscores.
    for key in ("d-ABCDEF123", TARGET_REVISION):
        tag = started_by(key)
        assert len(tag) <= 128
        assert tag.replace("-", "").replace("_", "").isalnum()
    assert started_by(TARGET_REVISION) != started_by(TARGET_REVISION + "1")


def test_appspec_without_task_definition_fails_clearly() -> None:
    with pytest.raises(Exception, match="names no TaskDefinition"):
        task_definition_from_appspec(json.dumps({"Resources": []}))


def test_config_names_the_faulty_variable() -> None:
    with pytest.raises(ValueError, match="Environment variable COMMAND must be a non-empty JSON list of strings"):
        MigrationConfig.from_env({**ENV, "COMMAND": "[]"})
