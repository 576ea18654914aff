"""CodeDeploy lifecycle hooks: the user's Lambda functions, and the built-in smoke test."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol, cast

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from ..configuration.validation import check_duration, check_int, check_path, invalid
from ..functions.lambda_code import hook_code as hook_code  # public here before lambda_code existed
from ..functions.library_function import FunctionLogSettings, library_function
from ..handlers.appspec import HOOK_NAMES
from ..load_balancing.parts import LoadBalancerParts


@dataclass(frozen=True)
class DeploymentHooks:
    """Lambda functions the engine invokes at the lifecycle events of a deployment.

    Under CODE_DEPLOY each function must report its result with
    ``PutLifecycleEventHookExecutionStatus``; under ECS_NATIVE it runs at the ECS lifecycle stage of
    the same meaning and answers with ``hookStatus``. The
    ``blue_green_ecs.handlers.lifecycle_hook.codedeploy_hook`` decorator does either for a function
    that just returns ``True`` or ``False``. The construct grants the engine permission to invoke
    exactly these functions, and under CODE_DEPLOY grants them permission to report.

    :param before_install: before the green task set is created. Default: none.
    :param after_install: after the green task set is created, before it gets test traffic.
        Default: none.
    :param after_allow_test_traffic: after the test listener serves green; the place for tests.
        Default: none.
    :param before_allow_traffic: after tests, before production traffic moves (ECS-native canary and
        linear: before each step). Default: none.
    :param after_allow_traffic: after all production traffic is on green. Default: none.
    """

    before_install: lambda_.IFunction | None = None
    after_install: lambda_.IFunction | None = None
    after_allow_test_traffic: lambda_.IFunction | None = None
    before_allow_traffic: lambda_.IFunction | None = None
    after_allow_traffic: lambda_.IFunction | None = None

    def by_event(self) -> dict[str, lambda_.IFunction]:
        """AppSpec hook name -> function, in lifecycle order, for the hooks that are set."""
        hooks: dict[str, lambda_.IFunction] = {}
        for item in fields(self):
            function = getattr(self, item.name)
            if function is not None:
                hooks["".join(part.capitalize() for part in item.name.split("_"))] = function
        return hooks


@dataclass(frozen=True)
class SmokeTest:
    """The built-in smoke test: GET requests to green through the test listener before any user sees it.

    Runs as the AfterAllowTestTraffic hook, in a Lambda function inside the service's VPC. It
    connects to the load balancer nodes' private IP addresses (found with
    ``ec2:DescribeNetworkInterfaces``), so it works with internet-facing and internal load
    balancers while the test listener stays closed to the internet. The function calls the EC2 and
    CodeDeploy APIs: its subnets need a NAT gateway, or interface endpoints for ``ec2`` and
    ``codedeploy`` (the sample app shows the endpoints).

    :param path: path requested on the test listener. Default: ``"/"``.
    :param expected_status: accepted status codes, e.g. ``"200"``, ``"200,204"``, ``"200-299"``.
        Default: ``"200"``.
    :param requests: number of requests, 1-100. Default: 5.
    :param interval: pause between requests. Default: 2 seconds.
    :param request_timeout: time limit of each request. Default: 5 seconds.
    :param max_failures: failed requests tolerated. Default: 0.
    :param verify_tls: verify the HTTPS test listener's certificate against the load balancer's DNS
        name. Default: false, since the listener presents the production certificate, whose name is
        not the load balancer's.
    :param subnets: where the function runs. Default: the VPC's private subnets with egress, else
        its public subnets (add the interface endpoints then).
    """

    path: str = "/"
    expected_status: str = "200"
    requests: int = 5
    interval: Duration = field(default_factory=lambda: Duration.seconds(2))
    request_timeout: Duration = field(default_factory=lambda: Duration.seconds(5))
    max_failures: int = 0
    verify_tls: bool = False
    subnets: ec2.SubnetSelection | None = None

    def validate(self) -> None:
        """Reject values the handler could not run with."""
        check_path("smoke_test.path", self.path)
        check_int("smoke_test.requests", self.requests, minimum=1, maximum=100)
        check_int("smoke_test.max_failures", self.max_failures, minimum=0, maximum=self.requests - 1)
        check_duration("smoke_test.interval", self.interval, minimum_seconds=0, maximum_seconds=60)
        check_duration("smoke_test.request_timeout", self.request_timeout, minimum_seconds=1, maximum_seconds=60)
        if self.function_timeout.to_seconds() > 900:
            raise invalid(
                "smoke_test.requests",
                self.requests,
                "requests x (request_timeout + interval) must fit in Lambda's 15-minute limit.",
            )

    @property
    def function_timeout(self) -> Duration:
        """Every request timing out and every pause, plus the EC2 and CodeDeploy calls at their worst.

        The handler's EC2 client retries up to 9 times with 5 s connect timeouts and backoff (about
        140 s when the API is unreachable); the function must outlive that to report Failed rather
        than leave CodeDeploy waiting for an hour.
        """
        per_request = self.request_timeout.to_seconds() + self.interval.to_seconds()
        return Duration.seconds(int(self.requests * per_request) + 180)


class SmokeTestSettings(FunctionLogSettings, Protocol):
    """What a service's smoke test function is made from (the service's props are one)."""

    @property
    def smoke_test(self) -> SmokeTest | None: ...
    @property
    def test_port(self) -> int: ...
    @property
    def https(self) -> bool: ...


class SmokeTestFunction(Construct):
    """The smoke test's Lambda function, wired to the test listener of one service."""

    @classmethod
    def for_service(
        cls, scope: Construct, settings: SmokeTestSettings, *, vpc: ec2.IVpc, load_balancing: LoadBalancerParts
    ) -> lambda_.Function | None:
        """The function of a service's smoke test (construct id ``SmokeTest``), ``None`` without one."""
        if settings.smoke_test is None:
            return None
        lb = load_balancing
        # On a shared load balancer (a BlueGreenLoadBalancer: check_sharing refuses one from_existing) its test
        # listener, with a host the service's test rule matches.
        host = lb.routing.request_host() if lb.routing is not None else None
        return cls(
            scope,
            "SmokeTest",
            options=settings.smoke_test,
            vpc=vpc,
            load_balancer=cast(elbv2.ApplicationLoadBalancer, lb.load_balancer),
            test_listener=cast(elbv2.ApplicationListener, lb.test_listener),
            test_port=lb.shared_test_port if lb.shared_test_port is not None else settings.test_port,
            https=lb.shared_https if lb.shared_https is not None else settings.https,
            host=host,
            log_retention=settings.log_retention,
            log_encryption_key=settings.log_encryption_key,
        ).function

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        options: SmokeTest,
        vpc: ec2.IVpc,
        load_balancer: elbv2.ApplicationLoadBalancer,
        test_listener: elbv2.ApplicationListener,
        test_port: int,
        https: bool,
        host: str | None = None,
        log_retention: logs.RetentionDays = defaults.LOG_RETENTION,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        scheme = "https" if https else "http"
        subnets = options.subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets else ec2.SubnetType.PUBLIC
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description="Smoke test of the green task set: the test listener and AWS APIs only",
        )
        made = library_function(
            self,
            handler="smoke_test.handler",
            description="blue-green-ecs smoke test: requests to the green task set through the test listener",
            role_description="blue-green-ecs smoke test of the green task set",
            timeout=options.function_timeout,
            memory_size=256,
            environment={
                # The requests go to the load balancer's nodes whatever the host: it only names the Host header.
                "TARGET_URL": f"{scheme}://{host or load_balancer.load_balancer_dns_name}:{test_port}",
                "REQUEST_PATH": options.path,
                "EXPECTED_STATUS": options.expected_status,
                "REQUESTS": str(options.requests),
                "INTERVAL_SECONDS": str(options.interval.to_seconds()),
                "TIMEOUT_SECONDS": str(options.request_timeout.to_seconds()),
                "MAX_FAILURES": str(options.max_failures),
                "VERIFY_TLS": "true" if options.verify_tls else "false",
                "LOAD_BALANCER_FULL_NAME": load_balancer.load_balancer_full_name,
            },
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
            in_vpc=True,
            vpc=vpc,
            vpc_subnets=subnets,
            allow_public_subnet=not vpc.private_subnets and options.subnets is None,
            security_groups=[self.security_group],
        )
        self.function: lambda_.Function = made.function
        # Network interfaces for running in the VPC (instead of the AWS managed VPC access policy, which adds
        # logs:CreateLogGroup on "*"): the actions Lambda's "Giving Lambda functions access to resources in an
        # Amazon VPC" lists, as AWSLambdaVPCAccessExecutionRole v3 grants them; Lambda describes the subnets with
        # the function's role when it attaches the function (ec2:DescribeSubnets, missing before issue #20).
        made.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    # Lambda's own network interfaces in the VPC, and finding the load balancer's.
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        eni_reason = (
            "EC2 network-interface actions (a function in a VPC; finding the load balancer's private IPs) have no "
            "resource-level permissions."
        )
        acknowledge_nag(made.role, "IAM5[Resource::*]", eni_reason)
        skip_checkov(made.role.node.find_child("DefaultPolicy"), ("CKV_AWS_111", eni_reason))
        test_listener.connections.allow_default_port_from(self.security_group, "Smoke test to the green task set")
        # The EC2 and CodeDeploy APIs, directly or through interface endpoints.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs (EC2, CodeDeploy)")


def hooks_by_event(
    hooks: DeploymentHooks | None,
    smoke_test_function: lambda_.IFunction | None,
    preflight_function: lambda_.IFunction | None = None,
    test_traffic_router: lambda_.IFunction | None = None,
    step_analysis: lambda_.IFunction | None = None,
    migration: lambda_.IFunction | None = None,
) -> dict[str, lambda_.IFunction]:
    """AppSpec event -> function, in lifecycle order: the smoke test as AfterAllowTestTraffic, the pre-flight check
    and the migration task as BeforeInstall (never both), the test traffic router as AfterInstall, the step analysis
    as BeforeAllowTraffic (the user's hook for the same event is refused)."""
    given = (hooks or DeploymentHooks()).by_event()
    if test_traffic_router is not None:
        given["AfterInstall"] = test_traffic_router
    if smoke_test_function is not None:
        given["AfterAllowTestTraffic"] = smoke_test_function
    if preflight_function is not None:
        given["BeforeInstall"] = preflight_function
    if step_analysis is not None:
        given["BeforeAllowTraffic"] = step_analysis
    if migration is not None:
        given["BeforeInstall"] = migration
    return {event: given[event] for event in HOOK_NAMES if event in given}
