"""Services sharing one load balancer, each by its own listener rules (issue #14 items 1, 2, 5, 6)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aws_cdk import Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Match, Template
from constructs import Construct

from blue_green_ecs import BlueGreenFargateService, BlueGreenLoadBalancer, DeploymentEngine, Routing, SmokeTest

from ..configurations import CERTIFICATE_ARN, IMAGE, cluster_with_insights, vpc_with_flow_logs
from ..support import logical_id, new_stack, only, raises_message, resources_of_type, synth

NATIVE = DeploymentEngine.ECS_NATIVE


def _edge(stack: Stack, **props: Any) -> tuple[ecs.Cluster, BlueGreenLoadBalancer]:
    vpc = vpc_with_flow_logs(stack)
    return cluster_with_insights(stack, vpc=vpc), (BlueGreenLoadBalancer(stack, "Edge", vpc=vpc, **props))


def _service(stack: Stack, construct_id: str, cluster: ecs.ICluster, **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(
        stack, construct_id, image=ecs.ContainerImage.from_registry(IMAGE), cluster=cluster, **props
    )


def _two_services(stack: Stack, **edge_props: Any) -> tuple[BlueGreenLoadBalancer, list[BlueGreenFargateService]]:
    cluster, edge = _edge(stack, **edge_props)
    api = _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, host_headers=["api.example.com"]),
    )
    web = _service(
        stack,
        "Web",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=20, path_patterns=["/web/*"]),
    )
    return edge, [api, web]


def test_two_services_share_one_load_balancer_each_with_its_own_rules() -> None:
    # Given one shared load balancer with a certificate, and two ECS-native services on it
    stack = new_stack()
    edge, (api, web) = _two_services(
        stack, certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)
    )

    # When the stack is synthesized
    template = synth(stack)

    # Then there is one load balancer with HTTPS production, test and redirect listeners, answering 404 by default
    template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert sorted(listener["Properties"]["Port"] for listener in listeners.values()) == [80, 443, 8443]
    assert (api.load_balancer, web.prod_listener) == (edge.load_balancer, edge.prod_listener)
    assert (edge.listener, api.listener) == (edge.prod_listener, edge.prod_listener)
    # And each service has a production and a test rule at its priority, matching its routing
    rules = resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    by_listener = sorted(
        (rule["Properties"]["Priority"], rule["Properties"]["ListenerArn"]["Ref"], rule["Properties"]["Conditions"])
        for rule in rules.values()
    )
    prod, test = logical_id(stack, edge.prod_listener), logical_id(stack, edge.test_listener)
    host = [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}]
    path = [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/web/*"]}}]
    assert by_listener == sorted([(10, prod, host), (10, test, host), (20, prod, path), (20, test, path)])
    # And each service's live-state lookup reads its own rules on the shared listener, by priority
    lookups = sorted(
        (
            lookup["Properties"]["ProdRulePriority"],
            lookup["Properties"]["TestRulePriority"],
            lookup["Properties"]["ProdListenerArn"],
        )
        for lookup in resources_of_type(template, "Custom::BlueGreenEcsLiveState").values()
    )
    assert lookups == [("10", "10", {"Ref": prod}), ("20", "20", {"Ref": prod})]


def test_each_further_service_adds_no_load_balancer_and_at_most_16_resources() -> None:
    # Given one and two services on a shared load balancer, with the defaults (the comparison alarm included)
    one, two = new_stack("One"), new_stack("Two")
    cluster, edge = _edge(one)
    _service(
        one,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, host_headers=["a.example.com"]),
    )
    edge_two, _ = _two_services(two)
    first, second = synth(one), synth(two)
    # Then the second adds no load balancer, no listener and no rule to the load balancer's security group
    second.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    second.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 2)
    added = len(second.to_json()["Resources"]) - len(first.to_json()["Resources"])
    assert added <= 16, added
    second.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)
    [group] = edge_two.load_balancer.connections.security_groups
    assert group is edge_two.security_group
    assert second.to_json()["Resources"][logical_id(two, group)]["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound traffic by default", "IpProtocol": "-1"}
    ]


def test_from_existing_shares_a_load_balancer_made_in_another_stack() -> None:
    # Given a load balancer and listeners made in another stack of the app
    network = new_stack("Network")
    vpc = vpc_with_flow_logs(network)
    made_elsewhere = BlueGreenLoadBalancer(network, "Edge", vpc=vpc)
    app_stack = Stack(cast(Construct, network.node.scope), "App")
    cluster = cluster_with_insights(app_stack, vpc=vpc)

    # When a service in this stack shares them through from_existing
    edge = BlueGreenLoadBalancer.from_existing(
        app_stack,
        "Edge",
        load_balancer=made_elsewhere.load_balancer,
        prod_listener=made_elsewhere.prod_listener,
        test_listener=made_elsewhere.test_listener,
    )
    _service(
        app_stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=5, path_patterns=["/api/*"]),
    )

    # Then the service's stack has its rules and no load balancer or listener of its own (not cfn-linted:
    # cfn-lint 1.x reports E1022 on the Fn::GetStackOutput this app's cross-stack references resolve to)
    template = Template.from_stack(app_stack)
    template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 0)
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 0)
    template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 2)


def test_imported_listeners_work_through_their_interfaces() -> None:
    stack = new_stack()
    cluster = cluster_with_insights(stack, vpc=vpc_with_flow_logs(stack))
    group = ec2.SecurityGroup.from_security_group_id(stack, "LbGroup", "sg-0123456789abcdef0")
    arn = "arn:aws:elasticloadbalancing:us-east-1:111111111111:"
    edge = BlueGreenLoadBalancer.from_existing(
        stack,
        "Edge",
        load_balancer=elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
            stack,
            "Lb",
            load_balancer_arn=f"{arn}loadbalancer/app/edge/1234567890abcdef",
            security_group_id="sg-0123456789abcdef0",
        ),
        prod_listener=elbv2.ApplicationListener.from_application_listener_attributes(
            stack,
            "Prod",
            listener_arn=f"{arn}listener/app/edge/1234567890abcdef/1111111111111111",
            security_group=group,
        ),
        test_listener=elbv2.ApplicationListener.from_application_listener_attributes(
            stack,
            "Test",
            listener_arn=f"{arn}listener/app/edge/1234567890abcdef/2222222222222222",
            security_group=group,
        ),
    )
    _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=7, host_headers=["a.example.com"]),
    )
    template = synth(stack)
    _, lookup = only(template, "Custom::BlueGreenEcsLiveState")
    assert lookup["Properties"]["ProdListenerArn"] == f"{arn}listener/app/edge/1234567890abcdef/1111111111111111"


def test_service_connect_passes_through_and_blue_green_still_wires() -> None:
    stack = new_stack()
    cluster, _ = _edge(stack)
    cluster.add_default_cloud_map_namespace(name="internal")
    web = _service(stack, "Web", cluster, engine=NATIVE, service_connect=ecs.ServiceConnectProps())
    template = synth(stack)
    _, service = only(template, "AWS::ECS::Service")
    assert service["Properties"]["ServiceConnectConfiguration"]["Enabled"] is True
    assert service["Properties"]["DeploymentConfiguration"]["Strategy"] == "CANARY"
    [entry] = service["Properties"]["LoadBalancers"]
    assert "AlternateTargetGroupArn" in entry["AdvancedConfiguration"]
    assert web.prod_listener_rule is not None


def test_outputs_name_the_dns_and_the_url() -> None:
    stack = new_stack()
    _service(stack, "Web", _edge(stack)[0], outputs=True)
    outputs = synth(stack).to_json()["Outputs"]
    assert sorted(outputs) == ["WebLoadBalancerDnsB2B3A5B5", "WebServiceUrl3EB8E9D5"] or sorted(outputs)[0].startswith(
        "WebLoadBalancerDns"
    )
    url = next(value for key, value in outputs.items() if key.startswith("WebServiceUrl"))["Value"]
    assert (url["Fn::Join"][1][0], url["Fn::Join"][1][2]) == ("http://", "/")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda s, edge: {"engine": NATIVE, "routing": Routing(priority=1, host_headers=["a"])},
            "Invalid routing=Routing(priority=1, host_headers=['a'], path_patterns=None): routing places the "
            "service's rules on a shared load balancer; pass shared_load_balancer= too, or drop routing= for a load "
            "balancer of the service's own.",
        ),
        (
            lambda s, edge: {
                "engine": NATIVE,
                "shared_load_balancer": edge,
                "routing": Routing(priority=0, host_headers=["a"]),
            },
            "Invalid routing.priority=0: use 1-50000 (ELBv2's rule priorities).",
        ),
        (
            lambda s, edge: {
                "engine": NATIVE,
                "shared_load_balancer": edge,
                "routing": Routing(priority=3, host_headers=["a"]),
                "listener_port": 8000,
            },
            "Invalid listener_port=8000: with shared_load_balancer the load balancer is 'Test/Edge''s; set it there "
            "(a BlueGreenLoadBalancer prop), or drop shared_load_balancer= for a load balancer of the service's own.",
        ),
        (
            lambda s, edge: {"service_connect": ecs.ServiceConnectProps()},
            "Invalid service_connect='<ServiceConnectProps>': CodeDeploy blue/green deployments do not support ECS "
            "Service Connect (aws/containers-roadmap #1993); use engine=DeploymentEngine.ECS_NATIVE.",
        ),
    ],
)
def test_rejects_bad_sharing(props: Any, message: str) -> None:
    stack = new_stack()
    cluster, edge = _edge(stack)
    with raises_message(message):
        _service(stack, "Api", cluster, **props(stack, edge))


def test_rejects_a_priority_another_service_has() -> None:
    stack = new_stack()
    cluster, edge = _edge(stack)
    _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, host_headers=["a"]),
    )
    with raises_message(
        "Invalid routing.priority=10: service 'Test/Api' already has this priority on the shared load balancer "
        "'Test/Edge' ('Test/Web' asks for it too); give each service its own."
    ):
        _service(
            stack,
            "Web",
            cluster,
            engine=NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=10, path_patterns=["/w"]),
        )


def test_the_smoke_test_requests_the_shared_test_listener_as_the_services_test_rule_matches() -> None:
    # Given a service on a shared HTTPS load balancer with a custom test port, routed by a wildcard host and a path
    stack = new_stack()
    cluster, edge = _edge(
        stack, certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN), test_listener_port=9443
    )
    service = _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, host_headers=["*.api.example.com"], path_patterns=["/v1/*"]),
        smoke_test=SmokeTest(path="/v1/health"),
    )
    template = synth(stack)
    # Then it asks the shared test listener's port over HTTPS, for a host the rule matches
    assert service.smoke_test_function is not None
    function = template.to_json()["Resources"][logical_id(stack, service.smoke_test_function)]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["TARGET_URL"] == "https://smoke-test.api.example.com:9443"
    assert variables["REQUEST_PATH"] == "/v1/health"
    # And the shared test listener admits the smoke test's security group
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "FromPort": 9443,
            "GroupId": {"Fn::GetAtt": [logical_id(stack, edge.security_group), "GroupId"]},
            "SourceSecurityGroupId": Match.any_value(),
        },
    )


def test_a_smoke_test_the_routing_would_not_send_to_the_service_is_refused() -> None:
    stack = new_stack()
    cluster, edge = _edge(stack)
    with pytest.raises(ValueError, match=r"Invalid smoke_test.path='/': routing.path_patterns \['/web/\*'\]"):
        _service(
            stack,
            "Web",
            cluster,
            engine=NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=20, path_patterns=["/web/*"]),
            smoke_test=SmokeTest(),
        )
    other = new_stack("Other")
    cluster, _ = _edge(other)
    existing = BlueGreenLoadBalancer.from_existing(
        other,
        "Imported",
        load_balancer=edge.load_balancer,
        prod_listener=edge.prod_listener,
        test_listener=edge.test_listener,
    )
    with pytest.raises(ValueError, match=r"from_existing.* has no known port or protocol"):
        _service(
            other,
            "Web",
            cluster,
            engine=NATIVE,
            shared_load_balancer=existing,
            routing=Routing(priority=20, path_patterns=["/web/*"]),
            smoke_test=SmokeTest(path="/web/"),
        )


def test_a_service_on_a_shared_https_load_balancer_reports_the_ports_its_rules_are_on() -> None:
    # Issue #22: the service's listener_port / test_listener_port said 80 / 8080 (its own defaults, without a
    # certificate) while its rules sat on the shared load balancer's 443 and 8443 listeners.
    stack = new_stack()
    cluster, edge = _edge(stack, certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN))
    service = _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, path_patterns=["/a"]),
    )
    assert (edge.listener_port, edge.test_listener_port) == (443, 8443)
    assert (service.listener_port, service.test_listener_port) == (443, 8443)
    template = Template.from_stack(stack).to_json()
    ports = {
        logical: resource["Properties"]["Port"]
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::Listener"
    }
    rules = [r for r in template["Resources"].values() if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"]
    assert sorted(ports[r["Properties"]["ListenerArn"]["Ref"]] for r in rules) == [443, 8443]


def test_a_service_on_an_imported_load_balancer_does_not_guess_its_ports() -> None:
    stack = new_stack()
    cluster, edge = _edge(stack)
    imported = BlueGreenLoadBalancer.from_existing(
        stack,
        "Imported",
        load_balancer=edge.load_balancer,
        prod_listener=edge.prod_listener,
        test_listener=edge.test_listener,
    )
    service = _service(
        stack,
        "Api",
        cluster,
        engine=NATIVE,
        shared_load_balancer=imported,
        routing=Routing(priority=10, path_patterns=["/a"]),
    )
    assert (service.listener_port, service.test_listener_port) == (None, None)
