"""The deployment trigger: `cdk deploy` of a new task definition runs the CodeDeploy deployment.

With the CODE_DEPLOY controller, CloudFormation registers a new task definition revision but
starts nothing (aws/aws-cdk #7040, #23564). A custom resource per service carries the AppSpec
(task definition ARN, container, network configuration, hooks); when it changes, the handler in
``handlers/deployment.py`` starts a deployment, waits for it and fails the stack update with
CodeDeploy's reason when it fails or rolls back. One provider per stack serves every service:
one function (``handlers/custom_resource.py``) and a waiter state machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from . import defaults
from .acknowledgements import (
    LOGS_DEFAULT_ENCRYPTION,
    acknowledge_lambda_functions,
    acknowledge_nag,
    acknowledge_role_dependencies,
    skip_checkov,
)
from .lambda_code import HANDLER_RUNTIME, handlers_code
from .shared_resources import stack_singleton

# CloudFormation gives a custom resource at most one hour (ServiceTimeout 3600 s). The handler's own
# limit stays 5 minutes below it, so that it can stop the deployment and report why before
# CloudFormation gives up with a generic timeout.
CUSTOM_RESOURCE_TIMEOUT = Duration.hours(1)
MAX_DEPLOYMENT_TIMEOUT_MINUTES = 55
# Beyond the traffic shift and the waits: pulling the image and starting tasks, health checks, test
# traffic hooks and draining blue, with room for a slow image pull.
DEPLOYMENT_TIMEOUT_MARGIN_MINUTES = 15
RESOURCE_TYPE = "Custom::BlueGreenEcsDeployment"
# Read by handlers/custom_resource.py, which imports boto3 and so stays out of synthesis.
WAITER_ARN_PROPERTY = "WaiterStateMachineArn"


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
    """The stack's single provider: one handler function and a small waiter state machine.

    CloudFormation invokes the function directly (``handlers/custom_resource.py``); when a deployment
    has to be waited for, the function starts the waiter, which invokes it again every
    ``TRIGGER_QUERY_INTERVAL_SECONDS`` until the deployment has an outcome. aws-cdk-lib's Provider
    framework does the same with five functions, four roles and a state machine.

    Use :meth:`of`; every service in the stack shares the one it returns, so a second service adds
    a custom resource and IAM statements, but no function and no state machine.
    """

    CONSTRUCT_ID = "BlueGreenEcsDeploymentTrigger"

    @classmethod
    def of(cls, scope: Construct) -> DeploymentTriggerProvider:
        """The provider of ``scope``'s stack, created on first use."""
        return stack_singleton(scope, cls.CONSTRUCT_ID, cls, cls)

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=defaults.LOG_RETENTION)
        self.handler_role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="blue-green-ecs deployment trigger: starts and watches CodeDeploy deployments",
        )
        log_group.grant_write(self.handler_role)
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=HANDLER_RUNTIME,
            # `blue-green-ecs export --standalone` makes this inline code after synthesis.
            code=handlers_code(),
            handler="custom_resource.handler",
            # Each AWS call retries for about half a minute at most (botocore's standard mode, handlers/aws.py),
            # then one poll, the waiter's start and the response to CloudFormation.
            timeout=Duration.minutes(5),
            memory_size=256,
            log_group=log_group,
            role=self.handler_role,
            description="blue-green-ecs: runs the CodeDeploy deployment of an ECS service for CloudFormation",
        )
        waiter_role = iam.Role(
            self,
            "WaiterRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="blue-green-ecs deployment trigger: polls the handler until the deployment ends",
        )
        # The function's own ARN only: grant_invoke would add "<arn>:*" (every version) as well.
        waiter_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.waiter = sfn.StateMachine(
            self,
            "Waiter",
            definition_body=sfn.DefinitionBody.from_string(json.dumps(waiter_definition(), separators=(",", ":"))),
            definition_substitutions={"HandlerArn": self.function.function_arn},
            role=waiter_role,
            # A backstop only: the handler answers CloudFormation after TOTAL_TIMEOUT (58 minutes),
            # and CloudFormation gives up at 60.
            timeout=Duration.minutes(MAX_DEPLOYMENT_TIMEOUT_MINUTES + 10),
            tracing_enabled=True,
            # Execution data holds CloudFormation's presigned ResponseURL: state changes only.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment="blue-green-ecs: polls a CodeDeploy deployment for CloudFormation until it ends",
        )
        # Not in the role's default policy: the function depends on that one, and the state machine on
        # the function, so the grant would close a dependency cycle. The custom resources depend on it.
        self.start_policy = iam.Policy(
            self,
            "StartWaiter",
            roles=[self.handler_role],
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.waiter.state_machine_arn])
            ],
        )
        acknowledge_role_dependencies(self)
        self._acknowledge(log_group)

    def _acknowledge(self, log_group: logs.LogGroup) -> None:
        """Findings about what AWS requires as it is."""
        wildcard = (
            "Step Functions log delivery (logs:CreateLogDelivery and others) and X-Ray tracing "
            "(xray:PutTraceSegments and others) support only Resource '*'."
        )
        acknowledge_nag(self.waiter.role, "IAM5[Resource::*]", wildcard)
        skip_checkov(self.waiter.role.node.find_child("DefaultPolicy"), ("CKV_AWS_111", wildcard))
        acknowledge_lambda_functions(self)
        skip_checkov(log_group, LOGS_DEFAULT_ENCRYPTION)

    @property
    def service_token(self) -> str:
        """The ServiceToken of the custom resources: the handler function."""
        return self.function.function_arn

    def allow(self, statement: iam.PolicyStatement) -> None:
        """Grant the handler function ``statement``."""
        self.handler_role.add_to_principal_policy(statement)


def waiter_definition() -> dict[str, Any]:
    """The waiter's Amazon States Language, with ``${HandlerArn}`` to substitute.

    Wait, poll, and again until the handler says it has answered CloudFormation. A poll that keeps
    failing ends in the handler's ``fail`` action, so CloudFormation hears why instead of waiting
    out its hour. The event shapes are those of ``handlers/custom_resource.py``.
    """
    lambda_retries = {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2,
    }
    return {
        "Comment": "blue-green-ecs deployment trigger: polls until the deployment has an outcome",
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": defaults.TRIGGER_QUERY_INTERVAL_SECONDS, "Next": "Poll"},
            "Poll": {
                "Type": "Task",
                # The function's ARN as the resource: its input is Parameters, its output the result.
                "Resource": "${HandlerArn}",
                "Parameters": {"Action": "poll", "Request.$": "$.Request", "StartedAt.$": "$.StartedAt"},
                "ResultSelector": {"Done.$": "$.Done"},
                "ResultPath": "$.Poll",
                "Retry": [
                    lambda_retries,
                    # The handler raised (for instance CloudFormation's ResponseURL did not answer):
                    # polling again repeats the decision and the answer.
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 2, "BackoffRate": 2},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.Error", "Next": "Fail"}],
                "Next": "Answered?",
            },
            "Answered?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.Poll.Done", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Wait",
            },
            "Done": {"Type": "Succeed"},
            "Fail": {
                "Type": "Task",
                "Resource": "${HandlerArn}",
                "Parameters": {"Action": "fail", "Request.$": "$.Request", "Error.$": "$.Error"},
                "Retry": [lambda_retries],
                "End": True,
            },
        },
    }


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
            properties={**properties, WAITER_ARN_PROPERTY: provider.waiter.state_machine_arn},
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        # The handler's permission to start the waiter must exist before it is needed.
        self.resource.node.add_dependency(provider.start_policy)

    @property
    def deployment_id(self) -> str:
        """The id of the deployment the last update ran (empty when none was needed)."""
        return self.resource.get_att_string("DeploymentId")
