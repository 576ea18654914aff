"""Where a service runs: its VPC and cluster (given or created) and the subnets of its tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ..configuration.acknowledgements import acknowledge_generated_findings
from ..functions.log_groups import log_group

if TYPE_CHECKING:
    from ..props import ServiceProps


def vpc_and_cluster(scope: Construct, props: ServiceProps) -> tuple[ec2.IVpc, ecs.ICluster]:
    """ "Use the given one or create one": the VPC (given, the cluster's, or new) and the cluster."""
    vpc = props.vpc or (props.cluster.vpc if props.cluster else _new_vpc(scope, props))
    cluster = props.cluster or ecs.Cluster(
        scope,
        "Cluster",
        vpc=vpc,
        container_insights_v2=ecs.ContainerInsights.ENABLED,
        enable_fargate_capacity_providers=bool(props.capacity_provider_strategies),
    )
    acknowledge_generated_findings(scope)
    return vpc, cluster


def _new_vpc(scope: Construct, props: ServiceProps) -> ec2.Vpc:
    """Two AZs, public and private subnets, a NAT gateway per AZ, flow logs of all traffic."""
    vpc = ec2.Vpc(scope, "Vpc", max_azs=2)
    flow_logs = log_group(scope, "FlowLogs", retention=props.log_retention, encryption_key=props.log_encryption_key)
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
    return vpc


def task_placement(
    vpc: ec2.IVpc, task_subnets: ec2.SubnetSelection | None, assign_public_ip: bool | None
) -> tuple[ec2.SubnetSelection, bool]:
    """Private subnets when the VPC has them; public ones with public IPs otherwise."""
    if task_subnets is not None:
        in_public = task_subnets.subnet_type == ec2.SubnetType.PUBLIC
        return task_subnets, assign_public_ip if assign_public_ip is not None else in_public
    if vpc.private_subnets:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS), bool(assign_public_ip)
    if vpc.public_subnets:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC), (
            assign_public_ip if assign_public_ip is not None else True
        )
    return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED), bool(assign_public_ip)
