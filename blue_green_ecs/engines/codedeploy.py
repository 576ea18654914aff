"""The CodeDeploy engine: application, deployment configuration and group, hooks, deployment trigger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..acknowledgements import ignore_cfn_lint
from ..deployment_trigger import DeploymentTrigger, appspec_properties
from ..load_balancing import select_subnets
from ..pipeline import record_pipeline_files
from ..shared_resources import codedeploy_application, codedeploy_role
from ..traffic_shift import TrafficShift
from ..validation import invalid, unresolved


@dataclass(frozen=True)
class CodeDeployParts:
    """What the CodeDeploy engine adds to a service."""

    application: codedeploy.IEcsApplication
    deployment_config: codedeploy.IEcsDeploymentConfig
    deployment_group: codedeploy.EcsDeploymentGroup
    appspec_properties: dict[str, Any]
    trigger: DeploymentTrigger | None


def validate(shift: TrafficShift) -> None:
    """CodeDeploy types the shift's percentage as an integer."""
    percent = shift.percent
    if percent is not None and not unresolved(percent) and (percent != int(percent) or not 1 <= percent <= 99):
        raise invalid(
            "traffic_shift.percent",
            percent,
            "CodeDeploy shifts whole percentages from 1 to 99; use a whole number, or "
            "engine=DeploymentEngine.ECS_NATIVE for finer steps.",
        )


def service_options() -> dict[str, Any]:
    """FargateService settings of this engine."""
    return {
        "deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.CODE_DEPLOY),
        # Fargate ignores these under CODE_DEPLOY (CodeDeploy sizes the replacement task set);
        # setting them states that and silences CDK's "not configured" warning.
        "min_healthy_percent": 100,
        "max_healthy_percent": 200,
    }


def attach(
    scope: Construct,
    *,
    service: ecs.FargateService,
    task_definition: ecs.TaskDefinition,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    assign_public_ip: bool,
    capacity_provider_strategies: Sequence[ecs.CapacityProviderStrategy] | None,
    platform_version: ecs.FargatePlatformVersion | None,
    container_name: str,
    container_port: float,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
    prod_listener: elbv2.ApplicationListener,
    test_listener: elbv2.ApplicationListener,
    shift: TrafficShift,
    termination_wait: Duration,
    approval_wait: Duration | None,
    alarms: Sequence[cloudwatch.IAlarm],
    hooks: Mapping[str, lambda_.IFunction],
    application: codedeploy.IEcsApplication | None,
    deployment_group_name: str | None,
    trigger_timeout: Duration | None,
) -> CodeDeployParts:
    """Register the service with CodeDeploy, and deploy on `cdk deploy` when ``trigger_timeout`` is set."""
    service.attach_to_application_target_group(blue)
    # CodeDeploy swaps the listeners' target groups outside CloudFormation. After a deployment the
    # production listener forwards to "green" and the test listener to "blue"; without these edges
    # CloudFormation could delete a target group that a listener still uses.
    prod_listener.node.add_dependency(green)
    test_listener.node.add_dependency(blue)
    # Green is where the service's tasks live after every other deployment: the service must be
    # deleted before the test listener detaches it, and created after the group is attached.
    service.node.add_dependency(test_listener)

    app = application or codedeploy_application(scope)
    config = shift.bind(scope, "DeploymentConfig")
    group = codedeploy.EcsDeploymentGroup(
        scope,
        "DeploymentGroup",
        application=app,
        role=codedeploy_role(scope),
        service=service,
        deployment_group_name=deployment_group_name,
        deployment_config=config,
        blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
            blue_target_group=blue,
            green_target_group=green,
            listener=prod_listener,
            test_listener=test_listener,
            termination_wait_time=termination_wait,
            deployment_approval_wait_time=approval_wait,
        ),
        alarms=list(alarms),
        auto_rollback=codedeploy.AutoRollbackConfig(
            failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
        ),
    )
    if isinstance(config, Construct):
        # W3005: EcsDeploymentGroup adds a DependsOn on a custom deployment config that its
        # DeploymentConfigName Ref already implies; redundant and harmless.
        group_resource = group.node.default_child
        assert isinstance(group_resource, CfnResource)
        ignore_cfn_lint(group_resource, "W3005")
    for function in hooks.values():
        _grant_hook(function, group)
    appspec = appspec_properties(
        container_name=container_name,
        container_port=container_port,
        platform_version=platform_version,
        subnet_ids=select_subnets(vpc, subnets).subnet_ids,
        security_group_ids=[sg.security_group_id for sg in service.connections.security_groups],
        assign_public_ip=assign_public_ip,
        capacity_provider_strategies=capacity_provider_strategies,
        hooks=hooks,
    )
    record_pipeline_files(scope, task_definition=task_definition, container_name=container_name, appspec=appspec)
    trigger = None
    if trigger_timeout is not None:
        trigger = DeploymentTrigger(
            scope,
            "DeploymentTrigger",
            application=app,
            deployment_group=group,
            deployment_config=config,
            service=service,
            task_definition=task_definition,
            appspec=appspec,
            timeout=trigger_timeout,
        )
    return CodeDeployParts(app, config, group, appspec, trigger)


def _grant_hook(function: lambda_.IFunction, group: codedeploy.EcsDeploymentGroup) -> None:
    """CodeDeploy may invoke the hook; the hook may report its result to this deployment group only."""
    # The function's own ARN only: grant_invoke would add "<arn>:*" (every version) as well.
    group.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["codedeploy:PutLifecycleEventHookExecutionStatus"],
            resources=[group.deployment_group_arn],
        )
    )
