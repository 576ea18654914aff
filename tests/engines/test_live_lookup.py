"""Day two in the template: what the engines own is rendered from the live-state lookup (issue #12).

The lookup's decisions are tested in tests/handlers/test_live_lookup.py, and whole sequences of
deployments and stack updates in tests/test_day_two.py; here: that the template asks it, and asks it
again whenever CloudFormation would write a listener, a rule or the service.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine
from blue_green_ecs.deployment.provider import WAITER_TIMEOUT_SECONDS, Provider, waiter_definition
from blue_green_ecs.engines.live_lookup import PINNED_SERVICE_TYPE, RESOURCE_TYPE

from ..configurations import CERTIFICATE_ARN, IMAGE
from ..conftest import Synthesized
from ..support import logical_id, new_stack, only, resources_of_type, synth


def _get_att(stack: Stack, service: BlueGreenFargateService, attribute: str) -> dict[str, Any]:
    engine = service.code_deploy if service.engine is DeploymentEngine.CODE_DEPLOY else service.ecs_native
    return {"Fn::GetAtt": [logical_id(stack, engine.live_state.resource), attribute]}


def _pinned(stack: Stack, service: BlueGreenFargateService, attribute: str) -> dict[str, Any]:
    assert service.code_deploy is not None
    pinned = service.code_deploy.live_state.pinned_service
    assert pinned is not None
    return {"Fn::GetAtt": [logical_id(stack, pinned), attribute]}


def test_codedeploy_listeners_and_service_render_from_the_lookup(sample: Synthesized) -> None:
    stack, web, template = sample.stack, sample.service, sample.template
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    prod = listeners[logical_id(stack, web.prod_listener)]["Properties"]
    test = listeners[logical_id(stack, web.test_listener)]["Properties"]
    assert prod["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": _get_att(stack, web, "ProdTargetGroupArn")}]
    assert test["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": _get_att(stack, web, "TestTargetGroupArn")}]
    _, service = only(template, "AWS::ECS::Service")
    properties = service["Properties"]
    assert properties["DesiredCount"] == _get_att(stack, web, "DesiredCount")
    # What ECS refuses to update on a CODE_DEPLOY service stays as CloudFormation created it (the pinned service
    # holds it: DescribeServices answers the PRIMARY task set's); the AppSpec deploys changes.
    assert properties["NetworkConfiguration"]["AwsvpcConfiguration"] == {
        "Subnets": {"Fn::Split": [",", _pinned(stack, web, "Subnets")]},
        "SecurityGroups": {"Fn::Split": [",", _pinned(stack, web, "SecurityGroups")]},
        "AssignPublicIp": _pinned(stack, web, "AssignPublicIp"),
    }
    assert properties["PlatformVersion"] == _pinned(stack, web, "PlatformVersion")
    assert properties["LoadBalancers"] == [
        {
            "ContainerName": _pinned(stack, web, "ContainerName"),
            "ContainerPort": _pinned(stack, web, "ContainerPort"),
            "TargetGroupArn": _pinned(stack, web, "ServiceTargetGroupArn"),
        }
    ]


def test_the_pinned_service_names_the_service_and_takes_the_lookups_answer(sample: Synthesized) -> None:
    stack, web, template = sample.stack, sample.service, sample.template
    _, lookup = only(template, RESOURCE_TYPE)
    _, pinned = only(template, PINNED_SERVICE_TYPE)
    keys = ("ServiceTargetGroupArn", "ContainerName", "ContainerPort", "Subnets", "SecurityGroups", "AssignPublicIp")
    assert pinned["Properties"] == {
        "ServiceToken": lookup["Properties"]["ServiceToken"],
        "ServiceTimeout": "900",
        "ClusterName": {"Ref": logical_id(stack, web.cluster)},
        "ServiceName": "",
        "BlueTargetGroupArn": {"Ref": logical_id(stack, web.blue_target_group)},
        "GreenTargetGroupArn": {"Ref": logical_id(stack, web.green_target_group)},
        "Candidate": {key: _get_att(stack, web, key) for key in (*keys, "PlatformVersion")},
    }
    # It waits for the lookup: the lookup's properties do not name it (the fingerprint holds the service's own
    # properties, not those the engine renders, these among them)
    assert _pinned(stack, web, "Subnets")["Fn::GetAtt"][0] not in json.dumps(lookup["Properties"])


def test_an_ecs_native_service_has_no_pinned_service(sample_ecs: Synthesized) -> None:
    assert resources_of_type(sample_ecs.template, PINNED_SERVICE_TYPE) == {}


def test_the_lookup_finds_everything_without_naming_what_waits_for_it(sample: Synthesized) -> None:
    stack, web, template = sample.stack, sample.service, sample.template
    _, lookup = only(template, RESOURCE_TYPE)
    properties = lookup["Properties"]
    assert properties["Engine"] == "CODE_DEPLOY"
    assert properties["LoadBalancerArn"] == {"Ref": logical_id(stack, web.load_balancer)}
    assert (properties["ProdPort"], properties["TestPort"]) == ("80", "8080")
    assert properties["BlueTargetGroupArn"] == {"Ref": logical_id(stack, web.blue_target_group)}
    assert properties["GreenTargetGroupArn"] == {"Ref": logical_id(stack, web.green_target_group)}
    assert properties["ServiceName"] == ""
    assert properties["Configured"]["DesiredCount"] == "2"
    assert properties["Configured"]["AssignPublicIp"] == "ENABLED"
    # No reference to the listeners or the service it answers for: that would be a dependency cycle.
    waiting = {logical_id(stack, c) for c in (web.prod_listener, web.test_listener, web.service)}
    text = str(lookup)
    assert not any(f"'{logical}'" in text for logical in waiting)
    # The fingerprint names them instead of referring to them.
    assert set(properties["Fingerprint"]) == {"ProdListener", "TestListener", "Service"}


def _fingerprint(**props: Any) -> dict[str, Any]:
    stack = new_stack()
    BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **props)
    _, lookup = only(synth(stack), RESOURCE_TYPE)
    fingerprint: dict[str, Any] = lookup["Properties"]["Fingerprint"]
    return fingerprint


def test_a_service_change_changes_the_fingerprint_so_the_count_is_read_before_the_service_is_written() -> None:
    # Given the same service with another health check grace period
    base = _fingerprint()
    changed = _fingerprint(health_check_grace_period=Duration.seconds(90))
    # Then the lookup's properties change: CloudFormation asks it (for the live task count) before
    # UpdateService, which would otherwise write DesiredCount back to the template's
    assert base["ProdListener"] == changed["ProdListener"]
    assert base["Service"]["healthCheckGracePeriodSeconds"] == 60
    assert changed["Service"]["healthCheckGracePeriodSeconds"] == 90


def test_a_certificate_or_policy_change_changes_the_fingerprint_of_the_production_listener() -> None:
    http = _fingerprint()
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        ssl_policy=elbv2.SslPolicy.TLS13_13,
    )
    _, lookup = only(synth(stack), RESOURCE_TYPE)
    https = lookup["Properties"]["Fingerprint"]
    # (aws-cdk-lib's own property names: the handler ignores the fingerprint's content)
    assert http["ProdListener"]["port"] == 80
    assert https["ProdListener"]["port"] == 443
    assert https["ProdListener"]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    assert https["ProdListener"]["certificates"] == [{"certificateArn": CERTIFICATE_ARN}]


def test_ecs_native_rules_and_service_render_from_the_lookup(sample_ecs: Synthesized) -> None:
    stack, web, template = sample_ecs.stack, sample_ecs.service, sample_ecs.template
    rules = resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    for rule in (web.prod_listener_rule, web.test_listener_rule):
        assert rules[logical_id(stack, rule)]["Properties"]["Actions"] == [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": _get_att(stack, web, "ProdTargetGroupArn"), "Weight": 100},
                        {"TargetGroupArn": _get_att(stack, web, "TestTargetGroupArn"), "Weight": 0},
                    ]
                },
            }
        ]
    _, lookup = only(template, RESOURCE_TYPE)
    assert lookup["Properties"]["Engine"] == "ECS_NATIVE"
    assert (lookup["Properties"]["ProdRulePriority"], lookup["Properties"]["TestRulePriority"]) == ("10", "1")
    assert set(lookup["Properties"]["Fingerprint"]) == {
        "ProdListener",
        "TestListener",
        "ProdRule",
        "TestRule",
        "Service",
    }
    _, service = only(template, "AWS::ECS::Service")
    assert service["Properties"]["DesiredCount"] == _get_att(stack, web, "DesiredCount")
    # The service refers to its rules; the fingerprint names them rather than referring back.
    assert (
        lookup["Properties"]["Fingerprint"]["Service"]["loadBalancers"][0]["advancedConfiguration"][
            "productionListenerRule"
        ]
        == f"<Ref {logical_id(stack, web.prod_listener_rule)}>"
    )


def test_the_function_policy_names_nothing_that_waits_for_a_lookup(sample: Synthesized) -> None:
    # The function depends on its role's default policy and every lookup on the function: a statement
    # naming the service or the deployment group there would close a dependency cycle.
    stack, template = sample.stack, sample.template
    provider = Provider.of(stack)
    role_policy = resources_of_type(template, "AWS::IAM::Policy")[
        logical_id(stack, provider.handler_role.node.find_child("DefaultPolicy"))
    ]
    text = str(role_policy)
    assert logical_id(stack, sample.service.service) not in text
    assert "codedeploy:" not in text
    actions = {a for s in role_policy["Properties"]["PolicyDocument"]["Statement"] for a in _listify(s["Action"])}
    assert {
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "ecs:ListServices",
    } <= actions


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_waiter_has_its_own_timeout_and_logs_under_vendedlogs(sample: Synthesized) -> None:
    # DefinitionBody.from_string drops StateMachine(timeout=...): the definition carries it (issue #13).
    assert waiter_definition()["TimeoutSeconds"] == WAITER_TIMEOUT_SECONDS == 65 * 60
    # Step Functions adds log groups outside /aws/vendedlogs/ to the account's 5,120-character Logs
    # resource policy.
    stack = sample.stack
    waiter = Provider.of(stack).waiter()
    machine = resources_of_type(sample.template, "AWS::StepFunctions::StateMachine")[
        logical_id(stack, waiter.state_machine)
    ]
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = resources_of_type(sample.template, "AWS::Logs::LogGroup")[group_id]["Properties"]
    assert group["LogGroupName"] == {
        "Fn::Join": [
            "",
            [
                "/aws/vendedlogs/states/",
                {"Ref": "AWS::StackName"},
                "-",
                # The stack id's UUID: retained on delete, the group must not block the stack's next create.
                {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
                "-blue-green-ecs-waiter",
            ],
        ]
    }
