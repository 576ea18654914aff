"""The cross-prop checks of ``ServiceProps``, run before anything is created (as AWS Solutions Constructs'
``CheckProps`` does): each names the prop, shows its value and says the fix."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration

from .configuration import defaults, limits
from .configuration.validation import (
    check_distinct_ports,
    check_duration,
    check_fargate_size,
    check_health_check,
    check_int,
    check_names,
    check_path,
    check_strings,
    invalid,
)
from .deployment.migration import check_migration_task
from .deployment.step_analysis import check_step_analysis
from .deployment.traffic_shift import TrafficShift
from .fargate.task import check_task_source
from .load_balancing.shared_load_balancer import check_sharing
from .props import ServiceProps


def check_props(props: ServiceProps, service_path: str) -> None:
    """The checks every engine needs, before anything is created, so a bad value fails with its own message: the
    props' own, the task's source, and the service's place on a shared load balancer."""
    _check_types(props)
    if props.vpc is not None and props.cluster is not None:
        raise invalid(
            "vpc", props.vpc.node.path, "give either vpc or cluster, not both (the service uses the cluster's VPC)."
        )
    if props.health_check_path is not None:
        if props.health_check is not None and props.health_check.path is not None:
            raise invalid(
                "health_check_path",
                props.health_check_path,
                "health_check.path is also set; give the path in one place only.",
            )
        check_path("health_check_path", props.health_check_path)
    _check_protocol_version(props)
    check_health_check(props.full_health_check)
    check_fargate_size(props.cpu, props.memory_limit_mib)
    if props.ephemeral_storage_gib is not None:
        check_int("ephemeral_storage_gib", props.ephemeral_storage_gib, minimum=21, maximum=200, unit="GiB")
    check_names(
        container_name=props.container_name,
        family=props.family,
        service_name=props.service_name,
        load_balancer_name=props.load_balancer_name,
        deployment_group_name=props.deployment_group_name,
        access_logs_prefix=props.access_logs_prefix,
    )
    _check_pairs(props)
    _check_public_subnets(props)
    _check_numbers(props)
    props.alarm_options.validate()
    if props.auto_scaling is not None:
        props.auto_scaling.validate(props.desired_count)
    _check_smoke_test(props)
    _check_preflight(props)
    check_step_analysis(props.step_analysis, engine=props.engine, hooks=props.hooks)
    check_migration_task(props.migration_task, hooks=props.hooks, preflight=props.preflight_check)
    check_task_source(props)
    check_sharing(props, service_path)


def _check_pairs(props: ServiceProps) -> None:
    """Props that only make sense together."""
    if (props.domain_name is None) != (props.domain_zone is None):
        named = "domain_name" if props.domain_name is not None else "domain_zone"
        raise invalid(
            named,
            props.domain_name if props.domain_name is not None else "<hosted zone>",
            "domain_name and domain_zone go together; pass both, or neither.",
        )
    if props.ssl_policy is not None and props.certificate is None:
        raise invalid(
            "ssl_policy",
            f"SslPolicy.{props.ssl_policy.name}",
            "a TLS policy needs HTTPS listeners; pass certificate= as well, or drop ssl_policy.",
        )
    if not props.access_logs and (props.access_logs_bucket is not None or props.access_logs_prefix is not None):
        raise invalid(
            "access_logs",
            props.access_logs,
            "access_logs_bucket or access_logs_prefix is set too; drop them or enable access logs.",
        )


def _check_numbers(props: ServiceProps) -> None:
    """Ports, counts and durations within what AWS accepts."""
    check_int("container_port", props.container_port, minimum=1, maximum=65535)
    check_int("desired_count", props.desired_count, minimum=0, maximum=5000, unit="tasks")
    for name, port in (("listener_port", props.prod_port), ("test_listener_port", props.test_port)):
        check_int(name, port, minimum=1, maximum=65535)
    ports: dict[str, float] = {"listener_port": props.prod_port, "test_listener_port": props.test_port}
    if props.redirect:
        ports = {"redirect_http (port 80)": defaults.HTTP_PORT, **ports}
    check_distinct_ports(ports)
    check_duration("deregistration_delay", props.drain, minimum_seconds=0, maximum_seconds=3600)
    check_duration("health_check_grace_period", props.grace, minimum_seconds=0, maximum_seconds=2_147_483_647)
    check_duration(
        "termination_wait",
        props.wait,
        minimum_seconds=0,
        maximum_seconds=defaults.MAX_TERMINATION_WAIT_MINUTES * 60,
        whole_minutes=True,
    )
    if props.deployment_approval_wait_time is not None:
        check_duration(
            "deployment_approval_wait_time",
            props.deployment_approval_wait_time,
            minimum_seconds=60,
            maximum_seconds=limits.MAX_APPROVAL_MINUTES[props.engine.value] * 60,
            whole_minutes=True,
        )
    if props.idle_timeout is not None:
        check_duration("idle_timeout", props.idle_timeout, minimum_seconds=1, maximum_seconds=4000)


def _check_protocol_version(props: ServiceProps) -> None:
    """Health check codes of the target groups' protocol version; HTTP/2 and gRPC only behind HTTPS listeners."""
    codes = props.health_check
    for name, wrong in (("healthy_http_codes", props.grpc), ("healthy_grpc_codes", not props.grpc)):
        if wrong and codes is not None and getattr(codes, name) is not None:
            raise invalid(
                f"health_check.{name}",
                getattr(codes, name),
                "a target group matches gRPC codes with protocol_version=ApplicationProtocolVersion.GRPC, HTTP codes "
                "otherwise (ELB's Matcher); give the other one, or change protocol_version.",
            )
    version = props.target_protocol_version
    if version is None:
        return
    shown = f"ApplicationProtocolVersion.{version.name}"
    shared = props.shared_listeners
    if (shared.https if shared is not None else props.https) is False:
        raise invalid(
            "protocol_version",
            shown,
            "an Application Load Balancer sends HTTP/2 and gRPC to targets only from HTTPS listeners (ELB "
            "Application Load Balancers Guide, 'Protocol version'); pass certificate= (with shared_load_balancer: "
            "the BlueGreenLoadBalancer's), or use HTTP1.",
        )
    if props.smoke_test is not None:
        raise invalid(
            "smoke_test",
            "SmokeTest(...)",
            f"the smoke test requests green over HTTP/1.1, which the load balancer does not send to {version.name} "
            "targets; run your own test as hooks=DeploymentHooks(after_allow_test_traffic=...), or drop smoke_test=.",
        )


def _check_smoke_test(props: ServiceProps) -> None:
    if props.smoke_test is None:
        return
    props.smoke_test.validate()
    if props.hooks is not None and props.hooks.after_allow_test_traffic is not None:
        raise invalid(
            "smoke_test",
            "SmokeTest(...)",
            "hooks.after_allow_test_traffic is also set and a deployment runs one function per "
            "lifecycle event; call your tests from one function or drop one of the two.",
        )


def _check_preflight(props: ServiceProps) -> None:
    check = props.preflight_check
    if check is None:
        return
    if isinstance(check, bool):
        raise TypeError(f"Invalid preflight_check={check!r}: use PreflightCheck() to turn it on, or None.")
    check.validate()
    if props.hooks is not None and props.hooks.before_install is not None:
        raise invalid(
            "preflight_check",
            "PreflightCheck(...)",
            "hooks.before_install is also set and a deployment runs one function per lifecycle event (CodeDeploy's "
            "AppSpec names one per event); move your function to hooks.after_install, or drop one of the two.",
        )


# Props whose value is a Duration: a bare number has no unit (and would fail deep inside aws-cdk-lib).
_DURATION_PROPS = (
    "health_check_grace_period",
    "idle_timeout",
    "access_logs_retention",
    "deregistration_delay",
    "termination_wait",
    "deployment_approval_wait_time",
    "deployment_timeout",
)


def _check_types(props: ServiceProps) -> None:
    """Values of the wrong kind, each named with the kind to pass, before anything reads them."""
    check_strings("command", props.command)
    check_strings("entry_point", props.entry_point)
    for name in _DURATION_PROPS:
        value = getattr(props, name)
        if value is not None and not isinstance(value, Duration):
            example = f"Duration.minutes({value})" if isinstance(value, int | float) else "Duration.minutes(5)"
            raise TypeError(f"Invalid {name}={value!r}: use a Duration, e.g. {example} (a number has no unit).")
    if props.traffic_shift is not None and not isinstance(props.traffic_shift, TrafficShift):
        raise TypeError(
            f"Invalid traffic_shift={props.traffic_shift!r}: use TrafficShift.canary(...), TrafficShift.linear(...) "
            "or TrafficShift.all_at_once()."
        )
    for name, interface in (("vpc", "ec2.IVpc"), ("cluster", "ecs.ICluster")):
        value = getattr(props, name)
        if isinstance(value, CfnResource):
            # An L1 has no .vpc, .select_subnets, ...: it is a CloudFormation resource, not the interface.
            kind = type(value).__name__
            imported = (
                "ec2.Vpc.from_vpc_attributes(...)" if name == "vpc" else "ecs.Cluster.from_cluster_attributes(...)"
            )
            raise TypeError(
                f"Invalid {name}={value.node.path!r}: an L1 {kind} is not an {interface}; pass the L2 construct, "
                f"or {imported} with its ids (e.g. cluster_name=cfn.ref) and its VPC."
            )


def _check_public_subnets(props: ServiceProps) -> None:
    """An internet-facing load balancer needs public subnets; say so before aws-cdk-lib's subnet lookup does."""
    vpc = props.vpc or (props.cluster.vpc if props.cluster is not None else None)
    if vpc is None or not props.public_load_balancer or vpc.public_subnets:
        return
    raise invalid(
        "public_load_balancer",
        True,
        f"the VPC {vpc.node.path!r} has no public subnets, and an internet-facing load balancer needs them "
        "(the default). Pass public_load_balancer=False for an internal load balancer in the private subnets, "
        "or a VPC with public subnets.",
    )
