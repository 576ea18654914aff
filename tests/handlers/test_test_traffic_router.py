"""The test traffic router hook against botocore's ELBv2 model (Stubber), under both engines' events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers import lifecycle_hook, test_traffic_router
from blue_green_ecs.handlers.test_traffic_router import route

LB = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
BLUE = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/blue/73e2d6bc24d8a067"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/green/943f017f100becff"
HEADER_RULE = f"{LISTENER.replace(':listener/', ':listener-rule/')}/9683b2d02a6cabee"
PROD_RULE = f"{LISTENER.replace(':listener/', ':listener-rule/')}/1a2b3c4d5e6f7a8b"
ENV = {
    "PROD_LISTENER_ARN": "",
    "LOAD_BALANCER_ARN": LB,
    "PROD_PORT": "80",
    "PROD_RULE_PRIORITY": "",
    "TEST_TRAFFIC_RULE_PRIORITY": "1",
    "BLUE_TARGET_GROUP_ARN": BLUE,
    "GREEN_TARGET_GROUP_ARN": GREEN,
}


def forward(target_group: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": target_group}]


def weighted(blue: int, green: int) -> list[dict[str, Any]]:
    groups = [{"TargetGroupArn": BLUE, "Weight": blue}, {"TargetGroupArn": GREEN, "Weight": green}]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def header_rule(target_group: str) -> dict[str, Any]:
    return {
        "RuleArn": HEADER_RULE,
        "Priority": "1",
        "Conditions": [
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-blue-green", "Values": ["s"]}}
        ],
        "Actions": forward(target_group),
        "IsDefault": False,
    }


def default_rule(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"RuleArn": f"{HEADER_RULE}-default", "Priority": "default", "Conditions": [], "Actions": actions}


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("elbv2", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def listeners(stubber: Stubber, default: list[dict[str, Any]], *, by_arn: bool = False) -> None:
    listener = {"ListenerArn": LISTENER, "LoadBalancerArn": LB, "Port": 80, "DefaultActions": default}
    params = {"ListenerArns": [LISTENER]} if by_arn else {"LoadBalancerArn": LB}
    stubber.add_response("describe_listeners", {"Listeners": [listener]}, params)


@pytest.mark.parametrize(("production", "green"), [(BLUE, GREEN), (GREEN, BLUE)])
def test_code_deploy_points_the_rule_at_the_target_group_production_does_not_use(
    elbv2: tuple[Any, Stubber], production: str, green: str
) -> None:
    client, stubber = elbv2
    # given: CodeDeploy's production is the listener's default action; the header rule still on production's group
    listeners(stubber, forward(production))
    stubber.add_response("describe_rules", {"Rules": [header_rule(production), default_rule(forward(production))]})
    # then: the rule is modified to forward to the other one, green
    stubber.add_response(
        "modify_rule", {"Rules": [header_rule(green)]}, {"RuleArn": HEADER_RULE, "Actions": forward(green)}
    )
    assert route(client, ENV)


def test_a_named_listener_is_described_by_arn_once(elbv2: tuple[Any, Stubber]) -> None:
    client, stubber = elbv2
    # given: the production listener named by ARN (a shared one) whose default action is production
    stubber.add_response("describe_rules", {"Rules": [header_rule(BLUE)]}, {"ListenerArn": LISTENER})
    listeners(stubber, forward(BLUE), by_arn=True)
    # then: the rule moves to green
    stubber.add_response(
        "modify_rule", {"Rules": [header_rule(GREEN)]}, {"RuleArn": HEADER_RULE, "Actions": forward(GREEN)}
    )
    assert route(client, {**ENV, "PROD_LISTENER_ARN": LISTENER})


def test_the_router_client_gives_up_within_its_functions_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = lifecycle_hook.HOOK_CLIENT_CONFIG
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert test_traffic_router._default_client().meta.config.read_timeout == 10


def test_ecs_native_reads_production_from_its_rule_and_leaves_a_rule_already_on_green_alone(
    elbv2: tuple[Any, Stubber],
) -> None:
    client, stubber = elbv2
    # given: an ECS-native production rule at 10 on blue, on a shared listener named by ARN, the header rule on green
    prod = {"RuleArn": PROD_RULE, "Priority": "10", "Conditions": [], "Actions": weighted(100, 0), "IsDefault": False}
    stubber.add_response(
        "describe_rules",
        {"Rules": [header_rule(GREEN), prod], "NextMarker": "m"},
        {"ListenerArn": LISTENER},
    )
    stubber.add_response("describe_rules", {"Rules": [default_rule([])]}, {"ListenerArn": LISTENER, "Marker": "m"})
    # then: no ModifyRule (the Stubber would reject one)
    assert route(client, {**ENV, "PROD_LISTENER_ARN": LISTENER, "PROD_RULE_PRIORITY": "10"})


@pytest.mark.parametrize(
    ("default", "reason"),
    [
        (weighted(90, 10), "goes to .* not to exactly one"),
        (forward("arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/other/1"), "not to exactly one"),
    ],
    ids=["split", "foreign"],
)
def test_production_on_neither_or_both_fails_the_hook(
    elbv2: tuple[Any, Stubber], default: list[dict[str, Any]], reason: str
) -> None:
    client, stubber = elbv2
    listeners(stubber, default)
    stubber.add_response("describe_rules", {"Rules": [header_rule(BLUE)]})
    with pytest.raises(lifecycle_hook.HookFailedError, match=reason):
        route(client, ENV)


def test_a_missing_rule_or_listener_or_variable_fails_the_hook(elbv2: tuple[Any, Stubber]) -> None:
    client, stubber = elbv2
    listeners(stubber, forward(BLUE))
    stubber.add_response("describe_rules", {"Rules": [default_rule(forward(BLUE))]})
    with pytest.raises(lifecycle_hook.HookFailedError, match=r"test traffic rule \(priority 1\) .* does not exist"):
        route(client, ENV)
    stubber.add_response("describe_listeners", {"Listeners": []}, {"LoadBalancerArn": LB})
    with pytest.raises(lifecycle_hook.HookFailedError, match="has no listener on port 80"):
        route(client, ENV)
    with pytest.raises(lifecycle_hook.HookFailedError, match="PROD_PORT"):
        route(client, {k: v for k, v in ENV.items() if k != "PROD_PORT"})


def test_the_handler_answers_each_engine_in_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a router that passes, and a CodeDeploy client that records the report
    monkeypatch.setattr(test_traffic_router, "route", lambda client, environment: True)
    monkeypatch.setattr(test_traffic_router, "_default_client", lambda: None)
    codedeploy = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    monkeypatch.setattr(lifecycle_hook, "_default_client", lambda: codedeploy)
    with Stubber(codedeploy) as stubber:
        stubber.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": "e-1"},
            {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "e-1", "status": "Succeeded"},
        )
        # when CodeDeploy invokes it, then it reports Succeeded
        answer = test_traffic_router.handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"}, None)
        assert answer["Status"] == "Succeeded"
        stubber.assert_no_pending_responses()
    # and when ECS invokes it, it returns the hook status
    ecs_event = {"executionDetails": {"serviceArn": "arn:aws:ecs:us-east-1:111122223333:service/c/web"}}
    assert test_traffic_router.handler(ecs_event, None) == {"hookStatus": "SUCCEEDED"}
