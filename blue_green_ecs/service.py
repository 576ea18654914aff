"""``BlueGreenFargateService``: an ECS Fargate service that deploys blue/green, by CodeDeploy or by ECS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from aws_cdk import Duration
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
    # Types of optional props: importing these modules costs every synthesis time.
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_events as events
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_route53 as route53
    from aws_cdk import aws_sns as sns

from .configuration import defaults
from .deployment.built_in_hooks import BuiltInHookAttributes, built_in_hooks
from .deployment.hooks import DeploymentHooks, SmokeTest
from .deployment.migration import MigrationTask
from .deployment.preflight import PreflightCheck
from .deployment.step_analysis import StepAnalysis
from .deployment.traffic_shift import TrafficShift
from .engines import DeploymentEngine
from .engines.base import ServiceParts
from .engines.parts import EngineAttributes, engine_for
from .fargate.auto_scaling import AutoScaling
from .fargate.network import task_placement, vpc_and_cluster
from .fargate.task import build_service, build_task
from .load_balancing.edge import IBlueGreenLoadBalancer, Routing
from .load_balancing.load_balancing import build_load_balancing, select_subnets
from .load_balancing.test_traffic import TestTrafficHeader
from .monitoring.operations import operations_view
from .monitoring.rollback_alarms import RollbackAlarmOptions, RollbackAlarms, check_room_for_alarm, service_alarms
from .prop_checks import check_props
from .props import ServiceProps
from .unknown_props import reject_unknown_props


class BlueGreenFargateService(EngineAttributes, BuiltInHookAttributes, Construct):
    """A Fargate service behind an Application Load Balancer, deployed blue/green by CodeDeploy or by ECS.

    Creates (or reuses) a VPC and cluster, a task definition with one container logging to CloudWatch Logs, a
    Fargate service, a load balancer with a production listener (forwarding to the blue target group) and a test
    listener (forwarding to the green one, closed to the internet by default), and built-in rollback alarms over
    both target groups. The ``engine`` deploys: ``CODE_DEPLOY`` (default) adds a CodeDeploy application and
    deployment group that swap the listeners' target groups, and the deployment trigger that runs the deployment
    from ``cdk deploy``; ``ECS_NATIVE`` adds a listener rule per listener whose weights ECS shifts itself. Both
    shift traffic as ``traffic_shift`` says and roll back on failure and on alarm.

    Attributes:
        engine: the ``DeploymentEngine`` that deploys this service.
        service: the ``ecs.FargateService``.
        task_definition: the ``ecs.FargateTaskDefinition``.
        container: the application's ``ecs.ContainerDefinition``.
        log_group: the container's log group, or ``None`` with a given ``log_driver`` or ``task_definition``.
        cluster: the cluster the service runs in (given or created).
        vpc: the VPC (given, the cluster's, or created).
        load_balancer: the ``elbv2.ApplicationLoadBalancer`` (the shared one's with ``shared_load_balancer``).
        access_logs_bucket: the bucket receiving access logs, or ``None`` with ``access_logs=False``.
        prod_listener: the production listener (443 with a certificate, else 80).
        listener: ``prod_listener``, as aws-ecs-patterns names it.
        test_listener: the test listener (8443 with a certificate, else 8080).
        redirect_listener: the port-80 listener that redirects to HTTPS, or ``None``.
        blue_target_group: the target group production traffic starts on.
        green_target_group: the target group a deployment starts the new tasks in (the two swap roles
            with every CodeDeploy deployment).
        scalable_task_count: the ``ecs.ScalableTaskCount`` of ``auto_scaling``, or ``None``.
        built_in_alarms: the ``RollbackAlarms`` construct.
        rollback_alarms: every alarm that rolls a deployment back, built-in first.
        listener_port: the production listener's port (a shared load balancer's; ``None``: ``from_existing``).
        test_listener_port: the test listener's port (a shared load balancer's; ``None``: ``from_existing``).
        traffic_shift: the effective ``TrafficShift``.
        termination_wait: the effective wait before the old tasks stop (ECS-native: the bake time).
        hooks: lifecycle event -> function, the smoke test included.
        smoke_test_function / preflight_function / step_analysis_function / migration_function: the built-in
            hooks' functions, or ``None``.
        test_traffic_rule: the production listener's rule of ``test_traffic_header``, or ``None``.
        test_traffic_router: the ``TestTrafficRouter`` hook that moves that rule to green, or ``None``.
        dashboard: the CloudWatch dashboard, or ``None``.
        domain_record: the alias record of ``domain_name``, or ``None``.
        notifications: the EventBridge rule sending deployment events to SNS, or ``None``.
        code_deploy: the CodeDeploy engine with what it created (CODE_DEPLOY only).
        application: the CodeDeploy ECS application (CODE_DEPLOY only).
        deployment_group: the CodeDeploy ``EcsDeploymentGroup`` (CODE_DEPLOY only).
        deployment_config: the deployment configuration ``traffic_shift`` maps to (CODE_DEPLOY only).
        deployment_trigger: the custom resource that deploys on update, or ``None`` with
            ``deploy_on_update=False`` (CODE_DEPLOY only).
        appspec_properties: the AppSpec inputs (container, network, hooks) as the deployment
            trigger and the pipeline files use them (CODE_DEPLOY only).
        ecs_native: the ECS-native engine with what it created (ECS_NATIVE only).
        prod_listener_rule: the production listener rule whose weights ECS shifts (ECS_NATIVE only).
        test_listener_rule: the test listener rule whose weights ECS shifts (ECS_NATIVE only).
        infrastructure_role: the role ECS shifts the listener rules with (ECS_NATIVE only).

    Reading an attribute of the other engine raises ``AttributeError`` naming the engine in use.
    """

    @reject_unknown_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ecs.ContainerImage | None = None,
        task_definition: ecs.FargateTaskDefinition | None = None,
        engine: DeploymentEngine = DeploymentEngine.CODE_DEPLOY,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.ICluster | None = None,
        task_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        cpu: int = defaults.CPU,
        memory_limit_mib: int = defaults.MEMORY_LIMIT_MIB,
        container_cpu: int | None = None,
        container_memory_limit_mib: int | None = None,
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
        auto_scaling: AutoScaling | None = None,
        platform_version: ecs.FargatePlatformVersion | None = None,
        capacity_provider_strategies: Sequence[ecs.CapacityProviderStrategy] | None = None,
        health_check_grace_period: Duration | None = None,
        enable_execute_command: bool = False,
        propagate_tags: ecs.PropagatedTagSource | None = None,
        enable_ecs_managed_tags: bool = False,
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
        protocol_version: elbv2.ApplicationProtocolVersion | None = None,
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
        preflight_check: PreflightCheck | None = None,
        step_analysis: StepAnalysis | None = None,
        migration_task: MigrationTask | None = None,
        dashboard: bool = False,
        notifications_topic: sns.ITopic | None = None,
        domain_name: str | None = None,
        domain_zone: route53.IHostedZone | None = None,
        shared_load_balancer: IBlueGreenLoadBalancer | None = None,
        routing: Routing | None = None,
        test_traffic_header: TestTrafficHeader | None = None,
        service_connect: ecs.ServiceConnectProps | None = None,
        cloud_map_options: ecs.CloudMapOptions | None = None,
        outputs: bool = False,
    ) -> None:
        """Create the service.

        :param image: the container image to run; required unless ``task_definition`` is given. Default: none.
        :param task_definition: your own Fargate task definition (sidecars, volumes, roles): the service runs it, with
            ``container_name`` receiving the load balancer's traffic on ``container_port``; the props that build a task
            definition (``cpu``, ``environment``, ``log_driver``, ...) are then refused. Give it or ``image``, not both.
            Default: one built from ``image`` and the container props.
        :param engine: who performs deployments: ``DeploymentEngine.CODE_DEPLOY`` (CodeDeploy plus this library's
            deployment trigger) or ``DeploymentEngine.ECS_NATIVE`` (ECS's own blue/green, canary and linear
            deployments). Default: CODE_DEPLOY.
        :param vpc: the VPC. Default: the cluster's VPC if ``cluster`` is given, else a new VPC with two Availability
            Zones, public and private subnets and a NAT gateway per zone. Giving both ``vpc`` and ``cluster`` is an
            error.
        :param cluster: the ECS cluster. Default: a new cluster with Container Insights.
        :param task_subnets: where the tasks run. Default: the VPC's private subnets with egress, or its public subnets
            (with public IPs) if it has none.
        :param assign_public_ip: give tasks a public IP. Default: true only when the tasks run in public subnets (they
            need it to pull images and ship logs without a NAT gateway).
        :param security_groups: the tasks' security groups. Default: a new group that admits only the load balancer, on
            the container port.
        :param cpu: task CPU units. Default: 256.
        :param memory_limit_mib: task memory; must pair with ``cpu`` as Fargate allows. Default: 512.
        :param container_cpu: CPU units the container reserves, at most ``cpu``. Default: none reserved (the container
            shares the task's).
        :param container_memory_limit_mib: the container's hard memory limit, 6 MiB up to ``memory_limit_mib`` (a
            container exceeding it is stopped). Default: none below the task's ``memory_limit_mib``.
        :param runtime_platform: OS and CPU architecture. Default: Linux on x86_64.
        :param ephemeral_storage_gib: task ephemeral storage, 21-200 GiB. Default: Fargate's 20 GiB.
        :param family: task definition family name. Default: generated by CDK.
        :param task_role: role the application assumes. Default: a new role with no permissions.
        :param execution_role: role ECS uses to pull the image and write logs. Default: a new role.
        :param container_name: name of the application container, as CodeDeploy's AppSpec refers to it (with
            ``task_definition``: the container of it that receives traffic). Default: ``"web"``.
        :param container_port: port the container listens on. Default: 80.
        :param environment: environment variables of the container. Default: none.
        :param secrets: secrets exposed as environment variables. Default: none.
        :param command: container command. Default: the image's.
        :param entry_point: container entry point. Default: the image's.
        :param docker_labels: container labels. Default: none.
        :param readonly_root_filesystem: mount the container's root filesystem read-only. Default: false.
        :param log_driver: the container's log driver. Default: awslogs into a new log group kept for ``log_retention``.
        :param log_retention: retention of the created log group. Default: one month.
        :param log_encryption_key: KMS key encrypting the created log group. Default: CloudWatch Logs' own encryption.
        :param desired_count: the number of tasks a new service starts with, 0-5000 (with ``auto_scaling``, within its
            capacities). Unlike aws-ecs-patterns, a stack update keeps the running count: a new value does not scale a
            running service (scale it with ``auto_scaling``, or ``aws ecs update-service --desired-count``), and
            synthesis warns so (``blue-green-ecs:desiredCountIsInitial``) for any value but the default. Default: 2.
        :param auto_scaling: target tracking of the task count on CPU, memory or requests per task (over both target
            groups, so it follows production across deployments). Default: a fixed count.
        :param platform_version: Fargate platform version. Default: LATEST.
        :param capacity_provider_strategies: e.g. FARGATE_SPOT. Default: the FARGATE launch type.
        :param health_check_grace_period: time before ELB health checks count against a new task. Default: 60 seconds.
        :param enable_execute_command: allow ECS Exec into the tasks. Default: false.
        :param propagate_tags: propagate tags to tasks. Default: none.
        :param enable_ecs_managed_tags: have ECS tag the tasks with their cluster and service names (the ECS API
            asks for ``propagate_tags`` with it); a change applies to the tasks started afterwards. Default: false.
        :param service_name: physical service name. Default: generated by CloudFormation.
        :param public_load_balancer: internet-facing load balancer. Default: true.
        :param open_listener: open the production listener (and the HTTP redirect) to the world in the load balancer's
            security group. Default: true.
        :param load_balancer_name: physical load balancer name. Default: generated.
        :param idle_timeout: load balancer idle timeout. Default: 60 seconds (ELB's).
        :param deletion_protection: protect the load balancer from deletion. Default: false.
        :param access_logs: write the load balancer's access logs to S3. Default: true.
        :param access_logs_bucket: where access logs go. Default: the stack's shared bucket, created by its first
            service: SSE-S3 encrypted, SSL-only, no public access, objects expiring after ``access_logs_retention``;
            every service writes under its own prefix.
        :param access_logs_prefix: key prefix of the access logs. Default: the construct's path below its stack (its id
            for a service created directly in the stack).
        :param access_logs_retention: lifetime of access logs in the stack's shared bucket, 1-3650 days; every service
            of the stack must ask for the same. Default: 90 days.
        :param certificate: ACM certificate; makes the production and test listeners HTTPS. Default: none, both
            listeners are HTTP.
        :param ssl_policy: TLS policy of HTTPS listeners. Default: ``SslPolicy.RECOMMENDED_TLS`` (TLS 1.3 and 1.2).
        :param redirect_http: with a certificate, listen on port 80 and redirect to HTTPS. Default: true.
        :param listener_port: production listener port. Default: 443 with a certificate, else 80 (a listener pair on
            a shared load balancer: required, and a port no other listener of it has).
        :param test_listener_port: test listener port. Default: 8443 with a certificate, else 8080 (a pair: required).
        :param test_listener_allowed_peers: who may reach the test listener. Default: the VPC's CIDR block only; the
            test listener is never open to the internet unless named here.
        :param health_check_path: path of the target groups' health check. Default: ``"/"``.
        :param health_check: full target group health check; fields left out take this library's defaults. Default: path
            ``health_check_path``, 10 s interval, 5 s timeout, 2 healthy / 3 unhealthy, codes 200-399.
        :param deregistration_delay: how long a deregistering target drains, 0-3600 s. Default: 30 seconds.
        :param protocol_version: ``elbv2.ApplicationProtocolVersion`` of the target groups, the one they send requests
            to the tasks with. HTTP2 and GRPC need HTTPS listeners (a ``certificate``, or the shared load balancer's)
            and the smoke test, which speaks HTTP/1.1, is then refused; GRPC health checks match gRPC codes (ELB's
            defaults: ``/AWS.ALB/healthcheck``, code 12). A change replaces both target groups, which the live-state
            lookup refuses: migrate side by side. Default: HTTP1.
        :param traffic_shift: how production traffic moves to green. Default: ``TrafficShift.canary(percent=10,
            interval=Duration.minutes(5))``.
        :param termination_wait: how long the blue tasks stay up after the shift, whole minutes 0-2880 (ECS-native: the
            bake time, 0-1440). Default: 5 minutes.
        :param deployment_approval_wait_time: if set, the deployment waits this long for approval once, after test
            traffic reached green and before production moves, then stops (CODE_DEPLOY: minutes 1-2880) or rolls back
            (ECS_NATIVE: minutes 1-20160, a ``PAUSE`` hook at ``POST_TEST_TRAFFIC_SHIFT``). Default: no wait.
        :param alarms: extra alarms that roll a deployment back, added to the built-in ones; 10 in all (CodeDeploy's
            limit per deployment group). Default: none.
        :param rollback_alarm_options: thresholds of the built-in alarms. Default: ``RollbackAlarmOptions()``.
        :param application: CODE_DEPLOY only. The CodeDeploy ECS application. Default: the stack's shared application
            (one per stack, a deployment group per service under it).
        :param deployment_group_name: CODE_DEPLOY only. Physical deployment group name. Default: generated.
        :param deploy_on_update: CODE_DEPLOY only. Run the CodeDeploy deployment from ``cdk deploy`` whenever the task
            definition or anything else in the AppSpec changes, wait for it, and fail the deploy with CodeDeploy's
            reason when it fails or rolls back. Turn off when a pipeline (CodePipeline's CodeDeployToECS action) starts
            deployments. Default: true.
        :param deployment_timeout: CODE_DEPLOY only. How long ``cdk deploy`` waits for one deployment before stopping it
            with rollback, whole minutes up to 55 (CloudFormation gives a custom resource one hour). Default: traffic
            shift + termination wait + approval wait + 15 minutes.
        :param hooks: Lambda functions for the deployment's lifecycle events (under ECS_NATIVE, run at the matching ECS
            lifecycle stages). Default: none.
        :param smoke_test: run the built-in smoke test against green as the AfterAllowTestTraffic hook. Default: none.
        :param preflight_check: before any green task starts (the BeforeInstall hook; ECS_NATIVE: ``PRE_SCALE_UP``),
            fail the deployment with the reason when a rollback alarm is already in ALARM or the task subnets lack free
            IP addresses for green. Default: none.
        :param step_analysis: before each traffic step, fail when green's metrics do worse than blue's. Default: none.
        :param migration_task: before green starts, run the new task definition once with a command. Default: none.
        :param dashboard: add a CloudWatch dashboard with blue and green requests, 5xx, p99 latency and healthy hosts
            side by side, and the rollback alarms' states. Default: false.
        :param notifications_topic: send every deployment state change (CodeDeploy or ECS events) to this SNS topic.
            Default: no notifications.
        :param domain_name: a name in ``domain_zone`` that points at the load balancer (alias A record); both or
            neither. Default: none, use the load balancer's DNS name.
        :param domain_zone: the Route 53 hosted zone of ``domain_name``. Default: none.
        :param shared_load_balancer: a ``BlueGreenLoadBalancer`` (or one ``from_existing``) to share instead of
            creating one; its props (access logs, name, scheme, ...) are refused here. The service takes rules on its
            listeners (``routing``, ECS_NATIVE only), or without ``routing`` a listener pair of its own on
            ``listener_port`` and ``test_listener_port`` (either engine; ``certificate``, ``ssl_policy``,
            ``open_listener``, ``test_listener_allowed_peers`` are the pair's). Default: a load balancer of its own.
        :param routing: with ``shared_load_balancer``, the service's rules on its listeners (ECS_NATIVE only):
            ``Routing(priority=..., host_headers=[...], path_patterns=[...])``. Default: none (a pair of its own).
        :param test_traffic_header: a rule on the production listener that sends requests carrying this header (name and
            secret value) to green, so testers and CI outside the VPC reach it before users do:
            ``TestTrafficHeader(value=...)``. It follows every deployment a stack update starts. Default: none; green is
            reachable through the test listener only.
        :param service_connect: ECS_NATIVE only. ECS Service Connect, passed to the Fargate service (CodeDeploy
            deployments do not support it, aws/containers-roadmap #1993). Default: none.
        :param cloud_map_options: ECS_NATIVE only. Register the tasks in AWS Cloud Map (ECS service discovery), as
            ``ecs.FargateService`` does. DNS clients reach tasks directly, outside the traffic shift: green's from their
            start, blue's until they stop. CodeDeploy shifts load balancer traffic only, so CODE_DEPLOY refuses it.
            Default: none.
        :param outputs: add stack outputs as aws-ecs-patterns does: ``LoadBalancerDns``, the load balancer's DNS name,
            and ``ServiceUrl``: the production listener's scheme and port (left out when it is the scheme's default),
            ``domain_name`` or the first of ``routing.host_headers`` as host, and the first of ``routing.path_patterns``
            up to its first wildcard as path. A load balancer ``from_existing`` tells no listener protocol: no
            ``ServiceUrl``. Default: false (the template stays as it was).
        """
        super().__init__(scope, construct_id)
        props = ServiceProps.from_arguments(locals())
        # Validate everything before creating anything, so a bad value fails with its own message.
        check_props(props, self.node.path)
        self._engine = engine_for(engine)
        self._engine.validate(props)
        self.engine: DeploymentEngine = engine
        self.traffic_shift: TrafficShift = props.shift
        self.termination_wait: Duration = props.wait
        shared = props.shared_listeners
        self.listener_port: int | None = props.prod_port if shared is None else shared.listener_port
        self.test_listener_port: int | None = props.test_port if shared is None else shared.test_listener_port

        # Network and task.
        self.vpc, self.cluster = vpc_and_cluster(self, props)
        subnets, public_ip = task_placement(self.vpc, task_subnets, assign_public_ip)
        task = build_task(self, props)
        self.task_definition: ecs.FargateTaskDefinition = task.task_definition
        self.container: ecs.ContainerDefinition = task.container
        self.log_group: logs.ILogGroup | None = task.log_group

        # Load balancing: the engine says what the listeners forward to, and adds its routes.
        lb = build_load_balancing(self, props, self.vpc, self._engine.listener_defaults)
        self._engine.route(self, lb)
        # Typed as the service's own (as before shared_load_balancer); from_existing's are the interfaces.
        self.load_balancer = cast(elbv2.ApplicationLoadBalancer, lb.load_balancer)
        self.blue_target_group: elbv2.ApplicationTargetGroup = lb.blue_target_group
        self.green_target_group: elbv2.ApplicationTargetGroup = lb.green_target_group
        self.prod_listener = cast(elbv2.ApplicationListener, lb.prod_listener)
        self.test_listener = cast(elbv2.ApplicationListener, lb.test_listener)
        self.redirect_listener: elbv2.ApplicationListener | None = lb.redirect_listener
        self.access_logs_bucket: s3.IBucket | None = lb.access_logs_bucket
        self.domain_record: route53.ARecord | None = lb.domain_record

        # Rollback alarms: built in, then the user's.
        self.built_in_alarms: RollbackAlarms = service_alarms(
            self, lb.blue_target_group, lb.green_target_group, props.alarm_options, props.shift
        )
        self._rollback_alarms: list[cloudwatch.IAlarm] = [*self.built_in_alarms.alarms, *props.extra_alarms]

        # The service: its deployment settings come from the engine.
        self.service: ecs.FargateService = build_service(
            self,
            props,
            cluster=self.cluster,
            task_definition=self.task_definition,
            subnets=subnets,
            assign_public_ip=public_ip,
            engine_options=self._engine.service_options(props, lambda: [a.alarm_name for a in self._rollback_alarms]),
        )

        self.scalable_task_count: ecs.ScalableTaskCount | None = (
            auto_scaling.apply(self.service, lb.blue_target_group, lb.green_target_group) if auto_scaling else None
        )

        # Lifecycle hooks (the built-in ones among them), then the engine takes over the service.
        self._built_in = built_in_hooks(
            self,
            props,
            vpc=self.vpc,
            subnet_ids=select_subnets(self.vpc, subnets).subnet_ids,
            assign_public_ip=public_ip,
            load_balancing=lb,
            service=self.service,
            alarm_names=lambda: [a.alarm_name for a in self._rollback_alarms],
            service_names_its_hooks=self._engine.service_names_its_hooks,
        )
        self.hooks: dict[str, lambda_.IFunction] = self._built_in.by_event
        self._engine.attach(
            ServiceParts(
                scope=self,
                props=props,
                service=self.service,
                task_definition=self.task_definition,
                vpc=self.vpc,
                subnets=subnets,
                assign_public_ip=public_ip,
                load_balancing=lb,
                alarms=self._rollback_alarms,
                built_in=self._built_in,
            )
        )

        # Operations: optional, their modules imported on use.
        self.dashboard: cloudwatch.Dashboard | None = operations_view(self, props, lb, self._rollback_alarms)
        self.notifications: events.Rule | None = (
            self._engine.notifications(self, notifications_topic, self.service) if notifications_topic else None
        )

    @property
    def listener(self) -> elbv2.ApplicationListener:
        """The production listener (aws-ecs-patterns' name for it)."""
        return self.prod_listener

    @property
    def rollback_alarms(self) -> list[cloudwatch.IAlarm]:
        """Every alarm that rolls a deployment back: the built-in ones first, then the user's."""
        return list(self._rollback_alarms)

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll deployments back when ``alarm`` fires, too.

        Raises ``ValueError`` when the deployment group already has CodeDeploy's maximum of 10.
        """
        check_room_for_alarm(self._rollback_alarms, alarm)
        self._rollback_alarms.append(alarm)
        self._engine.add_rollback_alarm(alarm)
