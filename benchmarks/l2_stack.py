"""The hand-written aws-cdk-lib L2 equivalent of one ``BlueGreenFargateService`` with its defaults.

What a team writes without the library: a Fargate service under the ``CODE_DEPLOY`` controller, an
Application Load Balancer with a production and a test listener, the blue and green target groups
with the same health check and drain time, the same two rollback alarms (metric math over both
target groups), and a CodeDeploy application and deployment group shifting canary 10% / 5 minutes
with a 5-minute termination wait.

``with_features=False`` (the plain L2 stack) leaves out the deployment trigger (`cdk deploy` starts
no deployment) and the access logs, so the construct rows show what those cost. ``with_features=True``
writes by hand every feature the construct's defaults have beyond the plain stack, the way aws-cdk-lib
offers them: an access-log bucket per load balancer with the same settings and the log-delivery grant;
aws-cdk-lib's ``custom_resources.Provider`` (its framework functions and waiter state machine) running
the library's own handler code, one provider per stack, for the deployment trigger, a live-state
lookup whose attributes the listeners' default actions, the service's task count and network take
(so a stack update after a deployment does not write them back), and a record of the service's
creation values; and the green-against-blue comparison alarm. It never imports blue_green_ecs: the
handler directory is read as files.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .network import IMAGE

MINUTE = Duration.minutes(1)
HANDLERS = Path(__file__).resolve().parents[1] / "blue_green_ecs" / "handlers"


class HandWrittenBlueGreenService(Construct):
    """One blue/green service in plain L2 constructs, on a cluster the stack already has."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        container_port: int = 80,
        with_features: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = cluster.vpc

        self.task_definition = web_task_definition(self, container_port)

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self, "LoadBalancer", vpc=vpc, internet_facing=True, drop_invalid_header_fields=True
        )
        self.blue, self.green = target_group_pair(self, vpc, container_port)
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
        # The service resource itself, not its security group (the live-state lookup of with_features reads the group).
        service_resource = self.service.node.default_child
        assert isinstance(service_resource, ecs.CfnService)
        service_resource.node.add_dependency(self.test_listener)

        self.alarms = rollback_alarms(self, self.blue, self.green)
        if with_features:
            self.alarms.append(comparison_alarm(self, self.blue, self.green))
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
        if with_features:
            access_logs(self, self.load_balancer, construct_id)
            self._live_state(cluster, container_port)
            self._deployment_trigger(cluster, container_port)

    def _live_state(self, cluster: ecs.ICluster, container_port: int) -> None:
        """The engine-owned values read from live state before the listeners and the service are written."""
        from aws_cdk import CfnResource, Fn
        from aws_cdk import aws_iam as iam

        provider = _provider(Stack.of(self))
        provider.on_event_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules"],
                resources=["*"],
            )
        )
        provider.on_event_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:ListServices", "ecs:DescribeServices"],
                resources=["*"],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            )
        )
        defaults = (self.prod_listener, self.test_listener, self.service)
        listener, test_listener, service = (
            resource for resource in (x.node.default_child for x in defaults) if isinstance(resource, CfnResource)
        )
        subnets = cluster.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        identity = {
            "ClusterName": cluster.cluster_name,
            "BlueTargetGroupArn": self.blue.target_group_arn,
            "GreenTargetGroupArn": self.green.target_group_arn,
        }
        lookup = CustomResource(
            self,
            "LiveState",
            service_token=provider.service_token,
            resource_type="Custom::BlueGreenEcsLiveState",
            service_timeout=Duration.minutes(15),
            properties={
                **identity,
                "Engine": "CODE_DEPLOY",
                "LoadBalancerArn": self.load_balancer.load_balancer_arn,
                "ProdPort": "80",
                "TestPort": "8080",
                "Configured": {
                    "DesiredCount": "2",
                    "ContainerName": "web",
                    "ContainerPort": str(container_port),
                    "Subnets": subnets,
                    "SecurityGroups": [sg.security_group_id for sg in self.service.connections.security_groups],
                    "AssignPublicIp": "DISABLED",
                    "PlatformVersion": "LATEST",
                },
                # Asked again whenever a listener or the service would be written: their ports and task definition.
                "Fingerprint": {"Ports": ["80", "8080"], "TaskDefinition": self.task_definition.task_definition_arn},
            },
        )
        for resource, attribute in ((listener, "ProdTargetGroupArn"), (test_listener, "TestTargetGroupArn")):
            resource.add_property_override(
                "DefaultActions", [{"Type": "forward", "TargetGroupArn": lookup.get_att_string(attribute)}]
            )
            resource.node.add_dependency(lookup)
        service.add_property_override("DesiredCount", lookup.get_att_string("DesiredCount"))
        pinned = CustomResource(
            self,
            "PinnedService",
            service_token=provider.service_token,
            resource_type="Custom::BlueGreenEcsPinnedService",
            service_timeout=Duration.minutes(15),
            properties={
                **identity,
                "Candidate": {
                    key: lookup.get_att_string(key)
                    for key in ("Subnets", "SecurityGroups", "AssignPublicIp", "PlatformVersion", "ContainerName")
                },
            },
        )
        service.add_property_override(
            "NetworkConfiguration.AwsvpcConfiguration",
            {
                "Subnets": Fn.split(",", pinned.get_att_string("Subnets")),
                "SecurityGroups": Fn.split(",", pinned.get_att_string("SecurityGroups")),
                "AssignPublicIp": pinned.get_att_string("AssignPublicIp"),
            },
        )
        service.add_property_override("PlatformVersion", pinned.get_att_string("PlatformVersion"))

    def _deployment_trigger(self, cluster: ecs.ICluster, container_port: int) -> None:
        from aws_cdk import aws_iam as iam

        provider = _provider(Stack.of(self))
        group = self.deployment_group
        # A policy of its own, not the function's default policy: the function (so the live-state lookup, which
        # the listeners wait for) would wait for the deployment group, which waits for the alarms on the listener.
        statements = [
            iam.PolicyStatement(actions=actions, resources=[resource])
            for actions, resource in (
                (
                    [
                        "codedeploy:CreateDeployment",
                        "codedeploy:GetDeployment",
                        "codedeploy:ListDeployments",
                        "codedeploy:BatchGetDeployments",
                        "codedeploy:StopDeployment",
                    ],
                    group.deployment_group_arn,
                ),
                (["codedeploy:GetDeploymentConfig"], group.deployment_config.deployment_config_arn),
                (
                    ["codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"],
                    group.application.application_arn,
                ),
                (["ecs:DescribeServices"], self.service.service_arn),
            )
        ]
        role = provider.on_event_handler.role
        assert role is not None
        policy = iam.Policy(self, "TriggerPolicy", statements=statements, roles=[role])
        subnets = cluster.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        CustomResource(
            self,
            "DeploymentTrigger",
            service_token=provider.service_token,
            resource_type="Custom::BlueGreenDeployment",
            service_timeout=Duration.hours(1),
            properties={
                "ApplicationName": group.application.application_name,
                "DeploymentGroupName": group.deployment_group_name,
                "ClusterName": cluster.cluster_name,
                "ServiceName": self.service.service_name,
                "TaskDefinitionArn": self.task_definition.task_definition_arn,
                "ContainerName": "web",
                "ContainerPort": container_port,
                "PlatformVersion": "LATEST",
                "Subnets": subnets,
                "SecurityGroups": [sg.security_group_id for sg in self.service.connections.security_groups],
                "AssignPublicIp": "DISABLED",
                "TimeoutMinutes": 25,
            },
        ).node.add_dependency(group, policy)


def web_task_definition(scope: Construct, container_port: int) -> ecs.FargateTaskDefinition:
    """The task definition both hand-written services run: one container logging to its own log group."""
    task_definition = ecs.FargateTaskDefinition(scope, "TaskDefinition", cpu=256, memory_limit_mib=512)
    task_definition.add_container(
        "Container",
        image=ecs.ContainerImage.from_registry(IMAGE),
        container_name="web",
        port_mappings=[ecs.PortMapping(container_port=container_port)],
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="web",
            log_group=logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.ONE_MONTH),
        ),
    )
    return task_definition


def target_group_pair(
    scope: Construct, vpc: ec2.IVpc, container_port: int
) -> tuple[elbv2.ApplicationTargetGroup, elbv2.ApplicationTargetGroup]:
    """Blue and green, with the construct's health check and deregistration delay."""
    health_check = elbv2.HealthCheck(
        path="/",
        interval=Duration.seconds(10),
        timeout=Duration.seconds(5),
        healthy_threshold_count=2,
        unhealthy_threshold_count=3,
        healthy_http_codes="200-399",
    )
    blue, green = (
        elbv2.ApplicationTargetGroup(
            scope,
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
    return blue, green


def access_logs(scope: Construct, load_balancer: elbv2.ApplicationLoadBalancer, prefix: str) -> None:
    """An access-log bucket for ``load_balancer`` with the construct's settings, and ELB's log-delivery grant."""
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3

    bucket = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
    )
    # aws-cdk-lib's log_access_logs needs a concrete region; this stack is environment-agnostic,
    # so the grant is written out (the service principal of the regions opened since 2022).
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{prefix}/AWSLogs/{Aws.ACCOUNT_ID}/*")],
            principals=[iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")],
        )
    )
    load_balancer.set_attribute("access_logs.s3.enabled", "true")
    load_balancer.set_attribute("access_logs.s3.bucket", bucket.bucket_name)
    load_balancer.set_attribute("access_logs.s3.prefix", prefix)
    if bucket.policy is not None:
        load_balancer.node.add_dependency(bucket.policy)


def rollback_alarms(
    scope: Construct, blue: elbv2.ApplicationTargetGroup, green: elbv2.ApplicationTargetGroup
) -> list[cloudwatch.Alarm]:
    """The construct's two absolute rollback alarms, each over the worse of the two target groups."""
    # Blue and green swap roles every deployment, so one alarm watches the worse of the two.
    metrics = _error_metrics(blue, green)
    terms = [
        f"IF({color}Requests >= 10, 100 * FILL({color}Errors, 0) / {color}Requests, 0)" for color in ("blue", "green")
    ]
    errors = cloudwatch.MathExpression(
        expression=f"MAX([{', '.join(terms)}])", using_metrics=metrics, period=MINUTE
    ).create_alarm(
        scope,
        "Target5xx",
        threshold=5,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    unhealthy_metrics: dict[str, cloudwatch.IMetric] = {
        f"{color}Unhealthy": group.metrics.unhealthy_host_count(period=MINUTE, statistic="Maximum")
        for color, group in (("blue", blue), ("green", green))
    }
    unhealthy = cloudwatch.MathExpression(
        expression="MAX([blueUnhealthy, greenUnhealthy])", using_metrics=unhealthy_metrics, period=MINUTE
    ).create_alarm(
        scope,
        "UnhealthyHosts",
        threshold=0,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return [errors, unhealthy]


def _error_metrics(
    blue: elbv2.ApplicationTargetGroup, green: elbv2.ApplicationTargetGroup
) -> dict[str, cloudwatch.IMetric]:
    """Each target group's 5xx count and request count a minute, as blueErrors, blueRequests, greenErrors, ..."""
    metrics: dict[str, cloudwatch.IMetric] = {}
    for color, group in (("blue", blue), ("green", green)):
        metrics[f"{color}Errors"] = group.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE, statistic="Sum"
        )
        metrics[f"{color}Requests"] = group.metrics.request_count(period=MINUTE, statistic="Sum")
    return metrics


def comparison_alarm(
    scope: Construct, blue: elbv2.ApplicationTargetGroup, green: elbv2.ApplicationTargetGroup
) -> cloudwatch.Alarm:
    """Green's 5xx rate against blue's, while both take traffic: the construct's comparison alarm."""
    metrics = _error_metrics(blue, green)
    rate = "100 * FILL({0}Errors, 0) / {0}Requests"
    expression = (
        f"IF(blueRequests >= 10 AND greenRequests >= 10, ABS({rate.format('green')} - {rate.format('blue')}), 0)"
    )
    return cloudwatch.MathExpression(expression=expression, using_metrics=metrics, period=MINUTE).create_alarm(
        scope,
        "CompareErrors",
        threshold=5,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def _provider(stack: Stack) -> _Provider:
    existing = stack.node.try_find_child("DeploymentProvider")
    return existing if isinstance(existing, _Provider) else _Provider(stack, "DeploymentProvider")


class _Provider(Construct):
    """One provider per stack: the handler code as an asset, aws-cdk-lib's Provider framework around it."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import custom_resources as cr

        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(HANDLERS), exclude=["__pycache__", "*.pyc"])
        self.on_event_handler = lambda_.Function(
            self,
            "OnEvent",
            runtime=lambda_.Runtime.PYTHON_3_14,
            code=code,
            handler="deployment.on_event",
            timeout=Duration.minutes(2),
        )
        is_complete = lambda_.Function(
            self,
            "IsComplete",
            runtime=lambda_.Runtime.PYTHON_3_14,
            code=code,
            handler="deployment.is_complete",
            timeout=Duration.minutes(1),
            role=self.on_event_handler.role,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_handler,
            is_complete_handler=is_complete,
            query_interval=Duration.seconds(15),
            total_timeout=Duration.minutes(58),
        )
        self.service_token = self.provider.service_token
