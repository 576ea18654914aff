"""The ECS-native engine: ECS shifts traffic itself (blue/green, canary, linear), no CodeDeploy.

The service keeps the ``ECS`` deployment controller with a deployment strategy; the load balancer
target gets an alternate (green) target group and the production and test listener rules, whose
forward weights ECS moves during a deployment. CloudFormation waits for the deployment, so
``cdk deploy`` needs no trigger, and a rollback fails the stack update.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Annotations, CfnResource, Duration, IStableListProducer, Lazy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..acknowledgements import ignore_cfn_lint
from ..shared_resources import infrastructure_role
from ..traffic_shift import TrafficShift, TrafficShiftKind
from ..validation import invalid, unresolved

# ECS's limits for the deployment configuration (CloudFormation AWS::ECS::Service reference).
MAX_BAKE_MINUTES = 1440
MIN_LINEAR_PERCENT = 3.0
# A deployment longer than this cannot complete inside one CloudFormation stack update.
MAX_DEPLOYMENT_HOURS = 33

# CodeDeploy's lifecycle events, mapped to the nearest ECS lifecycle stage.
STAGES: Mapping[str, ecs.DeploymentLifecycleStage] = {
    "BeforeInstall": ecs.DeploymentLifecycleStage.PRE_SCALE_UP,
    "AfterInstall": ecs.DeploymentLifecycleStage.POST_SCALE_UP,
    "AfterAllowTestTraffic": ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT,
    "BeforeAllowTraffic": ecs.DeploymentLifecycleStage.PRODUCTION_TRAFFIC_SHIFT,
    "AfterAllowTraffic": ecs.DeploymentLifecycleStage.POST_PRODUCTION_TRAFFIC_SHIFT,
}


@dataclass(frozen=True)
class NativeParts:
    """What the ECS-native engine adds to a service."""

    prod_rule: elbv2.ApplicationListenerRule
    test_rule: elbv2.ApplicationListenerRule
    infrastructure_role: iam.Role
    hook_role: iam.Role | None


def validate(shift: TrafficShift, termination_wait: Duration) -> None:
    """ECS's own limits: canary 0.1-100%, linear 3-100%, bakes of 0-1440 minutes, 33 hours in all."""
    percent, interval = shift.percent, shift.interval
    linear = shift.kind is TrafficShiftKind.LINEAR
    if linear and percent is not None and not unresolved(percent) and percent < MIN_LINEAR_PERCENT:
        raise invalid(
            "traffic_shift.percent",
            percent,
            f"ECS linear deployments shift {MIN_LINEAR_PERCENT:g} to 100 percent per step, in steps of 0.1.",
        )
    for name, value in (("traffic_shift.interval", interval), ("termination_wait", termination_wait)):
        if value is not None and not unresolved(value) and value.to_minutes() > MAX_BAKE_MINUTES:
            raise invalid(name, value, f"ECS bake times are whole minutes from 0 to {MAX_BAKE_MINUTES}.")
    shift_time = shift.shift_duration
    if shift_time is not None and not unresolved(termination_wait):
        total = shift_time.to_minutes() + termination_wait.to_minutes()
        if total > MAX_DEPLOYMENT_HOURS * 60:
            raise invalid(
                "traffic_shift",
                shift.describe(),
                f"with termination_wait={termination_wait.to_minutes()} minutes a deployment takes {total} minutes, "
                f"beyond CloudFormation's {MAX_DEPLOYMENT_HOURS}-hour ceiling for one stack update; "
                "shorten the steps or the bake time.",
            )


def listener_rules(
    scope: Construct,
    *,
    prod_listener: elbv2.ApplicationListener,
    test_listener: elbv2.ApplicationListener,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
) -> tuple[elbv2.ApplicationListenerRule, elbv2.ApplicationListenerRule]:
    """One rule per listener, forwarding to blue (100) and green (0): the weights ECS shifts."""

    def rule(construct_id: str, listener: elbv2.ApplicationListener) -> elbv2.ApplicationListenerRule:
        return elbv2.ApplicationListenerRule(
            scope,
            construct_id,
            listener=listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
            action=elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(target_group=blue, weight=100),
                    elbv2.WeightedTargetGroup(target_group=green, weight=0),
                ]
            ),
        )

    return rule("ProdRule", prod_listener), rule("TestRule", test_listener)


def no_route() -> elbv2.ListenerAction:
    """The listeners' default action: every request matches the shifted rule, so this is a fallback."""
    return elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="Not found")


@jsii.implements(IStableListProducer)
class _Produced:
    """A list known only at synthesis (alarms added after construction with add_rollback_alarm)."""

    def __init__(self, produce: Callable[[], list[str]]) -> None:
        self._produce = produce

    def produce(self) -> list[str]:
        return self._produce()


def service_options(
    shift: TrafficShift, termination_wait: Duration, alarm_names: Callable[[], list[str]]
) -> dict[str, Any]:
    """FargateService settings of this engine: strategy, step configuration, bake time, alarms."""
    options: dict[str, Any] = {
        "deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.ECS),
        "bake_time": termination_wait,
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


def attach(
    scope: Construct,
    *,
    service: ecs.FargateService,
    container_name: str,
    container_port: float,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
    prod_rule: elbv2.ApplicationListenerRule,
    test_rule: elbv2.ApplicationListenerRule,
    hooks: Mapping[str, lambda_.IFunction],
) -> NativeParts:
    """Register blue with green as the alternate target, and the hooks at their ECS stages."""
    role = infrastructure_role(scope)
    target = service.load_balancer_target(
        container_name=container_name,
        container_port=container_port,
        alternate_target=ecs.AlternateTarget(
            "AlternateTarget",
            alternate_target_group=green,
            production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(prod_rule),
            test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(test_rule),
            role=role,
        ),
    )
    target.attach_to_application_target_group(blue)
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

    hook_role = None
    if hooks:
        hook_role = iam.Role(
            scope,
            "LifecycleHookRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description="blue-green-ecs: lets ECS invoke the deployment lifecycle hooks",
        )
        stages: dict[str, list[ecs.DeploymentLifecycleStage]] = defaultdict(list)
        functions: dict[str, lambda_.IFunction] = {}
        for event, function in hooks.items():
            key = function.node.path
            stages[key].append(STAGES[event])
            functions.setdefault(key, function)
        for index, (key, function) in enumerate(functions.items()):
            # Exactly the function, not "<arn>:*" as grant_invoke would allow.
            hook_role.add_to_principal_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
            )
            service.add_lifecycle_hook(
                ecs.DeploymentLifecycleLambdaTarget(
                    function, f"Hook{index}", lifecycle_stages=stages[key], role=hook_role
                )
            )
    return NativeParts(prod_rule, test_rule, role, hook_role)
