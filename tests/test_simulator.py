"""The lifecycle simulator's own rules, on small hand-written templates (no synthesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from .simulator import clients, codedeploy
from .simulator.aws import Aws, Group, Listener, Rule, forward, weights_of
from .simulator.cloudformation import TIMED_OUT, Stack, timed_out_reason
from .simulator.intrinsics import Resolver, order
from .simulator.resources import Handlers, Resource

SUBNETS = {"AwsvpcConfiguration": {"Subnets": ["subnet-a"], "SecurityGroups": ["sg-a"], "AssignPublicIp": "DISABLED"}}


def _template(**service: Any) -> dict[str, Any]:
    """A load balancer, two target groups, a listener and a CODE_DEPLOY service in blue."""
    properties = {
        "Cluster": {"Ref": "Cluster"},
        "DeploymentController": {"Type": "CODE_DEPLOY"},
        "DesiredCount": 2,
        "TaskDefinition": "web",
        "LoadBalancers": [{"ContainerName": "web", "ContainerPort": 80, "TargetGroupArn": {"Ref": "Blue"}}],
        "NetworkConfiguration": SUBNETS,
        **service,
    }
    return {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"},
            "Blue": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
            "Green": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
            "Prod": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": "Lb"},
                    "Port": 80,
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Blue"}}],
                },
            },
            "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "web"}},
            "Service": {"Type": "AWS::ECS::Service", "DependsOn": ["Prod", "TaskDefinition"], "Properties": properties},
        }
    }


def _group(stack: Stack, prod: str) -> Group:
    """A deployment group of the service: canary 10% for 5 minutes, 5 minutes' termination wait, one alarm."""
    aws = stack.handlers.aws
    service = next(iter(aws.services.values()))
    names = [aws.target_groups[stack.resources[x].physical_id] for x in ("Blue", "Green")]
    canary = "CodeDeployDefault.ECSCanary10Percent5Minutes"
    return Group("app", "group", service.cluster, service.name, [prod], [], names, canary, 5, ["alarm"])


@pytest.fixture
def stack() -> Stack:
    aws = Aws()
    requests: list[tuple[str, str, dict[str, Any] | None]] = []

    def invoke(kind: str, resource: Resource, props: dict[str, Any], old: dict[str, Any] | None) -> Any:
        requests.append((kind, resource.logical_id, old))
        return ("SUCCESS", "", props.get("Id", "custom-1"), {"Value": props.get("Value", "")})

    created = Stack(Handlers(aws, clients.ecs(aws)), invoke)
    created.requests = requests  # type: ignore[attr-defined]
    return created


def test_fake_clients_validate_requests_against_botocore_models() -> None:
    # given the simulated ECS client, when a request breaks the API model, then botocore's validation refuses it
    with pytest.raises(ParamValidationError, match="Invalid type for parameter services"):
        clients.ecs(Aws()).describe_services(cluster="c", services="web")


def test_code_deploy_service_refuses_network_updates_with_ecs_error_text(stack: Stack) -> None:
    # given a CODE_DEPLOY service
    assert stack.deploy(_template()) == "CREATE_COMPLETE"
    # when an update changes its subnets, then ECS's error fails the stack update and it rolls back
    changed = {"AwsvpcConfiguration": {**SUBNETS["AwsvpcConfiguration"], "Subnets": ["subnet-b"]}}
    assert stack.deploy(_template(NetworkConfiguration=changed)) == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.reason == (
        "Unable to update network parameters on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy "
        "to trigger a new deployment. (Service: Ecs, Status Code: 400, Error Code: InvalidParameterException)"
    )


def test_fake_client_raises_the_api_error_as_botocore_does() -> None:
    aws = Aws()
    with pytest.raises(ClientError) as raised:
        clients.ecs(aws).list_services(cluster="missing")
    assert raised.value.response["Error"] == {"Code": "ClusterNotFoundException", "Message": "Cluster not found."}


def test_replacement_creates_the_new_service_first_and_deletes_the_old_one_in_cleanup(stack: Stack) -> None:
    # given a service without a name
    stack.deploy(_template())
    old = stack.resources["Service"].physical_id
    # when it gets one (ServiceName is create-only)
    assert stack.deploy(_template(ServiceName="web")) == "UPDATE_COMPLETE"
    # then the new service was created before the old one was deleted, in the cleanup phase
    assert stack.events[-3:] == ["REPLACE Service", "CREATE Service", "DELETE Service"]
    services = stack.handlers.aws.services
    assert (services[old].status, services[stack.resources["Service"].physical_id].status) == ("INACTIVE", "ACTIVE")


def test_failed_update_rolls_back_to_the_previous_template_and_deletes_what_it_created(stack: Stack) -> None:
    # given a stack
    stack.deploy(_template())
    # when an update changes the listener port and adds a resource that fails
    changed = _template()
    changed["Resources"]["Prod"]["Properties"]["Port"] = 8000
    changed["Resources"]["Breaker"] = {"Type": "Test::Fails", "DependsOn": ["Prod"], "Properties": {"Reason": "no"}}
    # then the stack rolls back: the listener is back on 80
    assert (stack.deploy(changed), stack.reason) == ("UPDATE_ROLLBACK_COMPLETE", "no")
    [listener] = stack.handlers.aws.listeners.values()
    assert listener.port == 80
    assert "Breaker" not in stack.resources


def test_custom_resource_update_carries_the_old_properties(stack: Stack) -> None:
    # given a custom resource
    template: dict[str, Any] = {"Resources": {"Lookup": {"Type": "Custom::Thing", "Properties": {"Value": "a"}}}}
    stack.deploy(template)
    # when its properties change, then it gets an Update with the old ones; unchanged, no request
    template["Resources"]["Lookup"]["Properties"]["Value"] = "b"
    stack.deploy(template)
    stack.deploy(template)
    assert stack.requests == [("Create", "Lookup", None), ("Update", "Lookup", {"Value": "a"})]  # type: ignore[attr-defined]


def test_intrinsic_functions_resolve_as_cloudformation_documents() -> None:
    template: dict[str, Any] = {
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
        "Resources": {"A": {"Type": "X"}, "B": {"Type": "X", "Properties": {"Name": {"Fn::Sub": "${A.Arn}"}}}},
    }
    resolver = Resolver(template, lambda x: f"ref-{x}", lambda x, a: f"{x}.{a}")
    value = {
        "Join": {"Fn::Join": ["-", [{"Ref": "A"}, "x"]]},
        "Select": {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]},
        "If": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
        "Sub": {"Fn::Sub": ["${Var}/${AWS::Region}/${A}", {"Var": "v"}]},
    }
    assert resolver.resolve(value) == {"Join": "ref-A-x", "Select": "b", "If": "yes", "Sub": "v/us-east-1/ref-A"}
    assert order(template) == ["A", "B"]


def test_codedeploy_canary_shifts_then_terminates_the_original_after_the_wait(stack: Stack) -> None:
    # given a CODE_DEPLOY service in blue and a group with a canary of 10% for 5 minutes and a 5 minute wait
    stack.deploy(_template())
    aws = stack.handlers.aws
    blue, green = stack.resources["Blue"].physical_id, stack.resources["Green"].physical_id
    prod = stack.resources["Prod"].physical_id
    group = _group(stack, prod)
    appspec = {"Resources": [{"TargetService": {"Properties": {"TaskDefinition": "web:2", "LoadBalancerInfo": {
        "ContainerName": "web", "ContainerPort": 80}}}}]}  # fmt: skip
    deployment = codedeploy.create(aws, group, json.dumps(appspec), "")
    # when time passes, then production goes 90/10, then all to green, and blue's task set goes after the wait
    aws.advance(60)
    assert weights_of(aws.listeners[prod].actions) == {blue: 90, green: 10}
    aws.advance(300)
    assert weights_of(aws.listeners[prod].actions) == {green: 100, blue: 0}
    assert (deployment.status, aws.running_tasks(blue), aws.running_tasks(green)) == ("InProgress", 2, 2)
    aws.advance(300)
    assert (deployment.status, aws.running_tasks(blue), aws.running_tasks(green)) == ("Succeeded", 0, 2)


def test_codedeploy_rolls_back_on_alarm(stack: Stack) -> None:
    # given a deployment in its canary step
    stack.deploy(_template())
    aws = stack.handlers.aws
    blue, green = stack.resources["Blue"].physical_id, stack.resources["Green"].physical_id
    prod = stack.resources["Prod"].physical_id
    group = _group(stack, prod)
    appspec = {"Resources": [{"TargetService": {"Properties": {"TaskDefinition": "web:2", "LoadBalancerInfo": {
        "ContainerName": "web", "ContainerPort": 80}}}}]}  # fmt: skip
    deployment = codedeploy.create(aws, group, json.dumps(appspec), "")
    aws.advance(60)
    # when the alarm goes off, then production is back on blue alone and green's task set is gone
    aws.alarming.add("alarm")
    aws.advance(15)
    assert (deployment.status, deployment.error and deployment.error["code"]) == ("Stopped", "ALARM_ACTIVE")
    assert weights_of(aws.listeners[prod].actions) == {blue: 100, green: 0}
    assert (aws.running_tasks(blue), aws.running_tasks(green)) == (2, 0)


def _rule(priority: str, *conditions: dict[str, Any], target: str) -> Rule:
    return Rule(f"rule-{priority}", "listener", priority, [forward(target)], list(conditions))


def test_a_request_meets_the_first_matching_rule_by_priority_else_the_default_action() -> None:
    # given a shared listener: api.example.com (host names without case) at 10, /web/* (paths with case) at 20
    aws = Aws()
    aws.listeners["listener"] = Listener("listener", "lb", 80, "HTTP", [{"Type": "fixed-response"}])
    host = {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}
    path = {"Field": "path-pattern", "Values": ["/web/*"]}  # the legacy form
    aws.rules = {x.arn: x for x in (_rule("20", path, target="web"), _rule("10", host, target="api"))}

    def where(host: str, path: str) -> dict[str, int]:
        return weights_of(aws.route("listener", host, path))

    # then
    assert where("API.example.com", "/web/x") == {"api": 1}
    assert where("www.example.com", "/web/x") == {"web": 1}
    assert where("www.example.com", "/WEB/x") == {}
    assert where("www.example.com", "/") == {}


def test_delete_removes_each_resource_before_what_it_refers_to_and_keeps_retained_ones(stack: Stack) -> None:
    # given a stack whose log group is retained
    template = _template()
    template["Resources"]["Logs"] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"}
    stack.deploy(template)
    events = len(stack.events)
    # when it is deleted
    assert stack.delete() == "DELETE_COMPLETE"
    # then the service goes before the listener, the listener before the load balancer and its target group
    deleted = [x.removeprefix("DELETE ") for x in stack.events[events:] if x.startswith("DELETE ")]
    assert deleted.index("Service") < deleted.index("Prod") < min(deleted.index("Lb"), deleted.index("Blue"))
    assert "RETAIN Logs" in stack.events
    assert (stack.resources, [r.logical_id for r in stack.retained]) == ({}, ["Logs"])


def test_a_name_a_retained_resource_holds_fails_the_next_create_with_already_exists(stack: Stack) -> None:
    # given a named, retained log group, and its stack deleted
    template: dict[str, Any] = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/x"}}
        }
    }
    stack.deploy(template)
    first = stack.stack_id
    stack.delete()
    # when the stack is created again, then the name is taken
    assert stack.deploy(template) == "ROLLBACK_COMPLETE"
    assert stack.reason == (
        "Logs: Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier "
        '\'{"/properties/LogGroupName":"/x"}\' already exists." (HandlerErrorCode: AlreadyExists)'
    )
    # and each create had a stack id of its own
    assert stack.stack_id != first


def test_the_stack_id_is_new_with_every_create(stack: Stack) -> None:
    template: dict[str, Any] = {
        "Resources": {"Lookup": {"Type": "Custom::Thing", "Properties": {"Value": {"Ref": "AWS::StackId"}}}}
    }
    stack.deploy(template)
    first = stack.resources["Lookup"].properties["Value"]
    stack.delete()
    stack.deploy(template)
    second = stack.resources["Lookup"].properties["Value"]
    assert first.startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/Simulated/")
    assert first != second == stack.stack_id


@pytest.mark.parametrize("rewrites", [False, True])
def test_a_change_of_stack_tags_alone_calls_the_tag_apis_only(stack: Stack, rewrites: bool) -> None:
    # given a stack whose production listener CodeDeploy moved to green
    stack.retag_rewrites = rewrites
    stack.deploy(_template())
    aws = stack.handlers.aws
    green = stack.resources["Green"].physical_id
    listener = aws.listeners[stack.resources["Prod"].physical_id]
    listener.actions = [forward(green)]
    definition = stack.resources["TaskDefinition"].physical_id
    # when only the stack's tags change
    assert stack.deploy(_template(), tags={"team": "shop"}) == "UPDATE_COMPLETE"
    # then every taggable resource has them, the task definition is the same revision, and the listener forwards
    # where CodeDeploy left it, unless its update handler writes its template actions again (the worse case)
    assert {stack.resource_tags[x]["team"] for x in ("Prod", "Blue", "Service", "TaskDefinition")} == {"shop"}
    assert stack.resources["TaskDefinition"].physical_id == definition
    assert "UPDATE Prod (tags)" in stack.events
    assert weights_of(listener.actions) == ({stack.resources["Blue"].physical_id: 1} if rewrites else {green: 1})


def test_a_custom_resource_without_an_answer_in_time_fails_with_cloudformations_reason() -> None:
    # given a custom resource whose provider does not answer in time
    stack = Stack(Handlers(Aws(), None), lambda *_: (TIMED_OUT, timed_out_reason("r-1"), "", {}))
    template: dict[str, Any] = {"Resources": {"Lookup": {"Type": "Custom::Thing", "Properties": {"Value": "a"}}}}
    # when the stack is created, then the resource fails with CloudFormation's reason
    assert stack.deploy(template) == "ROLLBACK_COMPLETE"
    assert stack.reason == f"Lookup: {timed_out_reason('r-1')}"
    assert "did not receive a response from your Custom Resource" in stack.reason
