"""The deployment trigger: `cdk deploy` of a new task definition runs the CodeDeploy deployment.

With the CODE_DEPLOY controller, CloudFormation registers a new task definition revision but
starts nothing (aws/aws-cdk #7040, #23564). A custom resource per service carries the AppSpec
(task definition ARN, container, network configuration, hooks); when it changes, the handler in
``handlers/deployment.py`` starts a deployment, waits for it and fails the stack update with
CodeDeploy's reason when it fails or rolls back. One provider per stack serves every service
(``provider.py``: one function, ``handlers/custom_resource.py``, and a waiter state machine).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, CustomResource, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from .provider import CUSTOM_RESOURCE_TIMEOUT, WAITER_ARN_PROPERTY, Provider

# The handler's own limit stays 5 minutes below CloudFormation's hour for a custom resource, so that
# it can stop the deployment and report why before CloudFormation gives up with a generic timeout.
MAX_DEPLOYMENT_TIMEOUT_MINUTES = 55
# Beyond the traffic shift and the waits: pulling the image and starting tasks, health checks, test
# traffic hooks and draining blue, with room for a slow image pull.
DEPLOYMENT_TIMEOUT_MARGIN_MINUTES = 15
RESOURCE_TYPE = "Custom::BlueGreenEcsDeployment"


def default_deployment_timeout(
    *,
    shift: Duration | None,
    termination_wait: Duration,
    approval_wait: Duration | None,
    migration: Duration | None = None,
) -> Duration | None:
    """Shift + termination wait + approval wait + the migration task's timeout + margin, in whole minutes; ``None``
    with tokens."""
    parts = [shift, termination_wait, approval_wait or Duration.minutes(0), migration or Duration.minutes(0)]
    if any(part is None or part.is_unresolved() for part in parts):
        return None
    seconds = sum(part.to_seconds() for part in parts if part is not None)
    return Duration.minutes(math.ceil(seconds / 60) + DEPLOYMENT_TIMEOUT_MARGIN_MINUTES)


def appspec_properties(
    *,
    container_name: str,
    container_port: float,
    platform_version: ecs.FargatePlatformVersion | None,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    assign_public_ip: bool,
    capacity_provider_strategies: Sequence[ecs.CapacityProviderStrategy] | None,
    hooks: Mapping[str, lambda_.IFunction],
) -> dict[str, Any]:
    """The AppSpec part of the custom resource's properties (``handlers/appspec.py`` reads them).

    Everything but the task definition ARN; the pipeline files use the same properties with
    CodePipeline's placeholder in its place.
    """
    properties: dict[str, Any] = {
        "ContainerName": container_name,
        "ContainerPort": container_port,
        "PlatformVersion": (platform_version or ecs.FargatePlatformVersion.LATEST).value,
        "Subnets": list(subnet_ids),
        "SecurityGroups": list(security_group_ids),
        "AssignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
    }
    if capacity_provider_strategies:
        properties["CapacityProviderStrategy"] = [
            {key: value for key, value in item.items() if value is not None}
            for item in (
                {"CapacityProvider": s.capacity_provider, "Base": s.base, "Weight": s.weight}
                for s in capacity_provider_strategies
            )
        ]
    if hooks:
        properties["Hooks"] = {event: function.function_arn for event, function in hooks.items()}
    return properties


class DeploymentTrigger(Construct):
    """One service's custom resource: deploys when the AppSpec changes, waits, reports the outcome."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: codedeploy.IEcsApplication,
        deployment_group: codedeploy.EcsDeploymentGroup,
        deployment_config: codedeploy.IEcsDeploymentConfig,
        service: ecs.FargateService,
        task_definition: ecs.TaskDefinition,
        appspec: Mapping[str, Any],
        timeout: Duration,
        provider: Provider,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        hook_log_groups: Sequence[logs.ILogGroup] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        waiter = provider.waiter()
        self.provider = provider
        self.timeout = timeout
        # Scoped to this service's application, group, configuration and service: one shared role,
        # one statement set per service, no Resource "*" for CodeDeploy.
        waiter.allow(
            iam.PolicyStatement(
                actions=[
                    "codedeploy:CreateDeployment",
                    "codedeploy:GetDeployment",
                    "codedeploy:ListDeployments",
                    "codedeploy:BatchGetDeployments",
                    "codedeploy:StopDeployment",
                ],
                resources=[deployment_group.deployment_group_arn],
            )
        )
        waiter.allow(
            iam.PolicyStatement(
                actions=["codedeploy:GetDeploymentConfig"],
                resources=[deployment_config.deployment_config_arn],
            )
        )
        waiter.allow(
            iam.PolicyStatement(
                actions=["codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"],
                resources=[application.application_arn],
            )
        )
        waiter.allow(iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[service.service_arn]))
        # Why a deployment rolled back (handlers/rollback_reason.py): the rollback alarms' state and
        # datapoints, on their ARNs; GetMetricData has no resource-level permissions (Service
        # Authorization Reference, Amazon CloudWatch), so "*". Both beside the waiter's start grant:
        # naming the alarms in the function's default policy would close a cycle with the live lookup.
        self._read_alarms = iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[])
        self._reads_composite = False
        self._waiter = waiter
        for alarm in alarms:
            self.allow_alarm(alarm)
        waiter.allow(self._read_alarms)
        waiter.allow(iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]))
        reason = (
            "cloudwatch:GetMetricData supports no resource-level permissions; the deployment trigger reads the "
            "target groups' 5xx counts to say why a deployment rolled back (and, with a composite rollback alarm, "
            "cloudwatch:DescribeAlarms on '*', the only scope under which CloudWatch returns composite alarms)."
        )
        acknowledge_nag(waiter.start_policy, "IAM5[Resource::*]", reason)
        skip_checkov(waiter.start_policy, ("CKV_AWS_356", reason))

        properties: dict[str, Any] = {
            "ApplicationName": application.application_name,
            "DeploymentGroupName": deployment_group.deployment_group_name,
            "ClusterName": service.cluster.cluster_name,
            "ServiceName": service.service_name,
            "TaskDefinitionArn": task_definition.task_definition_arn,
            **appspec,
            "TimeoutMinutes": timeout.to_minutes(),
        }
        if hook_log_groups:
            # Why a hook failed the deployment (handlers/hook_reason.py): CodeDeploy's error cannot say, the
            # library's hooks log it. FilterLogEvents authorizes on the log-group type, whose reference ARN format
            # has no ":*" (the Arn attribute has it, and grants written with it are common): both.
            properties["HookLogGroups"] = [group.log_group_name for group in hook_log_groups]
            waiter.allow(
                iam.PolicyStatement(
                    actions=["logs:FilterLogEvents"],
                    resources=[
                        arn
                        for group in hook_log_groups
                        for arn in (
                            Stack.of(self).format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name=group.log_group_name,
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            ),
                            group.log_group_arn,
                        )
                    ],
                )
            )

        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={**properties, WAITER_ARN_PROPERTY: waiter.state_machine.state_machine_arn},
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        # The handler's permission to start the waiter must exist before it is needed.
        self.resource.node.add_dependency(waiter.start_policy)

    def allow_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Let the trigger read ``alarm``'s state when it explains a rollback."""
        if isinstance(alarm, cloudwatch.CompositeAlarm):
            # CloudWatch returns composite alarms only to a DescribeAlarms permission scoped to "*" (API
            # reference, DescribeAlarms); an ARN would leave the alarm that fired out of the reason.
            if not self._reads_composite:
                self._reads_composite = True
                self._waiter.allow(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]))
            return
        self._read_alarms.add_resources(alarm.alarm_arn)

    @property
    def deployment_id(self) -> str:
        """The id of the deployment the last update ran (empty when none was needed)."""
        return self.resource.get_att_string("DeploymentId")
