"""Templates of the real construct, synthesized once per variant and session (each synthesis costs ~3 s)."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from aws_cdk import Duration, Tags
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk.assertions import Template

from blue_green_ecs import (
    BlueGreenFargateService,
    BlueGreenLoadBalancer,
    DeploymentEngine,
    MigrationTask,
    PreflightCheck,
    Routing,
    StepAnalysis,
    TestTrafficHeader,
)

from ..configurations import CERTIFICATE_ARN, IMAGE, vpc_with_flow_logs
from ..support import new_stack

TEST_TRAFFIC_SECRET = "simulated-shared-secret-0123456789"
TAG_VALUE = "simulated-tag-value-0"
CHANGE_CALENDAR = "release-freeze"  # the "change_calendar" variant's calendar
APPROVAL_MINUTES = (
    30  # the "approval" variant's deployment_approval_wait_time  # the "tagged" variant's value of the tag "team"
)
MIGRATION_COMMAND = ("python", "manage.py", "migrate")  # the "migration" variants' command
LONG_MIGRATION_MINUTES = 30  # the "long_migration" variant's timeout: past one Lambda invocation's 15 minutes
ENGINES = {"CODE_DEPLOY": DeploymentEngine.CODE_DEPLOY, "ECS_NATIVE": DeploymentEngine.ECS_NATIVE}


def _options(stack: Any, vpc: ec2.IVpc, variant: str) -> dict[str, Any]:
    """The construct's keyword arguments for a variant: one day-two change each, or a combination with '+'."""
    options: dict[str, Any] = {}
    for change in variant.split("+"):
        if change == "certificate":
            options["certificate"] = stack.node.try_find_child("Certificate") or acm.Certificate.from_certificate_arn(
                stack, "Certificate", CERTIFICATE_ARN
            )
        elif change == "ssl_policy":
            # not the construct's default with a certificate (RECOMMENDED_TLS), so that the listeners change
            options["ssl_policy"] = elbv2.SslPolicy.TLS12_EXT
        elif change == "listener_port":
            options["listener_port"] = 8000
        elif change == "test_listener_port":
            options["test_listener_port"] = 9090
        elif change == "subnets":
            options["task_subnets"] = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
            options["assign_public_ip"] = True
        elif change == "security_groups":
            group = stack.node.try_find_child("AppSecurityGroup") or ec2.SecurityGroup(
                stack, "AppSecurityGroup", vpc=vpc
            )
            options["security_groups"] = [group]
        elif change == "platform_version":
            options["platform_version"] = ecs.FargatePlatformVersion.VERSION1_4
        elif change == "grace_period":
            options["health_check_grace_period"] = Duration.seconds(120)
        elif change == "test_traffic_header":
            options["test_traffic_header"] = TestTrafficHeader(value=TEST_TRAFFIC_SECRET)
        elif change == "preflight_check":
            options["preflight_check"] = PreflightCheck()
        elif change == "change_calendar":
            options["preflight_check"] = PreflightCheck(change_calendars=[CHANGE_CALENDAR])
        elif change == "approval":
            options["deployment_approval_wait_time"] = Duration.minutes(APPROVAL_MINUTES)
        elif change == "step_analysis":
            options["step_analysis"] = StepAnalysis(window=Duration.minutes(2))
        elif change == "migration":
            options["migration_task"] = MigrationTask(command=list(MIGRATION_COMMAND))
        elif change == "long_migration":
            options["migration_task"] = MigrationTask(
                command=list(MIGRATION_COMMAND), timeout=Duration.minutes(LONG_MIGRATION_MINUTES)
            )
        elif change == "service_name":
            options["service_name"] = "web-v2"
        elif change == "container_cpu":
            options["container_cpu"] = 128
        elif change == "container_memory":
            options["container_memory_limit_mib"] = 384
        elif change == "ecs_managed_tags":
            options["enable_ecs_managed_tags"] = True
        elif change == "protocol_version":
            options["protocol_version"] = elbv2.ApplicationProtocolVersion.HTTP2
        elif change == "cloud_map":
            namespace = stack.node.try_find_child("Namespace") or servicediscovery.PrivateDnsNamespace(
                stack, "Namespace", name="simulated.internal", vpc=vpc
            )
            options["cloud_map_options"] = ecs.CloudMapOptions(name="web", cloud_map_namespace=namespace)
        elif change == "tagged":
            # Tags set in the app (not a construct option): on every taggable resource of the template
            Tags.of(stack).add("team", TAG_VALUE)
        elif change != "base":
            raise ValueError(f"unknown variant {change!r}")
    return options


@functools.cache
def _synthesized(engine: str, variant: str, services: int) -> str:
    stack = new_stack("Simulated")
    vpc = vpc_with_flow_logs(stack)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
    for index in range(services):
        BlueGreenFargateService(
            stack,
            "Web" if index == 0 else f"Web{index + 1}",
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=ENGINES[engine],
            **_options(stack, vpc, variant),
        )
    return json.dumps(Template.from_stack(stack).to_json())


def template(engine: str, variant: str = "base", *, image: str = IMAGE, services: int = 1) -> dict[str, Any]:
    """The construct's template for ``engine`` and ``variant``, with ``image`` (a new image is a new revision:
    the only difference a new tag makes in the template is the container definition's Image)."""
    synthesized: dict[str, Any] = json.loads(_synthesized(engine, variant, services))
    if image != IMAGE:
        for resource in synthesized["Resources"].values():
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                for container in resource["Properties"]["ContainerDefinitions"]:
                    container["Image"] = image
    return synthesized  # parsed anew from the cached text: the caller's own copy


# Two ECS-native services on one BlueGreenLoadBalancer ("Edge"): Api by host header, Web by path (issue #14).
SHARED_SERVICES = ("Api", "Web")
SHARED_ROUTING = {
    "Api": {"host_headers": ["api.example.com"]},
    "Web": {"path_patterns": ["/web/*"]},
}
SHARED_PRIORITIES = {"Api": 10, "Web": 20}


# (production, test) ports of each service's own listener pair on the shared load balancer (issue #26).
PAIR_PORTS = {"Api": (8081, 9081), "Web": (8082, 9082)}


@functools.cache
def _synthesized_shared(
    certificate: str | None, priorities: tuple[tuple[str, int], ...], engine: str, pairs: bool
) -> str:
    stack = new_stack("Simulated")
    vpc = vpc_with_flow_logs(stack)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
    cert = acm.Certificate.from_certificate_arn(stack, "Certificate", certificate) if certificate else None
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc, certificate=cert)
    for service, priority in priorities:
        # Rules on the shared listeners, or a listener pair of the service's own (with the same certificate).
        place: dict[str, Any] = (
            {"listener_port": PAIR_PORTS[service][0], "test_listener_port": PAIR_PORTS[service][1], "certificate": cert}
            if pairs
            else {"routing": Routing(priority=priority, **SHARED_ROUTING[service])}
        )
        BlueGreenFargateService(
            stack,
            service,
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=DeploymentEngine[engine],
            shared_load_balancer=edge,
            **place,
        )
    return json.dumps(Template.from_stack(stack).to_json())


def shared_template(
    *,
    certificate: str | None = None,
    images: dict[str, str] | None = None,
    priorities: dict[str, int] | None = None,
    engine: str = "ECS_NATIVE",
    pairs: bool = False,
) -> dict[str, Any]:
    """Api and Web on the shared load balancer Edge, with the ``certificate`` ARN on Edge, each service's image
    from ``images`` (default: the configurations' image), under ``engine``; by rules on Edge's listeners at
    ``priorities`` (default: ``SHARED_PRIORITIES``), or with ``pairs`` each by a listener pair of its own
    (``PAIR_PORTS``)."""
    wanted = {**SHARED_PRIORITIES, **(priorities or {})}
    synthesized: dict[str, Any] = json.loads(
        _synthesized_shared(
            certificate, tuple((service, wanted[service]) for service in SHARED_SERVICES), engine, pairs
        )
    )
    for logical, resource in synthesized["Resources"].items():
        service = next((x for x in SHARED_SERVICES if logical.startswith(f"{x}TaskDefinition")), None)
        if resource["Type"] == "AWS::ECS::TaskDefinition" and service is not None:
            for container in resource["Properties"]["ContainerDefinitions"]:
                container["Image"] = (images or {}).get(service, IMAGE)
    return synthesized  # parsed anew from the cached text: the caller's own copy


def failing_after(template_: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """``template_`` plus a resource that fails to create after ``logical_id``: a stack update that rolls back
    after everything before it (the service, the deployment) succeeded."""
    changed = copy.deepcopy(template_)
    changed["Resources"]["Breaker"] = {
        "Type": "Test::Fails",
        "DependsOn": [logical_id],
        "Properties": {"Reason": "Resource handler returned message: simulated failure"},
    }
    return changed


def listeners_after_lookup(template_: dict[str, Any]) -> dict[str, Any]:
    """``template_`` with the ordering fix the simulator proposes for the construct: each service's production and
    test listeners DependsOn its live-state lookup, and the alarm Refs in the lookup's Fingerprint are plain strings
    (the alarms refer to the production listener, so those Refs would make the DependsOn a cycle)."""
    changed = copy.deepcopy(template_)
    resources = changed["Resources"]

    def without_alarm_refs(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and resources.get(value["Ref"], {}).get("Type") == "AWS::CloudWatch::Alarm":
                return f"<Ref {value['Ref']}>"
            return {key: without_alarm_refs(item) for key, item in value.items()}
        if isinstance(value, list):
            return [without_alarm_refs(item) for item in value]
        return value

    for logical, resource in resources.items():
        if resource["Type"] != "Custom::BlueGreenEcsLiveState":
            continue
        resource["Properties"]["Fingerprint"] = without_alarm_refs(resource["Properties"]["Fingerprint"])
        service = logical[: -len("LiveState") - 8]
        for listener in (f"{service}ProdListener", f"{service}TestListener"):
            [listener_id] = [x for x in resources if x.startswith(listener) and len(x) == len(listener) + 8]
            depends = resources[listener_id].get("DependsOn", [])
            resources[listener_id]["DependsOn"] = [*([depends] if isinstance(depends, str) else depends), logical]
    return changed
