"""The deployment custom resource's provider: CloudFormation requests, waiter polls and failures, responses.

The deployment logic is a fake (``test_deployment_handler.py`` covers it); Step Functions is botocore's
Stubber on a real client, so every call is checked against the API model; the HTTP PUT is recorded.
"""

from __future__ import annotations

import http.server
import json
import pathlib
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.functions.lambda_code import BUNDLES
from blue_green_ecs.handlers import cfn_response, custom_resource
from blue_green_ecs.handlers.cfn_response import MAX_RESPONSE_BYTES, ResponseError
from blue_green_ecs.handlers.custom_resource import CustomResourceHandler, execution_name
from blue_green_ecs.handlers.messages import DeploymentEndedError, DeploymentError

from .fakes import Clock

ACCOUNT = "123456789012"
REQUEST_ID = "5d9f0d7e-1c1f-4a35-9f43-6c3b8e0c2a11"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/shop/0a1b2c3d-aaaa-bbbb-cccc-123456789012"
RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/presigned?X-Amz-Signature=abc"
WAITER_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:BlueGreenEcsWaiter"
EXECUTION_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:BlueGreenEcsWaiter:{REQUEST_ID}"
PHYSICAL_ID = "blue-green-ecs/shop/web"
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
STATE = {"Decision": "deploying", "RequestedAt": T0.isoformat()}
STOPPED = "CodeDeploy deployment d-NEW was stopped with automatic rollback to the previous task set."
# The helper modules of the trigger's function, each after the ones it imports (the inline code's order).
# The trigger's helpers in the order the inline code loads them (functions/lambda_code.py).
TRIGGER_HELPERS = BUNDLES["custom_resource"]


# ------------------------------------------------------------------------------------------------
# fakes and builders
# ------------------------------------------------------------------------------------------------


@dataclass
class FakeDeployments:
    """Stands in for deployment.DeploymentHandler: scripted results, recorded calls."""

    on_event_result: dict[str, Any] | Exception = field(default_factory=dict)
    is_complete_results: list[dict[str, Any] | Exception] = field(default_factory=list)
    stop_result: str | Exception = STOPPED
    on_event_calls: list[dict[str, Any]] = field(default_factory=list)
    is_complete_calls: list[dict[str, Any]] = field(default_factory=list)
    stop_calls: list[dict[str, Any]] = field(default_factory=list)

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        self.on_event_calls.append(dict(event))
        if isinstance(self.on_event_result, Exception):
            raise self.on_event_result
        return self.on_event_result

    def is_complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        self.is_complete_calls.append(dict(event))
        result = self.is_complete_results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self, event: Mapping[str, Any]) -> str:
        self.stop_calls.append(dict(event))
        if isinstance(self.stop_result, Exception):
            raise self.stop_result
        return self.stop_result


@dataclass
class Put:
    """Records every PUT; answers with the scripted statuses (or raises the scripted errors), then 200."""

    answers: list[int | OSError] = field(default_factory=list)
    calls: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append((url, body, dict(headers)))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, OSError):
            raise answer
        return answer

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, _ in self.calls]


@dataclass
class Env:
    deployments: FakeDeployments
    stepfunctions: Stubber
    put: Put
    clock: Clock
    sleeps: list[float]
    handler: CustomResourceHandler


@pytest.fixture
def env() -> Iterator[Env]:
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    deployments, put, clock = FakeDeployments(), Put(), Clock(T0)
    sleeps: list[float] = []
    handler = CustomResourceHandler(deployments, client, put=put, clock=clock, sleep=sleeps.append)
    with Stubber(client) as stub:
        yield Env(deployments, stub, put, clock, sleeps, handler)
        stub.assert_no_pending_responses()


def cfn_event(request_type: str = "Update", **extra: Any) -> dict[str, Any]:
    """A CloudFormation request as it reaches the function (the function is the ServiceToken)."""
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:trigger",
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": "WebDeployment",
        "ResourceType": "Custom::BlueGreenEcsDeployment",
        "ResourceProperties": {"ServiceName": "web", "WaiterStateMachineArn": WAITER_ARN},
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = PHYSICAL_ID
    body.update(extra)
    return body


def on_event_result(deployment_id: str = "d-NEW") -> dict[str, Any]:
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"DeploymentId": deployment_id}, "BlueGreenEcsState": STATE}


def merged_request(deployment_id: str = "d-NEW") -> dict[str, Any]:
    """What the Provider framework gave isComplete, spelled out: the event plus onEvent's result."""
    return {
        "RequestType": "Update",
        "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:trigger",
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": "WebDeployment",
        "ResourceType": "Custom::BlueGreenEcsDeployment",
        "ResourceProperties": {"ServiceName": "web", "WaiterStateMachineArn": WAITER_ARN},
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"DeploymentId": deployment_id},
        "BlueGreenEcsState": STATE,
    }


def poll_event(started_at: datetime = T0) -> dict[str, Any]:
    return {"Action": "poll", "Request": merged_request(), "StartedAt": started_at.isoformat()}


class JsonOf:
    """Equal to a JSON string that decodes to ``value`` (the Stubber compares params with ``!=``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and json.loads(other) == self.value

    def __repr__(self) -> str:
        return f"JsonOf({self.value!r})"


def expect_start(env: Env, *, error_code: str | None = None, message: str = "") -> None:
    params = {
        "stateMachineArn": WAITER_ARN,
        "name": REQUEST_ID,
        "input": JsonOf({"Request": merged_request(), "StartedAt": "2025-01-15T12:00:00+00:00"}),
    }
    if error_code is None:
        env.stepfunctions.add_response("start_execution", {"executionArn": EXECUTION_ARN, "startDate": T0}, params)
    else:
        env.stepfunctions.add_client_error(
            "start_execution", service_error_code=error_code, service_message=message, expected_params=params
        )


# ------------------------------------------------------------------------------------------------
# CloudFormation requests
# ------------------------------------------------------------------------------------------------


def test_delete_answers_success_at_once_without_step_functions(env: Env) -> None:
    env.deployments.on_event_result = {"PhysicalResourceId": PHYSICAL_ID}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    outcome = env.handler.handle(cfn_event("Delete"))

    assert outcome == {"Status": "SUCCESS"}
    assert [(body["Status"], body["PhysicalResourceId"], body["Data"]) for body in env.put.bodies] == [
        ("SUCCESS", PHYSICAL_ID, {})
    ]
    # The poll saw the merged request, with Delete kept.
    assert env.deployments.is_complete_calls[0]["RequestType"] == "Delete"


def test_create_complete_at_once_merges_data_and_uses_on_event_physical_id(env: Env) -> None:
    env.deployments.on_event_result = {
        "PhysicalResourceId": PHYSICAL_ID,
        "Data": {"DeploymentId": "", "FromOnEvent": "kept"},
        "BlueGreenEcsState": {"Decision": "unchanged", "RequestedAt": T0.isoformat()},
    }
    env.deployments.is_complete_results = [{"IsComplete": True, "Data": {"DeploymentId": "d-FINAL"}}]

    env.handler.handle(cfn_event("Create"))

    [body] = env.put.bodies
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    assert body["Data"] == {"DeploymentId": "d-FINAL", "FromOnEvent": "kept"}
    # isComplete received {**event, **onEvent result}, state included, exactly as under the Provider framework.
    assert env.deployments.is_complete_calls == [{**cfn_event("Create"), **env.deployments.on_event_result}]


def test_on_event_result_overrides_the_event_as_under_the_provider_framework(env: Env) -> None:
    env.deployments.on_event_result = {**on_event_result(), "PhysicalResourceId": "blue-green-ecs/shop/web-v2"}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    env.handler.handle(cfn_event("Update"))

    assert env.deployments.is_complete_calls[0]["PhysicalResourceId"] == "blue-green-ecs/shop/web-v2"
    [body] = env.put.bodies
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "blue-green-ecs/shop/web-v2")


def test_update_that_must_wait_starts_the_waiter_and_does_not_answer_yet(env: Env) -> None:
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    expect_start(env)

    outcome = env.handler.handle(cfn_event("Update"))

    assert outcome == {"Status": "WAITING", "ExecutionName": REQUEST_ID, "AlreadyStarted": False}
    assert env.put.calls == []


def test_waiter_already_started_by_a_retried_invocation_is_not_a_failure(env: Env) -> None:
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    expect_start(env, error_code="ExecutionAlreadyExists", message=f"Execution Already Exists: '{EXECUTION_ARN}'")

    outcome = env.handler.handle(cfn_event("Update"))

    assert outcome == {"Status": "WAITING", "ExecutionName": REQUEST_ID, "AlreadyStarted": True}
    assert env.put.calls == []


def test_waiter_that_cannot_start_fails_the_resource_with_the_reason(env: Env) -> None:
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    expect_start(env, error_code="AccessDeniedException", message="not authorized to perform: states:StartExecution")

    outcome = env.handler.handle(cfn_event("Update"))

    assert outcome == {"Status": "FAILED"}
    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"The deployment waiter could not be started (states:StartExecution on {WAITER_ARN}): "
        f"AccessDeniedException: not authorized to perform: states:StartExecution. {STOPPED}"
    )
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    assert env.deployments.stop_calls == [merged_request()]


@pytest.mark.parametrize(
    ("error_code", "status"),
    [("ThrottlingException", 400), ("ServiceUnavailable", 503), ("InternalServerError", 500)],
)
def test_waiter_start_still_throttled_after_botocore_retries_raises_for_lambda_to_retry(
    env: Env, error_code: str, status: int
) -> None:
    """A repeated delivery is safe (it follows the deployment already started), so Lambda's retry is used."""
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    env.stepfunctions.add_client_error(
        "start_execution", service_error_code=error_code, service_message="Rate exceeded", http_status_code=status
    )

    with pytest.raises(Exception) as excinfo:  # noqa: PT011 - the type is checked below
        env.handler.handle(cfn_event("Update"))

    assert type(excinfo.value).__name__ == "WaiterStartError"
    assert str(excinfo.value) == (
        f"The deployment waiter could not be started yet (states:StartExecution on {WAITER_ARN}): "
        f"{error_code}: Rate exceeded. Raising so that Lambda delivers the request again."
    )
    assert env.put.calls == []
    assert env.deployments.stop_calls == []


def test_a_creates_waiter_start_waits_out_access_denied_while_iam_shows_the_policy(env: Env) -> None:
    # given a Create whose StartExecution is denied twice (CloudFormation has just created the StartWaiter policy)
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    for _ in range(2):
        env.stepfunctions.add_client_error(
            "start_execution",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform: states:StartExecution",
        )
    env.stepfunctions.add_response("start_execution", {"executionArn": EXECUTION_ARN, "startDate": T0})

    # when
    outcome = env.handler.handle(cfn_event("Create"))

    # then the waiter starts after waits of 2 and 4 s, and nothing answers CloudFormation yet
    assert outcome == {"Status": "WAITING", "ExecutionName": REQUEST_ID, "AlreadyStarted": False}
    assert (env.sleeps, env.put.calls, env.deployments.stop_calls) == ([2.0, 4.0], [], [])


def test_a_creates_waiter_start_still_denied_after_the_grace_fails_with_the_reason(env: Env) -> None:
    # given a Create whose StartExecution stays denied; each wait moves the clock
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]
    for _ in range(8):
        env.stepfunctions.add_client_error(
            "start_execution",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform: states:StartExecution",
        )

    def sleep(seconds: float) -> None:
        env.sleeps.append(seconds)
        env.clock.now += timedelta(seconds=seconds)

    env.handler.sleep = sleep

    # when
    env.handler.handle(cfn_event("Create"))

    # then after two minutes the resource fails with the permission and how long it waited
    assert sum(env.sleeps) == 120
    [body] = env.put.bodies
    assert (body["Status"], body["Reason"]) == (
        "FAILED",
        f"The deployment waiter could not be started (states:StartExecution on {WAITER_ARN}): "
        "AccessDeniedException: not authorized to perform: states:StartExecution. Still denied 2 minutes after the "
        f"request arrived, longer than a Create waits for IAM to show the role's new policies. {STOPPED}",
    )


def test_missing_waiter_arn_fails_the_resource(env: Env) -> None:
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [{"IsComplete": False}]

    env.handler.handle(cfn_event("Update", ResourceProperties={"ServiceName": "web"}))

    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "The deployment waiter could not be started: the resource property WaiterStateMachineArn is missing. "
        f"The custom resource must be created by blue_green_ecs's deployment trigger. {STOPPED}"
    )
    assert [call["Data"] for call in env.deployments.stop_calls] == [{"DeploymentId": "d-NEW"}]


def test_on_event_deployment_error_fails_create_with_its_message_and_a_fallback_physical_id(env: Env) -> None:
    env.deployments.on_event_result = DeploymentError("ECS service 'web' in cluster 'shop' was not found.")

    outcome = env.handler.handle(cfn_event("Create"))

    assert outcome == {"Status": "FAILED"}
    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "ECS service 'web' in cluster 'shop' was not found."
    assert body["PhysicalResourceId"] == f"WebDeployment-failed-{REQUEST_ID}"
    assert env.deployments.is_complete_calls == []


def test_on_event_unexpected_exception_is_an_internal_error_with_traceback_logged(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.deployments.on_event_result = KeyError("ApplicationName")

    env.handler.handle(cfn_event("Update"))

    [body] = env.put.bodies
    assert body["Reason"] == "Internal error in the deployment trigger: KeyError: 'ApplicationName'"
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    errors = [line for line in _log_lines(capsys) if line["action"] == "error"]
    assert [line["stage"] for line in errors] == ["on_event"]
    assert "KeyError" in errors[0]["traceback"]


def test_first_poll_raising_fails_with_the_event_physical_id(env: Env) -> None:
    env.deployments.on_event_result = {**on_event_result(), "PhysicalResourceId": "blue-green-ecs/shop/web-v2"}
    env.deployments.is_complete_results = [DeploymentEndedError("CodeDeploy deployment d-NEW failed.")]

    env.handler.handle(cfn_event("Update"))

    [body] = env.put.bodies
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == (
        "FAILED",
        "CodeDeploy deployment d-NEW failed.",
        PHYSICAL_ID,
    )


def test_response_url_is_never_logged(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.deployments.on_event_result = RuntimeError("boom")

    env.handler.handle(cfn_event("Create"))

    output = capsys.readouterr().out
    assert "responded" in output  # something was logged, so the next line can fail
    assert "X-Amz-Signature" not in output


# ------------------------------------------------------------------------------------------------
# waiter events
# ------------------------------------------------------------------------------------------------


def test_poll_complete_answers_success_with_merged_data(env: Env) -> None:
    env.deployments.is_complete_results = [{"IsComplete": True, "Data": {"DeploymentId": "d-NEW"}}]
    env.clock.now = T0 + timedelta(minutes=20)

    outcome = env.handler.handle(poll_event())

    assert outcome == {"Done": True}
    assert env.deployments.is_complete_calls == [merged_request()]
    [body] = env.put.bodies
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS",
        PHYSICAL_ID,
        {"DeploymentId": "d-NEW"},
    )


def test_poll_not_complete_waits_without_answering(env: Env) -> None:
    env.deployments.is_complete_results = [{"IsComplete": False}]
    env.clock.now = T0 + timedelta(minutes=57)

    outcome = env.handler.handle(poll_event())

    assert outcome == {"Done": False}
    assert env.put.calls == []


def test_poll_after_58_minutes_fails_as_timed_out(env: Env) -> None:
    env.deployments.is_complete_results = [{"IsComplete": False}]
    env.clock.now = T0 + timedelta(minutes=58, seconds=1)

    outcome = env.handler.handle(poll_event())

    assert outcome == {"Done": True}
    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "Timed out after 58 minutes waiting for the deployment of WebDeployment to finish: CodeDeploy deployment "
        "d-NEW had no outcome yet, and CloudFormation gives up at 60 minutes. Check the deployment group's "
        f"deployments in CodeDeploy and the deployment trigger's logs. {STOPPED}"
    )
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    assert env.deployments.stop_calls == [merged_request()]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            DeploymentEndedError("CodeDeploy deployment d-NEW failed (HEALTH_CONSTRAINTS)."),
            "CodeDeploy deployment d-NEW failed (HEALTH_CONSTRAINTS).",
        ),
        (TypeError("bad"), f"Internal error in the deployment trigger: TypeError: bad. {STOPPED}"),
        (
            DeploymentError("codedeploy:GetDeployment failed for CodeDeploy application 'shop-web': Denied."),
            f"codedeploy:GetDeployment failed for CodeDeploy application 'shop-web': Denied. {STOPPED}",
        ),
    ],
    ids=["deployment-ended", "internal-error", "aws-error"],
)
def test_poll_raising_fails_the_resource_and_stops_a_deployment_that_has_not_ended(
    env: Env, error: Exception, reason: str
) -> None:
    env.deployments.is_complete_results = [error]

    outcome = env.handler.handle(poll_event())

    assert outcome == {"Done": True}
    [body] = env.put.bodies
    assert (body["Status"], body["Reason"]) == ("FAILED", reason)
    assert len(env.deployments.stop_calls) == (0 if isinstance(error, DeploymentEndedError) else 1)


@pytest.mark.parametrize(
    ("stop_result", "sentence"),
    [
        ("", ""),
        ("CodeDeploy deployment d-NEW could not be stopped (Denied.); stop it with ...", "could not be stopped"),
        (RuntimeError("boom"), "Its CodeDeploy deployment could not be stopped (RuntimeError: boom)"),
    ],
    ids=["nothing-started", "stop-failed", "stop-raised"],
)
def test_a_failure_to_stop_never_prevents_the_failed_answer(
    env: Env, stop_result: str | Exception, sentence: str
) -> None:
    env.deployments.stop_result = stop_result
    event = {"Action": "fail", "Request": merged_request(), "Error": {"Error": "States.Timeout", "Cause": "late"}}

    assert env.handler.handle(event) == {"Done": True}

    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("The deployment waiter failed with States.Timeout: late")
    assert sentence in body["Reason"]
    if not sentence:
        assert body["Reason"] == "The deployment waiter failed with States.Timeout: late"


def test_fail_action_reports_the_lambda_error_message(env: Env) -> None:
    cause = json.dumps(
        {"errorMessage": "Could not send the SUCCESS response", "errorType": "ResponseError", "stackTrace": ["..."]}
    )
    event = {"Action": "fail", "Request": merged_request(), "Error": {"Error": "ResponseError", "Cause": cause}}

    outcome = env.handler.handle(event)

    assert outcome == {"Done": True}
    [body] = env.put.bodies
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"The deployment waiter failed with ResponseError: Could not send the SUCCESS response. {STOPPED}"
    )
    assert body["PhysicalResourceId"] == PHYSICAL_ID
    assert env.deployments.stop_calls == [merged_request()]


def test_fail_action_keeps_a_plain_text_cause(env: Env) -> None:
    event = {
        "Action": "fail",
        "Request": merged_request(),
        "Error": {"Error": "States.Timeout", "Cause": "The task timed out."},
    }

    env.handler.handle(event)

    assert (
        env.put.bodies[0]["Reason"]
        == f"The deployment waiter failed with States.Timeout: The task timed out. {STOPPED}"
    )


@pytest.mark.parametrize(
    "event",
    [
        {"hello": "world"},
        {"Action": "poll", "StartedAt": T0.isoformat()},  # no Request
        {"Action": "retry", "Request": merged_request()},
        {"RequestType": "Create"},  # no ResponseURL
    ],
)
def test_unknown_event_raises_value_error_naming_its_keys(env: Env, event: dict[str, Any]) -> None:
    with pytest.raises(
        ValueError, match=r"^Unexpected event for the deployment custom resource: .* got keys \["
    ) as info:
        env.handler.handle(event)

    assert str(sorted(event)) in str(info.value)
    assert env.put.calls == []


# ------------------------------------------------------------------------------------------------
# the response
# ------------------------------------------------------------------------------------------------


def test_response_has_exactly_cloudformation_keys_and_an_empty_content_type(env: Env) -> None:
    env.deployments.on_event_result = {"PhysicalResourceId": PHYSICAL_ID}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    env.handler.handle(cfn_event("Delete"))

    [(url, raw, headers)] = env.put.calls
    assert url == RESPONSE_URL
    assert headers == {"Content-Type": "", "Content-Length": str(len(raw))}
    assert json.loads(raw) == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": "WebDeployment",
        "NoEcho": False,
        "Data": {},
    }


def test_body_over_4096_bytes_truncates_the_reason_only(env: Env) -> None:
    long_reason = "CodeDeploy said: " + "é" * 5000 + "x" * 5000  # non-ASCII is six bytes in JSON
    env.deployments.on_event_result = on_event_result()
    env.deployments.is_complete_results = [DeploymentError(long_reason)]

    env.handler.handle(cfn_event("Update"))

    [(_, raw, headers)] = env.put.calls
    body = json.loads(raw)
    assert len(raw) <= MAX_RESPONSE_BYTES
    assert len(raw) > MAX_RESPONSE_BYTES - 10  # the room is used, not thrown away
    assert headers["Content-Length"] == str(len(raw))
    assert body["Reason"].startswith("CodeDeploy said: ééé")
    assert body["Reason"].endswith("...")
    assert (body["RequestId"], body["StackId"], body["PhysicalResourceId"]) == (REQUEST_ID, STACK_ID, PHYSICAL_ID)


def test_body_over_4096_bytes_keeps_data_whole() -> None:
    data = {"DeploymentId": "d-NEW", "Note": "n" * 1000}

    raw = cfn_response.response_body(
        merged_request(), status="SUCCESS", reason="r" * 10_000, physical_resource_id=PHYSICAL_ID, data=data
    )

    body = json.loads(raw)
    assert len(raw) <= MAX_RESPONSE_BYTES
    assert body["Data"] == data
    assert body["Reason"] == "r" * (len(body["Reason"]) - 3) + "..."


def test_put_is_retried_on_5xx_and_network_errors_then_succeeds(env: Env) -> None:
    env.put.answers = [500, OSError("connection reset"), 503]
    env.deployments.on_event_result = {"PhysicalResourceId": PHYSICAL_ID}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    outcome = env.handler.handle(cfn_event("Delete"))

    assert outcome == {"Status": "SUCCESS"}
    assert len(env.put.calls) == 4
    assert len({body for _, body, _ in env.put.calls}) == 1  # the same response every time
    assert env.sleeps == [1.0, 2.0, 4.0]


def test_put_failing_every_attempt_raises(env: Env) -> None:
    env.put.answers = [500, 502, 503, 504, 200]
    env.deployments.on_event_result = {"PhysicalResourceId": PHYSICAL_ID}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    with pytest.raises(ResponseError, match=r"^Could not send the SUCCESS response to CloudFormation: HTTP 504$"):
        env.handler.handle(cfn_event("Delete"))

    assert len(env.put.calls) == 4
    assert env.sleeps == [1.0, 2.0, 4.0]


def test_put_refused_with_4xx_is_not_retried(env: Env) -> None:
    env.put.answers = [403]
    env.deployments.on_event_result = {"PhysicalResourceId": PHYSICAL_ID}
    env.deployments.is_complete_results = [{"IsComplete": True}]

    with pytest.raises(ResponseError, match=r"HTTP 403$"):
        env.handler.handle(cfn_event("Delete"))

    assert len(env.put.calls) == 1
    assert env.sleeps == []


def test_urllib_put_sends_a_put_with_the_given_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[urllib.request.Request] = []

    class Answer:
        status = 200

        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: object) -> None:
            return None

    def urlopen(request: urllib.request.Request, timeout: float) -> Answer:
        sent.append(request)
        return Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    status = cfn_response.urllib_put(RESPONSE_URL, b"{}", {"Content-Type": "", "Content-Length": "2"})

    assert status == 200
    [request] = sent
    assert (request.get_method(), request.full_url, request.data) == ("PUT", RESPONSE_URL, b"{}")
    # Present and empty: urllib then adds no form-encoded Content-Type of its own.
    assert request.get_header("Content-type") == ""


@pytest.mark.parametrize("answer", [200, 500])
def test_urllib_put_on_the_wire(answer: int) -> None:
    """Against a loopback HTTP server: the bytes and headers a presigned S3 URL receives, and the status back."""
    received: list[tuple[str, dict[str, list[str]], bytes]] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            names = {name.lower() for name in self.headers}
            received.append((self.command, {n: self.headers.get_all(n) or [] for n in names}, body))
            self.send_response(answer)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        body = b'{"Status":"SUCCESS"}'
        url = f"http://127.0.0.1:{server.server_port}/presigned?X-Amz-Signature=abc"
        status = cfn_response.urllib_put(url, body, {"Content-Type": "", "Content-Length": str(len(body))})
    finally:
        thread.join(timeout=10)
        server.server_close()

    assert status == answer
    [(method, headers, sent)] = received
    assert (method, sent) == ("PUT", body)
    # S3 checks the signature against an empty Content-Type: present, empty, and only once.
    assert headers["content-type"] == [""]
    assert headers["content-length"] == [str(len(body))]


# ------------------------------------------------------------------------------------------------
# execution names
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["has spaces/and:colons", "x" * 120, ""])
def test_execution_name_is_valid_and_deterministic(request_id: str) -> None:
    name = execution_name(request_id)

    assert re.fullmatch(r"[0-9A-Za-z_-]{1,80}", name)
    assert name == execution_name(request_id)
    assert name != execution_name(request_id + "y")


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_importable_as_top_level_module_from_the_asset() -> None:
    """In the Lambda asset the handlers are top-level modules: custom_resource finds its helpers so."""
    handlers = pathlib.Path(custom_resource.__file__).parent
    code = (
        "import sys, custom_resource; "
        "print(*[name for name in HELPERS if sys.modules[name].__name__ == name], callable(custom_resource.handler))"
    ).replace("HELPERS", repr(TRIGGER_HELPERS))

    # -B: no __pycache__ in the handlers directory, which is the Lambda asset.
    output = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=handlers, capture_output=True, text=True, check=True
    ).stdout

    assert output.split() == [*TRIGGER_HELPERS, "True"]


def test_trigger_helpers_load_in_the_inline_code_order(tmp_path: pathlib.Path) -> None:
    """As ``hooks.inline_source`` does: each helper runs as a bare module, before the ones that import it."""
    handlers = pathlib.Path(custom_resource.__file__).parent
    sources = {name: (handlers / f"{name}.py").read_text() for name in (*TRIGGER_HELPERS, "custom_resource")}
    code = (
        "import sys, types\n"
        f"for name, source in {sources!r}.items():\n"
        "    module = sys.modules[name] = types.ModuleType(name)\n"
        "    exec(compile(source, name + '.py', 'exec', dont_inherit=True), module.__dict__)\n"
        "print(callable(sys.modules['custom_resource'].handler))\n"
    )

    # Run elsewhere, so no helper can be imported from the handlers directory instead.
    output = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout

    assert output.split() == ["True"]


# ------------------------------------------------------------------------------------------------
# dispatch on ResourceType
# ------------------------------------------------------------------------------------------------


@dataclass
class FakeLiveState:
    """Stands in for live_lookup.LiveStateLookup: records the events, answers fixed Data."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def on_event(self, event: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        self.calls.append(dict(event))
        return "blue-green-ecs-live-state/app/shop/1/443/8443", {"ProdTargetGroupArn": "tg-green"}


def test_live_state_requests_never_reach_the_deployment_handler(env: Env) -> None:
    live = FakeLiveState()
    handler = CustomResourceHandler(env.deployments, env.stepfunctions.client, put=env.put, live_state=live)

    result = handler.handle(cfn_event("Update", ResourceType="Custom::BlueGreenEcsLiveState"))

    assert result == {"Status": "SUCCESS"}
    assert (len(live.calls), env.deployments.on_event_calls) == (1, [])
    [body] = env.put.bodies
    assert (body["PhysicalResourceId"], body["Data"]) == (
        "blue-green-ecs-live-state/app/shop/1/443/8443",
        {"ProdTargetGroupArn": "tg-green"},
    )


def test_pinned_service_requests_are_answered_by_the_live_state_too(env: Env) -> None:
    live = FakeLiveState()
    handler = CustomResourceHandler(env.deployments, env.stepfunctions.client, put=env.put, live_state=live)

    handler.handle(cfn_event("Update", ResourceType="Custom::BlueGreenEcsPinnedService"))

    assert (len(live.calls), env.deployments.on_event_calls) == (1, [])


def test_deployment_requests_keep_the_deployment_path(env: Env) -> None:
    live = FakeLiveState()
    handler = CustomResourceHandler(env.deployments, env.stepfunctions.client, put=env.put, live_state=live)
    env.deployments.is_complete_results = [{"IsComplete": True}]

    handler.handle(cfn_event("Delete", ResourceType="Custom::BlueGreenEcsDeployment"))

    assert (live.calls, len(env.deployments.on_event_calls)) == ([], 1)
