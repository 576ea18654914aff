"""The deployment trigger: `cdk deploy` of a new task definition runs the CodeDeploy deployment.

With the CODE_DEPLOY controller, CloudFormation registers a new task definition revision but
starts nothing (aws/aws-cdk #7040, #23564). A custom resource per service carries the AppSpec
(task definition ARN, container, network configuration, hooks); when it changes, the handler in
``handlers/deployment.py`` starts a deployment, waits for it and fails the stack update with
CodeDeploy's reason when it fails or rolls back. One provider per stack serves every service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from . import defaults
from .acknowledgements import (
    LOGS_DEFAULT_ENCRYPTION,
    acknowledge_lambda_functions,
    acknowledge_nag,
    acknowledge_role_dependencies,
    skip_checkov,
)
from .hooks import HANDLER_RUNTIME, handlers_code

# CloudFormation gives a custom resource at most one hour (ServiceTimeout 3600 s). The handler's own
# limit stays 5 minutes below it, so that it can stop the deployment and report why before
# CloudFormation gives up with a generic timeout.
CUSTOM_RESOURCE_TIMEOUT = Duration.hours(1)
MAX_DEPLOYMENT_TIMEOUT_MINUTES = 55
# Beyond the traffic shift and the waits: pulling the image and starting tasks, health checks, test
# traffic hooks and draining blue, with room for a slow image pull.
DEPLOYMENT_TIMEOUT_MARGIN_MINUTES = 15
RESOURCE_TYPE = "Custom::BlueGreenEcsDeployment"


def default_deployment_timeout(
    *, shift: Duration | None, termination_wait: Duration, approval_wait: Duration | None
) -> Duration | None:
    """Shift + termination wait + approval wait + margin, in whole minutes; ``None`` with tokens."""
    parts = [shift, termination_wait, approval_wait or Duration.minutes(0)]
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


class DeploymentTriggerProvider(Construct):
    """The stack's single provider: two handler functions and aws-cdk-lib's Provider framework.

    Use :meth:`of`; every service in the stack shares the one it returns, so a second service adds
    a custom resource and IAM statements, but no function and no state machine.
    """

    CONSTRUCT_ID = "BlueGreenEcsDeploymentTrigger"

    @classmethod
    def of(cls, scope: Construct) -> DeploymentTriggerProvider:
        """The provider of ``scope``'s stack, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is None:
            return cls(stack, cls.CONSTRUCT_ID)
        if not isinstance(existing, cls):
            raise TypeError(f"{existing.node.path} is not a {cls.__name__}; the construct id is reserved.")
        return existing

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        code = handlers_code()
        log_group = logs.LogGroup(self, "Logs", retention=defaults.LOG_RETENTION)
        # One role for both handlers (they need the same permissions), one for the framework's
        # isComplete and onTimeout functions; the framework's onEvent keeps its own, since it starts
        # the state machine that invokes the other two (sharing would be a dependency cycle). Four
        # roles instead of six, each writing only to this log group.
        self.handler_role = self._lambda_role("HandlerRole", "starts and watches CodeDeploy deployments", log_group)
        framework_on_event_role = self._lambda_role("FrameworkOnEventRole", "provider framework onEvent", log_group)
        framework_waiter_role = self._lambda_role(
            "FrameworkWaiterRole", "provider framework isComplete and onTimeout", log_group
        )
        common: dict[str, Any] = {
            "runtime": HANDLER_RUNTIME,
            "code": code,
            "memory_size": 256,
            "log_group": log_group,
            "role": self.handler_role,
        }
        self.on_event_function = lambda_.Function(
            self,
            "OnEvent",
            handler="deployment.on_event",
            # Retries throttled calls with backoff before leaving the decision to isComplete.
            timeout=Duration.minutes(2),
            description="blue-green-ecs: starts the CodeDeploy deployment of an ECS service",
            **common,
        )
        self.is_complete_function = lambda_.Function(
            self,
            "IsComplete",
            handler="deployment.is_complete",
            timeout=Duration.minutes(1),
            description="blue-green-ecs: reports the outcome of the CodeDeploy deployment",
            **common,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=defaults.TRIGGER_QUERY_INTERVAL,
            # Above the handler's own limit (so its message wins), below CloudFormation's hour.
            total_timeout=Duration.minutes(MAX_DEPLOYMENT_TIMEOUT_MINUTES + 3),
            log_group=log_group,
            framework_on_event_role=framework_on_event_role,
            framework_complete_and_timeout_role=framework_waiter_role,
            # aws-cdk-lib turns the waiter's logging off unless told otherwise; every state change is
            # worth having when a deployment hangs (AwsSolutions-SF1).
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        acknowledge_role_dependencies(self)
        self._acknowledge_framework(log_group, (framework_on_event_role, framework_waiter_role))

    def _acknowledge_framework(self, log_group: logs.LogGroup, framework_roles: tuple[iam.Role, ...]) -> None:
        """Findings in what aws-cdk-lib's Provider framework writes, which this library cannot change."""
        stack = Stack.of(self)

        def versions_of(function: IConstruct) -> str:
            return f"IAM5[Resource::<{stack.resolve(stack.get_logical_id(function.node.default_child))}.Arn>:*]"  # type: ignore[arg-type]

        versions = "aws-cdk-lib's Provider grants lambda:InvokeFunction on the function and its versions (<arn>:*)."
        for role in framework_roles:
            for handler in (self.on_event_function, self.is_complete_function):
                acknowledge_nag(role, versions_of(handler), versions)
        waiter = self.provider.node.find_child("waiter-state-machine")
        for framework_function in ("framework-isComplete", "framework-onTimeout"):
            acknowledge_nag(waiter, versions_of(self.provider.node.find_child(framework_function)), versions)
        log_delivery = "Step Functions log delivery (logs:CreateLogDelivery and others) supports only Resource '*'."
        acknowledge_nag(waiter, "IAM5[Resource::*]", log_delivery)
        skip_checkov(waiter.node.find_child("Role").node.find_child("DefaultPolicy"), ("CKV_AWS_111", log_delivery))
        acknowledge_nag(waiter, "SF2", "aws-cdk-lib's Provider has no X-Ray option for its waiter; it logs ALL events.")
        acknowledge_lambda_functions(self)
        skip_checkov(log_group, LOGS_DEFAULT_ENCRYPTION)

    def _lambda_role(self, construct_id: str, purpose: str, log_group: logs.ILogGroup) -> iam.Role:
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"blue-green-ecs deployment trigger: {purpose}",
        )
        log_group.grant_write(role)
        return role

    @property
    def service_token(self) -> str:
        """The ServiceToken of the custom resources."""
        return self.provider.service_token

    def allow(self, statement: iam.PolicyStatement) -> None:
        """Grant the handler functions ``statement``."""
        self.handler_role.add_to_principal_policy(statement)


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
    ) -> None:
        super().__init__(scope, construct_id)
        provider = DeploymentTriggerProvider.of(self)
        self.provider = provider
        self.timeout = timeout
        # Scoped to this service's application, group, configuration and service: one shared role,
        # one statement set per service, no Resource "*" for CodeDeploy.
        provider.allow(
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
        provider.allow(
            iam.PolicyStatement(
                actions=["codedeploy:GetDeploymentConfig"],
                resources=[deployment_config.deployment_config_arn],
            )
        )
        provider.allow(
            iam.PolicyStatement(
                actions=["codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"],
                resources=[application.application_arn],
            )
        )
        provider.allow(iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[service.service_arn]))

        properties: dict[str, Any] = {
            "ApplicationName": application.application_name,
            "DeploymentGroupName": deployment_group.deployment_group_name,
            "ClusterName": service.cluster.cluster_name,
            "ServiceName": service.service_name,
            "TaskDefinitionArn": task_definition.task_definition_arn,
            **appspec,
            "TimeoutMinutes": timeout.to_minutes(),
        }

        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        # The group's role policy (hook invoke grants included) must exist before a deployment runs.
        self.resource.node.add_dependency(deployment_group.role)

    @property
    def deployment_id(self) -> str:
        """The id of the deployment the last update ran (empty when none was needed)."""
        return self.resource.get_att_string("DeploymentId")
