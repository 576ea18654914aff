"""The stack's one custom-resource provider: a Lambda function, and a waiter state machine when needed.

CloudFormation invokes the function directly (``handlers/custom_resource.py``, the ServiceToken of
every custom resource of the library: the deployment trigger and the live-state lookup). When a
deployment has to be waited for, the function starts the waiter, which invokes it again every
``TRIGGER_QUERY_INTERVAL_SECONDS`` until the deployment has an outcome. aws-cdk-lib's Provider
framework does the same with five functions, four roles and a state machine. The waiter exists only
in stacks with a deployment trigger (the CodeDeploy engine); the live-state lookup answers at once.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Aws, Duration, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import (
    acknowledge_lambda_functions,
    acknowledge_nag,
    acknowledge_role_dependencies,
    skip_checkov,
)
from ..configuration.validation import invalid
from ..functions.lambda_code import HANDLER_RUNTIME, handlers_code
from ..functions.log_groups import log_group
from ..load_balancing.shared_resources import stack_singleton

# CloudFormation gives a custom resource at most one hour (ServiceTimeout 3600 s).
CUSTOM_RESOURCE_TIMEOUT = Duration.hours(1)
# Read by handlers/custom_resource.py, which imports boto3 and so stays out of synthesis.
WAITER_ARN_PROPERTY = "WaiterStateMachineArn"
# The waiter's backstop: the handler answers CloudFormation after 58 minutes, CloudFormation gives up at 60.
WAITER_TIMEOUT_SECONDS = 65 * 60


class Provider(Construct):
    """The stack's provider function (and its waiter, see :meth:`waiter`).

    Use :meth:`of`; every service in the stack shares the one it returns, so a further service adds
    custom resources and IAM statements, but no function and no state machine.
    """

    CONSTRUCT_ID = "BlueGreenEcsDeploymentTrigger"  # kept from when it served the trigger only: logical ids

    @classmethod
    def of(
        cls,
        scope: Construct,
        *,
        log_retention: logs.RetentionDays = defaults.LOG_RETENTION,
        log_encryption_key: kms.IKey | None = None,
    ) -> Provider:
        """The provider of ``scope``'s stack, created on first use with the first service's log settings.

        Its logs are the stack's, not one service's: a later service asking for other settings is refused.
        """
        provider = stack_singleton(
            scope,
            cls.CONSTRUCT_ID,
            cls,
            lambda stack, construct_id: cls(
                stack, construct_id, log_retention=log_retention, log_encryption_key=log_encryption_key
            ),
        )
        if (provider.log_retention, provider.log_encryption_key) != (log_retention, log_encryption_key):
            raise invalid(
                "log_retention" if provider.log_retention != log_retention else "log_encryption_key",
                log_retention.name if provider.log_retention != log_retention else "<key>",
                "the stack's deployment-trigger function keeps one log group for every service, created with "
                "the first service's log_retention and log_encryption_key; give every service of the stack "
                "the same ones.",
            )
        return provider

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_retention: logs.RetentionDays,
        log_encryption_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_retention, self.log_encryption_key = log_retention, log_encryption_key
        function_logs = log_group(self, "Logs", retention=log_retention, encryption_key=log_encryption_key)
        self.handler_role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="blue-green-ecs deployment trigger: starts and watches CodeDeploy deployments",
        )
        function_logs.grant_write(self.handler_role)
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
            log_group=function_logs,
            role=self.handler_role,
            description="blue-green-ecs: runs the CodeDeploy deployment of an ECS service for CloudFormation",
        )
        acknowledge_role_dependencies(self)
        acknowledge_lambda_functions(self)
        self._waiter: Waiter | None = None
        self._reads_acknowledged = False

    def waiter(self) -> Waiter:
        """The waiter state machine, created on first use (by the first deployment trigger)."""
        if self._waiter is None:
            self._waiter = Waiter(self, "Waiter", provider=self)
        return self._waiter

    @property
    def service_token(self) -> str:
        """The ServiceToken of the custom resources: the handler function."""
        return self.function.function_arn

    def allow_reads(self, *statements: iam.PolicyStatement) -> None:
        """Grant the handler function the live-state lookups' read ``statements``.

        In the role's default policy, which the function (and so every custom resource it serves)
        depends on: these statements may only name what exists before the lookups (load balancers,
        clusters); the deployment triggers' statements go to :meth:`Waiter.allow`.
        """
        for statement in statements:
            self.handler_role.add_to_principal_policy(statement)
        if not self._reads_acknowledged:
            self._reads_acknowledged = True
            reason = (
                "Describe calls of the live-state lookup: elasticloadbalancing:DescribeListeners/DescribeRules have "
                "no resource-level permissions; ecs:ListServices has no resource types (only '*' authorizes it) and "
                "ecs:DescribeServices cannot name the service before the lookup that runs first: both are limited "
                "to the cluster by the ecs:cluster condition."
            )
            acknowledge_nag(self.handler_role, "IAM5[Resource::*]", reason)
            skip_checkov(self.handler_role.node.find_child("DefaultPolicy"), ("CKV_AWS_356", reason))


class Waiter:
    """The state machine that polls the handler until a deployment has an outcome.

    Not a construct of its own: its resources keep the construct ids (``Waiter``, ``WaiterRole``,
    ``StartWaiter``) and so the logical ids they had directly under the provider.
    """

    def __init__(self, scope: Provider, construct_id: str, *, provider: Provider) -> None:
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="blue-green-ecs deployment trigger: polls the handler until the deployment ends",
        )
        # The function's own ARN only: grant_invoke would add "<arn>:*" (every version) as well.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[provider.function.function_arn])
        )
        # Step Functions adds every log group it delivers to to the account's CloudWatch Logs resource
        # policy (5,120 characters in all) unless the name starts with /aws/vendedlogs/ (Step Functions
        # developer guide, "Logging using CloudWatch Logs"; CloudWatch Logs "Enabling logging from AWS
        # services").
        logs_of_waiter = log_group(
            scope,
            f"{construct_id}Logs",
            retention=provider.log_retention,
            encryption_key=provider.log_encryption_key,
            # The log group outlives the stack (its logs are kept), so the name also carries the stack id's
            # UUID, new with every create: a stack deleted and created again gets a log group of its own
            # instead of failing on "already exists".
            name=Fn.join(
                "",
                [
                    "/aws/vendedlogs/states/",
                    Aws.STACK_NAME,
                    "-",
                    Fn.select(2, Fn.split("/", Aws.STACK_ID)),
                    "-blue-green-ecs-waiter",
                ],
            ),
        )
        self.state_machine = sfn.StateMachine(
            scope,
            construct_id,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(waiter_definition(), separators=(",", ":"))),
            definition_substitutions={"HandlerArn": provider.function.function_arn},
            role=role,
            tracing_enabled=True,
            # Execution data holds CloudFormation's presigned ResponseURL: state changes only.
            logs=sfn.LogOptions(destination=logs_of_waiter, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment="blue-green-ecs: polls a CodeDeploy deployment for CloudFormation until it ends",
        )
        # The deployment triggers' permissions, not in the role's default policy: the function depends on
        # that one, and the live-state lookups on the function, and they must exist before the resources
        # named here (the state machine, each service's deployment group and service), which would close
        # dependency cycles. The deployment triggers depend on this policy instead.
        self.start_policy = iam.Policy(
            scope,
            "StartWaiter",
            roles=[provider.handler_role],
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn])
            ],
        )
        acknowledge_role_dependencies(scope)
        self._acknowledge(role)

    def allow(self, statement: iam.PolicyStatement) -> None:
        """Grant the handler function ``statement`` for the deployment triggers."""
        self.start_policy.add_statements(statement)

    @staticmethod
    def _acknowledge(role: iam.Role) -> None:
        wildcard = (
            "Step Functions log delivery (logs:CreateLogDelivery and others) and X-Ray tracing "
            "(xray:PutTraceSegments and others) support only Resource '*'."
        )
        acknowledge_nag(role, "IAM5[Resource::*]", wildcard)
        skip_checkov(role.node.find_child("DefaultPolicy"), ("CKV_AWS_111", wildcard))


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
        # The backstop: the definition's own timeout (DefinitionBody.from_string ignores StateMachine's).
        "TimeoutSeconds": WAITER_TIMEOUT_SECONDS,
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
