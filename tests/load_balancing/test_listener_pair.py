"""Services sharing one load balancer, each with a listener pair of its own (issue #26 item 1): the layout CodeDeploy
deploys, and ECS-native too."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match, Template

from blue_green_ecs import BlueGreenFargateService, BlueGreenLoadBalancer, DeploymentEngine, Routing

from .. import configurations
from ..configurations import IMAGE, cluster_with_insights, vpc_with_flow_logs
from ..support import cdk_context, logical_id, new_stack, raises_message, resources_of_type, synth


@pytest.fixture(scope="module")
def pairs() -> tuple[Stack, Template]:
    stack = configurations.shared_listener_pairs()
    return stack, synth(stack)


def test_each_code_deploy_service_has_its_own_listener_pair_on_the_shared_load_balancer(
    pairs: tuple[Stack, Template],
) -> None:
    stack, template = pairs
    edge = stack.node.find_child("Edge")
    assert isinstance(edge, BlueGreenLoadBalancer)
    load_balancer = {"Ref": logical_id(stack, edge.load_balancer)}
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    # Then the load balancer holds its own three listeners and each service's two, every one on its own port
    ports = sorted(r["Properties"]["Port"] for r in listeners.values())
    assert ports == [80, 443, 8443, 8543, 8643, 9543, 9643]
    assert {str(r["Properties"]["LoadBalancerArn"]) for r in listeners.values()} == {str(load_balancer)}
    for name, port, test_port in (("Api", 8543, 9543), ("Web", 8643, 9643)):
        service = stack.node.find_child(name)
        assert isinstance(service, BlueGreenFargateService)
        assert (service.listener_port, service.test_listener_port) == (port, test_port)
        prod, test = (
            listeners[logical_id(stack, x)]["Properties"] for x in (service.prod_listener, service.test_listener)
        )
        assert (prod["Port"], prod["Protocol"], test["Port"], test["Protocol"]) == (port, "HTTPS", test_port, "HTTPS")
        assert prod["Certificates"] == [{"CertificateArn": configurations.CERTIFICATE_ARN}]
        # And CodeDeploy reroutes exactly this service's listeners: their default actions, no one else's
        assert service.deployment_group is not None
        group = template.to_json()["Resources"][logical_id(stack, service.deployment_group)]["Properties"]
        [info] = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
        assert info["ProdTrafficRoute"]["ListenerArns"] == [{"Ref": logical_id(stack, service.prod_listener)}]
        assert info["TestTrafficRoute"]["ListenerArns"] == [{"Ref": logical_id(stack, service.test_listener)}]
        assert prod["DefaultActions"][0]["Type"] == "forward"


def test_the_pairs_ports_are_opened_by_rules_of_the_services_own(pairs: tuple[Stack, Template]) -> None:
    stack, template = pairs
    edge = stack.node.find_child("Edge")
    assert isinstance(edge, BlueGreenLoadBalancer)
    group = {"Fn::GetAtt": [logical_id(stack, edge.security_group), "GroupId"]}
    rules = {
        logical: r["Properties"]
        for logical, r in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").items()
        if r["Properties"]["GroupId"] == group
    }
    opened = sorted(
        (r["FromPort"], r["ToPort"], str(r.get("CidrIp", r.get("SourceSecurityGroupId")))) for r in rules.values()
    )
    vpc_cidr = str({"Fn::GetAtt": [logical_id(stack, edge.load_balancer.vpc), "CidrBlock"]})
    # Production open to the world, test to the VPC only
    assert (8543, 8543, "0.0.0.0/0") in opened
    assert (9543, 9543, vpc_cidr) in opened
    assert (8643, 8643, "0.0.0.0/0") in opened
    assert (9643, 9643, vpc_cidr) in opened
    # And the load balancer's own group does not list them inline: a team's stack adds and removes its own ports
    inline = template.to_json()["Resources"][logical_id(stack, edge.security_group)]["Properties"][
        "SecurityGroupIngress"
    ]
    assert sorted(r["FromPort"] for r in inline) == [80, 443, 8443]


def _platform(*, with_team: bool) -> tuple[Stack, Stack | None]:
    """A network stack with the shared load balancer, and a team stack with a CODE_DEPLOY service on it."""
    app = App(context=cdk_context())
    network = Stack(app, "Network")
    vpc = vpc_with_flow_logs(network)
    edge = BlueGreenLoadBalancer(network, "Edge", vpc=vpc)
    if not with_team:
        return network, None
    team = Stack(app, "Team")
    BlueGreenFargateService(
        team,
        "Api",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(team, vpc=vpc),
        shared_load_balancer=edge,
        listener_port=8081,
        test_listener_port=9081,
    )
    return network, team


def test_a_team_stack_adds_its_listeners_without_changing_the_load_balancers_stack() -> None:
    # Given the shared load balancer in a network stack, alone and with a CODE_DEPLOY service in a team stack
    alone, _ = _platform(with_team=False)
    network, team = _platform(with_team=True)
    assert team is not None
    template = synth(team)
    # Then the listeners and the rules opening their ports are the team stack's
    assert len(resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")) == 2
    ingress = resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
    assert {r["Properties"]["FromPort"] for r in ingress} >= {8081, 9081}
    # And the network stack's resources are what they were without the team (only its exports differ)
    assert Template.from_stack(network).to_json()["Resources"] == Template.from_stack(alone).to_json()["Resources"]


def test_an_ecs_native_service_takes_a_listener_pair_too() -> None:
    stack = new_stack()
    cluster = cluster_with_insights(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=cluster.vpc)
    service = BlueGreenFargateService(
        stack,
        "Api",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        engine=DeploymentEngine.ECS_NATIVE,
        shared_load_balancer=edge,
        listener_port=8081,
        test_listener_port=9081,
    )
    template = synth(stack)
    assert service.prod_listener_rule is not None
    rule = template.to_json()["Resources"][logical_id(stack, service.prod_listener_rule)]["Properties"]
    # Its rules are on its own listeners, at the priority of a service's own load balancer
    assert rule["ListenerArn"] == {"Ref": logical_id(stack, service.prod_listener)}
    assert rule["Priority"] == 10


def _service(stack: Stack, edge: Any, construct_id: str = "Api", **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(
        stack,
        construct_id,
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=ecs.Cluster.from_cluster_attributes(
            stack, f"{construct_id}Cluster", cluster_name="c", vpc=edge.load_balancer.vpc
        ),
        shared_load_balancer=edge,
        **props,
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"routing": Routing(priority=1, host_headers=["a"])},
            "Invalid routing=Routing(priority=1, host_headers=['a'], path_patterns=None): CodeDeploy shifts traffic by "
            "a listener's default action, documented for listeners whose one rule routes all traffic to the service; "
            "it does not shift listener rules on a shared listener. Give the service its own listeners on the shared "
            "load balancer (drop routing=, pass listener_port= and test_listener_port=), or use "
            "engine=DeploymentEngine.ECS_NATIVE, which shifts listener rules.",
        ),
        (
            {},
            "Invalid listener_port=None: on a shared load balancer without routing= the service takes a listener "
            "pair of its own: pass listener_port= and test_listener_port= (ports no other listener of the load "
            "balancer uses), or routing=Routing(...) for rules on the shared listeners (ECS_NATIVE).",
        ),
        (
            {"listener_port": 8081, "test_listener_port": 8081},
            "Invalid test_listener_port=8081: port 8081 is already used by listener_port; each listener needs its "
            "own port.",
        ),
        (
            {"listener_port": 8080, "test_listener_port": 9081},
            "Invalid listener_port=8080: 'Test/Edge' (its test listener) already listens on this port of the shared "
            "load balancer 'Test/Edge' ('Test/Api' (listener_port) asks for it too); give each listener a port of "
            "its own.",
        ),
        (
            {"listener_port": 8081, "test_listener_port": 9081, "public_load_balancer": False},
            "Invalid public_load_balancer=False: with shared_load_balancer the load balancer is 'Test/Edge''s; set it "
            "there (a BlueGreenLoadBalancer prop); the service's own listener pair takes listener_port, "
            "test_listener_port, certificate, ssl_policy, open_listener and test_listener_allowed_peers, or drop "
            "shared_load_balancer= for a load balancer of the service's own.",
        ),
    ],
)
def test_rejects_a_bad_listener_pair(props: dict[str, Any], message: str) -> None:
    stack = new_stack()
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=ec2.Vpc(stack, "Vpc"))
    with raises_message(message):
        _service(stack, edge, **props)


def test_rejects_a_port_another_service_listens_on() -> None:
    stack = new_stack()
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=ec2.Vpc(stack, "Vpc"))
    _service(stack, edge, "Api", listener_port=8081, test_listener_port=9081)
    with raises_message(
        "Invalid test_listener_port=9081: 'Test/Api' (test_listener_port) already listens on this port of the shared "
        "load balancer 'Test/Edge' ('Test/Web' (test_listener_port) asks for it too); give each listener a port of "
        "its own."
    ):
        _service(stack, edge, "Web", listener_port=8082, test_listener_port=9081)


def test_warns_of_a_pair_past_elbs_default_50_listeners() -> None:
    # Given a load balancer with its own two listeners and 47 more claimed (49 of ELB's default 50)
    stack = new_stack()
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc_with_flow_logs(stack))
    for port in range(10_000, 10_047):
        edge.claim_port(port, prop="listener_port", service_path=f"Test/S{port}")
    # When a service's pair (two listeners) takes it to 51
    _service(stack, edge, listener_port=8081, test_listener_port=9081)
    # Then the load balancer warns that past the account's quota CloudFormation fails (the quota is adjustable)
    warnings = Annotations.from_stack(stack).find_warning("/Test/Edge", Match.string_like_regexp("listeners"))
    assert len(warnings) == 1
    assert str(warnings[0].entry.data).startswith(
        "51 listeners on this load balancer with 'Test/Api''s pair: ELB's default quota is 50 listeners per "
        "Application Load Balancer."
    )
