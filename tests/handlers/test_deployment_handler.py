"""Fault matrix of the deployment custom resource, against botocore's Stubber (real API models)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from blue_green_ecs.handlers import deployment
from blue_green_ecs.handlers.appspec import AppSpecTarget, build_appspec
from blue_green_ecs.handlers.custom_resource import CustomResourceHandler, WaiterStartError
from blue_green_ecs.handlers.deployment import STATE_KEY, DeploymentHandler
from blue_green_ecs.handlers.live_state import differences
from blue_green_ecs.handlers.messages import DeploymentEndedError, DeploymentError

from .fakes import Clock

ACCOUNT = "123456789012"
APP = "shop-web"
GROUP = "shop-web-dg"
CLUSTER = "shop"
SERVICE = "web"
TD_OLD = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:41"
TD_NEW = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:42"
HOOK = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CodeDeployHook_smoke"
REQUEST_ID = "5d9f0d7e-1c1f-4a35-9f43-6c3b8e0c2a11"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/shop/0a1b2c3d-aaaa-bbbb-cccc-123456789012"
MARKER = f"[cfn-request:{REQUEST_ID}]"
DESCRIPTION = f"CloudFormation shop/WebDeployment: web:42 {MARKER}"
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # when onEvent runs
SINCE = T0 - timedelta(minutes=5)

PROPS: dict[str, Any] = {
    "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:provider-onEvent",
    "ApplicationName": APP,
    "DeploymentGroupName": GROUP,
    "ClusterName": CLUSTER,
    "ServiceName": SERVICE,
    "TaskDefinitionArn": TD_NEW,
    "ContainerName": "app",
    "ContainerPort": "8080",
    "PlatformVersion": "LATEST",
    "Subnets": ["subnet-aaa", "subnet-bbb"],
    "SecurityGroups": ["sg-111"],
    "AssignPublicIp": "DISABLED",
    "Hooks": {"AfterAllowTestTraffic": HOOK},
    "TimeoutMinutes": "30",
}
# The AppSpec of PROPS, byte for byte.
APPSPEC_NEW = (
    '{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{'
    f'"TaskDefinition":"{TD_NEW}",'
    '"LoadBalancerInfo":{"ContainerName":"app","ContainerPort":8080},'
    '"PlatformVersion":"LATEST",'
    '"NetworkConfiguration":{"AwsvpcConfiguration":{"Subnets":["subnet-aaa","subnet-bbb"],'
    '"SecurityGroups":["sg-111"],"AssignPublicIp":"DISABLED"}}}}}],'
    f'"Hooks":[{{"AfterAllowTestTraffic":"{HOOK}"}}]}}'
)
CREATE_PARAMS = {
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "revision": {
        "revisionType": "AppSpecContent",
        "appSpecContent": {
            "content": APPSPEC_NEW,
            "sha256": hashlib.sha256(APPSPEC_NEW.encode()).hexdigest(),
        },
    },
    "description": DESCRIPTION,
}
ACTIVE_FILTER = {
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Baking", "Ready"],
}
OWN_FILTER = {"applicationName": APP, "deploymentGroupName": GROUP, "createTimeRange": {"start": SINCE}}
# onEvent looks over CloudFormation's whole hour (plus the clock-skew margin) for this request's deployment.
REPEAT_FILTER = {
    "applicationName": APP,
    "deploymentGroupName": GROUP,
    "createTimeRange": {"start": T0 - timedelta(minutes=65)},
}
DESCRIBE_PARAMS = {"cluster": CLUSTER, "services": [SERVICE]}


# ------------------------------------------------------------------------------------------------
# fixtures and builders
# ------------------------------------------------------------------------------------------------


@dataclass
class Aws:
    codedeploy: Stubber
    ecs: Stubber
    handler: DeploymentHandler
    clock: Clock
    cloudwatch: Stubber


def _client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def aws() -> Iterator[Aws]:
    codedeploy, ecs, cloudwatch = _client("codedeploy"), _client("ecs"), _client("cloudwatch")
    clock = Clock(T0)
    handler = DeploymentHandler(codedeploy, ecs, clock=clock, cloudwatch=cloudwatch)
    with Stubber(codedeploy) as cd_stub, Stubber(ecs) as ecs_stub, Stubber(cloudwatch) as cw_stub:
        env = Aws(cd_stub, ecs_stub, handler, clock, cw_stub)
        yield env
        cd_stub.assert_no_pending_responses()
        ecs_stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()


def event(request_type: str = "Update", props: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A CloudFormation event as the Provider framework hands it to onEvent (ResponseURL sanitized)."""
    body: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": REQUEST_ID,
        "StackId": STACK_ID,
        "LogicalResourceId": "WebDeployment",
        "ResourceType": "Custom::BlueGreenDeployment",
        "ResponseURL": "...",
        "ServiceToken": PROPS["ServiceToken"],
        "ResourceProperties": props or PROPS,
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = "blue-green-ecs/shop/web"
    if request_type == "Update":
        body["OldResourceProperties"] = {**PROPS, "TaskDefinitionArn": TD_OLD}
    body.update(extra)
    return body


def poll_event(on_event_result: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event isComplete receives: the onEvent event merged with what onEvent returned."""
    return {**(base or event()), **on_event_result}


def service(task_definition: str = TD_OLD, *, task_sets: bool = True, **overrides: Any) -> dict[str, Any]:
    network = {
        "awsvpcConfiguration": {
            "subnets": ["subnet-bbb", "subnet-aaa"],
            "securityGroups": ["sg-111"],
            "assignPublicIp": "DISABLED",
        }
    }
    load_balancers = [
        {
            "targetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/blue/1",
            "containerName": "app",
            "containerPort": 8080,
        }
    ]
    svc: dict[str, Any] = {
        "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        "serviceName": SERVICE,
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
        "status": "ACTIVE",
        "deploymentController": {"type": "CODE_DEPLOY"},
        "taskDefinition": TD_OLD,
        "networkConfiguration": network,
        "loadBalancers": load_balancers,
        "platformVersion": "LATEST",
        "taskSets": [],
    }
    if task_sets:
        svc["taskSets"] = [
            {
                "id": "ecs-svc/1111",
                "status": "PRIMARY",
                "taskDefinition": task_definition,
                "launchType": "FARGATE",
                "platformVersion": "1.4.0",
                "networkConfiguration": network,
                "loadBalancers": load_balancers,
            }
        ]
    else:
        svc["taskDefinition"] = task_definition
    svc.update(overrides)
    return {"services": [svc], "failures": []}


def info(
    deployment_id: str,
    status: str,
    *,
    created: datetime = T0,
    description: str = DESCRIPTION,
    error: tuple[str, str] | None = None,
    rollback: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentId": deployment_id,
        "status": status,
        "createTime": created,
        "description": description,
        "computePlatform": "ECS",
    }
    if error:
        body["errorInformation"] = {"code": error[0], "message": error[1]}
    if rollback:
        body["rollbackInfo"] = rollback
    return body


def expect_get(aws: Aws, deployment_id: str, status: str, **kwargs: Any) -> None:
    aws.codedeploy.add_response(
        "get_deployment",
        {"deploymentInfo": info(deployment_id, status, **kwargs)},
        {"deploymentId": deployment_id},
    )


def expect_list(aws: Aws, params: dict[str, Any], ids: list[str]) -> None:
    aws.codedeploy.add_response("list_deployments", {"deployments": ids}, params)


def expect_no_own_deployment(aws: Aws) -> None:
    """onEvent's first look: no deployment of this request exists yet."""
    expect_list(aws, REPEAT_FILTER, [])


def expect_update_that_deploys(aws: Aws, *, lookup: bool = True) -> dict[str, Any]:
    """onEvent of an Update that starts d-NEW; returns the onEvent result."""
    if lookup:
        expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_response("create_deployment", {"deploymentId": "d-NEW"}, CREATE_PARAMS)
    return aws.handler.on_event(event())


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


STARTED = {
    "PhysicalResourceId": "blue-green-ecs/shop/web",
    "Data": {"DeploymentId": "d-NEW"},
    STATE_KEY: {"Decision": "deploying", "RequestedAt": T0.isoformat()},
}


# ------------------------------------------------------------------------------------------------
# AppSpec
# ------------------------------------------------------------------------------------------------


def test_appspec_is_exactly_the_documented_ecs_appspec() -> None:
    props = {
        **PROPS,
        "ContainerPort": "8080",
        "PlatformVersion": "1.4.0",
        "AssignPublicIp": "ENABLED",
        "CapacityProviderStrategy": [
            {"CapacityProvider": "FARGATE", "Base": "1", "Weight": "1"},
            {"CapacityProvider": "FARGATE_SPOT", "Weight": "3"},
        ],
        # Given out of order on purpose: the AppSpec lists hooks in lifecycle order.
        "Hooks": {
            "AfterAllowTraffic": "CodeDeployHook_after",
            "BeforeInstall": "CodeDeployHook_before",
            "AfterAllowTestTraffic": HOOK,
        },
    }

    assert build_appspec(props) == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": TD_NEW,
                        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 8080},
                        "PlatformVersion": "1.4.0",
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": ["subnet-aaa", "subnet-bbb"],
                                "SecurityGroups": ["sg-111"],
                                "AssignPublicIp": "ENABLED",
                            }
                        },
                        "CapacityProviderStrategy": [
                            {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
                            {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
                        ],
                    },
                }
            }
        ],
        "Hooks": [
            {"BeforeInstall": "CodeDeployHook_before"},
            {"AfterAllowTestTraffic": HOOK},
            {"AfterAllowTraffic": "CodeDeployHook_after"},
        ],
    }


def test_appspec_minimal_for_codepipeline_placeholder() -> None:
    appspec = build_appspec({"TaskDefinitionArn": "<TASK_DEFINITION>", "ContainerName": "app", "ContainerPort": 80})

    assert appspec == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": "<TASK_DEFINITION>",
                        "LoadBalancerInfo": {"ContainerName": "app", "ContainerPort": 80},
                    },
                }
            }
        ],
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ContainerPort": "http"}, "Property 'ContainerPort' must be an integer, got 'http'"),
        (
            {"Hooks": {"AfterDeploy": HOOK}},
            "Unknown hook(s) AfterDeploy in 'Hooks'; valid hooks: BeforeInstall",
        ),
        ({"AssignPublicIp": "YES"}, "Property 'AssignPublicIp' must be ENABLED or DISABLED, got 'YES'"),
        ({"TaskDefinitionArn": ""}, "Missing required property 'TaskDefinitionArn' (got '')"),
        (
            {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Base": "one"}]},
            "Property 'CapacityProviderStrategy[0].Base' must be an integer, got 'one'",
        ),
    ],
)
def test_appspec_rejects_bad_properties_with_the_property_name(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        build_appspec({**PROPS, **override})


def test_invalid_properties_fail_on_event_with_a_clear_reason(aws: Aws) -> None:
    props = {key: value for key, value in PROPS.items() if key != "DeploymentGroupName"}

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event("Create", props))

    assert str(excinfo.value) == (
        "Invalid blue/green deployment properties: Missing required property 'DeploymentGroupName' (got None)"
    )


# ------------------------------------------------------------------------------------------------
# Deciding against ECS
# ------------------------------------------------------------------------------------------------


def test_first_create_with_the_running_task_definition_starts_nothing(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_NEW), DESCRIBE_PARAMS)

    result = aws.handler.on_event(event("Create"))

    assert result == {
        "PhysicalResourceId": "blue-green-ecs/shop/web",
        "Data": {"DeploymentId": ""},
        STATE_KEY: {"Decision": "unchanged", "RequestedAt": T0.isoformat()},
    }
    # The poll needs no AWS call: nothing was started.
    assert aws.handler.is_complete(poll_event(result, event("Create"))) == {
        "IsComplete": True,
        "Data": {"DeploymentId": ""},
    }
    decision = log_lines(capsys)[0]
    assert decision["decision"] == "no-deployment"
    assert decision["reason"] == "the service's PRIMARY task set ecs-svc/1111 already runs the requested configuration"


def test_first_create_waits_out_access_denied_while_iam_shows_the_roles_new_policy(aws: Aws) -> None:
    # given the first Create, whose first call is denied twice (CloudFormation has just created the policy)
    for _ in range(2):
        aws.codedeploy.add_client_error(
            "list_deployments",
            "AccessDeniedException",
            "not authorized to perform: codedeploy:ListDeployments",
            expected_params=REPEAT_FILTER,
        )
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_NEW), DESCRIBE_PARAMS)
    sleeps: list[float] = []
    aws.handler.sleep = sleeps.append

    # when
    result = aws.handler.on_event(event("Create"))

    # then it decides as without the denials, after waits of 2 and 4 s
    assert sleeps == [2.0, 4.0]
    assert result[STATE_KEY] == {"Decision": "unchanged", "RequestedAt": T0.isoformat()}


def test_update_fails_at_once_on_access_denied(aws: Aws) -> None:
    # given an Update whose first call is denied
    aws.codedeploy.add_client_error(
        "list_deployments",
        "AccessDeniedException",
        "not authorized to perform: codedeploy:ListDeployments",
        expected_params=REPEAT_FILTER,
    )
    sleeps: list[float] = []
    aws.handler.sleep = sleeps.append

    # when / then: no wait, the permission in the reason
    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event("Update"))
    assert sleeps == []
    assert str(excinfo.value).startswith(
        "Access denied: the deployment handler's IAM role is not allowed to call codedeploy:ListDeployments"
    )


def test_update_of_hooks_and_description_only_starts_nothing(aws: Aws) -> None:
    props = {**PROPS, "Hooks": {"BeforeAllowTraffic": HOOK}, "Description": "new text"}
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    # No task sets: the service's own fields tell what runs.
    aws.ecs.add_response("describe_services", service(TD_NEW, task_sets=False), DESCRIBE_PARAMS)

    result = aws.handler.on_event(event("Update", props))

    assert result[STATE_KEY]["Decision"] == "unchanged"
    assert result["Data"] == {"DeploymentId": ""}


def test_rollback_update_after_codedeploy_rolled_back_starts_nothing(aws: Aws) -> None:
    """CloudFormation rolls back with the old properties while CodeDeploy's rollback still runs."""
    old_props = {**PROPS, "TaskDefinitionArn": TD_OLD}
    rollback_event = event("Update", old_props, RequestId="rollback-request", OldResourceProperties=PROPS)
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, ["d-ROLLBACK"])
    expect_get(aws, "d-ROLLBACK", "InProgress", description="Rollback of d-NEW")

    result = aws.handler.on_event(rollback_event)

    assert result == {
        "PhysicalResourceId": "blue-green-ecs/shop/web",
        "Data": {"DeploymentId": ""},
        STATE_KEY: {"Decision": "waiting", "RequestedAt": T0.isoformat()},
    }

    # Next poll: the rollback has finished and ECS runs the old revision again: nothing to deploy.
    aws.clock.now = T0 + timedelta(seconds=30)
    expect_list(aws, OWN_FILTER, [])
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)

    assert aws.handler.is_complete(poll_event(result, rollback_event)) == {
        "IsComplete": True,
        "Data": {"DeploymentId": ""},
    }


def test_update_deploys_then_succeeds(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    result = expect_update_that_deploys(aws)
    assert result == STARTED

    aws.clock.now = T0 + timedelta(minutes=1)
    expect_get(aws, "d-NEW", "InProgress")
    assert aws.handler.is_complete(poll_event(result)) == {"IsComplete": False}

    aws.clock.now = T0 + timedelta(minutes=9)
    expect_get(aws, "d-NEW", "Succeeded")
    assert aws.handler.is_complete(poll_event(result)) == {
        "IsComplete": True,
        "Data": {"DeploymentId": "d-NEW"},
    }

    decision = log_lines(capsys)[0]
    assert decision["decision"] == "deploy"
    assert decision["changes"] == [f"task definition {TD_OLD} -> {TD_NEW}"]


def test_same_task_definition_with_new_subnets_deploys(aws: Aws) -> None:
    props = {**PROPS, "TaskDefinitionArn": TD_OLD, "Subnets": ["subnet-ccc"]}
    content = json.dumps(build_appspec(props), separators=(",", ":"))
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_response(
        "create_deployment",
        {"deploymentId": "d-NET"},
        {
            **CREATE_PARAMS,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {
                    "content": content,
                    "sha256": hashlib.sha256(content.encode()).hexdigest(),
                },
            },
            "description": f"CloudFormation shop/WebDeployment: web:41 {MARKER}",
        },
    )

    assert aws.handler.on_event(event("Update", props))["Data"] == {"DeploymentId": "d-NET"}


@pytest.mark.parametrize(
    ("live", "override", "expected"),
    [
        ({"taskDefinition": "web:42"}, {}, []),
        ({"platformVersion": "1.4.0"}, {"PlatformVersion": "LATEST"}, []),
        ({"platformVersion": "1.3.0"}, {"PlatformVersion": "1.4.0"}, ["platform version 1.3.0 -> 1.4.0"]),
        (
            {"loadBalancers": [{"containerName": "app", "containerPort": 80}]},
            {},
            ["load balancer container [('app', 80)] -> ('app', 8080)"],
        ),
        (
            {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-aaa", "subnet-bbb"]}}},
            {"AssignPublicIp": "ENABLED"},
            ["security groups [] -> ['sg-111']", "assign public IP DISABLED -> ENABLED"],
        ),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": "1", "Base": "0"}]},
            [],
        ),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
            {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "1"}]},
            ["capacity provider strategy [('FARGATE', 0, 1)] -> [('FARGATE_SPOT', 0, 1)]"],
        ),
    ],
)
def test_differences_between_request_and_live_task_set(
    live: dict[str, Any], override: dict[str, Any], expected: list[str]
) -> None:
    base = {
        "taskDefinition": TD_NEW,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-bbb", "subnet-aaa"],
                "securityGroups": ["sg-111"],
                "assignPublicIp": "DISABLED",
            }
        },
        "loadBalancers": [{"containerName": "app", "containerPort": 8080}],
    }
    target = AppSpecTarget.from_properties({**PROPS, **override})

    assert differences(target, {**base, **live}) == expected


def test_service_without_code_deploy_controller_fails_clearly(aws: Aws) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD, deploymentController={"type": "ECS"}), DESCRIBE_PARAMS)

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event())

    assert str(excinfo.value) == (
        "ECS service 'web' in cluster 'shop' uses the ECS deployment controller; blue/green deployments "
        "through CodeDeploy need the CODE_DEPLOY deployment controller."
    )


def test_missing_service_fails_clearly(aws: Aws) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response(
        "describe_services",
        {
            "services": [],
            "failures": [{"arn": "arn:aws:ecs:us-east-1:1:service/shop/web", "reason": "MISSING"}],
        },
        DESCRIBE_PARAMS,
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event())

    assert str(excinfo.value) == (
        "ECS service 'web' in cluster 'shop' was not found (ecs:DescribeServices reported MISSING). "
        "Check ClusterName and ServiceName."
    )


def test_physical_id_is_the_same_for_names_and_arns(aws: Aws) -> None:
    props = {
        **PROPS,
        "ClusterName": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/shop",
        "ServiceName": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/web",
    }
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response(
        "describe_services",
        service(TD_NEW),
        {"cluster": props["ClusterName"], "services": [props["ServiceName"]]},
    )

    assert aws.handler.on_event(event("Update", props))["PhysicalResourceId"] == "blue-green-ecs/shop/web"


# ------------------------------------------------------------------------------------------------
# Outcomes
# ------------------------------------------------------------------------------------------------


def test_failed_deployment_reports_codedeploy_reason_and_rollback(aws: Aws) -> None:
    expect_get(
        aws,
        "d-NEW",
        "Failed",
        error=(
            "HOOK_EXECUTION_FAILURE",
            "The overall deployment failed because too many individual instances failed",
        ),
        rollback={"rollbackDeploymentId": "d-ROLLBACK", "rollbackMessage": "Automatic rollback on failure"},
    )
    expect_get(aws, "d-ROLLBACK", "Succeeded", description="Rollback")

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW failed (HOOK_EXECUTION_FAILURE): The overall deployment failed "
        "because too many individual instances failed. Rollback: deployment d-ROLLBACK restored the "
        "previous task set. Automatic rollback on failure."
    )


def test_deployment_stopped_by_alarm(aws: Aws) -> None:
    expect_get(
        aws,
        "d-NEW",
        "Stopped",
        error=(
            "ALARM_ACTIVE",
            "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
            "and the affected deployments have been stopped. Activated alarms: <shop-web-5xx>",
        ),
        rollback={"rollbackDeploymentId": "d-ROLLBACK"},
    )
    expect_get(aws, "d-ROLLBACK", "InProgress", description="Rollback")
    # the alarm was deleted since: nothing to add to CodeDeploy's words
    aws.cloudwatch.add_response(
        "describe_alarms",
        {"MetricAlarms": [], "CompositeAlarms": []},
        {"AlarmNames": ["shop-web-5xx"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW was stopped by an alarm (ALARM_ACTIVE): One or more alarms have "
        "been activated according to the Amazon CloudWatch metrics you selected, and the affected "
        "deployments have been stopped. Activated alarms: <shop-web-5xx>. Rollback: deployment "
        "d-ROLLBACK is restoring the previous task set (status InProgress)."
    )


def test_failure_without_rollback_says_so(aws: Aws) -> None:
    expect_get(aws, "d-NEW", "Failed", error=("ECS_UPDATE_ERROR", "The ECS service cannot be updated"))

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW failed (ECS_UPDATE_ERROR): The ECS service cannot be updated. "
        "No rollback deployment was started."
    )


def test_ready_keeps_polling_then_times_out_with_approval_message(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.clock.now = T0 + timedelta(minutes=12)
    expect_get(aws, "d-NEW", "Ready")

    assert aws.handler.is_complete(poll_event(STARTED)) == {"IsComplete": False}
    waiting = log_lines(capsys)[-1]
    assert waiting["decision"] == "waiting-for-approval"
    assert (
        "aws deploy continue-deployment --deployment-id d-NEW --deployment-wait-type READY_WAIT" in (waiting["reason"])
    )

    aws.clock.now = T0 + timedelta(minutes=30, seconds=1)
    expect_get(aws, "d-NEW", "Ready")
    aws.codedeploy.add_response(
        "stop_deployment", {"status": "Pending"}, {"deploymentId": "d-NEW", "autoRollbackEnabled": True}
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW exceeded the 30-minute timeout (TimeoutMinutes) while waiting for "
        "approval: it was in status Ready, waiting for 'aws deploy continue-deployment --deployment-id d-NEW "
        "--deployment-wait-type READY_WAIT'. It was stopped with automatic rollback to the previous task set."
    )


def test_timeout_stops_the_deployment_with_rollback(aws: Aws) -> None:
    aws.clock.now = T0 + timedelta(minutes=30)  # exactly the budget: not exceeded yet
    expect_get(aws, "d-NEW", "InProgress")
    assert aws.handler.is_complete(poll_event(STARTED)) == {"IsComplete": False}

    aws.clock.now = T0 + timedelta(minutes=31)
    expect_get(aws, "d-NEW", "InProgress")
    aws.codedeploy.add_response(
        "stop_deployment",
        {"status": "Pending", "statusMessage": "Stopping"},
        {"deploymentId": "d-NEW", "autoRollbackEnabled": True},
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW exceeded the 30-minute timeout (TimeoutMinutes) in status "
        "InProgress and was stopped with automatic rollback to the previous task set."
    )


def test_timeout_race_with_completion_polls_again(aws: Aws) -> None:
    aws.clock.now = T0 + timedelta(hours=2)
    expect_get(aws, "d-NEW", "InProgress")
    aws.codedeploy.add_client_error(
        "stop_deployment",
        "DeploymentAlreadyCompletedException",
        "The deployment d-NEW has already completed",
        expected_params={"deploymentId": "d-NEW", "autoRollbackEnabled": True},
    )

    assert aws.handler.is_complete(poll_event(STARTED)) == {"IsComplete": False}


# ------------------------------------------------------------------------------------------------
# Throttling
# ------------------------------------------------------------------------------------------------


def test_on_event_leaves_the_decision_to_is_complete_when_botocore_gives_up(aws: Aws) -> None:
    # The Stubber's error is what a call raises once botocore's own retries are spent.
    expect_no_own_deployment(aws)
    aws.codedeploy.add_client_error("list_deployments", "ThrottlingException", "Rate exceeded", 400)

    result = aws.handler.on_event(event())

    assert result == {
        "PhysicalResourceId": "blue-green-ecs/shop/web",
        "Data": {"DeploymentId": ""},
        STATE_KEY: {"Decision": "waiting", "RequestedAt": T0.isoformat()},
    }


def test_on_event_retries_nothing_itself(aws: Aws) -> None:
    """One answer per call: a second ListDeployments would find no queued answer and fail the test."""
    aws.codedeploy.add_client_error("list_deployments", "ServiceUnavailableException", "try later", 503)

    assert aws.handler.on_event(event())[STATE_KEY]["Decision"] == "waiting"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("TooManyRequestsException", 429),
        ("", 503),
    ],
)
def test_is_complete_polls_again_on_retryable_errors(aws: Aws, code: str, status: int) -> None:
    aws.codedeploy.add_client_error(
        "get_deployment", code, "try later", status, expected_params={"deploymentId": "d-NEW"}
    )

    assert aws.handler.is_complete(poll_event(STARTED)) == {"IsComplete": False}


def test_is_complete_polls_again_when_the_endpoint_is_unreachable() -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://codedeploy.us-east-1.amazonaws.com/")

    # No Stubber here (it insists on a queued answer); this hook fails the call before any request is sent.
    codedeploy = _client("codedeploy")
    codedeploy.meta.events.register_first("before-call.*.*", unreachable)
    handler = DeploymentHandler(codedeploy, _client("ecs"), clock=Clock(T0))

    assert handler.is_complete(poll_event(STARTED)) == {"IsComplete": False}


# ------------------------------------------------------------------------------------------------
# Another deployment is active
# ------------------------------------------------------------------------------------------------


def test_waits_for_an_active_deployment_then_deploys_and_finds_its_own_by_marker(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, ["d-OTHER"])
    expect_get(aws, "d-OTHER", "InProgress", created=T0 - timedelta(minutes=3), description="manual")
    result = aws.handler.on_event(event())
    assert result == {
        "PhysicalResourceId": "blue-green-ecs/shop/web",
        "Data": {"DeploymentId": ""},
        STATE_KEY: {"Decision": "waiting", "RequestedAt": T0.isoformat()},
    }
    polled = poll_event(result)
    other = info("d-OTHER", "InProgress", created=T0 - timedelta(minutes=3), description="manual")

    # Poll 1: the other deployment still runs.
    aws.clock.now = T0 + timedelta(seconds=30)
    expect_list(aws, OWN_FILTER, ["d-OTHER"])
    aws.codedeploy.add_response("batch_get_deployments", {"deploymentsInfo": [other]}, {"deploymentIds": ["d-OTHER"]})
    expect_list(aws, ACTIVE_FILTER, ["d-OTHER"])
    expect_get(aws, "d-OTHER", "InProgress", created=T0 - timedelta(minutes=3), description="manual")
    assert aws.handler.is_complete(polled) == {"IsComplete": False}

    # Poll 2: it has finished; ECS still runs the old revision, so this request starts its deployment.
    aws.clock.now = T0 + timedelta(seconds=60)
    expect_list(aws, OWN_FILTER, ["d-OTHER"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [{**other, "status": "Succeeded"}]},
        {"deploymentIds": ["d-OTHER"]},
    )
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_response("create_deployment", {"deploymentId": "d-NEW"}, CREATE_PARAMS)
    assert aws.handler.is_complete(polled) == {"IsComplete": False}

    # Poll 3: the same event again; the marker in the description identifies d-NEW, nothing new starts.
    aws.clock.now = T0 + timedelta(seconds=90)
    expect_list(aws, OWN_FILTER, ["d-NEW", "d-OTHER"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [info("d-NEW", "InProgress", created=T0 + timedelta(seconds=61)), other]},
        {"deploymentIds": ["d-NEW", "d-OTHER"]},
    )
    assert aws.handler.is_complete(polled) == {"IsComplete": False}

    # Poll 4: d-NEW succeeded.
    aws.clock.now = T0 + timedelta(minutes=8)
    expect_list(aws, OWN_FILTER, ["d-NEW", "d-OTHER"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [info("d-NEW", "Succeeded", created=T0 + timedelta(seconds=61)), other]},
        {"deploymentIds": ["d-NEW", "d-OTHER"]},
    )
    assert aws.handler.is_complete(polled) == {"IsComplete": True, "Data": {"DeploymentId": "d-NEW"}}

    decisions = [line["decision"] for line in log_lines(capsys) if line["action"] == "decision"]
    assert decisions == ["wait", "wait", "deploy"]


def test_own_deployment_found_by_marker_after_it_failed_is_not_restarted(aws: Aws) -> None:
    waiting = poll_event(
        {
            "PhysicalResourceId": "blue-green-ecs/shop/web",
            "Data": {"DeploymentId": ""},
            STATE_KEY: {"Decision": "waiting", "RequestedAt": T0.isoformat()},
        }
    )
    expect_list(aws, OWN_FILTER, ["d-NEW"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [info("d-NEW", "Failed", error=("HEALTH_CONSTRAINTS", "Tasks failed to start"))]},
        {"deploymentIds": ["d-NEW"]},
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(waiting)

    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW failed (HEALTH_CONSTRAINTS): Tasks failed to start. "
        "No rollback deployment was started."
    )


def test_deployment_limit_exceeded_waits_instead_of_failing(aws: Aws) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_client_error(
        "create_deployment",
        "DeploymentLimitExceededException",
        "The deployment group shop-web-dg has an active deployment d-OTHER",
        expected_params=CREATE_PARAMS,
    )

    result = aws.handler.on_event(event())

    assert result[STATE_KEY]["Decision"] == "waiting"
    assert result["Data"] == {"DeploymentId": ""}


# ------------------------------------------------------------------------------------------------
# Delete, missing resources, permissions
# ------------------------------------------------------------------------------------------------


def test_delete_makes_no_aws_call(aws: Aws) -> None:
    delete = event("Delete")

    assert aws.handler.on_event(delete) == {"PhysicalResourceId": "blue-green-ecs/shop/web"}
    assert aws.handler.is_complete(poll_event({"PhysicalResourceId": "blue-green-ecs/shop/web"}, delete)) == {
        "IsComplete": True
    }


def test_lambda_entry_point_delete_creates_no_client() -> None:
    deployment._default_handler.cache_clear()
    try:
        assert deployment.on_event(event("Delete"), None) == {"PhysicalResourceId": "blue-green-ecs/shop/web"}
        assert deployment._default_handler()._codedeploy is None
        assert deployment._default_handler()._ecs is None
    finally:
        deployment._default_handler.cache_clear()


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "DeploymentGroupDoesNotExistException",
            "The deployment group shop-web-dg does not exist",
            "CodeDeploy deployment group 'shop-web-dg' does not exist in application 'shop-web' "
            "(codedeploy:ListDeployments: The deployment group shop-web-dg does not exist.) Check "
            "DeploymentGroupName and that the group exists in this account and region.",
        ),
        (
            "ApplicationDoesNotExistException",
            "No application found for name: shop-web",
            "CodeDeploy application 'shop-web' does not exist (codedeploy:ListDeployments: No "
            "application found for name: shop-web.) Check ApplicationName and that the application "
            "exists in this account and region.",
        ),
    ],
)
def test_missing_application_or_group_fails_with_their_names(aws: Aws, code: str, message: str, expected: str) -> None:
    aws.codedeploy.add_client_error("list_deployments", code, message, expected_params=REPEAT_FILTER)

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event())

    assert str(excinfo.value) == expected


def test_access_denied_names_the_missing_permission(aws: Aws) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_client_error(
        "create_deployment",
        "AccessDeniedException",
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deployer/fn is not authorized to perform: "
        f"codedeploy:GetDeploymentConfig on resource: arn:aws:codedeploy:us-east-1:{ACCOUNT}:"
        "deploymentconfig:CodeDeployDefault.ECSAllAtOnce because no identity-based policy allows the "
        "codedeploy:GetDeploymentConfig action",
        expected_params=CREATE_PARAMS,
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event())

    assert str(excinfo.value) == (
        "Access denied: the deployment handler's IAM role is not allowed to call "
        "codedeploy:GetDeploymentConfig (while calling codedeploy:CreateDeployment for CodeDeploy "
        "application 'shop-web', deployment group 'shop-web-dg'). Grant codedeploy:GetDeploymentConfig "
        "to the role. AWS said: User: "
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/fn is not authorized to perform: "
        f"codedeploy:GetDeploymentConfig on resource: arn:aws:codedeploy:us-east-1:{ACCOUNT}:"
        "deploymentconfig:CodeDeployDefault.ECSAllAtOnce because no identity-based policy allows the "
        "codedeploy:GetDeploymentConfig action."
    )


def test_access_denied_on_ecs_names_the_service(aws: Aws) -> None:
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_client_error(
        "describe_services", "AccessDeniedException", "Access denied", expected_params=DESCRIBE_PARAMS
    )

    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.on_event(event())

    assert str(excinfo.value) == (
        "Access denied: the deployment handler's IAM role is not allowed to call ecs:DescribeServices "
        "(while calling ecs:DescribeServices for ECS service 'web' in cluster 'shop'). Grant "
        "ecs:DescribeServices to the role. AWS said: Access denied."
    )


# ------------------------------------------------------------------------------------------------
# The same request delivered again (Lambda retries a failed invocation and may deliver twice)
# ------------------------------------------------------------------------------------------------

ROLLED_BACK = {
    "error": ("ALARM_ACTIVE", "One or more alarms have been activated"),
    "rollback": {"rollbackDeploymentId": "d-ROLLBACK", "rollbackMessage": "Automatic rollback on alarm"},
}


def test_repeated_request_after_its_deployment_rolled_back_reports_it_instead_of_deploying_again(aws: Aws) -> None:
    """The first delivery started d-NEW, which was rolled back: ECS runs the old revision, nothing is active."""
    expect_list(aws, REPEAT_FILTER, ["d-NEW", "d-OTHER"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                info("d-NEW", "Stopped", created=T0 - timedelta(minutes=20), **ROLLED_BACK),  # type: ignore[arg-type]
                info("d-OTHER", "Succeeded", created=T0 - timedelta(minutes=40), description="manual"),
            ]
        },
        {"deploymentIds": ["d-NEW", "d-OTHER"]},
    )

    result = aws.handler.on_event(event())

    assert result == STARTED
    expect_get(aws, "d-NEW", "Stopped", created=T0 - timedelta(minutes=20), **ROLLED_BACK)
    expect_get(aws, "d-ROLLBACK", "Succeeded", description="Rollback")
    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(result))
    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW was stopped by an alarm (ALARM_ACTIVE): One or more alarms have been "
        "activated. Rollback: deployment d-ROLLBACK restored the previous task set. Automatic rollback on alarm."
    )


def test_repeated_request_while_its_deployment_runs_resumes_waiting(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two pages: the lookup reads them all.
    aws.codedeploy.add_response("list_deployments", {"deployments": ["d-OTHER"], "nextToken": "page-2"}, REPEAT_FILTER)
    expect_list(aws, {**REPEAT_FILTER, "nextToken": "page-2"}, ["d-NEW"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                info("d-OTHER", "Succeeded", description="manual"),
                info("d-NEW", "InProgress", created=T0 - timedelta(minutes=2)),
            ]
        },
        {"deploymentIds": ["d-OTHER", "d-NEW"]},
    )

    assert aws.handler.on_event(event()) == STARTED
    [decision] = [line for line in log_lines(capsys) if line["action"] == "decision"]
    assert (decision["decision"], decision["deployment_id"], decision["status"]) == ("resume", "d-NEW", "InProgress")


def test_first_delivery_finds_no_deployment_of_its_own_and_decides(aws: Aws) -> None:
    expect_list(aws, REPEAT_FILTER, ["d-OLD"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                info(
                    "d-OLD",
                    "Succeeded",
                    description="CloudFormation shop/WebDeployment: web:41 [cfn-request:an-earlier-request]",
                )
            ]
        },
        {"deploymentIds": ["d-OLD"]},
    )

    assert expect_update_that_deploys(aws, lookup=False) == STARTED


# ------------------------------------------------------------------------------------------------
# Stopping this request's deployment when the trigger gives up on its own account
# ------------------------------------------------------------------------------------------------

STOP_PARAMS = {"deploymentId": "d-NEW", "autoRollbackEnabled": True}
STOPPED = "CodeDeploy deployment d-NEW was stopped with automatic rollback to the previous task set."
WAITING = {
    "PhysicalResourceId": "blue-green-ecs/shop/web",
    "Data": {"DeploymentId": ""},
    STATE_KEY: {"Decision": "waiting", "RequestedAt": T0.isoformat()},
}


def test_stop_stops_the_deployment_onevent_started(aws: Aws) -> None:
    aws.codedeploy.add_response("stop_deployment", {"status": "Pending"}, STOP_PARAMS)

    assert aws.handler.stop(poll_event(STARTED)) == STOPPED


def test_stop_finds_the_deployment_a_later_poll_started_by_its_marker(aws: Aws) -> None:
    expect_list(aws, OWN_FILTER, ["d-OTHER", "d-NEW"])
    aws.codedeploy.add_response(
        "batch_get_deployments",
        {"deploymentsInfo": [info("d-OTHER", "Succeeded", description="manual"), info("d-NEW", "InProgress")]},
        {"deploymentIds": ["d-OTHER", "d-NEW"]},
    )
    aws.codedeploy.add_response("stop_deployment", {"status": "Pending"}, STOP_PARAMS)

    assert aws.handler.stop(poll_event(WAITING)) == STOPPED


def test_stop_with_no_deployment_started_says_nothing(aws: Aws) -> None:
    expect_list(aws, OWN_FILTER, [])

    assert aws.handler.stop(poll_event(WAITING)) == ""


def test_stop_leaves_a_finished_deployment_alone(aws: Aws) -> None:
    expect_list(aws, OWN_FILTER, ["d-NEW"])
    aws.codedeploy.add_response(
        "batch_get_deployments", {"deploymentsInfo": [info("d-NEW", "Succeeded")]}, {"deploymentIds": ["d-NEW"]}
    )

    assert aws.handler.stop(poll_event(WAITING)) == (
        "CodeDeploy deployment d-NEW had already finished (status Succeeded) and was not stopped."
    )


def test_stop_of_a_deployment_that_just_completed_says_so(aws: Aws) -> None:
    aws.codedeploy.add_client_error(
        "stop_deployment", "DeploymentAlreadyCompletedException", "already completed", expected_params=STOP_PARAMS
    )

    assert aws.handler.stop(poll_event(STARTED)) == (
        "CodeDeploy deployment d-NEW had already finished and was not stopped."
    )


def test_stop_that_fails_says_how_to_stop_it(aws: Aws) -> None:
    aws.codedeploy.add_client_error(
        "stop_deployment",
        "AccessDeniedException",
        "not authorized to perform: codedeploy:StopDeployment",
        expected_params=STOP_PARAMS,
    )

    assert aws.handler.stop(poll_event(STARTED)) == (
        "CodeDeploy deployment d-NEW could not be stopped (Access denied: the deployment handler's IAM role is "
        "not allowed to call codedeploy:StopDeployment (while calling codedeploy:StopDeployment for CodeDeploy "
        "application 'shop-web', deployment group 'shop-web-dg'). Grant codedeploy:StopDeployment to the role. "
        "AWS said: not authorized to perform: codedeploy:StopDeployment.); stop it with 'aws deploy "
        "stop-deployment --deployment-id d-NEW --auto-rollback-enabled'."
    )


def test_stop_that_cannot_look_the_deployment_up_says_so(aws: Aws) -> None:
    aws.codedeploy.add_client_error("list_deployments", "ThrottlingException", "Rate exceeded", 400)

    assert aws.handler.stop(poll_event(WAITING)) == (
        "Its CodeDeploy deployment, if one was started, could not be looked up to stop it "
        "(codedeploy:ListDeployments still failing after 1 attempt(s): ThrottlingException: Rate exceeded); "
        "check the deployment group's deployments in CodeDeploy."
    )


def test_stop_for_a_delete_makes_no_aws_call(aws: Aws) -> None:
    assert aws.handler.stop(poll_event({"PhysicalResourceId": "blue-green-ecs/shop/web"}, event("Delete"))) == ""


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_deployment_is_reported_as_ended(aws: Aws, status: str) -> None:
    """custom_resource.py stops nothing after such a failure: the deployment is over."""
    expect_get(aws, "d-NEW", status, error=("HEALTH_CONSTRAINTS", "Tasks failed to start"))

    with pytest.raises(DeploymentEndedError):
        aws.handler.is_complete(poll_event(STARTED))


def test_a_timed_out_deployment_is_reported_as_ended(aws: Aws) -> None:
    aws.clock.now = T0 + timedelta(minutes=31)
    expect_get(aws, "d-NEW", "InProgress")
    aws.codedeploy.add_response("stop_deployment", {"status": "Pending"}, STOP_PARAMS)

    with pytest.raises(DeploymentEndedError):
        aws.handler.is_complete(poll_event(STARTED))


def test_waiter_throttled_then_repeated_delivery_follows_the_first_deployment(aws: Aws) -> None:
    """Both handlers together: the first delivery starts d-NEW but not the waiter and raises; Lambda's repeat,
    after d-NEW has finished, starts no second deployment and answers with d-NEW's outcome."""
    states = _client("stepfunctions")
    answers: list[dict[str, Any]] = []

    def put(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        answers.append(json.loads(body))
        return 200

    provider = CustomResourceHandler(aws.handler, states, put=put, clock=aws.clock)
    request = {
        **event(),
        "ResponseURL": "https://example.invalid/response",
        "ResourceProperties": {**PROPS, "WaiterStateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:W"},
    }
    # First delivery: deploys, the first poll finds d-NEW in progress, Step Functions keeps throttling.
    expect_no_own_deployment(aws)
    expect_list(aws, ACTIVE_FILTER, [])
    aws.ecs.add_response("describe_services", service(TD_OLD), DESCRIBE_PARAMS)
    aws.codedeploy.add_response("create_deployment", {"deploymentId": "d-NEW"}, CREATE_PARAMS)
    expect_get(aws, "d-NEW", "InProgress")
    with Stubber(states) as states_stub:
        states_stub.add_client_error("start_execution", "ThrottlingException", "Rate exceeded")
        with pytest.raises(WaiterStartError):
            provider.handle(request)
    assert answers == []

    # Lambda delivers the request again a minute later; d-NEW has succeeded meanwhile.
    aws.clock.now = T0 + timedelta(minutes=1)
    expect_list(aws, {**REPEAT_FILTER, "createTimeRange": {"start": T0 - timedelta(minutes=64)}}, ["d-NEW"])
    aws.codedeploy.add_response(
        "batch_get_deployments", {"deploymentsInfo": [info("d-NEW", "Succeeded")]}, {"deploymentIds": ["d-NEW"]}
    )
    expect_get(aws, "d-NEW", "Succeeded")

    assert provider.handle(request) == {"Status": "SUCCESS"}
    assert [(answer["Status"], answer["Data"]) for answer in answers] == [("SUCCESS", {"DeploymentId": "d-NEW"})]


def test_alarm_stop_reason_names_the_alarm_and_survives_a_cloudwatch_failure(aws: Aws) -> None:
    # given a deployment stopped by an alarm whose state the role may not read
    expect_get(
        aws,
        "d-NEW",
        "Stopped",
        error=("ALARM_ACTIVE", "Stopped. Activated alarms: <shop-web-compare>"),
        rollback={"rollbackDeploymentId": "d-ROLLBACK"},
    )
    expect_get(aws, "d-ROLLBACK", "Succeeded", description="Rollback")
    aws.cloudwatch.add_client_error("describe_alarms", "AccessDenied", "not authorized")
    # when polled / then CodeDeploy's reason is reported unchanged
    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))
    assert str(excinfo.value) == (
        "CodeDeploy deployment d-NEW was stopped by an alarm (ALARM_ACTIVE): Stopped. Activated alarms: "
        "<shop-web-compare>. Rollback: deployment d-ROLLBACK restored the previous task set."
    )


def test_alarm_stop_reason_adds_the_alarm_s_datapoints(aws: Aws) -> None:
    expect_get(
        aws,
        "d-NEW",
        "Stopped",
        error=("ALARM_ACTIVE", "Stopped. Activated alarms: <shop-web-compare>"),
        rollback={"rollbackDeploymentId": "d-ROLLBACK"},
    )
    expect_get(aws, "d-ROLLBACK", "Succeeded", description="Rollback")
    aws.cloudwatch.add_response(
        "describe_alarms",
        {
            "MetricAlarms": [
                {
                    "AlarmName": "shop-web-compare",
                    "StateValue": "ALARM",
                    "StateReasonData": json.dumps({"recentDatapoints": [3.0, 4.5], "threshold": 2.0}),
                }
            ]
        },
        {"AlarmNames": ["shop-web-compare"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )
    with pytest.raises(DeploymentError) as excinfo:
        aws.handler.is_complete(poll_event(STARTED))
    assert str(excinfo.value).endswith(
        "Rollback: deployment d-ROLLBACK restored the previous task set. "
        "Alarm shop-web-compare (ALARM): datapoints [3, 4.5] against threshold 2."
    )
