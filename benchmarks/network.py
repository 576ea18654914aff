"""The VPC and cluster every compared stack shares, so that only the service part differs.

The layout is the one ``BlueGreenFargateService`` creates when given no VPC: two Availability Zones,
public and private subnets, a NAT gateway per zone, flow logs kept a month, and a cluster with
Container Insights. It is built outside the service in every stack, so the construct and the
alternatives are measured on the same network and a second service can share it.
"""

from __future__ import annotations

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

from .context import cdk_context

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def new_stack(stack_id: str, *, outdir: str | None = None, env: Environment | None = None) -> Stack:
    """A stack in a new app with cdk.json's context, as `cdk synth` builds it; environment-agnostic by default."""
    return Stack(App(context=cdk_context(), outdir=outdir), stack_id, env=env)


def shared_cluster(stack: Stack) -> ecs.Cluster:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    flow_logs = logs.LogGroup(stack, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
    return ecs.Cluster(stack, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
