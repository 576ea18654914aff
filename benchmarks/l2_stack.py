"""The hand-written aws-cdk-lib L2 equivalent of one ``BlueGreenFargateService`` with its defaults.

What a team writes without the library: a Fargate service under the ``CODE_DEPLOY`` controller, an
Application Load Balancer with a production and a test listener, the blue and green target groups
with the same health check and drain time, the same two rollback alarms (metric math over both
target groups), and a CodeDeploy application and deployment group shifting canary 10% / 5 minutes
with a 5-minute termination wait. Left out on purpose: the library's extras, the deployment trigger
(`cdk deploy` starts no deployment) and the access logs, so the construct rows show what they cost.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .network import IMAGE

MINUTE = Duration.minutes(1)


class HandWrittenBlueGreenService(Construct):
    """One blue/green service in plain L2 constructs, on a cluster the stack already has."""

    def __init__(self, scope: Construct, construct_id: str, *, cluster: ecs.ICluster, container_port: int = 80) -> None:
        super().__init__(scope, construct_id)
        vpc = cluster.vpc

        self.task_definition = ecs.FargateTaskDefinition(self, "TaskDefinition", cpu=256, memory_limit_mib=512)
        self.task_definition.add_container(
            "Container",
            image=ecs.ContainerImage.from_registry(IMAGE),
            container_name="web",
            port_mappings=[ecs.PortMapping(container_port=container_port)],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="web",
                log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
            ),
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self, "LoadBalancer", vpc=vpc, internet_facing=True, drop_invalid_header_fields=True
        )
        health_check = elbv2.HealthCheck(
            path="/",
            interval=Duration.seconds(10),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
            healthy_http_codes="200-399",
        )
        self.blue, self.green = (
            elbv2.ApplicationTargetGroup(
                self,
                name,
                vpc=vpc,
                port=container_port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.IP,
                health_check=health_check,
                deregistration_delay=Duration.seconds(30),
            )
            for name in ("Blue", "Green")
        )
        self.prod_listener = self.load_balancer.add_listener("Prod", port=80, default_target_groups=[self.blue])
        self.test_listener = self.load_balancer.add_listener(
            "Test", port=8080, protocol=elbv2.ApplicationProtocol.HTTP, open=False, default_target_groups=[self.green]
        )
        self.test_listener.connections.allow_default_port_from(ec2.Peer.ipv4(vpc.vpc_cidr_block), "Test traffic")

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            desired_count=2,
            deployment_controller=ecs.DeploymentController(type=ecs.DeploymentControllerType.CODE_DEPLOY),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=Duration.seconds(60),
        )
        self.service.attach_to_application_target_group(self.blue)
        # CodeDeploy swaps the listeners' target groups behind CloudFormation's back: these edges keep
        # CloudFormation from deleting a target group a listener may still forward to.
        self.prod_listener.node.add_dependency(self.green)
        self.test_listener.node.add_dependency(self.blue)
        self.service.node.add_dependency(self.test_listener)

        self.alarms = [self._error_rate_alarm(), self._unhealthy_alarm()]
        self.deployment_group = codedeploy.EcsDeploymentGroup(
            self,
            "DeploymentGroup",
            application=codedeploy.EcsApplication(self, "Application"),
            service=self.service,
            deployment_config=codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=self.blue,
                green_target_group=self.green,
                listener=self.prod_listener,
                test_listener=self.test_listener,
                termination_wait_time=Duration.minutes(5),
            ),
            alarms=self.alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )

    def _error_rate_alarm(self) -> cloudwatch.Alarm:
        # Blue and green swap roles every deployment, so one alarm watches the worse of the two.
        metrics: dict[str, cloudwatch.IMetric] = {}
        terms = []
        for color, group in (("blue", self.blue), ("green", self.green)):
            metrics[f"{color}Errors"] = group.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE, statistic="Sum"
            )
            metrics[f"{color}Requests"] = group.metrics.request_count(period=MINUTE, statistic="Sum")
            terms.append(f"IF({color}Requests >= 10, 100 * FILL({color}Errors, 0) / {color}Requests, 0)")
        return cloudwatch.MathExpression(
            expression=f"MAX([{', '.join(terms)}])", using_metrics=metrics, period=MINUTE
        ).create_alarm(
            self,
            "Target5xx",
            threshold=5,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _unhealthy_alarm(self) -> cloudwatch.Alarm:
        metrics: dict[str, cloudwatch.IMetric] = {
            f"{color}Unhealthy": group.metrics.unhealthy_host_count(period=MINUTE, statistic="Maximum")
            for color, group in (("blue", self.blue), ("green", self.green))
        }
        return cloudwatch.MathExpression(
            expression="MAX([blueUnhealthy, greenUnhealthy])", using_metrics=metrics, period=MINUTE
        ).create_alarm(
            self,
            "UnhealthyHosts",
            threshold=0,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
