"""The props a team coming from aws-ecs-patterns' ApplicationLoadBalancedFargateService looks for (issue #22 items 4
and 6): container sizes, ECS managed tags, the target groups' protocol version, Cloud Map, the stack outputs on a
shared load balancer, and what desired_count does on day two. Their day-two outcomes are in tests/test_day_two.py."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk.assertions import Annotations, Match, Template

from blue_green_ecs import (
    AutoScaling,
    BlueGreenFargateService,
    BlueGreenLoadBalancer,
    DeploymentEngine,
    Routing,
    SmokeTest,
)

from .configurations import CERTIFICATE_ARN, IMAGE, cluster_with_insights, vpc_with_flow_logs
from .support import new_stack, only, raises_message, resources_of_type, synth

NATIVE = DeploymentEngine.ECS_NATIVE
HTTP2 = elbv2.ApplicationProtocolVersion.HTTP2
GRPC = elbv2.ApplicationProtocolVersion.GRPC


def _service(stack: Stack, **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **props)


def _certificate(stack: Stack) -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)


def _target_groups(template: Template) -> list[dict[str, Any]]:
    return [g["Properties"] for g in resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()]


# ---- container sizes ---------------------------------------------------------------------------------------


def test_container_cpu_and_memory_limit_size_the_container_within_its_task() -> None:
    stack = new_stack()
    _service(stack, cpu=512, memory_limit_mib=1024, container_cpu=256, container_memory_limit_mib=768)
    _, task_definition = only(synth(stack), "AWS::ECS::TaskDefinition")
    [container] = task_definition["Properties"]["ContainerDefinitions"]
    assert (task_definition["Properties"]["Cpu"], container["Cpu"], container["Memory"]) == ("512", 256, 768)


def test_without_container_sizes_the_container_reserves_nothing_of_its_own() -> None:
    stack = new_stack()
    _service(stack)
    _, task_definition = only(synth(stack), "AWS::ECS::TaskDefinition")
    [container] = task_definition["Properties"]["ContainerDefinitions"]
    assert {"Cpu", "Memory", "MemoryReservation"} & set(container) == set()


# ---- ECS managed tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, NATIVE])
@pytest.mark.parametrize("enabled", [True, False])
def test_enable_ecs_managed_tags_is_passed_to_the_service(engine: DeploymentEngine, enabled: bool) -> None:
    stack = new_stack()
    _service(stack, engine=engine, enable_ecs_managed_tags=enabled, propagate_tags=ecs.PropagatedTagSource.SERVICE)
    synth(stack).has_resource_properties(
        "AWS::ECS::Service", {"EnableECSManagedTags": enabled, "PropagateTags": "SERVICE"}
    )


def test_ecs_managed_tags_are_off_by_default_as_in_aws_cdk_lib() -> None:
    stack = new_stack()
    _service(stack)
    synth(stack).has_resource_properties("AWS::ECS::Service", {"EnableECSManagedTags": False})


# ---- the target groups' protocol version -------------------------------------------------------------------


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, NATIVE])
def test_http2_target_groups_behind_https_listeners(engine: DeploymentEngine) -> None:
    stack = new_stack()
    _service(stack, engine=engine, certificate=_certificate(stack), protocol_version=HTTP2)
    groups = _target_groups(synth(stack))
    assert [(g["ProtocolVersion"], g["Matcher"], g["HealthCheckPath"]) for g in groups] == [
        ("HTTP2", {"HttpCode": "200-399"}, "/")
    ] * 2


def test_grpc_target_groups_check_health_with_elbs_grpc_defaults() -> None:
    stack = new_stack()
    _service(stack, certificate=_certificate(stack), protocol_version=GRPC)
    groups = _target_groups(synth(stack))
    assert [(g["ProtocolVersion"], g["Matcher"], g["HealthCheckPath"]) for g in groups] == [
        ("GRPC", {"GrpcCode": "12"}, "/AWS.ALB/healthcheck")
    ] * 2


def test_grpc_codes_and_path_of_the_users_health_check_are_kept() -> None:
    stack = new_stack()
    health_check = elbv2.HealthCheck(path="/grpc.health.v1.Health/Check", healthy_grpc_codes="0")
    _service(stack, certificate=_certificate(stack), protocol_version=GRPC, health_check=health_check)
    groups = _target_groups(synth(stack))
    assert {(g["Matcher"]["GrpcCode"], g["HealthCheckPath"]) for g in groups} == {("0", "/grpc.health.v1.Health/Check")}


def test_http1_is_not_written_so_target_groups_created_without_it_are_not_replaced() -> None:
    # ProtocolVersion is create-only: written for the default, it would replace target groups created without it
    stack = new_stack()
    _service(stack, protocol_version=elbv2.ApplicationProtocolVersion.HTTP1)
    assert all("ProtocolVersion" not in g for g in _target_groups(synth(stack)))


def test_http2_on_a_shared_load_balancer_with_a_certificate() -> None:
    stack = new_stack()
    vpc = vpc_with_flow_logs(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc, certificate=_certificate(stack))
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(stack, vpc=vpc),
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, path_patterns=["/web/*"]),
        protocol_version=HTTP2,
    )
    assert [g["ProtocolVersion"] for g in _target_groups(synth(stack))] == ["HTTP2", "HTTP2"]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda s: {"protocol_version": HTTP2},
            "Invalid protocol_version='ApplicationProtocolVersion.HTTP2': an Application Load Balancer sends HTTP/2 "
            "and gRPC to targets only from HTTPS listeners (ELB Application Load Balancers Guide, 'Protocol version'); "
            "pass certificate= (with shared_load_balancer: the BlueGreenLoadBalancer's), or use HTTP1.",
        ),
        (
            lambda s: {
                "protocol_version": GRPC,
                "certificate": _certificate(s),
                "smoke_test": SmokeTest(path="/health"),
            },
            "Invalid smoke_test='SmokeTest(...)': the smoke test requests green over HTTP/1.1, which the load balancer "
            "does not send to GRPC targets; run your own test as hooks=DeploymentHooks(after_allow_test_traffic=...), "
            "or drop smoke_test=.",
        ),
        (
            lambda s: {
                "protocol_version": GRPC,
                "certificate": _certificate(s),
                "health_check": elbv2.HealthCheck(healthy_http_codes="200"),
            },
            "Invalid health_check.healthy_http_codes='200': a target group matches gRPC codes with "
            "protocol_version=ApplicationProtocolVersion.GRPC, HTTP codes otherwise (ELB's Matcher); give the other "
            "one, or change protocol_version.",
        ),
        (
            lambda s: {"health_check": elbv2.HealthCheck(healthy_grpc_codes="0")},
            "Invalid health_check.healthy_grpc_codes='0': a target group matches gRPC codes with "
            "protocol_version=ApplicationProtocolVersion.GRPC, HTTP codes otherwise (ELB's Matcher); give the other "
            "one, or change protocol_version.",
        ),
    ],
    ids=["http2-without-https", "grpc-with-smoke-test", "grpc-with-http-codes", "grpc-codes-without-grpc"],
)
def test_rejects_a_protocol_version_the_listeners_or_health_check_cannot_serve(props: Any, message: str) -> None:
    stack = new_stack()
    with raises_message(message):
        _service(stack, **props(stack))


def test_rejects_http2_on_a_shared_load_balancer_without_a_certificate() -> None:
    stack = new_stack()
    vpc = vpc_with_flow_logs(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc)
    with raises_message(
        "Invalid protocol_version='ApplicationProtocolVersion.GRPC': an Application Load Balancer sends HTTP/2 and "
        "gRPC to targets only from HTTPS listeners (ELB Application Load Balancers Guide, 'Protocol version'); pass "
        "certificate= (with shared_load_balancer: the BlueGreenLoadBalancer's), or use HTTP1."
    ):
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster_with_insights(stack, vpc=vpc),
            engine=NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=10, path_patterns=["/web/*"]),
            protocol_version=GRPC,
        )


# ---- Cloud Map ---------------------------------------------------------------------------------------------


def _namespace(stack: Stack, cluster: ecs.Cluster) -> servicediscovery.PrivateDnsNamespace:
    return servicediscovery.PrivateDnsNamespace(stack, "Namespace", name="internal", vpc=cluster.vpc)


def test_cloud_map_options_register_an_ecs_native_service_in_cloud_map() -> None:
    stack = new_stack()
    cluster = cluster_with_insights(stack)
    namespace = _namespace(stack, cluster)
    _service(
        stack,
        cluster=cluster,
        engine=NATIVE,
        cloud_map_options=ecs.CloudMapOptions(name="web", cloud_map_namespace=namespace),
    )
    template = synth(stack)
    registry, _ = only(template, "AWS::ServiceDiscovery::Service")
    template.has_resource_properties("AWS::ServiceDiscovery::Service", {"Name": "web"})
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "ServiceRegistries": [{"RegistryArn": {"Fn::GetAtt": [registry, "Arn"]}}],
            "DeploymentConfiguration": Match.object_like({"Strategy": "CANARY"}),
        },
    )


def test_cloud_map_options_are_refused_with_code_deploy() -> None:
    stack = new_stack()
    cluster = cluster_with_insights(stack)
    with raises_message(
        "Invalid cloud_map_options='<CloudMapOptions>': CodeDeploy blue/green deployments shift load balancer "
        "traffic only: Cloud Map would answer with the tasks of both task sets, and ECS refuses to update a "
        "CODE_DEPLOY service's service registries (UpdateService), so a change could never be deployed; use "
        "engine=DeploymentEngine.ECS_NATIVE."
    ):
        _service(
            stack,
            cluster=cluster,
            cloud_map_options=ecs.CloudMapOptions(name="web", cloud_map_namespace=_namespace(stack, cluster)),
        )


# ---- desired_count on day two (item 6) ---------------------------------------------------------------------


def test_a_desired_count_other_than_the_default_warns_that_a_stack_update_does_not_scale() -> None:
    stack = new_stack()
    _service(stack, desired_count=4)
    Annotations.from_stack(stack).has_warning(
        "/Test/Web",
        "desired_count=4 is the task count a new service starts with: a stack update keeps the running count (the "
        "live-state lookup reads it back), so changing desired_count later does not scale the service; scale a "
        "running service with auto_scaling=AutoScaling(...) or `aws ecs update-service --cluster <cluster> "
        "--service <service> --desired-count <n>`. [ack: blue-green-ecs:desiredCountIsInitial]",
    )


def test_with_auto_scaling_the_warning_points_to_its_capacities() -> None:
    stack = new_stack()
    _service(stack, desired_count=3, auto_scaling=AutoScaling(min_capacity=2, max_capacity=6, cpu_target_percent=60))
    Annotations.from_stack(stack).has_warning(
        "/Test/Web",
        Match.string_like_regexp(
            "does not scale the service; auto_scaling's policies set the running count between min_capacity and "
            "max_capacity: change those to scale"
        ),
    )


def test_the_default_desired_count_does_not_warn() -> None:
    stack = new_stack()
    _service(stack)
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("desired_count=")) == []


# ---- outputs -----------------------------------------------------------------------------------------------


def _outputs(template: Template) -> dict[str, Any]:
    """Output name (the construct id, without the service's and the hash) -> value."""
    outputs: dict[str, Any] = template.to_json()["Outputs"]
    return {key.removeprefix("Web")[:-8]: value["Value"] for key, value in outputs.items()}


def _dns(template: Template) -> dict[str, Any]:
    return {"Fn::GetAtt": [only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")[0], "DNSName"]}


def _shared_service(stack: Stack, routing: Routing, **edge_props: Any) -> None:
    vpc = vpc_with_flow_logs(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc, **edge_props)
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(stack, vpc=vpc),
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=routing,
        outputs=True,
    )


def test_outputs_on_a_shared_https_load_balancer_name_the_services_host_and_path() -> None:
    stack = new_stack()
    routing = Routing(priority=10, host_headers=["*.example.com", "shop.example.com"], path_patterns=["/orders/*"])
    _shared_service(stack, routing, certificate=_certificate(stack))
    template = synth(stack)
    assert _outputs(template) == {"LoadBalancerDns": _dns(template), "ServiceUrl": "https://shop.example.com/orders/"}


def test_outputs_on_a_shared_load_balancer_carry_its_listener_port_and_dns_name() -> None:
    stack = new_stack()
    _shared_service(stack, Routing(priority=10, path_patterns=["/web"]), listener_port=8000)
    template = synth(stack)
    dns = _dns(template)
    assert _outputs(template) == {
        "LoadBalancerDns": dns,
        "ServiceUrl": {"Fn::Join": ["", ["http://", dns, ":8000/web"]]},
    }


def test_outputs_on_the_services_own_load_balancer_name_the_domain_and_the_port() -> None:
    stack = new_stack()
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )
    _service(
        stack,
        certificate=_certificate(stack),
        listener_port=8443,
        test_listener_port=9443,
        domain_name="shop",
        domain_zone=zone,
        outputs=True,
    )
    template = synth(stack)
    record, _ = only(template, "AWS::Route53::RecordSet")
    assert _outputs(template) == {
        "LoadBalancerDns": _dns(template),
        "ServiceUrl": {"Fn::Join": ["", ["https://", {"Ref": record}, ":8443/"]]},
    }


def test_outputs_of_a_load_balancer_from_existing_leave_the_url_out() -> None:
    stack = new_stack()
    vpc = vpc_with_flow_logs(stack)
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
    load_balancer = elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack,
        "Imported",
        load_balancer_arn=f"{arn}loadbalancer/app/edge/1234567890abcdef",
        security_group_id="sg-0123456789abcdef0",
        load_balancer_dns_name="edge-123.us-east-1.elb.amazonaws.com",
    )

    def listener(name: str, number: str) -> elbv2.IApplicationListener:
        return elbv2.ApplicationListener.from_application_listener_attributes(
            stack,
            name,
            listener_arn=f"{arn}listener/app/edge/1234567890abcdef/{number}",
            security_group=load_balancer.connections.security_groups[0],
        )

    edge = BlueGreenLoadBalancer.from_existing(
        stack,
        "Edge",
        load_balancer=load_balancer,
        prod_listener=listener("Prod", "1111111111111111"),
        test_listener=listener("Test", "2222222222222222"),
    )
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(stack, vpc=vpc),
        engine=NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=10, path_patterns=["/web/*"]),
        outputs=True,
    )
    assert _outputs(synth(stack)) == {"LoadBalancerDns": "edge-123.us-east-1.elb.amazonaws.com"}
    Annotations.from_stack(stack).has_info("/Test/Web", Match.string_like_regexp("no ServiceUrl"))
