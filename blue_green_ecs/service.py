"""``BlueGreenFargateService``: an ECS Fargate service that deploys blue/green, by CodeDeploy or by ECS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

if TYPE_CHECKING:
    # Types of optional props only: importing these modules costs every synthesis time.
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_events as events
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_route53 as route53
    from aws_cdk import aws_sns as sns

from . import defaults
from .access_logs import enable_access_logs
from .acknowledgements import (
    LOGS_DEFAULT_ENCRYPTION,
    acknowledge_generated_findings,
    acknowledge_nag,
    skip_checkov,
)
from .deployment_trigger import (
    DEPLOYMENT_TIMEOUT_MARGIN_MINUTES,
    MAX_DEPLOYMENT_TIMEOUT_MINUTES,
    DeploymentTrigger,
    default_deployment_timeout,
)
from .engines import DeploymentEngine, ecs_native
from .engines import codedeploy as codedeploy_engine
from .handlers.appspec import HOOK_NAMES
from .hooks import DeploymentHooks, SmokeTest, SmokeTestFunction
from .load_balancing import listener_protocol, merged_health_check, open_test_listener, target_group
from .rollback_alarms import RollbackAlarmOptions, RollbackAlarms
from .shared_resources import SharedAccessLogs
from .traffic_shift import TrafficShift, TrafficShiftKind
from .validation import (
    check_distinct_ports,
    check_duration,
    check_fargate_size,
    check_health_check,
    check_int,
    check_names,
    check_path,
    invalid,
    unresolved,
)


class BlueGreenFargateService(Construct):
    """A Fargate service behind an Application Load Balancer, deployed blue/green by CodeDeploy.

    Creates (or reuses) a VPC and cluster, a task definition with one container logging to
    CloudWatch Logs, a Fargate service with the ``CODE_DEPLOY`` deployment controller, a load
    balancer with a production listener (forwarding to the blue target group) and a test listener
    (forwarding to the green one, reachable only from inside the VPC by default), built-in rollback
    alarms, and a CodeDeploy application and deployment group that shift traffic as
    ``traffic_shift`` says and roll back on failure, on alarm and on a stop request.

    Attributes:
        service: the ``ecs.FargateService``.
        task_definition: the ``ecs.FargateTaskDefinition``.
        container: the application's ``ecs.ContainerDefinition``.
        cluster: the cluster the service runs in (given or created).
        vpc: the VPC (given, the cluster's, or created).
        load_balancer: the ``elbv2.ApplicationLoadBalancer``.
        access_logs_bucket: the bucket receiving access logs, or ``None`` with ``access_logs=False``.
        prod_listener: the production listener (443 with a certificate, else 80).
        test_listener: the test listener (8443 with a certificate, else 8080).
        redirect_listener: the port-80 listener that redirects to HTTPS, or ``None``.
        blue_target_group / green_target_group: the target-group pair CodeDeploy swaps.
        application: the CodeDeploy ECS application.
        deployment_group: the CodeDeploy ``EcsDeploymentGroup``.
        deployment_config: the deployment configuration ``traffic_shift`` maps to.
        built_in_alarms: the ``RollbackAlarms`` construct.
        rollback_alarms: every alarm that rolls a deployment back, built-in first.
        listener_port / test_listener_port: the effective listener ports.
        traffic_shift / termination_wait: the effective deployment settings.
        deployment_trigger: the custom resource that deploys on update, or ``None``.
        hooks: lifecycle event -> function, the smoke test included.
        smoke_test_function: the smoke test's function, or ``None``.
        dashboard: the CloudWatch dashboard, or ``None``.
        domain_record: the alias record of ``domain_name``, or ``None``.
        notifications: the EventBridge rule sending deployment events to SNS, or ``None``.
        appspec_properties: the AppSpec inputs (container, network, hooks) as the deployment
            trigger and the pipeline files use them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage,
        engine: DeploymentEngine = DeploymentEngine.CODE_DEPLOY,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.ICluster | None = None,
        task_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        cpu: int = defaults.CPU,
        memory_limit_mib: int = defaults.MEMORY_LIMIT_MIB,
        runtime_platform: ecs.RuntimePlatform | None = None,
        ephemeral_storage_gib: int | None = None,
        family: str | None = None,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        container_name: str = defaults.CONTAINER_NAME,
        container_port: int = defaults.CONTAINER_PORT,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, ecs.Secret] | None = None,
        command: Sequence[str] | None = None,
        entry_point: Sequence[str] | None = None,
        docker_labels: Mapping[str, str] | None = None,
        readonly_root_filesystem: bool = False,
        log_driver: ecs.LogDriver | None = None,
        log_retention: logs.RetentionDays = defaults.LOG_RETENTION,
        log_encryption_key: kms.IKey | None = None,
        desired_count: int = defaults.DESIRED_COUNT,
        platform_version: ecs.FargatePlatformVersion | None = None,
        capacity_provider_strategies: Sequence[ecs.CapacityProviderStrategy] | None = None,
        health_check_grace_period: Duration | None = None,
        enable_execute_command: bool = False,
        propagate_tags: ecs.PropagatedTagSource | None = None,
        service_name: str | None = None,
        public_load_balancer: bool = True,
        open_listener: bool = True,
        load_balancer_name: str | None = None,
        idle_timeout: Duration | None = None,
        deletion_protection: bool = False,
        access_logs: bool = True,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_prefix: str | None = None,
        access_logs_retention: Duration = defaults.ACCESS_LOGS_RETENTION,
        certificate: acm.ICertificate | None = None,
        ssl_policy: elbv2.SslPolicy | None = None,
        redirect_http: bool = True,
        listener_port: int | None = None,
        test_listener_port: int | None = None,
        test_listener_allowed_peers: Sequence[ec2.IPeer] | None = None,
        health_check_path: str | None = None,
        health_check: elbv2.HealthCheck | None = None,
        deregistration_delay: Duration | None = None,
        traffic_shift: TrafficShift | None = None,
        termination_wait: Duration | None = None,
        deployment_approval_wait_time: Duration | None = None,
        alarms: Sequence[cloudwatch.IAlarm] | None = None,
        rollback_alarm_options: RollbackAlarmOptions | None = None,
        application: codedeploy.IEcsApplication | None = None,
        deployment_group_name: str | None = None,
        deploy_on_update: bool = True,
        deployment_timeout: Duration | None = None,
        hooks: DeploymentHooks | None = None,
        smoke_test: SmokeTest | None = None,
        dashboard: bool = False,
        notifications_topic: sns.ITopic | None = None,
        domain_name: str | None = None,
        domain_zone: route53.IHostedZone | None = None,
    ) -> None:
        """Create the service.

        :param image: the container image to run. Required.
        :param engine: who performs deployments: ``DeploymentEngine.CODE_DEPLOY`` (CodeDeploy plus
            this library's deployment trigger) or ``DeploymentEngine.ECS_NATIVE`` (ECS's own
            blue/green, canary and linear deployments). Default: CODE_DEPLOY.
        :param vpc: the VPC. Default: the cluster's VPC if ``cluster`` is given, else a new VPC with
            two Availability Zones, public and private subnets and a NAT gateway per zone. Giving
            both ``vpc`` and ``cluster`` is an error.
        :param cluster: the ECS cluster. Default: a new cluster with Container Insights.
        :param task_subnets: where the tasks run. Default: the VPC's private subnets with egress,
            or its public subnets (with public IPs) if it has none.
        :param assign_public_ip: give tasks a public IP. Default: true only when the tasks run in
            public subnets (they need it to pull images and ship logs without a NAT gateway).
        :param security_groups: the tasks' security groups. Default: a new group that admits only
            the load balancer, on the container port.
        :param cpu: task CPU units. Default: 256.
        :param memory_limit_mib: task memory; must pair with ``cpu`` as Fargate allows. Default: 512.
        :param runtime_platform: OS and CPU architecture. Default: Linux on x86_64.
        :param ephemeral_storage_gib: task ephemeral storage, 21-200 GiB. Default: Fargate's 20 GiB.
        :param family: task definition family name. Default: generated by CDK.
        :param task_role: role the application assumes. Default: a new role with no permissions.
        :param execution_role: role ECS uses to pull the image and write logs. Default: a new role.
        :param container_name: name of the application container, as CodeDeploy's AppSpec refers to
            it. Default: ``"web"``.
        :param container_port: port the container listens on. Default: 80.
        :param environment: environment variables of the container. Default: none.
        :param secrets: secrets exposed as environment variables. Default: none.
        :param command: container command. Default: the image's.
        :param entry_point: container entry point. Default: the image's.
        :param docker_labels: container labels. Default: none.
        :param readonly_root_filesystem: mount the container's root filesystem read-only.
            Default: false.
        :param log_driver: the container's log driver. Default: awslogs into a new log group kept
            for ``log_retention``.
        :param log_retention: retention of the created log group. Default: one month.
        :param log_encryption_key: KMS key encrypting the created log group. Default: CloudWatch
            Logs' own encryption.
        :param desired_count: number of tasks, 0-5000. Default: 2.
        :param platform_version: Fargate platform version. Default: LATEST.
        :param capacity_provider_strategies: e.g. FARGATE_SPOT. Default: the FARGATE launch type.
        :param health_check_grace_period: time before ELB health checks count against a new task.
            Default: 60 seconds.
        :param enable_execute_command: allow ECS Exec into the tasks. Default: false.
        :param propagate_tags: propagate tags to tasks. Default: none.
        :param service_name: physical service name. Default: generated by CloudFormation.
        :param public_load_balancer: internet-facing load balancer. Default: true.
        :param open_listener: open the production listener (and the HTTP redirect) to the world in
            the load balancer's security group. Default: true.
        :param load_balancer_name: physical load balancer name. Default: generated.
        :param idle_timeout: load balancer idle timeout. Default: 60 seconds (ELB's).
        :param deletion_protection: protect the load balancer from deletion. Default: false.
        :param access_logs: write the load balancer's access logs to S3. Default: true.
        :param access_logs_bucket: where access logs go. Default: the stack's shared bucket, created
            by its first service: SSE-S3 encrypted, SSL-only, no public access, objects expiring
            after ``access_logs_retention``; every service writes under its own prefix.
        :param access_logs_prefix: key prefix of the access logs. Default: the construct's path
            below its stack (its id for a service created directly in the stack).
        :param access_logs_retention: lifetime of access logs in the stack's shared bucket, 1-3650
            days; every service of the stack must ask for the same. Default: 90 days.
        :param certificate: ACM certificate; makes the production and test listeners HTTPS.
            Default: none, both listeners are HTTP.
        :param ssl_policy: TLS policy of HTTPS listeners. Default: ``SslPolicy.RECOMMENDED_TLS``
            (TLS 1.3 and 1.2).
        :param redirect_http: with a certificate, listen on port 80 and redirect to HTTPS.
            Default: true.
        :param listener_port: production listener port. Default: 443 with a certificate, else 80.
        :param test_listener_port: test listener port. Default: 8443 with a certificate, else 8080.
        :param test_listener_allowed_peers: who may reach the test listener. Default: the VPC's
            CIDR block only; the test listener is never open to the internet unless named here.
        :param health_check_path: path of the target groups' health check. Default: ``"/"``.
        :param health_check: full target group health check; fields left out take this library's
            defaults (10 s interval, 5 s timeout, 2 healthy / 3 unhealthy, codes 200-399).
        :param deregistration_delay: how long a deregistering target drains, 0-3600 s.
            Default: 30 seconds.
        :param traffic_shift: how production traffic moves to green. Default:
            ``TrafficShift.canary(percent=10, interval=Duration.minutes(5))``.
        :param termination_wait: how long the blue tasks stay up after the shift, whole minutes
            0-2880. Default: 5 minutes.
        :param deployment_approval_wait_time: if set, CodeDeploy waits this long (whole minutes,
            1-2880) for ``continue-deployment`` before rerouting traffic, and stops the deployment
            when nobody approves. Default: traffic is rerouted as soon as green is ready.
        :param alarms: extra alarms that roll a deployment back, added to the built-in ones;
            CodeDeploy allows 10 in all. Default: none.
        :param rollback_alarm_options: thresholds of the built-in alarms. Default:
            ``RollbackAlarmOptions()``.
        :param application: CodeDeploy ECS application. Default: the stack's shared application
            (one per stack, a deployment group per service under it).
        :param deployment_group_name: physical deployment group name. Default: generated.
        :param deploy_on_update: run the CodeDeploy deployment from ``cdk deploy`` whenever the
            task definition or anything else in the AppSpec changes, wait for it, and fail the
            deploy with CodeDeploy's reason when it fails or rolls back. Turn off when a pipeline
            (CodePipeline's CodeDeployToECS action) starts deployments. Default: true.
        :param deployment_timeout: how long ``cdk deploy`` waits for one deployment before stopping
            it with rollback, whole minutes up to 55 (CloudFormation gives a custom resource one
            hour). Default: traffic shift + termination wait + approval wait + 15 minutes.
        :param hooks: Lambda functions for the deployment's lifecycle events. Default: none.
        :param smoke_test: run the built-in smoke test against green as the AfterAllowTestTraffic
            hook. Default: none.
        :param dashboard: add a CloudWatch dashboard with blue and green requests, 5xx, p99 latency
            and healthy hosts side by side, and the rollback alarms' states. Default: false.
        :param notifications_topic: send every deployment state change (CodeDeploy or ECS events)
            to this SNS topic. Default: no notifications.
        :param domain_name: a name in ``domain_zone`` that points at the load balancer (alias A
            record); both or neither. Default: none, use the load balancer's DNS name.
        :param domain_zone: the Route 53 hosted zone of ``domain_name``. Default: none.
        """
        super().__init__(scope, construct_id)

        shift = traffic_shift or TrafficShift.canary(percent=defaults.CANARY_PERCENT, interval=defaults.CANARY_INTERVAL)
        wait = termination_wait if termination_wait is not None else defaults.TERMINATION_WAIT
        alarm_options = rollback_alarm_options or RollbackAlarmOptions()
        protocol = listener_protocol(certificate)
        https = protocol is elbv2.ApplicationProtocol.HTTPS
        prod_port = (
            listener_port if listener_port is not None else (defaults.HTTPS_PORT if https else defaults.HTTP_PORT)
        )
        test_port = (
            test_listener_port
            if test_listener_port is not None
            else (defaults.TEST_LISTENER_PORT_HTTPS if https else defaults.TEST_LISTENER_PORT_HTTP)
        )
        redirect = https and redirect_http
        drain = deregistration_delay if deregistration_delay is not None else defaults.DEREGISTRATION_DELAY
        grace = (
            health_check_grace_period if health_check_grace_period is not None else defaults.HEALTH_CHECK_GRACE_PERIOD
        )
        extra_alarms = list(alarms or [])

        # Validate everything before creating anything, so a bad value fails with its own message.
        if vpc is not None and cluster is not None:
            raise invalid(
                "vpc",
                vpc.node.path,
                "give either vpc or cluster, not both (the service uses the cluster's VPC).",
            )
        if health_check_path is not None and health_check is not None and health_check.path is not None:
            raise invalid(
                "health_check_path",
                health_check_path,
                "health_check.path is also set; give the path in one place only.",
            )
        if health_check_path is not None:
            check_path("health_check_path", health_check_path)
        hc = merged_health_check(health_check, health_check_path)
        check_health_check(hc)
        check_fargate_size(cpu, memory_limit_mib)
        if ephemeral_storage_gib is not None:
            check_int("ephemeral_storage_gib", ephemeral_storage_gib, minimum=21, maximum=200, unit="GiB")
        check_names(
            container_name=container_name,
            family=family,
            service_name=service_name,
            load_balancer_name=load_balancer_name,
            deployment_group_name=deployment_group_name,
            access_logs_prefix=access_logs_prefix,
        )
        if (domain_name is None) != (domain_zone is None):
            named = "domain_name" if domain_name is not None else "domain_zone"
            raise invalid(
                named,
                domain_name if domain_name is not None else "<hosted zone>",
                "domain_name and domain_zone go together; pass both, or neither.",
            )
        if ssl_policy is not None and certificate is None:
            raise invalid(
                "ssl_policy",
                f"SslPolicy.{ssl_policy.name}",
                "a TLS policy needs HTTPS listeners; pass certificate= as well, or drop ssl_policy.",
            )
        if not access_logs and (access_logs_bucket is not None or access_logs_prefix is not None):
            raise invalid(
                "access_logs",
                access_logs,
                "access_logs_bucket or access_logs_prefix is set too; drop them or enable access logs.",
            )
        check_int("container_port", container_port, minimum=1, maximum=65535)
        check_int("desired_count", desired_count, minimum=0, maximum=5000, unit="tasks")
        for name, port in (("listener_port", prod_port), ("test_listener_port", test_port)):
            check_int(name, port, minimum=1, maximum=65535)
        ports: dict[str, float] = {"listener_port": prod_port, "test_listener_port": test_port}
        if redirect:
            ports = {"redirect_http (port 80)": defaults.HTTP_PORT, **ports}
        check_distinct_ports(ports)
        check_duration("deregistration_delay", drain, minimum_seconds=0, maximum_seconds=3600)
        check_duration("health_check_grace_period", grace, minimum_seconds=0, maximum_seconds=2_147_483_647)
        check_duration(
            "termination_wait",
            wait,
            minimum_seconds=0,
            maximum_seconds=defaults.MAX_TERMINATION_WAIT_MINUTES * 60,
            whole_minutes=True,
        )
        if deployment_approval_wait_time is not None:
            check_duration(
                "deployment_approval_wait_time",
                deployment_approval_wait_time,
                minimum_seconds=60,
                maximum_seconds=defaults.MAX_TERMINATION_WAIT_MINUTES * 60,
                whole_minutes=True,
            )
        if idle_timeout is not None:
            check_duration("idle_timeout", idle_timeout, minimum_seconds=1, maximum_seconds=4000)
        alarm_options.validate()
        native = engine is DeploymentEngine.ECS_NATIVE
        if native:
            # (name, value as shown, given?) of every prop that only the CodeDeploy engine reads.
            codedeploy_only: list[tuple[str, object, bool]] = [
                ("deploy_on_update", deploy_on_update, deploy_on_update is False),
                ("deployment_timeout", deployment_timeout, deployment_timeout is not None),
                (
                    "deployment_approval_wait_time",
                    deployment_approval_wait_time,
                    deployment_approval_wait_time is not None,
                ),
                ("application", "<application>", application is not None),
                ("deployment_group_name", deployment_group_name, deployment_group_name is not None),
            ]
            for name, value, given in codedeploy_only:
                if given:
                    raise invalid(
                        name,
                        value,
                        "applies to engine=DeploymentEngine.CODE_DEPLOY only; ECS-native deployments run on every "
                        "update and CloudFormation waits for them.",
                    )
            ecs_native.validate(shift, wait)
            timeout = None
        else:
            codedeploy_engine.validate(shift)
            timeout = self._deployment_timeout(
                deploy_on_update, deployment_timeout, shift, wait, deployment_approval_wait_time
            )
        given_hooks = (hooks or DeploymentHooks()).by_event()
        if smoke_test is not None:
            smoke_test.validate()
            if "AfterAllowTestTraffic" in given_hooks:
                raise invalid(
                    "smoke_test",
                    "SmokeTest(...)",
                    "hooks.after_allow_test_traffic is also set and a deployment runs one function per "
                    "lifecycle event; call your tests from one function or drop one of the two.",
                )
        built_in_count = 3 if alarm_options.max_p99_latency is not None else 2
        if not native and built_in_count + len(extra_alarms) > defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP:
            raise invalid(
                "alarms",
                f"<{len(extra_alarms)} alarms>",
                f"CodeDeploy accepts {defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP} alarms per deployment group "
                "and "
                f"{built_in_count} are built in; pass at most "
                f"{defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP - built_in_count}, or combine them in a "
                "cloudwatch.CompositeAlarm.",
            )

        self.engine: DeploymentEngine = engine
        self.traffic_shift: TrafficShift = shift
        self.listener_port: int = prod_port
        self.test_listener_port: int = test_port
        self.termination_wait: Duration = wait

        # Network and cluster: "use the given one or create one".
        self.vpc: ec2.IVpc = vpc or (cluster.vpc if cluster else self._new_vpc(log_retention, log_encryption_key))
        self.cluster: ecs.ICluster = cluster or ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            enable_fargate_capacity_providers=bool(capacity_provider_strategies),
        )
        acknowledge_generated_findings(self)
        subnets, public_ip = self._task_placement(task_subnets, assign_public_ip)

        # Task definition and container.
        self.task_definition: ecs.FargateTaskDefinition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=cpu,
            memory_limit_mib=memory_limit_mib,
            runtime_platform=runtime_platform,
            ephemeral_storage_gib=ephemeral_storage_gib,
            family=family,
            task_role=task_role,
            execution_role=execution_role,
        )
        if log_driver is None:
            self.log_group: logs.ILogGroup | None = logs.LogGroup(
                self, "Logs", retention=log_retention, encryption_key=log_encryption_key
            )
            log_driver = ecs.LogDrivers.aws_logs(stream_prefix=container_name, log_group=self.log_group)
            if log_encryption_key is None:
                skip_checkov(self.log_group, LOGS_DEFAULT_ENCRYPTION)
        else:
            self.log_group = None
        self.container: ecs.ContainerDefinition = self.task_definition.add_container(
            "Container",
            image=image,
            container_name=container_name,
            port_mappings=[ecs.PortMapping(container_port=container_port, protocol=ecs.Protocol.TCP)],
            environment=dict(environment) if environment else None,
            secrets=dict(secrets) if secrets else None,
            command=list(command) if command else None,
            entry_point=list(entry_point) if entry_point else None,
            docker_labels=dict(docker_labels) if docker_labels else None,
            readonly_root_filesystem=readonly_root_filesystem,
            privileged=False,
            logging=log_driver,
        )

        # Load balancer, the target group pair and the listeners.
        self.load_balancer: elbv2.ApplicationLoadBalancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            internet_facing=public_load_balancer,
            load_balancer_name=load_balancer_name,
            idle_timeout=idle_timeout,
            deletion_protection=deletion_protection,
            drop_invalid_header_fields=True,
        )
        self.blue_target_group: elbv2.ApplicationTargetGroup = target_group(
            self,
            "BlueTargetGroup",
            vpc=self.vpc,
            port=container_port,
            health_check=hc,
            deregistration_delay=drain,
        )
        self.green_target_group: elbv2.ApplicationTargetGroup = target_group(
            self,
            "GreenTargetGroup",
            vpc=self.vpc,
            port=container_port,
            health_check=hc,
            deregistration_delay=drain,
        )
        tls_policy = (ssl_policy or elbv2.SslPolicy.RECOMMENDED_TLS) if https else None
        certificates = [elbv2.ListenerCertificate.from_certificate_manager(certificate)] if certificate else None

        def listener(construct_id: str, port: int, *, is_open: bool, target: elbv2.ApplicationTargetGroup) -> Any:
            # CodeDeploy swaps the listeners' default target groups; ECS-native shifts rule weights
            # and leaves the default action a fallback.
            return elbv2.ApplicationListener(
                self,
                construct_id,
                load_balancer=self.load_balancer,
                port=port,
                protocol=protocol,
                certificates=certificates,
                ssl_policy=tls_policy,
                open=is_open,
                default_target_groups=None if native else [target],
                default_action=ecs_native.no_route() if native else None,
            )

        self.prod_listener: elbv2.ApplicationListener = listener(
            "ProdListener", prod_port, is_open=open_listener, target=self.blue_target_group
        )
        self.test_listener: elbv2.ApplicationListener = listener(
            "TestListener", test_port, is_open=False, target=self.green_target_group
        )
        peers = (
            list(test_listener_allowed_peers)
            if test_listener_allowed_peers is not None
            else [ec2.Peer.ipv4(self.vpc.vpc_cidr_block)]
        )
        open_test_listener(self, self.test_listener, peers)
        self.redirect_listener: elbv2.ApplicationListener | None = None
        if redirect:
            self.redirect_listener = elbv2.ApplicationListener(
                self,
                "RedirectListener",
                load_balancer=self.load_balancer,
                port=defaults.HTTP_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=open_listener,
                default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port=str(prod_port), permanent=True),
            )
        self.domain_record: route53.ARecord | None = None
        if domain_name is not None and domain_zone is not None:
            from aws_cdk import aws_route53 as route53  # optional feature, imported on use
            from aws_cdk import aws_route53_targets as route53_targets

            self.domain_record = route53.ARecord(
                self,
                "DomainRecord",
                zone=domain_zone,
                record_name=domain_name,
                target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer)),
            )
        self.access_logs_bucket: s3.IBucket | None = None
        if access_logs:
            if access_logs_bucket is None:
                access_logs_bucket = SharedAccessLogs.of(self, retention=access_logs_retention).bucket
            self.access_logs_bucket = access_logs_bucket
            enable_access_logs(self.load_balancer, access_logs_bucket, access_logs_prefix or self._path_in_stack())
        self._acknowledge_listeners(https=https, open_listener=open_listener, public=public_load_balancer)

        # ECS-native: the rules whose weights ECS shifts (they also attach the target groups, which
        # the alarms' metrics need).
        native_rules = (
            ecs_native.listener_rules(
                self,
                prod_listener=self.prod_listener,
                test_listener=self.test_listener,
                blue=self.blue_target_group,
                green=self.green_target_group,
            )
            if native
            else None
        )

        # Rollback alarms: built in, then the user's.
        self.built_in_alarms: RollbackAlarms = RollbackAlarms(
            self,
            "RollbackAlarms",
            blue_target_group=self.blue_target_group,
            green_target_group=self.green_target_group,
            options=alarm_options,
        )
        self._rollback_alarms: list[cloudwatch.IAlarm] = [*self.built_in_alarms.alarms, *extra_alarms]
        self._warn_if_alarms_too_slow(shift, alarm_options)

        # The service: its deployment settings come from the engine.
        engine_options = (
            ecs_native.service_options(shift, wait, lambda: [a.alarm_name for a in self._rollback_alarms])
            if native
            else codedeploy_engine.service_options()
        )
        self.service: ecs.FargateService = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=desired_count,
            vpc_subnets=subnets,
            assign_public_ip=public_ip,
            security_groups=list(security_groups) if security_groups else None,
            platform_version=platform_version,
            capacity_provider_strategies=list(capacity_provider_strategies) if capacity_provider_strategies else None,
            health_check_grace_period=grace,
            enable_execute_command=enable_execute_command,
            propagate_tags=propagate_tags,
            service_name=service_name,
            **engine_options,
        )

        self.smoke_test_function: lambda_.Function | None = None
        if smoke_test is not None:
            self.smoke_test_function = SmokeTestFunction(
                self,
                "SmokeTest",
                options=smoke_test,
                vpc=self.vpc,
                load_balancer=self.load_balancer,
                test_listener=self.test_listener,
                test_port=test_port,
                https=https,
            ).function
            given_hooks = {**given_hooks, "AfterAllowTestTraffic": self.smoke_test_function}
        self.hooks: dict[str, lambda_.IFunction] = {
            event: given_hooks[event] for event in HOOK_NAMES if event in given_hooks
        }

        # Attributes of the other engine stay None.
        self.application: codedeploy.IEcsApplication | None = None
        self.deployment_config: codedeploy.IEcsDeploymentConfig | None = None
        self.deployment_group: codedeploy.EcsDeploymentGroup | None = None
        self.deployment_trigger: DeploymentTrigger | None = None
        self.appspec_properties: dict[str, Any] | None = None
        self.prod_listener_rule: elbv2.ApplicationListenerRule | None = None
        self.test_listener_rule: elbv2.ApplicationListenerRule | None = None
        self.infrastructure_role: iam.IRole | None = None
        if native:
            assert native_rules is not None
            prod_rule, test_rule = native_rules
            parts = ecs_native.attach(
                self,
                service=self.service,
                container_name=container_name,
                container_port=container_port,
                blue=self.blue_target_group,
                green=self.green_target_group,
                prod_rule=prod_rule,
                test_rule=test_rule,
                hooks=self.hooks,
            )
            self.prod_listener_rule, self.test_listener_rule = parts.prod_rule, parts.test_rule
            self.infrastructure_role = parts.infrastructure_role
        else:
            deployment = codedeploy_engine.attach(
                self,
                service=self.service,
                task_definition=self.task_definition,
                vpc=self.vpc,
                subnets=subnets,
                assign_public_ip=public_ip,
                capacity_provider_strategies=capacity_provider_strategies,
                platform_version=platform_version,
                container_name=container_name,
                container_port=container_port,
                blue=self.blue_target_group,
                green=self.green_target_group,
                prod_listener=self.prod_listener,
                test_listener=self.test_listener,
                shift=shift,
                termination_wait=wait,
                approval_wait=deployment_approval_wait_time,
                alarms=self._rollback_alarms,
                hooks=self.hooks,
                application=application,
                deployment_group_name=deployment_group_name,
                trigger_timeout=timeout,
            )
            self.application = deployment.application
            self.deployment_config = deployment.deployment_config
            self.deployment_group = deployment.deployment_group
            self.appspec_properties = deployment.appspec_properties
            self.deployment_trigger = deployment.trigger

        # Optional features: their modules are imported on use.
        self.dashboard: cloudwatch.Dashboard | None = None
        if dashboard:
            from .operations import deployment_dashboard

            self.dashboard = deployment_dashboard(
                self,
                "Dashboard",
                title=construct_id,
                blue=self.blue_target_group,
                green=self.green_target_group,
                alarms=self._rollback_alarms,
            )
        self.notifications: events.Rule | None = None
        if notifications_topic is not None:
            from .operations import codedeploy_notifications, ecs_notifications

            if self.deployment_group is not None and self.application is not None:
                self.notifications = codedeploy_notifications(
                    self,
                    "Notifications",
                    topic=notifications_topic,
                    application_name=self.application.application_name,
                    deployment_group_name=self.deployment_group.deployment_group_name,
                )
            else:
                self.notifications = ecs_notifications(
                    self, "Notifications", topic=notifications_topic, service=self.service
                )

    def _new_vpc(self, log_retention: logs.RetentionDays, log_encryption_key: kms.IKey | None) -> ec2.Vpc:
        """Two AZs, public and private subnets, a NAT gateway per AZ, flow logs of all traffic."""
        vpc = ec2.Vpc(self, "Vpc", max_azs=2)
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=log_retention, encryption_key=log_encryption_key)
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        if log_encryption_key is None:
            skip_checkov(flow_logs, LOGS_DEFAULT_ENCRYPTION)
        return vpc

    def _path_in_stack(self) -> str:
        """This construct's path below its stack: unique in the stack, unlike its id."""
        stack_path = Stack.of(self).node.path
        return self.node.path[len(stack_path) + 1 :] if stack_path else self.node.path

    def _acknowledge_listeners(self, *, https: bool, open_listener: bool, public: bool) -> None:
        """What a web service's entry point is by design, said once, next to the resources."""
        if open_listener:
            entry = "public web entry point" if public else "entry point for every network routed to the VPC"
            group = self.load_balancer.connections.security_groups[0]
            acknowledge_nag(group, "EC23", f"The production listener is the service's {entry} (open_listener=True).")
            skip_checkov(group, ("CKV_AWS_260", f"Port 80 serves, or redirects to HTTPS, the {entry}."))
        if not https:
            for listener in (self.prod_listener, self.test_listener):
                skip_checkov(
                    listener,
                    ("CKV_AWS_2", "HTTP because no certificate was given; certificate= makes every listener HTTPS."),
                    ("CKV_AWS_103", "No TLS without a certificate; with one, the policy is TLS 1.3 and 1.2."),
                )

    @property
    def rollback_alarms(self) -> list[cloudwatch.IAlarm]:
        """Every alarm that rolls a deployment back: the built-in ones first, then the user's."""
        return list(self._rollback_alarms)

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll deployments back when ``alarm`` fires, too.

        Raises ``ValueError`` when the deployment group already has CodeDeploy's maximum of 10.
        """
        if len(self._rollback_alarms) >= defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP:
            raise invalid(
                "alarm",
                alarm.node.path,
                f"the deployment group already has {len(self._rollback_alarms)} alarms, "
                "CodeDeploy's maximum; "
                "combine alarms in a cloudwatch.CompositeAlarm.",
            )
        self._rollback_alarms.append(alarm)
        # ECS-native reads the names lazily at synthesis; CodeDeploy's group needs to be told.
        if self.deployment_group is not None:
            self.deployment_group.add_alarm(alarm)

    def _task_placement(
        self, task_subnets: ec2.SubnetSelection | None, assign_public_ip: bool | None
    ) -> tuple[ec2.SubnetSelection, bool]:
        """Private subnets when the VPC has them; public ones with public IPs otherwise."""
        if task_subnets is not None:
            in_public = task_subnets.subnet_type == ec2.SubnetType.PUBLIC
            return task_subnets, assign_public_ip if assign_public_ip is not None else in_public
        if self.vpc.private_subnets:
            return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS), bool(assign_public_ip)
        if self.vpc.public_subnets:
            return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC), (
                assign_public_ip if assign_public_ip is not None else True
            )
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED), bool(assign_public_ip)

    @staticmethod
    def _deployment_timeout(
        deploy_on_update: bool,
        given: Duration | None,
        shift: TrafficShift,
        wait: Duration,
        approval: Duration | None,
    ) -> Duration | None:
        """The trigger's time budget (``None`` without a trigger), checked against what a deployment takes."""
        if not deploy_on_update:
            return None
        limit = MAX_DEPLOYMENT_TIMEOUT_MINUTES
        planned = default_deployment_timeout(shift=shift.shift_duration, termination_wait=wait, approval_wait=approval)
        if given is None:
            if planned is not None and planned.to_minutes() > limit:
                raise invalid(
                    "termination_wait",
                    wait,
                    f"with traffic_shift={shift.describe()} a deployment needs about {planned.to_minutes()} minutes, "
                    f"and `cdk deploy` can wait for at most {limit} (CloudFormation gives a custom resource one "
                    "hour). Shorten the shift or the waits, or set deploy_on_update=False and start deployments "
                    "from your pipeline.",
                )
            return planned or Duration.minutes(limit)
        check_duration("deployment_timeout", given, minimum_seconds=60, maximum_seconds=limit * 60, whole_minutes=True)
        if planned is not None and not unresolved(given):
            floor = planned.to_minutes() - DEPLOYMENT_TIMEOUT_MARGIN_MINUTES
            if given.to_minutes() <= floor:
                raise invalid(
                    "deployment_timeout",
                    given,
                    f"the traffic shift and waits alone take {floor} minutes; allow more than that "
                    "(the default adds 15 minutes for starting tasks, health checks and draining).",
                )
        return given

    def _warn_if_alarms_too_slow(self, shift: TrafficShift, options: RollbackAlarmOptions) -> None:
        """A canary shorter than the alarms' detection time shifts everything before they can fire."""
        detection = options.detection_time
        if shift.kind is not TrafficShiftKind.CANARY or detection is None or shift.interval is None:
            return
        if unresolved(shift.interval) or shift.interval.to_seconds() > detection.to_seconds():
            return
        Annotations.of(self).add_warning_v2(
            "blue-green-ecs:alarmsSlowerThanCanary",
            f"The canary interval ({shift.interval.to_human_string()}) is not longer than the rollback "
            "alarms' "
            f"detection time ({detection.to_human_string()}): a fault in the canary can only roll back after "
            "all traffic has shifted. Lengthen the interval or shorten rollback_alarm_options.",
        )
