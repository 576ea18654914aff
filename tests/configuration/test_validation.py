"""Bad input: every value AWS would reject at deploy time fails at construction, naming the parameter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack, Token
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from blue_green_ecs import BlueGreenFargateService

from ..configurations import CERTIFICATE_ARN, IMAGE
from ..support import new_stack, raises_message


def _certificate(stack: Stack) -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)


def _vpc_and_cluster(stack: Stack) -> dict[str, Any]:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    return {"vpc": vpc, "cluster": ecs.Cluster(stack, "Cluster", vpc=vpc)}


# (props, or a function of the stack returning props) -> exact message
CASES: list[tuple[str, dict[str, Any] | Callable[[Stack], dict[str, Any]], str]] = [
    (
        "vpc-and-cluster",
        _vpc_and_cluster,
        "Invalid vpc='Test/Vpc': give either vpc or cluster, not both (the service uses the cluster's VPC).",
    ),
    (
        "cpu",
        {"cpu": 300},
        "Invalid cpu=300: Fargate accepts 256, 512, 1024, 2048, 4096, 8192, 16384 CPU units.",
    ),
    (
        "memory-for-256",
        {"cpu": 256, "memory_limit_mib": 4096},
        "Invalid memory_limit_mib=4096: with cpu=256 Fargate accepts 512, 1024, 2048 MiB.",
    ),
    (
        "memory-step",
        {"cpu": 1024, "memory_limit_mib": 2500},
        "Invalid memory_limit_mib=2500: with cpu=1024 Fargate accepts 2048 to 8192 in steps of 1024 MiB.",
    ),
    (
        "memory-too-small",
        {"cpu": 4096, "memory_limit_mib": 4096},
        "Invalid memory_limit_mib=4096: with cpu=4096 Fargate accepts 8192 to 30720 in steps of 1024 MiB.",
    ),
    (
        "ephemeral-storage",
        {"ephemeral_storage_gib": 20},
        "Invalid ephemeral_storage_gib=20: use a whole number from 21 to 200 GiB.",
    ),
    (
        "container-name",
        {"container_name": "my app"},
        "Invalid container_name='my app': use 1 to 255 letters, digits, hyphens or underscores.",
    ),
    (
        "container-port-zero",
        {"container_port": 0},
        "Invalid container_port=0: use a whole number from 1 to 65535.",
    ),
    (
        "container-port-high",
        {"container_port": 70000},
        "Invalid container_port=70000: use a whole number from 1 to 65535.",
    ),
    (
        "container-cpu-over-the-tasks",
        {"container_cpu": 512},
        "Invalid container_cpu=512: use a whole number from 0 to 256 CPU units (at most the task's cpu).",
    ),
    (
        "container-memory-below-dockers-minimum",
        {"cpu": 512, "memory_limit_mib": 1024, "container_memory_limit_mib": 4},
        "Invalid container_memory_limit_mib=4: use a whole number from 6 to 1024 MiB (at most the task's "
        "memory_limit_mib).",
    ),
    (
        "desired-count-negative",
        {"desired_count": -1},
        "Invalid desired_count=-1: use a whole number from 0 to 5000 tasks.",
    ),
    (
        "desired-count-fraction",
        {"desired_count": 1.5},
        "Invalid desired_count=1.5: use a whole number from 0 to 5000 tasks.",
    ),
    ("listener-port", {"listener_port": 0}, "Invalid listener_port=0: use a whole number from 1 to 65535."),
    (
        "test-listener-port",
        {"test_listener_port": 65536},
        "Invalid test_listener_port=65536: use a whole number from 1 to 65535.",
    ),
    (
        "ports-clash",
        {"listener_port": 8080},
        "Invalid test_listener_port=8080: port 8080 is already used by listener_port; "
        "each listener needs its own port.",
    ),
    (
        "test-port-clashes-with-redirect",
        lambda stack: {"certificate": _certificate(stack), "test_listener_port": 80},
        "Invalid test_listener_port=80: port 80 is already used by redirect_http (port 80); "
        "each listener needs its own port.",
    ),
    (
        "https-on-80-with-redirect",
        lambda stack: {"certificate": _certificate(stack), "listener_port": 80},
        "Invalid listener_port=80: port 80 is already used by redirect_http (port 80); "
        "each listener needs its own port.",
    ),
    (
        "health-check-path-relative",
        {"health_check_path": "health"},
        "Invalid health_check_path='health': use a path that starts with '/', at most 1024 characters.",
    ),
    (
        "health-check-path-long",
        {"health_check_path": "/" + "a" * 1024},
        "Invalid health_check_path='/" + "a" * 1024 + "': use a path that starts with '/', at most 1024 characters.",
    ),
    (
        "health-check-path-twice",
        {"health_check_path": "/a", "health_check": elbv2.HealthCheck(path="/b")},
        "Invalid health_check_path='/a': health_check.path is also set; give the path in one place only.",
    ),
    (
        "health-check-interval",
        {"health_check": elbv2.HealthCheck(interval=Duration.seconds(301))},
        "Invalid health_check.interval=301 seconds: use a whole number of seconds from 5 to 300 seconds.",
    ),
    (
        "health-check-timeout",
        {"health_check": elbv2.HealthCheck(timeout=Duration.seconds(1))},
        "Invalid health_check.timeout=1 second: use a whole number of seconds from 2 to 120 seconds.",
    ),
    (
        "health-check-timeout-not-below-interval",
        {"health_check": elbv2.HealthCheck(interval=Duration.seconds(10), timeout=Duration.seconds(10))},
        "Invalid health_check.timeout=10 seconds: it must be shorter than health_check.interval (10 seconds).",
    ),
    (
        "healthy-threshold",
        {"health_check": elbv2.HealthCheck(healthy_threshold_count=11)},
        "Invalid health_check.healthy_threshold_count=11: use a whole number from 2 to 10.",
    ),
    (
        "unhealthy-threshold",
        {"health_check": elbv2.HealthCheck(unhealthy_threshold_count=1)},
        "Invalid health_check.unhealthy_threshold_count=1: use a whole number from 2 to 10.",
    ),
    (
        "healthy-codes-range",
        {"health_check": elbv2.HealthCheck(healthy_http_codes="200-599")},
        "Invalid health_check.healthy_http_codes='200-599': use HTTP codes from 200 to 499 as '200', "
        "'200,204' or '200-299'.",
    ),
    (
        "healthy-codes-format",
        {"health_check": elbv2.HealthCheck(healthy_http_codes="2xx")},
        "Invalid health_check.healthy_http_codes='2xx': use HTTP codes from 200 to 499 as '200', "
        "'200,204' or '200-299'.",
    ),
    (
        "deregistration-delay",
        {"deregistration_delay": Duration.seconds(3601)},
        "Invalid deregistration_delay=3601 seconds: use a whole number of seconds from 0 to 3600 seconds.",
    ),
    (
        "termination-wait-fraction",
        {"termination_wait": Duration.seconds(90)},
        "Invalid termination_wait=90 seconds: use a whole number of minutes from 0 to 2880 (Duration.minutes(n)).",
    ),
    (
        "termination-wait-long",
        {"termination_wait": Duration.days(3)},
        "Invalid termination_wait=3 days: use a whole number of minutes from 0 to 2880 (Duration.minutes(n)).",
    ),
    (
        "approval-wait-zero",
        {"deployment_approval_wait_time": Duration.minutes(0)},
        "Invalid deployment_approval_wait_time=0 minutes: use a whole number of minutes from 1 to 2880 "
        "(Duration.minutes(n)).",
    ),
    (
        "grace-period-fraction",
        {"health_check_grace_period": Duration.millis(1500)},
        "Invalid health_check_grace_period=1500 milliseconds: use a whole number of seconds from 0 to 2147483647 "
        "seconds.",
    ),
    (
        "idle-timeout",
        {"idle_timeout": Duration.seconds(4001)},
        "Invalid idle_timeout=4001 seconds: use a whole number of seconds from 1 to 4000 seconds.",
    ),
]


NAME_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "family",
        {"family": "web app"},
        "Invalid family='web app': use 1 to 255 letters, digits, hyphens or underscores.",
    ),
    (
        "service-name",
        {"service_name": "web/api"},
        "Invalid service_name='web/api': use 1 to 255 letters, digits, hyphens or underscores.",
    ),
    (
        "load-balancer-name-long",
        {"load_balancer_name": "a" * 33},
        f"Invalid load_balancer_name='{'a' * 33}': use 1 to 32 letters, digits or hyphens, not starting or ending "
        "with a hyphen or starting with 'internal-'.",
    ),
    (
        "load-balancer-name-hyphen",
        {"load_balancer_name": "-web"},
        "Invalid load_balancer_name='-web': use 1 to 32 letters, digits or hyphens, not starting or ending with a "
        "hyphen or starting with 'internal-'.",
    ),
    (
        "load-balancer-name-internal",
        {"load_balancer_name": "internal-web"},
        "Invalid load_balancer_name='internal-web': use 1 to 32 letters, digits or hyphens, not starting or ending "
        "with a hyphen or starting with 'internal-'.",
    ),
    (
        "deployment-group-name",
        {"deployment_group_name": "g" * 101},
        f"Invalid deployment_group_name='{'g' * 101}': use 1 to 100 characters.",
    ),
    (
        "access-logs-prefix-slash",
        {"access_logs_prefix": "/web"},
        "Invalid access_logs_prefix='/web': use a key prefix without a leading or trailing '/' and without "
        "'AWSLogs' (ELB adds it).",
    ),
    (
        "access-logs-prefix-awslogs",
        {"access_logs_prefix": "web/AWSLogs"},
        "Invalid access_logs_prefix='web/AWSLogs': use a key prefix without a leading or trailing '/' and without "
        "'AWSLogs' (ELB adds it).",
    ),
    (
        "tls-policy-without-certificate",
        {"ssl_policy": elbv2.SslPolicy.RECOMMENDED_TLS},
        "Invalid ssl_policy='SslPolicy.RECOMMENDED_TLS': a TLS policy needs HTTPS listeners; pass "
        "certificate= as well, or drop ssl_policy.",
    ),
    (
        "access-logs-off-with-prefix",
        {"access_logs": False, "access_logs_prefix": "web"},
        "Invalid access_logs=False: access_logs_bucket or access_logs_prefix is set too; drop them or enable "
        "access logs.",
    ),
]
CASES += NAME_CASES


@pytest.mark.parametrize(("props", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejects_invalid_input(props: dict[str, Any] | Callable[[Stack], dict[str, Any]], message: str) -> None:
    stack = new_stack()
    kwargs = props(stack) if callable(props) else props
    with raises_message(message):
        BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **kwargs)


def test_validation_runs_before_any_child_is_created() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="container_port"):
        BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), container_port=0)
    web = stack.node.find_child("Web")
    assert web.node.children == []


def test_lets_unresolved_tokens_through() -> None:
    stack = new_stack()
    port = CfnParameter(stack, "Port", type="Number").value_as_number
    count = CfnParameter(stack, "Count", type="Number").value_as_number
    wait = CfnParameter(stack, "Wait", type="Number").value_as_number
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        container_port=port,  # type: ignore[arg-type]
        desired_count=count,  # type: ignore[arg-type]
        test_listener_port=port,  # type: ignore[arg-type]
        termination_wait=Duration.minutes(wait),
        health_check_path=Token.as_string({"Ref": "Path"}),
    )
    assert service.listener_port == 80
    assert Token.is_unresolved(service.test_listener_port)
