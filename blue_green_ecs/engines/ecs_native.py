"""The ECS-native engine: ECS shifts traffic itself (blue/green, canary, linear), no CodeDeploy.

The service keeps the ``ECS`` deployment controller with a deployment strategy; the load balancer
target gets an alternate (green) target group and the production and test listener rules, whose
forward weights ECS moves during a deployment. CloudFormation waits for the deployment, so
``cdk deploy`` needs no trigger, and a rollback fails the stack update.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Annotations, CfnResource, Duration, IStableListProducer, Lazy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration import defaults, limits
from ..configuration.acknowledgements import ignore_cfn_lint
from ..configuration.validation import invalid, show_duration, unresolved
from ..deployment.provider import Provider
from ..deployment.traffic_shift import TrafficShift, TrafficShiftKind
from ..load_balancing.shared_resources import infrastructure_role
from ..load_balancing.test_traffic import add_test_traffic_rule
from . import DeploymentEngine
from .live_lookup import LiveLookup

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_events as events
    from aws_cdk import aws_sns as sns

    from ..load_balancing.parts import LoadBalancerParts
    from ..props import ServiceProps
    from .base import ServiceParts

# CodeDeploy's lifecycle events at the ECS lifecycle stage with the same meaning (AWS::ECS::Service
# DeploymentLifecycleHook, LifecycleStages): BeforeAllowTraffic runs after test traffic and before
# production traffic moves, which is PRE_PRODUCTION_TRAFFIC_SHIFT, not PRODUCTION_TRAFFIC_SHIFT (that
# one runs while traffic moves). Under canary and linear, ECS runs both production stages at every
# step, so a BeforeAllowTraffic hook runs before each step there.
STAGES: Mapping[str, str] = {
    "BeforeInstall": "PRE_SCALE_UP",
    "AfterInstall": "POST_SCALE_UP",
    "AfterAllowTestTraffic": "POST_TEST_TRAFFIC_SHIFT",
    "BeforeAllowTraffic": "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "AfterAllowTraffic": "POST_PRODUCTION_TRAFFIC_SHIFT",
}

# deployment_approval_wait_time's PAUSE hook: CodeDeploy waits for approval once, after the test traffic and
# before production traffic moves. POST_TEST_TRAFFIC_SHIFT runs once ("The test traffic shift is complete"), the
# stage of AWS's own pause hook example; PRE_PRODUCTION_TRAFFIC_SHIFT would pause before every canary or linear
# step (AWS::ECS::Service DeploymentLifecycleHook, LifecycleStages; Pause hooks for Amazon ECS service
# deployments, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html).
APPROVAL_STAGE = "POST_TEST_TRAFFIC_SHIFT"


class EcsNativeEngine:
    """ECS deploys: the ``ECS`` controller with a blue/green, canary or linear strategy, green as the
    alternate target group, and one listener rule per listener whose weights ECS shifts.

    Attributes: ``prod_listener_rule`` and ``test_listener_rule`` (set by ``route``),
    ``infrastructure_role`` (the stack's role ECS shifts the rules with) and ``hook_role`` (the role
    ECS invokes the lifecycle hooks with, ``None`` without hooks), set by ``attach``.
    """

    kind = DeploymentEngine.ECS_NATIVE
    # The service's LifecycleHooks name the hook functions, and its live-state lookup fingerprints them: a
    # hook naming the service, or the alarms (which wait for the listeners, which wait for the lookup),
    # closes a cycle. Its event names the service (executionDetails.serviceArn) instead.
    service_names_its_hooks = True

    prod_listener_rule: elbv2.ApplicationListenerRule
    test_listener_rule: elbv2.ApplicationListenerRule
    infrastructure_role: iam.Role
    hook_role: iam.Role | None
    live_state: LiveLookup
    test_traffic_rule: elbv2.ApplicationListenerRule | None

    def validate(self, props: ServiceProps) -> None:
        """No CodeDeploy-only props; ECS's own limits on steps and bake times."""
        # (name, value as shown, given?) of every prop that only the CodeDeploy engine reads.
        codedeploy_only: list[tuple[str, object, bool]] = [
            ("deploy_on_update", props.deploy_on_update, props.deploy_on_update is False),
            ("deployment_timeout", props.deployment_timeout, props.deployment_timeout is not None),
            ("application", "<application>", props.application is not None),
            ("deployment_group_name", props.deployment_group_name, props.deployment_group_name is not None),
        ]
        for name, value, given in codedeploy_only:
            if given:
                raise invalid(
                    name,
                    value,
                    "applies to engine=DeploymentEngine.CODE_DEPLOY only; ECS-native deployments run on every "
                    "update and CloudFormation waits for them.",
                )
        check_limits(props.shift, props.wait, props.deployment_approval_wait_time)

    def listener_defaults(self, target_group: elbv2.IApplicationTargetGroup) -> dict[str, Any]:
        """Every request matches the shifted rule, so the default action is a fallback."""
        return {
            "default_action": elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body="Not found"
            )
        }

    def route(self, scope: Construct, load_balancing: LoadBalancerParts) -> None:
        """One rule per listener, forwarding to blue (100) and green (0): the weights ECS shifts.

        They also attach the target groups to the load balancer, which the alarms' metrics need.
        """
        lb = load_balancing
        # On a shared load balancer the service's rules match its routing, at its priority.
        conditions = lb.routing.conditions() if lb.routing else [elbv2.ListenerCondition.path_patterns(["/*"])]

        def rule(construct_id: str, listener: elbv2.IApplicationListener, own: int) -> elbv2.ApplicationListenerRule:
            return elbv2.ApplicationListenerRule(
                scope,
                construct_id,
                listener=listener,
                priority=lb.routing.priority if lb.routing else own,
                conditions=conditions,
                action=elbv2.ListenerAction.weighted_forward(
                    [
                        elbv2.WeightedTargetGroup(target_group=lb.blue_target_group, weight=100),
                        elbv2.WeightedTargetGroup(target_group=lb.green_target_group, weight=0),
                    ]
                ),
            )

        self.prod_listener_rule = rule("ProdRule", lb.prod_listener, defaults.OWN_PROD_RULE_PRIORITY)
        self.test_listener_rule = rule("TestRule", lb.test_listener, defaults.OWN_TEST_RULE_PRIORITY)

    def service_options(self, props: ServiceProps, alarm_names: Callable[[], list[str]]) -> dict[str, Any]:
        """Strategy, step configuration, bake time and the rollback alarms (read at synthesis)."""
        shift = props.shift
        options: dict[str, Any] = {
            "deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.ECS),
            "bake_time": props.wait,
            # Green runs at full size next to blue, as under CodeDeploy.
            "min_healthy_percent": 100,
            "max_healthy_percent": 200,
            "deployment_alarms": ecs.DeploymentAlarmConfig(
                alarm_names=Lazy.list(_Produced(alarm_names)),
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            ),
        }
        if shift.kind is TrafficShiftKind.ALL_AT_ONCE:
            options["deployment_strategy"] = ecs.DeploymentStrategy.BLUE_GREEN
        else:
            step = ecs.TrafficShiftConfig(step_percent=shift.percent, step_bake_time=shift.interval)
            if shift.kind is TrafficShiftKind.CANARY:
                options.update(deployment_strategy=ecs.DeploymentStrategy.CANARY, canary_configuration=step)
            else:
                options.update(deployment_strategy=ecs.DeploymentStrategy.LINEAR, linear_configuration=step)
        return options

    def attach(self, parts: ServiceParts) -> None:
        """Register blue with green as the alternate target, and the hooks at their ECS stages."""
        scope, service, lb = parts.scope, parts.service, parts.load_balancing
        self.infrastructure_role = infrastructure_role(scope)
        target = service.load_balancer_target(
            container_name=parts.props.container_name,
            container_port=parts.props.container_port,
            alternate_target=ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=lb.green_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.prod_listener_rule),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.test_listener_rule),
                role=self.infrastructure_role,
            ),
        )
        target.attach_to_application_target_group(lb.blue_target_group)
        # W3005: aws-cdk-lib makes the service DependsOn what attaches the target group (here the
        # rules), which the AdvancedConfiguration's Refs to the same rules already imply.
        resource = service.node.default_child
        assert isinstance(resource, CfnResource)
        ignore_cfn_lint(resource, "W3005")
        # Alarms, hooks and bake time decide here; the circuit breaker is documented for rolling updates.
        Annotations.of(service).acknowledge_warning(
            "@aws-cdk/aws-ecs:shouldUseCircuitBreaker",
            "Blue/green, canary and linear deployments roll back on the rollback alarms and lifecycle hooks.",
        )
        self.hook_role = _lifecycle_hooks(scope, service, parts.hooks) if parts.hooks else None
        props = parts.props
        if props.deployment_approval_wait_time is not None:
            _approval_hook(service, props.deployment_approval_wait_time, after=len(set(_keys(parts.hooks))))
        provider = Provider.of(scope, log_retention=props.log_retention, log_encryption_key=props.log_encryption_key)
        rules = (self.prod_listener_rule, self.test_listener_rule)
        self.live_state = LiveLookup(
            scope, "LiveState", parts=parts, provider=provider, engine=self.kind.value, rules=rules
        )
        for rule in rules:
            self.live_state.follow_rule(rule)
        # The listeners take nothing from the lookup here (their default is a fixed 404), yet a change to
        # one (a port, a certificate) must wait for it: the lookup finds the rules through the listener on
        # its old port, before the listener moves (the simulator's ECS-native certificate sequences).
        # A shared load balancer's listeners are found by ARN, which a port change keeps; they serve other
        # services too and cannot wait for this one's lookup (which names them: a cycle).
        if not parts.load_balancing.shared:
            for listener in (parts.load_balancing.prod_listener, parts.load_balancing.test_listener):
                listener.node.add_dependency(self.live_state.resource)
        self.live_state.follow_desired_count(service)
        self.live_state.pin_native_service(service)
        self.test_traffic_rule = None
        if props.test_traffic_header is not None:
            self.test_traffic_rule = add_test_traffic_rule(
                scope,
                props.test_traffic_header,
                lb,
                self.live_state,
                parts.task_definition,
                router=parts.test_traffic_router,
                # The service update starts the deployment, into the target group the rule forwards to.
                before=[resource],
            )
            # Its priority may be the one the production rule leaves (1, before OWN_PROD_RULE_PRIORITY).
            self.test_traffic_rule.node.add_dependency(self.prod_listener_rule)

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Nothing to tell: the service reads the alarm names at synthesis."""

    def notifications(self, scope: Construct, topic: sns.ITopic, service: ecs.FargateService) -> events.Rule:
        """The service's ECS deployment state changes, and its pause hook waiting for approval."""
        from ..monitoring.operations import ecs_notifications  # optional feature, imported on use

        return ecs_notifications(scope, "Notifications", topic=topic, service=service)


def check_limits(shift: TrafficShift, termination_wait: Duration, approval_wait: Duration | None = None) -> None:
    """ECS's own limits (``limits``): linear 3-100%, bakes of 0-1440 minutes, 33 hours in all (the approval wait
    included: CloudFormation waits for the deployment while it pauses)."""
    percent, interval = shift.percent, shift.interval
    if shift.kind is TrafficShiftKind.LINEAR and percent is not None and not unresolved(percent):
        limits.check_ecs_linear_percent("traffic_shift.percent", percent)
    for name, value in (("traffic_shift.interval", interval), ("termination_wait", termination_wait)):
        if value is not None and not unresolved(value):
            limits.check_ecs_bake(name, value.to_minutes(), show_duration(value))
    shift_time = shift.shift_duration
    approval = approval_wait or Duration.minutes(0)
    if shift_time is not None and not unresolved(termination_wait) and not unresolved(approval):
        waits, shorten = f"termination_wait={show_duration(termination_wait)}", "the steps or the bake time"
        if approval_wait is not None:
            waits += f" and deployment_approval_wait_time={show_duration(approval_wait)}"
            shorten = "the steps, the bake time or the approval wait"
        limits.check_ecs_total(
            "traffic_shift",
            shift.describe(),
            waits,
            shift_time.to_minutes() + termination_wait.to_minutes() + approval.to_minutes(),
            shorten=shorten,
        )


@jsii.implements(IStableListProducer)
class _Produced:
    """A list known only at synthesis (alarms added after construction with add_rollback_alarm)."""

    def __init__(self, produce: Callable[[], list[str]]) -> None:
        self._produce = produce

    def produce(self) -> list[str]:
        return self._produce()


def _lifecycle_hooks(scope: Construct, service: ecs.FargateService, hooks: Mapping[str, lambda_.IFunction]) -> iam.Role:
    """Each hook function at its ECS stages, invoked by a role that may invoke exactly those functions."""
    hook_role = iam.Role(
        scope,
        "LifecycleHookRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description="blue-green-ecs: lets ECS invoke the deployment lifecycle hooks",
    )
    stages: dict[str, list[str]] = defaultdict(list)
    functions: dict[str, lambda_.IFunction] = {}
    for (event, function), key in zip(hooks.items(), _keys(hooks), strict=True):
        stages[key].append(STAGES[event])
        functions.setdefault(key, function)
    resource = service.node.default_child
    assert isinstance(resource, CfnResource)
    for index, (key, function) in enumerate(functions.items()):
        # Exactly the function, not "<arn>:*" as grant_invoke would allow.
        hook_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
        )
        known = [getattr(ecs.DeploymentLifecycleStage, stage, None) for stage in stages[key]]
        service.add_lifecycle_hook(
            ecs.DeploymentLifecycleLambdaTarget(
                function,
                f"Hook{index}",
                lifecycle_stages=[stage for stage in known if stage is not None] or [_PLACEHOLDER_STAGE],
                role=hook_role,
            )
        )
        if None in known:
            # A stage CloudFormation knows and this aws-cdk-lib's enum does not: written as is.
            resource.add_property_override(
                f"DeploymentConfiguration.LifecycleHooks.{index}.LifecycleStages", stages[key]
            )
    # The first deployment may run a hook as soon as the service exists: the role's policy, not only
    # the role, must exist by then. The service resource only: its security group is an input of the
    # live-state lookup, which the rules wait for, and a hook may name a rule (the test traffic router).
    resource.node.add_dependency(hook_role)
    return hook_role


# Any stage the enum has; replaced by the override above.
_PLACEHOLDER_STAGE = ecs.DeploymentLifecycleStage.PRE_SCALE_UP


def _keys(hooks: Mapping[str, lambda_.IFunction]) -> list[str]:
    """One key per hook function (a function at several events is one ECS hook with several stages)."""
    return [function.node.path for function in hooks.values()]


def _approval_hook(service: ecs.FargateService, wait: Duration, *, after: int) -> None:
    """A PAUSE hook at ``APPROVAL_STAGE`` that rolls back when nobody continues it within ``wait``.

    ROLLBACK is what CodeDeploy's STOP_DEPLOYMENT does on a timeout. A PAUSE hook has no target and no role
    (HookTargetArn "is not applicable for PAUSE hooks"; RoleArn is for invoking Lambda functions), and aws-cdk-lib
    models Lambda targets only: the hook is written after the ``after`` Lambda hooks, as CloudFormation has it.
    """
    resource = service.node.default_child
    assert isinstance(resource, CfnResource)
    hook = {
        "TargetType": "PAUSE",
        "LifecycleStages": [APPROVAL_STAGE],
        "TimeoutConfiguration": {"TimeoutInMinutes": int(wait.to_minutes()), "Action": "ROLLBACK"},
    }
    # An override extends a list by its next index, but makes an object where there is no list yet.
    if after:
        resource.add_property_override(f"DeploymentConfiguration.LifecycleHooks.{after}", hook)
    else:
        resource.add_property_override("DeploymentConfiguration.LifecycleHooks", [hook])
