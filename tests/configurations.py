"""The representative configurations the suite synthesizes once per session and shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Duration, SecretValue, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from blue_green_ecs import (
    AnalysisMetric,
    AnalysisQuery,
    AutoScaling,
    BlueGreenFargateService,
    BlueGreenLoadBalancer,
    DeploymentEngine,
    DeploymentHooks,
    MigrationTask,
    PreflightCheck,
    RollbackAlarmOptions,
    Routing,
    SmokeTest,
    StepAnalysis,
    TestTrafficHeader,
    TrafficShift,
)
from blue_green_ecs.configuration.acknowledgements import (
    LOGS_DEFAULT_ENCRYPTION,
    acknowledge_generated_findings,
    acknowledge_nag,
    skip_checkov,
)
from sample.app import build

from .support import hook_function, new_app, new_stack

IMAGE = "public.ecr.aws/nginx/nginx:1.27"
TEST_TRAFFIC_SECRET = SecretValue.secrets_manager("test-traffic", json_field="value")
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0b7e0a3c-1234-4d5e-9f00-123456789abc"


def vpc_with_flow_logs(stack: Stack) -> ec2.Vpc:
    """A VPC as a platform team would pass it: two AZs, one NAT gateway, flow logs (AwsSolutions-VPC7)."""
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    flow_logs = logs.LogGroup(stack, "FlowLogs", retention=logs.RetentionDays.ONE_WEEK)
    skip_checkov(flow_logs, LOGS_DEFAULT_ENCRYPTION)
    vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
    return vpc


def cluster_with_insights(stack: Stack, *, vpc: ec2.IVpc | None = None, **kwargs: Any) -> ecs.Cluster:
    """A cluster with Container Insights (AwsSolutions-ECS4), in a flow-logged VPC."""
    return ecs.Cluster(
        stack,
        "Cluster",
        vpc=vpc or vpc_with_flow_logs(stack),
        container_insights_v2=ecs.ContainerInsights.ENABLED,
        **kwargs,
    )


def sample() -> Stack:
    """The bundled sample app, exactly as `cdk synth` builds it from cdk.json."""
    return build(new_app())


def minimal() -> tuple[Stack, BlueGreenFargateService]:
    """Only the required prop: a new VPC, cluster, canary 10% / 5 min."""
    stack = new_stack("Minimal")
    service = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE))
    return stack, service


def https() -> tuple[Stack, BlueGreenFargateService]:
    """HTTPS in a private-subnet VPC, a custom linear shift, a user alarm and a latency alarm; the step analysis with
    a query of its own (green's 4XX rate)."""
    stack = new_stack("Https")
    vpc = vpc_with_flow_logs(stack)
    user_alarm = cloudwatch.Alarm(
        stack,
        "QueueDepth",
        metric=cloudwatch.Metric(namespace="App", metric_name="QueueDepth", period=Duration.minutes(1)),
        threshold=100,
        evaluation_periods=2,
    )
    service = BlueGreenFargateService(
        stack,
        "Api",
        image=ecs.ContainerImage.from_registry(IMAGE),
        vpc=vpc,
        container_port=8080,
        cpu=512,
        memory_limit_mib=1024,
        desired_count=3,
        health_check_path="/health",
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
        test_listener_port=9443,
        test_listener_allowed_peers=[ec2.Peer.ipv4("10.99.0.0/16")],
        traffic_shift=TrafficShift.linear(percent=20, interval=Duration.minutes(2)),
        termination_wait=Duration.minutes(10),
        alarms=[user_alarm],
        rollback_alarm_options=RollbackAlarmOptions(max_p99_latency=Duration.millis(1500)),
        environment={"STAGE": "prod"},
        step_analysis=StepAnalysis(
            window=Duration.minutes(3),
            queries=[
                AnalysisQuery(
                    name="green 4XX rate",
                    expression="100 * g4xx / greq",
                    metrics={
                        "g4xx": AnalysisMetric("HTTPCode_Target_4XX_Count"),
                        "greq": AnalysisMetric("RequestCount"),
                    },
                    maximum=5,
                )
            ],
        ),
    )
    acknowledge_nag(service.task_definition, "ECS2", "Test fixture: a non-secret STAGE name, passed as plain text.")
    return stack, service


def late_alarm(stack: Stack) -> cloudwatch.Alarm:
    """A user's alarm, as added with ``add_rollback_alarm`` after the service is constructed."""
    return cloudwatch.Alarm(
        stack,
        "QueueAge",
        metric=cloudwatch.Metric(namespace="App", metric_name="OldestMessageAge", period=Duration.minutes(1)),
        threshold=300,
        evaluation_periods=2,
    )


def existing_cluster() -> tuple[Stack, BlueGreenFargateService]:
    """A given cluster, an internal load balancer, all at once, Fargate Spot; the pre-flight check, a rollback
    alarm added after construction, and a test traffic header whose value is a Secrets Manager reference."""
    stack = new_stack("Cluster")
    cluster = cluster_with_insights(stack, enable_fargate_capacity_providers=True)
    service = BlueGreenFargateService(
        stack,
        "Worker",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        public_load_balancer=False,
        traffic_shift=TrafficShift.all_at_once(),
        termination_wait=Duration.minutes(0),
        capacity_provider_strategies=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
        ],
        preflight_check=PreflightCheck(ip_address_headroom=2),
        test_traffic_header=TestTrafficHeader(value=TEST_TRAFFIC_SECRET.unsafe_unwrap()),
    )
    service.add_rollback_alarm(late_alarm(stack))
    return stack, service


def ecs_test_traffic() -> tuple[Stack, BlueGreenFargateService]:
    """ECS-native on its own load balancer with a test traffic header (a literal value)."""
    stack = new_stack("EcsTestTraffic")
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(stack),
        engine=DeploymentEngine.ECS_NATIVE,
        test_traffic_header=TestTrafficHeader(name="x-canary", value="a-long-random-shared-secret-0123"),
    )
    return stack, service


def ecs_native_preflight() -> tuple[Stack, BlueGreenFargateService]:
    """ECS-native with the pre-flight check (alarms only) and a rollback alarm added after construction."""
    stack = new_stack("EcsPreflight")
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster_with_insights(stack),
        engine=DeploymentEngine.ECS_NATIVE,
        preflight_check=PreflightCheck(check_ip_addresses=False),
    )
    service.add_rollback_alarm(late_alarm(stack))
    return stack, service


def shared_load_balancer() -> Stack:
    """Two ECS-native services on one BlueGreenLoadBalancer with a certificate: one with a test traffic header, one
    with the smoke test."""
    stack = new_stack("Shared")
    cluster = cluster_with_insights(stack)
    edge = BlueGreenLoadBalancer(
        stack,
        "Edge",
        vpc=cluster.vpc,
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
    )
    for construct_id, priority, host in (("Api", 10, "api.example.com"), ("Web", 20, "www.example.com")):
        BlueGreenFargateService(
            stack,
            construct_id,
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=priority, host_headers=[host]),
            test_traffic_header=TestTrafficHeader(value=TEST_TRAFFIC_SECRET.unsafe_unwrap(), priority=priority - 1)
            if construct_id == "Api"
            else None,
            smoke_test=SmokeTest() if construct_id == "Web" else None,
        )
    return stack


def shared_listener_pairs() -> Stack:
    """Two CODE_DEPLOY services on one BlueGreenLoadBalancer with a certificate, each with a listener pair of its
    own on its own ports (issue #26): one with the smoke test, one with a test traffic header."""
    stack = new_stack("Pairs")
    cluster = cluster_with_insights(stack)
    certificate = acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=cluster.vpc, certificate=certificate)
    for index, construct_id in enumerate(("Api", "Web")):
        BlueGreenFargateService(
            stack,
            construct_id,
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            shared_load_balancer=edge,
            certificate=certificate,
            listener_port=8443 + 100 * (index + 1),
            test_listener_port=9443 + 100 * (index + 1),
            test_traffic_header=TestTrafficHeader(value=TEST_TRAFFIC_SECRET.unsafe_unwrap())
            if construct_id == "Api"
            else None,
            smoke_test=SmokeTest() if construct_id == "Web" else None,
        )
    return stack


def two_services() -> tuple[Stack, BlueGreenFargateService, BlueGreenFargateService]:
    """Two services in one stack and VPC: they share one deployment trigger provider."""
    stack = new_stack("Two")
    cluster = cluster_with_insights(stack)
    first = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), cluster=cluster)
    second = BlueGreenFargateService(
        stack, "Api", image=ecs.ContainerImage.from_registry(IMAGE), cluster=cluster, container_port=8080
    )
    return stack, first, second


def sample_ecs() -> Stack:
    """The sample app with `-c engine=ecs`: ECS-native blue/green, no CodeDeploy."""
    return build(new_app(engine="ecs"))


# Change calendars of the handler_roles configuration: one of this account by name, one shared by another account.
CHANGE_CALENDAR = "release-freeze"
SHARED_CHANGE_CALENDAR = "arn:aws:ssm:eu-west-1:111122223333:document/org-change-freeze"


def handler_roles() -> Stack:
    """The roles no shared configuration has: a CODE_DEPLOY service with the smoke test, a user's hook and every
    pre-flight check with two change calendars (one shared from another account), and an ECS_NATIVE service
    with every pre-flight check (one change calendar), the smoke test, a test traffic header and the step analysis."""
    stack = new_stack("HandlerRoles")
    cluster = cluster_with_insights(stack)
    BlueGreenFargateService(
        stack,
        "Deployed",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        smoke_test=SmokeTest(),
        hooks=DeploymentHooks(before_allow_traffic=hook_function(stack, "UserHook")),
        preflight_check=PreflightCheck(change_calendars=[CHANGE_CALENDAR, SHARED_CHANGE_CALENDAR]),
    )
    BlueGreenFargateService(
        stack,
        "Native",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        engine=DeploymentEngine.ECS_NATIVE,
        container_port=8080,
        preflight_check=PreflightCheck(change_calendars=[CHANGE_CALENDAR]),
        smoke_test=SmokeTest(),
        test_traffic_header=TestTrafficHeader(value="a-long-random-shared-secret-0123"),
        step_analysis=StepAnalysis(),
    )
    return stack


MIGRATION_COMMAND = ["python", "manage.py", "migrate"]


def migration() -> tuple[Stack, BlueGreenFargateService, BlueGreenFargateService]:
    """The migration task under both engines in one cluster (issue #26, item 6): a CODE_DEPLOY service ``Api`` (task
    definition family ``shop-api``) with the defaults and an environment variable, an ECS_NATIVE service ``Native``
    (``shop-native``) with a longer timeout, Fargate Spot and a test traffic header (its router runs at
    AfterInstall, after the migration)."""
    stack = new_stack("Migration")
    cluster = cluster_with_insights(stack, enable_fargate_capacity_providers=True)
    api = BlueGreenFargateService(
        stack,
        "Api",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        family="shop-api",
        migration_task=MigrationTask(command=MIGRATION_COMMAND, environment={"DJANGO_SETTINGS_MODULE": "shop.migrate"}),
    )
    native = BlueGreenFargateService(
        stack,
        "Native",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        engine=DeploymentEngine.ECS_NATIVE,
        family="shop-native",
        container_port=8080,
        capacity_provider_strategies=[ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)],
        test_traffic_header=TestTrafficHeader(value="a-long-random-shared-secret-0123"),
        migration_task=MigrationTask(command=MIGRATION_COMMAND, timeout=Duration.minutes(30)),
    )
    return stack, api, native


# The platform team's layout (issue #22): (stack id, rule priority, host) of each team on the shared load balancer.
PLATFORM_TEAMS = (
    ("Orders", 10, "orders.example.com"),
    ("Catalog", 20, "catalog.example.com"),
    ("Inventory", 30, "inventory.example.com"),
)


@dataclass(frozen=True)
class Platform:
    """``platform()``: the App's stacks, and the constructs the tests look for in them."""

    app: App
    network: Stack
    edge: BlueGreenLoadBalancer
    teams: dict[str, BlueGreenFargateService]
    payments: BlueGreenFargateService
    secret: secretsmanager.Secret
    key: kms.Key

    @property
    def stacks(self) -> list[Stack]:
        """Every stack of the app: the network stack, the three team stacks, the payments stack."""
        return [self.network, *(Stack.of(service) for service in self.teams.values()), Stack.of(self.payments)]


def platform() -> Platform:
    """One App, five stacks, as a platform team lays them out (issue #22).

    ``Network``: a flow-logged VPC, a cluster and one HTTPS ``BlueGreenLoadBalancer`` (certificate from its
    ARN). ``Orders``, ``Catalog``, ``Inventory``: an ECS_NATIVE service each, on that load balancer, routed
    by host. ``Payments``: a CODE_DEPLOY service on a load balancer of its own, in the same cluster, with a
    Secrets Manager secret, auto scaling, the smoke test and the pre-flight check. Every team stack refers to
    the network stack's resources; cdk.json's ``@aws-cdk/core:defaultCrossStackReferences`` decides how
    aws-cdk-lib writes those references ("weak" there: ``Fn::GetStackOutput``).
    """
    app = new_app()
    network = Stack(app, "Network")
    cluster = cluster_with_insights(network)
    # With no service in this stack, nothing has acknowledged aws-cdk-lib's findings on the VPC's default
    # security group provider yet (a service does so for its own stack).
    acknowledge_generated_findings(network)
    edge = BlueGreenLoadBalancer(
        network,
        "Edge",
        vpc=cluster.vpc,
        certificate=acm.Certificate.from_certificate_arn(network, "Certificate", CERTIFICATE_ARN),
    )
    teams = {
        stack_id: BlueGreenFargateService(
            Stack(app, stack_id),
            "Service",
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=priority, host_headers=[host]),
        )
        for stack_id, priority, host in PLATFORM_TEAMS
    }
    payments_stack = Stack(app, "Payments")
    # A customer managed key (checkov CKV_AWS_149): decrypting it is a grant of its own, to the same one role.
    key = kms.Key(payments_stack, "ApiKeyEncryption", enable_key_rotation=True, description="Payments API key")
    secret = secretsmanager.Secret(
        payments_stack, "ApiKey", description="The payment provider's API key", encryption_key=key
    )
    acknowledge_nag(secret, "SMG4", "Test fixture: a third-party API key, rotated by its issuer, not by a Lambda.")
    payments = BlueGreenFargateService(
        payments_stack,
        "Service",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        certificate=acm.Certificate.from_certificate_arn(payments_stack, "Certificate", CERTIFICATE_ARN),
        secrets={"PAYMENTS_API_KEY": ecs.Secret.from_secrets_manager(secret)},
        desired_count=2,
        auto_scaling=AutoScaling(min_capacity=2, max_capacity=10, cpu_target_percent=60, requests_per_target=500),
        smoke_test=SmokeTest(path="/health"),
        preflight_check=PreflightCheck(),
    )
    return Platform(app, network, edge, teams, payments, secret, key)
