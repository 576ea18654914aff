"""Operations view: the optional dashboard and deployment notifications, under both engines."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine

from ..configurations import IMAGE
from ..support import logical_id, new_stack, only, synth


def _topic(stack: Stack) -> sns.Topic:
    key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    return sns.Topic(stack, "Deployments", master_key=key, enforce_ssl=True)


def test_no_dashboard_and_no_notifications_by_default(sample: Any) -> None:
    sample.template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    sample.template.resource_count_is("AWS::Events::Rule", 0)


def test_dashboard_shows_blue_and_green_side_by_side_and_the_alarms() -> None:
    stack = new_stack()
    web = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), dashboard=True)
    _, dashboard = only(synth(stack), "AWS::CloudWatch::Dashboard")
    assert "DashboardName" not in dashboard["Properties"]
    body = json.dumps(stack.resolve(dashboard["Properties"]["DashboardBody"]))
    for title in ("Requests", "Target 5xx", "Target response time p99", "Healthy hosts", "Rollback alarms"):
        assert f'\\"title\\":\\"{title}\\"' in body, title
    assert body.count('\\"label\\":\\"blue\\"') == 4
    assert body.count('\\"label\\":\\"green\\"') == 4
    for alarm in web.rollback_alarms:
        assert logical_id(stack, alarm) in body


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, DeploymentEngine.ECS_NATIVE])
def test_deployment_events_go_to_the_topic(engine: DeploymentEngine) -> None:
    stack = new_stack()
    topic = _topic(stack)
    web = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), engine=engine, notifications_topic=topic
    )
    _, rule = only(synth(stack), "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    if engine is DeploymentEngine.CODE_DEPLOY:
        assert web.application is not None
        assert web.deployment_group is not None
        assert pattern == {
            "source": ["aws.codedeploy"],
            "detail-type": ["CodeDeploy Deployment State-change Notification"],
            "detail": {
                "application": [stack.resolve(web.application.application_name)],
                "deploymentGroup": [stack.resolve(web.deployment_group.deployment_group_name)],
            },
        }
    else:
        assert pattern == {
            "source": ["aws.ecs"],
            # The pause hook of deployment_approval_wait_time waiting: HOOK_AWAITING_ACTION.
            "detail-type": ["ECS Deployment State Change", "ECS Hook State Change"],
            "resources": [stack.resolve(web.service.service_arn)],
        }
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Ref": logical_id(stack, topic)}


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, DeploymentEngine.ECS_NATIVE])
def test_waiting_for_approval_is_notified(engine: DeploymentEngine) -> None:
    # Matched the way EventBridge matches (moto's event pattern matcher), with the tokens as their resolved
    # placeholders. CodeDeploy: the group's state change with state READY (aws-lambda-go's
    # CodeDeployDeploymentStateReady); ECS: the pause hook's HOOK_AWAITING_ACTION (Pause hooks for Amazon ECS
    # service deployments).
    from moto.events.models import EventPattern

    stack = new_stack()
    web = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        engine=engine,
        notifications_topic=_topic(stack),
        deployment_approval_wait_time=Duration.minutes(30),
    )
    _, rule = only(synth(stack), "AWS::Events::Rule")
    pattern = EventPattern.load(json.dumps(_placeholders(rule["Properties"]["EventPattern"])))
    if engine is DeploymentEngine.CODE_DEPLOY:
        assert web.application is not None
        assert web.deployment_group is not None
        detail = {
            "application": _placeholders(stack.resolve(web.application.application_name)),
            "deploymentGroup": _placeholders(stack.resolve(web.deployment_group.deployment_group_name)),
            "deploymentId": "d-1",
            "state": "READY",
        }
        waiting: dict[str, Any] = {
            "source": "aws.codedeploy",
            "detail-type": "CodeDeploy Deployment State-change Notification",
        }
        other: dict[str, Any] = {**waiting, "detail": {**detail, "deploymentGroup": "other"}}
        waiting["detail"] = detail
    else:
        service = _placeholders(stack.resolve(web.service.service_arn))
        waiting = {
            "source": "aws.ecs",
            "detail-type": "ECS Hook State Change",
            "resources": [service],
            "detail": {"eventName": "HOOK_AWAITING_ACTION"},
        }
        other = {**waiting, "resources": ["arn:aws:ecs:us-east-1:123456789012:service/other/other"]}
    assert pattern.matches_event(cast(Any, waiting))
    assert not pattern.matches_event(cast(Any, other))


def _placeholders(value: Any) -> Any:
    """``value`` with every intrinsic (``{"Ref": ...}``, ``{"Fn::...": ...}``) as one string standing for it."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return json.dumps(value, sort_keys=True)
        return {key: _placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    return value
