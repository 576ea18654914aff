"""The hand-written aws-cdk-lib L2 equivalent of ``BlueGreenLoadBalancer`` and ECS-native services on it.

What a team writes without the library to put several blue/green services behind one Application
Load Balancer: the load balancer with its access logs, a production and a test listener answering 404
unless a rule matches, and per service the blue and green target groups (same health check and drain
time as ``benchmarks/l2_stack.py``), a production and a test listener rule matching the service's host
name and forwarding to the pair by weight, a Fargate service under the ``ECS`` controller with the
canary 10% / 5 minutes strategy, a 5-minute bake, green as its ``AlternateTarget`` shifted by one
infrastructure role per stack, and the same two rollback alarms as deployment alarms.

It has no live-state lookup (a stack update after a deployment writes the rules' weights and target
groups back: the construct's custom resource reads them first) and no green-against-blue comparison
alarm, the two resources the construct adds per service beyond these. It never imports blue_green_ecs.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .l2_stack import access_logs, rollback_alarms, target_group_pair, web_task_definition


def _not_found() -> elbv2.ListenerAction:
    return elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="Not found")


class HandWrittenSharedLoadBalancer(Construct):
    """The shared load balancer: production listener on 80, test listener on 8080 closed to the internet."""

    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self, "LoadBalancer", vpc=vpc, internet_facing=True, drop_invalid_header_fields=True
        )
        access_logs(self, self.load_balancer, construct_id)
        self.prod_listener = self.load_balancer.add_listener("Prod", port=80, default_action=_not_found())
        self.test_listener = self.load_balancer.add_listener(
            "Test", port=8080, protocol=elbv2.ApplicationProtocol.HTTP, open=False, default_action=_not_found()
        )
        self.test_listener.connections.allow_default_port_from(ec2.Peer.ipv4(vpc.vpc_cidr_block), "Test traffic")


def _infrastructure_role(stack: Stack) -> iam.IRole:
    """One role per stack that lets ECS shift every service's listener rules."""
    existing = stack.node.try_find_child("EcsInfrastructureRole")
    if isinstance(existing, iam.Role):
        return existing
    return iam.Role(
        stack,
        "EcsInfrastructureRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("AmazonECSInfrastructureRolePolicyForLoadBalancers")
        ],
    )


class HandWrittenSharedService(Construct):
    """One ECS-native blue/green service behind ``edge``'s listeners, matched by ``host`` at ``priority``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        edge: HandWrittenSharedLoadBalancer,
        host: str,
        priority: int,
        container_port: int = 80,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = cluster.vpc

        self.task_definition = web_task_definition(self, container_port)
        self.blue, self.green = target_group_pair(self, vpc, container_port)
        # ECS moves the weights during a deployment; both rules start with all traffic on blue.
        forward = elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.blue, weight=100),
                elbv2.WeightedTargetGroup(target_group=self.green, weight=0),
            ]
        )
        self.prod_rule, self.test_rule = (
            elbv2.ApplicationListenerRule(
                self,
                name,
                listener=listener,
                priority=priority,
                conditions=[elbv2.ListenerCondition.host_headers([host])],
                action=forward,
            )
            for name, listener in (("ProdRule", edge.prod_listener), ("TestRule", edge.test_listener))
        )
        self.alarms = rollback_alarms(self, self.blue, self.green)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=2,
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=Duration.seconds(60),
            deployment_strategy=ecs.DeploymentStrategy.CANARY,
            canary_configuration=ecs.TrafficShiftConfig(step_percent=10, step_bake_time=Duration.minutes(5)),
            bake_time=Duration.minutes(5),
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[alarm.alarm_name for alarm in self.alarms],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            ),
        )
        target = self.service.load_balancer_target(
            container_name="web",
            container_port=container_port,
            alternate_target=ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=self.green,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.prod_rule),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.test_rule),
                role=_infrastructure_role(Stack.of(self)),
            ),
        )
        target.attach_to_application_target_group(self.blue)
        Annotations.of(self.service).acknowledge_warning(
            "@aws-cdk/aws-ecs:shouldUseCircuitBreaker", "Canary deployments roll back on the deployment alarms."
        )
        # The load balancer reaches the tasks through the listeners' security group.
        self.service.connections.allow_from(edge.load_balancer, ec2.Port.tcp(container_port), "Load balancer")
