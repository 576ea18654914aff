"""Operations view: a CloudWatch dashboard of blue vs green, stack outputs, and deployment notifications to SNS."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from ..configuration import defaults

if TYPE_CHECKING:
    # Notifications are optional: their modules are imported when one is made.
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_events as events
    from aws_cdk import aws_sns as sns

    from ..load_balancing.edge import Routing
    from ..load_balancing.parts import LoadBalancerParts
    from ..props import ServiceProps

_PERIOD = Duration.minutes(1)


def operations_view(
    scope: Construct, props: ServiceProps, load_balancing: LoadBalancerParts, alarms: Sequence[cloudwatch.IAlarm]
) -> cloudwatch.Dashboard | None:
    """What ``dashboard`` and ``outputs`` ask for: the stack outputs, and the dashboard (returned, or ``None``)."""
    if props.outputs:
        shared = props.shared_listeners
        if shared is None:
            service_outputs(scope, load_balancing, https=props.https, port=props.prod_port)
        else:
            service_outputs(scope, load_balancing, https=shared.https, port=shared.listener_port)
    if not props.dashboard:
        return None
    return dashboard_for(scope, title=scope.node.id, load_balancing=load_balancing, alarms=alarms)


def service_outputs(
    scope: Construct, load_balancing: LoadBalancerParts, *, https: bool | None, port: int | None
) -> None:
    """``LoadBalancerDns`` and ``ServiceUrl`` stack outputs, as aws-ecs-patterns' services have them (its
    ``LoadBalancerDNS`` and ``ServiceURL``): on a shared load balancer too, the URL reaching this service's rules.

    ``https`` and ``port`` are the production listener's (``None``: unknown, a load balancer ``from_existing``,
    whose URL is left out).
    """
    from aws_cdk import Annotations, CfnOutput  # optional feature, imported on use

    dns = load_balancing.load_balancer.load_balancer_dns_name
    CfnOutput(scope, "LoadBalancerDns", value=dns, description="The load balancer's DNS name")
    if https is None or port is None:
        Annotations.of(scope).add_info(
            "outputs: no ServiceUrl, the listeners of a load balancer from_existing tell no protocol or port."
        )
        return
    scheme = "https" if https else "http"
    default_port = defaults.HTTPS_PORT if https else defaults.HTTP_PORT
    record = load_balancing.domain_record
    host, path = record.domain_name if record is not None else dns, "/"
    routing = load_balancing.routing
    if routing is not None:
        host = _literal(routing.host_headers) or dns
        path = _path(routing) or path
    url = f"{scheme}://{host}{'' if port == default_port else f':{port}'}{path}"
    CfnOutput(scope, "ServiceUrl", value=url, description="Production traffic")


_WILDCARDS = re.compile(r"[*?]")


def _literal(hosts: Sequence[str] | None) -> str | None:
    """The first host name without wildcards (a URL cannot hold one), else the first as written."""
    if not hosts:
        return None
    return next((host for host in hosts if Token.is_unresolved(host) or not _WILDCARDS.search(host)), hosts[0])


def _path(routing: Routing) -> str | None:
    """The first path pattern up to its first wildcard that the rules match (``/web/*`` -> ``/web/``)."""
    for pattern in routing.path_patterns or []:
        prefix = pattern if Token.is_unresolved(pattern) else _WILDCARDS.split(pattern, maxsplit=1)[0]
        if prefix and (Token.is_unresolved(prefix) or routing.matches_path(prefix)):
            return prefix
    return None


def dashboard_for(
    scope: Construct, *, title: str, load_balancing: LoadBalancerParts, alarms: Sequence[cloudwatch.IAlarm]
) -> cloudwatch.Dashboard:
    """A service's dashboard (construct id ``Dashboard``) over its target group pair."""
    return deployment_dashboard(
        scope,
        "Dashboard",
        title=title,
        blue=load_balancing.blue_target_group,
        green=load_balancing.green_target_group,
        alarms=alarms,
    )


def deployment_dashboard(
    scope: Construct,
    construct_id: str,
    *,
    title: str,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
    alarms: Sequence[cloudwatch.IAlarm],
) -> cloudwatch.Dashboard:
    """Requests, 5xx, p99 latency and healthy hosts of blue and green side by side, and the alarms."""

    def pair(label: str, blue_metric: cloudwatch.Metric, green_metric: cloudwatch.Metric) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=label,
            width=6,
            left=[
                blue_metric.with_(label="blue", color=cloudwatch.Color.BLUE),
                green_metric.with_(label="green", color=cloudwatch.Color.GREEN),
            ],
        )

    b, g = blue.metrics, green.metrics
    dashboard = cloudwatch.Dashboard(scope, construct_id, default_interval=Duration.hours(3))
    dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"# {title}: blue/green deployments", width=24, height=1))
    dashboard.add_widgets(
        pair("Requests", b.request_count(period=_PERIOD), g.request_count(period=_PERIOD)),
        pair(
            "Target 5xx",
            b.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_PERIOD),
            g.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=_PERIOD),
        ),
        pair(
            "Target response time p99",
            b.target_response_time(period=_PERIOD, statistic="p99"),
            g.target_response_time(period=_PERIOD, statistic="p99"),
        ),
        pair("Healthy hosts", b.healthy_host_count(period=_PERIOD), g.healthy_host_count(period=_PERIOD)),
    )
    dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Rollback alarms", alarms=list(alarms), width=24))
    return dashboard


def codedeploy_notifications(
    scope: Construct, construct_id: str, *, topic: sns.ITopic, application_name: str, deployment_group_name: str
) -> events.Rule:
    """Every state change of this group's CodeDeploy deployments, to ``topic``."""
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets

    return events.Rule(
        scope,
        construct_id,
        description="blue-green-ecs: CodeDeploy deployment state changes",
        event_pattern=events.EventPattern(
            source=["aws.codedeploy"],
            detail_type=["CodeDeploy Deployment State-change Notification"],
            detail={"application": [application_name], "deploymentGroup": [deployment_group_name]},
        ),
        targets=[targets.SnsTopic(topic)],
    )


def ecs_notifications(
    scope: Construct, construct_id: str, *, topic: sns.ITopic, service: ecs.IBaseService
) -> events.Rule:
    """Every deployment state change of this ECS service, and of its lifecycle hooks, to ``topic``.

    ``ECS Hook State Change`` carries ``HOOK_AWAITING_ACTION`` when the approval's pause hook waits (Pause hooks
    for Amazon ECS service deployments); AWS documents that event's detail-type and name only, so that it names
    the service among its ``resources``, as the deployment state change does, is an assumption.
    """
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets

    return events.Rule(
        scope,
        construct_id,
        description="blue-green-ecs: ECS service deployment state changes",
        event_pattern=events.EventPattern(
            source=["aws.ecs"],
            detail_type=["ECS Deployment State Change", "ECS Hook State Change"],
            resources=[service.service_arn],
        ),
        targets=[targets.SnsTopic(topic)],
    )
