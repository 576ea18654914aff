"""Bad input that used to fail deep inside aws-cdk-lib (AttributeError, a bare "unexpected keyword argument",
a subnet lookup error) fails first, naming the prop and the fix."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService

from .configurations import IMAGE
from .support import new_stack


def _isolated_vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Isolated",
        subnet_configuration=[ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )


def _build(stack: Stack, **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **props)


@pytest.mark.parametrize(
    ("props", "error", "message"),
    [
        (
            lambda s: {"termination_wait": 5},
            TypeError,
            "Invalid termination_wait=5: use a Duration, e.g. Duration.minutes(5) (a number has no unit).",
        ),
        (
            lambda s: {"health_check_grace_period": "60s"},
            TypeError,
            "Invalid health_check_grace_period='60s': use a Duration, e.g. Duration.minutes(5) (a number has no unit).",
        ),
        (
            lambda s: {"cluster": ecs.CfnCluster(s, "L1Cluster")},
            TypeError,
            "Invalid cluster='Test/L1Cluster': an L1 CfnCluster is not an ecs.ICluster; pass the L2 construct, or "
            "ecs.Cluster.from_cluster_attributes(...) with its ids (e.g. cluster_name=cfn.ref) and its VPC.",
        ),
        (
            lambda s: {"traffic_shift": "canary"},
            TypeError,
            "Invalid traffic_shift='canary': use TrafficShift.canary(...), TrafficShift.linear(...) or "
            "TrafficShift.all_at_once().",
        ),
        (
            lambda s: {"task_image_options": {"image": IMAGE}},
            TypeError,
            "BlueGreenFargateService got an unexpected keyword argument 'task_image_options': the image options are "
            "props of their own here: image=, container_name=, container_port=, environment=, secrets=, command=, "
            "entry_point=, docker_labels=, log_driver=, task_role=, execution_role=, family=.",
        ),
        (
            lambda s: {"load_balancer": None},
            TypeError,
            "BlueGreenFargateService got an unexpected keyword argument 'load_balancer': share one with "
            "shared_load_balancer=BlueGreenLoadBalancer(...) (or BlueGreenLoadBalancer.from_existing(...)) and "
            "routing=Routing(...).",
        ),
        (
            lambda s: {"desired_cont": 3},
            TypeError,
            "BlueGreenFargateService got an unexpected keyword argument 'desired_cont': did you mean desired_count?",
        ),
        (
            lambda s: {"vpc": _isolated_vpc(s)},
            ValueError,
            "Invalid public_load_balancer=True: the VPC 'Test/Isolated' has no public subnets, and an "
            "internet-facing load balancer needs them (the default). Pass public_load_balancer=False for an "
            "internal load balancer in the private subnets, or a VPC with public subnets.",
        ),
        (
            lambda s: {"cluster": ecs.Cluster(s, "Cluster", vpc=_isolated_vpc(s))},
            ValueError,
            "Invalid public_load_balancer=True: the VPC 'Test/Isolated' has no public subnets, and an "
            "internet-facing load balancer needs them (the default). Pass public_load_balancer=False for an "
            "internal load balancer in the private subnets, or a VPC with public subnets.",
        ),
    ],
    ids=[
        "int-termination-wait",
        "str-grace-period",
        "l1-cluster",
        "str-traffic-shift",
        "task-image-options",
        "load-balancer",
        "typo",
        "vpc-without-public-subnets",
        "cluster-vpc-without-public-subnets",
    ],
)
def test_bad_input_names_the_prop_and_the_fix(
    props: Callable[[Stack], dict[str, Any]], error: type[Exception], message: str
) -> None:
    # given
    stack = new_stack()
    given = props(stack)

    # when / then
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        _build(stack, **given)


def test_an_internal_load_balancer_needs_no_public_subnets() -> None:
    stack = new_stack()
    service = _build(stack, vpc=_isolated_vpc(stack), public_load_balancer=False)
    assert service.load_balancer.node.path == "Test/Web/LoadBalancer"


def test_the_constructor_keeps_its_typed_keyword_only_signature() -> None:
    # The unknown-prop check wraps __init__: docs/generate_props.py and type checkers read this signature.
    parameters = inspect.signature(BlueGreenFargateService.__init__).parameters
    assert [p.name for p in parameters.values()][:4] == ["self", "scope", "construct_id", "image"]
    assert parameters["termination_wait"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "Create the service." in (BlueGreenFargateService.__init__.__doc__ or "")


def test_every_keyword_argument_of_aws_ecs_patterns_is_a_prop_or_named_with_its_equivalent() -> None:
    # Issue #22: a team moving from ApplicationLoadBalancedFargateService passes its keyword arguments. Each is a prop
    # here too, or the unknown-prop message names what to pass instead; none is answered with a guess.
    from aws_cdk import aws_ecs_patterns as ecs_patterns

    from blue_green_ecs.unknown_props import PATTERN_EQUIVALENTS

    parameters = inspect.signature(ecs_patterns.ApplicationLoadBalancedFargateService.__init__).parameters.values()
    theirs = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    ours = {
        p.name
        for p in inspect.signature(BlueGreenFargateService.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert sorted(theirs - ours - set(PATTERN_EQUIVALENTS)) == []
    # and the table names no prop that exists here (it would never be shown)
    assert sorted(set(PATTERN_EQUIVALENTS) & ours) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "record_type",
            "BlueGreenFargateService got an unexpected keyword argument 'record_type': domain_name= with domain_zone= "
            "creates an alias A record (aws-ecs-patterns' ALIAS); for a CNAME or no record, leave both out and point "
            "your own record at load_balancer.load_balancer_dns_name.",
        ),
        (
            "target_protocol",
            "BlueGreenFargateService got an unexpected keyword argument 'target_protocol': the target groups send "
            "HTTP to the tasks (TLS ends at the load balancer); protocol_version= chooses HTTP1, HTTP2 or GRPC.",
        ),
    ],
)
def test_what_stays_unsupported_of_aws_ecs_patterns_says_what_to_do_instead(name: str, message: str) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        _build(new_stack(), **{name: None})


def test_durations_are_shown_as_written() -> None:
    with pytest.raises(ValueError, match=r"^Invalid termination_wait=30 days: "):
        _build(new_stack(), termination_wait=Duration.days(30))


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        (
            {"host_headers": "orders.example.com"},
            "Invalid routing.host_headers='orders.example.com': give a list of strings, e.g. "
            "routing.host_headers=['orders.example.com'].",
        ),
        (
            {"path_patterns": "/orders/*"},
            "Invalid routing.path_patterns='/orders/*': give a list of strings, e.g. "
            "routing.path_patterns=['/orders/*'].",
        ),
        (
            {"host_headers": ["orders.example.com", 7]},
            "Invalid routing.host_headers=['orders.example.com', 7]: every item must be a string, got 7.",
        ),
    ],
    ids=["bare-host", "bare-path", "non-string-item"],
)
def test_a_bare_string_for_a_list_of_rule_values_is_refused_at_synthesis(routing: dict[str, Any], message: str) -> None:
    # Issue #22: a string is a sequence of its characters; the rule would match "o", "r", ... and fail only at
    # deploy time, on ELB's limit of condition values.
    from blue_green_ecs import BlueGreenLoadBalancer, DeploymentEngine, Routing

    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    shared = BlueGreenLoadBalancer(stack, "Edge", vpc=vpc)
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        _build(
            stack,
            vpc=vpc,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=shared,
            routing=Routing(priority=10, **routing),
        )


@pytest.mark.parametrize("prop", ["command", "entry_point"])
def test_a_bare_string_command_is_refused_naming_the_prop(prop: str) -> None:
    stack = new_stack()
    with pytest.raises(TypeError, match=f"^Invalid {prop}='nginx -g daemon': give a list of strings, e.g. "):
        _build(stack, **{prop: "nginx -g daemon"})
