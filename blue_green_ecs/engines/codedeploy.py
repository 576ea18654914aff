"""The CodeDeploy engine: application, deployment configuration and group, hooks, deployment trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration import defaults, limits
from ..configuration.acknowledgements import ignore_cfn_lint
from ..configuration.validation import check_duration, invalid, unresolved
from ..deployment.deployment_trigger import (
    DEPLOYMENT_TIMEOUT_MARGIN_MINUTES,
    MAX_DEPLOYMENT_TIMEOUT_MINUTES,
    DeploymentTrigger,
    appspec_properties,
    default_deployment_timeout,
)
from ..deployment.provider import Provider
from ..deployment.traffic_shift import TrafficShift
from ..load_balancing.load_balancing import select_subnets
from ..load_balancing.shared_resources import codedeploy_application, codedeploy_role
from ..load_balancing.test_traffic import add_test_traffic_rule
from . import DeploymentEngine
from .live_lookup import LiveLookup
from .pipeline import record_pipeline_files

if TYPE_CHECKING:
    from aws_cdk import aws_events as events
    from aws_cdk import aws_sns as sns

    from ..load_balancing.parts import LoadBalancerParts
    from ..props import ServiceProps
    from .base import ServiceParts


class CodeDeployEngine:
    """CodeDeploy deploys: the ``CODE_DEPLOY`` controller, an application and deployment group per service
    (the application and CodeDeploy's role shared per stack), and the deployment trigger so that
    ``cdk deploy`` runs the deployment.

    Attributes (set by ``attach``): ``application``, ``role`` (CodeDeploy's role, shared by the stack's
    deployment groups), ``deployment_config``, ``deployment_group``,
    ``appspec_properties`` (the AppSpec inputs the trigger and the pipeline files share) and
    ``trigger`` (``None`` with ``deploy_on_update=False``).
    """

    kind = DeploymentEngine.CODE_DEPLOY
    # The AppSpec names the hooks, the service does not: a hook may name the service and its alarms.
    service_names_its_hooks = False

    application: codedeploy.IEcsApplication
    role: iam.Role
    deployment_config: codedeploy.IEcsDeploymentConfig
    deployment_group: codedeploy.EcsDeploymentGroup
    appspec_properties: dict[str, Any]
    live_state: LiveLookup
    trigger: DeploymentTrigger | None
    test_traffic_rule: elbv2.ApplicationListenerRule | None

    def __init__(self) -> None:
        self._trigger_timeout: Duration | None = None

    def validate(self, props: ServiceProps) -> None:
        """Whole percentages, at most 10 alarms, a deployment that fits CloudFormation's hour; no rules on a
        shared listener (a listener pair of its own on a shared load balancer), no Service Connect, no Cloud Map."""
        if props.routing is not None:
            # CodeDeploy's ECS deployments reroute a listener's default action: the ECS Developer Guide ("Migrate
            # CodeDeploy blue/green deployments to Amazon ECS blue/green deployments") describes each listener
            # "configured with a single (default) rule that routes all traffic to a single target group", and the
            # CodeDeploy guides document no rerouting of a listener's other rules (nor what a rollback would write
            # back into one: a rule's other actions, authenticate-oidc or a fixed response, are not a target group
            # pair's). Rules on a shared listener are ECS's own blue/green's documented layout; a listener pair of
            # the service's own is CodeDeploy's.
            raise invalid(
                "routing",
                props.routing,
                "CodeDeploy shifts traffic by a listener's default action, documented for listeners whose one rule "
                "routes all traffic to the service; it does not shift listener rules on a shared listener. Give the "
                "service its own listeners on the shared load balancer (drop routing=, pass listener_port= and "
                "test_listener_port=), or use engine=DeploymentEngine.ECS_NATIVE, which shifts listener rules.",
            )
        if props.service_connect is not None:
            raise invalid(
                "service_connect",
                "<ServiceConnectProps>",
                "CodeDeploy blue/green deployments do not support ECS Service Connect (aws/containers-roadmap "
                "#1993); use engine=DeploymentEngine.ECS_NATIVE.",
            )
        if props.cloud_map_options is not None:
            # CodeDeploy reroutes load balancer traffic only (AWS Containers Blog, "Migrating from AWS CodeDeploy to
            # Amazon ECS for blue/green deployments"). ECS UpdateService takes no service registries for a
            # CODE_DEPLOY service (ECS API Reference, UpdateService) and the AppSpec has no field for them, so a
            # change could never be deployed; DNS answers with both task sets (aws/containers-roadmap #648).
            raise invalid(
                "cloud_map_options",
                "<CloudMapOptions>",
                "CodeDeploy blue/green deployments shift load balancer traffic only: Cloud Map would answer with the "
                "tasks of both task sets, and ECS refuses to update a CODE_DEPLOY service's service registries "
                "(UpdateService), so a change could never be deployed; use engine=DeploymentEngine.ECS_NATIVE.",
            )
        percent = props.shift.percent
        if percent is not None and not unresolved(percent):
            limits.check_codedeploy_percent("traffic_shift.percent", percent)
        self._trigger_timeout = deployment_timeout(
            props.deploy_on_update,
            props.deployment_timeout,
            props.shift,
            props.wait,
            props.deployment_approval_wait_time,
            props.migration_task.timeout if props.migration_task is not None else None,
        )
        built_in, extra = props.built_in_alarm_count, len(props.extra_alarms)
        if built_in + extra > defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP:
            raise invalid(
                "alarms",
                f"<{extra} alarms>",
                f"CodeDeploy accepts {defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP} alarms per deployment group "
                f"and {built_in} are built in; pass at most {defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP - built_in}, "
                "or combine them in a cloudwatch.CompositeAlarm.",
            )

    def listener_defaults(self, target_group: elbv2.IApplicationTargetGroup) -> dict[str, Any]:
        """CodeDeploy swaps the listeners' default target groups."""
        return {"default_target_groups": [target_group]}

    def route(self, scope: Construct, load_balancing: LoadBalancerParts) -> None:
        """Nothing: the listeners' default actions are the routes CodeDeploy swaps."""

    def service_options(self, props: ServiceProps, alarm_names: Callable[[], list[str]]) -> dict[str, Any]:
        """The CODE_DEPLOY controller."""
        return {
            "deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.CODE_DEPLOY),
            # Fargate ignores these under CODE_DEPLOY (CodeDeploy sizes the replacement task set);
            # setting them states that and silences CDK's "not configured" warning.
            "min_healthy_percent": 100,
            "max_healthy_percent": 200,
        }

    def attach(self, parts: ServiceParts) -> None:
        """Register the service with CodeDeploy, and deploy on `cdk deploy` unless ``deploy_on_update=False``."""
        scope, props, service, lb = parts.scope, parts.props, parts.service, parts.load_balancing
        blue, green = lb.blue_target_group, lb.green_target_group
        service.attach_to_application_target_group(blue)
        # CodeDeploy swaps the listeners' target groups outside CloudFormation. After a deployment the
        # production listener forwards to "green" and the test listener to "blue"; without these edges
        # CloudFormation could delete a target group that a listener still uses.
        lb.prod_listener.node.add_dependency(green)
        lb.test_listener.node.add_dependency(blue)
        # Green is where the service's tasks live after every other deployment: the service must be
        # deleted before the test listener detaches it, and created after the group is attached. The
        # service resource only: its security group is an input of the live-state lookup, which runs
        # before the listeners.
        resource = service.node.default_child
        assert isinstance(resource, CfnResource)
        resource.node.add_dependency(lb.test_listener)

        self.application = props.application or codedeploy_application(scope)
        self.deployment_config = props.shift.bind(scope, "DeploymentConfig")
        self.role = codedeploy_role(scope)
        self.deployment_group = codedeploy.EcsDeploymentGroup(
            scope,
            "DeploymentGroup",
            application=self.application,
            # EcsDeploymentGroup attaches AWSCodeDeployRoleForECS (invoke any function, read any object,
            # publish to any topic) to the role it is given; the shared role carries the limited policy
            # and this service's grants instead, so the group gets a view of it that ignores additions.
            role=self.role.without_policy_updates(),
            service=service,
            deployment_group_name=props.deployment_group_name,
            deployment_config=self.deployment_config,
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=blue,
                green_target_group=green,
                listener=lb.prod_listener,
                test_listener=lb.test_listener,
                termination_wait_time=props.wait,
                deployment_approval_wait_time=props.deployment_approval_wait_time,
            ),
            alarms=list(parts.alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        if isinstance(self.deployment_config, Construct):
            # W3005: EcsDeploymentGroup adds a DependsOn on a custom deployment config that its
            # DeploymentConfigName Ref already implies; redundant and harmless.
            group_resource = self.deployment_group.node.default_child
            assert isinstance(group_resource, CfnResource)
            ignore_cfn_lint(group_resource, "W3005")
        for function in parts.hooks.values():
            _grant_hook(function, self.role, self.deployment_group)
        if parts.built_in.migration is not None:
            # The migration reads the deployment's AppSpec for the new task definition.
            parts.built_in.migration.allow_deployment_group(self.deployment_group)
        _grant_pass_roles(parts.task_definition, self.role)
        self.appspec_properties = appspec_properties(
            container_name=props.container_name,
            container_port=props.container_port,
            platform_version=props.platform_version,
            subnet_ids=select_subnets(parts.vpc, parts.subnets).subnet_ids,
            security_group_ids=[sg.security_group_id for sg in service.connections.security_groups],
            assign_public_ip=parts.assign_public_ip,
            capacity_provider_strategies=props.capacity_provider_strategies,
            hooks=parts.hooks,
        )
        # For `blue-green-ecs export`: appspec.yaml and taskdef.json as construct metadata (not in the template).
        record_pipeline_files(
            scope,
            task_definition=parts.task_definition,
            container_name=props.container_name,
            appspec=self.appspec_properties,
        )
        provider = Provider.of(scope, log_retention=props.log_retention, log_encryption_key=props.log_encryption_key)
        self.live_state = LiveLookup(scope, "LiveState", parts=parts, provider=provider, engine=self.kind.value)
        self.live_state.follow_listener(lb.prod_listener, "ProdTargetGroupArn")
        self.live_state.follow_listener(lb.test_listener, "TestTargetGroupArn")
        self.live_state.follow_desired_count(service)
        self.live_state.pin_codedeploy_service(service)
        self.trigger = None
        if self._trigger_timeout is not None:
            self.trigger = DeploymentTrigger(
                scope,
                "DeploymentTrigger",
                application=self.application,
                deployment_group=self.deployment_group,
                deployment_config=self.deployment_config,
                service=service,
                task_definition=parts.task_definition,
                appspec=self.appspec_properties,
                timeout=self._trigger_timeout,
                provider=provider,
                alarms=parts.alarms,
                hook_log_groups=[function.log_group for function in parts.built_in.functions],
            )
            # The role's policy (the hooks' invoke grants included) must exist before a deployment runs.
            self.trigger.resource.node.add_dependency(self.role)
        self.test_traffic_rule = None
        if props.test_traffic_header is not None:
            self.test_traffic_rule = add_test_traffic_rule(
                scope,
                props.test_traffic_header,
                lb,
                self.live_state,
                parts.task_definition,
                router=parts.test_traffic_router,
                # Green starts in the target group the rule forwards to: the rule is there first.
                before=[self.trigger.resource] if self.trigger is not None else [],
            )

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """The deployment group holds its alarm list: tell it (and the trigger, which explains rollbacks)."""
        self.deployment_group.add_alarm(alarm)
        if self.trigger is not None:
            self.trigger.allow_alarm(alarm)

    def notifications(self, scope: Construct, topic: sns.ITopic, service: ecs.FargateService) -> events.Rule:
        """The deployment group's CodeDeploy state changes."""
        from ..monitoring.operations import codedeploy_notifications  # optional feature, imported on use

        return codedeploy_notifications(
            scope,
            "Notifications",
            topic=topic,
            application_name=self.application.application_name,
            deployment_group_name=self.deployment_group.deployment_group_name,
        )


def deployment_timeout(
    deploy_on_update: bool,
    given: Duration | None,
    shift: TrafficShift,
    wait: Duration,
    approval: Duration | None,
    migration: Duration | None = None,
) -> Duration | None:
    """The trigger's time budget (``None`` without a trigger), checked against what a deployment takes (the
    migration task's timeout included: it runs before green starts)."""
    if not deploy_on_update:
        return None
    limit = MAX_DEPLOYMENT_TIMEOUT_MINUTES
    planned = default_deployment_timeout(
        shift=shift.shift_duration, termination_wait=wait, approval_wait=approval, migration=migration
    )
    if given is None:
        shift_time = shift.shift_duration
        if planned is not None and planned.to_minutes() > limit and shift_time is not None:
            limits.check_trigger_budget(  # names what takes longest: the shift or the termination wait
                shift_name="traffic_shift",
                shift_description=shift.describe(),
                shift=shift_time.to_minutes(),
                wait_name="termination_wait",
                wait=wait.to_minutes(),
                approval=approval.to_minutes() if approval is not None else 0,
            )
            if migration is not None:  # the shift and waits fit: the migration's timeout is what does not
                raise invalid(
                    "migration_task.timeout",
                    migration,
                    f"with the traffic shift and waits a deployment needs about {int(planned.to_minutes())} minutes, "
                    f"and `cdk deploy` can wait for at most {limit}; shorten the timeout, the shift or the waits, or "
                    "set deploy_on_update=False and start deployments from your pipeline.",
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


def _grant_pass_roles(task_definition: ecs.ITaskDefinition, role: iam.Role) -> None:
    """CodeDeploy creates green's task set with the task definition's task and execution roles: it passes them.

    AWSCodeDeployRoleForECSLimited passes only roles named ``ecsTaskExecutionRole`` or ``ECSTaskExecution*``
    (AWS Managed Policy Reference); the ECS Developer Guide ("Amazon ECS CodeDeploy IAM Role") asks for
    ``iam:PassRole`` of every task role and task execution role a deployment uses. To ECS tasks only.
    """
    passed = [r.role_arn for r in (task_definition.task_role, task_definition.execution_role) if r is not None]
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=passed,
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        )
    )


def _grant_hook(function: lambda_.IFunction, role: iam.Role, group: codedeploy.EcsDeploymentGroup) -> None:
    """CodeDeploy may invoke the hook; the hook may report its result to this deployment group only."""
    # The function's own ARN only: grant_invoke would add "<arn>:*" (every version) as well.
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["codedeploy:PutLifecycleEventHookExecutionStatus"],
            resources=[group.deployment_group_arn],
        )
    )
