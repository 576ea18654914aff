"""The calls AWS itself makes with the library's roles (and on its resource policies), as IAM requests.

A role is only as right as the calls it must allow, and for the library's service roles those calls are AWS's:
CodeDeploy shifting traffic, ECS registering targets, the ECS agent pulling an image, Lambda attaching a function to
a VPC. This module writes each such call down as a :class:`~.policy.Request`, with the AWS page that says the
service makes it, so a test can evaluate it against the synthesized policies (tests/authorization/policy.py) and a
denied call fails with the statement it is missing.

Two layers (issue #20, item 2):

* Builders, one per event, pure functions of concrete ARNs (no template parsing), so a lifecycle simulator playing
  a deployment with its own physical ARNs can call them: :func:`codedeploy_deployment_calls`,
  :func:`ecs_native_deployment_calls`, :func:`lambda_hook_invocation`, :func:`task_execution_calls`,
  :func:`vpc_lambda_network_calls`, :func:`state_machine_lambda_invocations`,
  :func:`state_machine_log_delivery_calls`, :func:`logs_kms_calls`, :func:`elb_access_log_delivery`. Each returns
  ``list[Request]`` whose resources are what IAM authorizes the call on (exceptions.effective_resource). Their
  helpers: :func:`log_stream_arn`, :func:`ecr_repository_arn`, :func:`secret_resource` (a ValueFrom's secret),
  :func:`lambda_functions_invoked_by` (a state machine definition's functions), :func:`logs_service_principal`
  and :data:`ELB_LOG_DELIVERY` (who calls on a resource policy).
* :func:`service_calls` reads a synthesized template (with a resolver, :func:`extended_resolver_for`) and composes
  the builders into :class:`ServiceCall` records: which role, which service, which request, which page.
  :func:`authorize_call` evaluates one against the template's identity and resource policies
  (:func:`resource_policy_documents`).

What each call trusts (house style 14): the action list and the resource of each call come from the AWS pages cited
next to it; the resource types and ARN formats from the Service Authorization Reference (reference.py); the
placeholders this module invents for ids that do not exist before the call (task set ids, network interface ids,
ECS task ids, log file names) are marked as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..simulator.aws import ACCOUNT, REGION
from ..simulator.intrinsics import Resolver
from .exceptions import effective_resource
from .policy import ContextValue, Request
from .resource_policies import Authorization, Principal, authorize
from .roles import resolver_for

Resolve = Callable[[Any], Any]

# --- the pages each call is grounded in ----------------------------------------------------------------------------

# CodeDeploy on its service role (an ECS blue/green deployment).
CODEDEPLOY_ECS_ROLE_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/codedeploy_IAM_role.html"
CODEDEPLOY_ECS_DEPLOYMENT_DOC = "https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html"
CODEDEPLOY_ECS_POLICY_DOC = (
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html"
)
CODEDEPLOY_ECS_HOOKS_DOC = "https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-ecs"
# (sic: AWS's page name has three s.)
CODEDEPLOY_SNS_DOC = (
    "https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-sns-event-notifications-permisssions.html"
)
ECS_CONDITION_KEYS_DOC = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html"
)
# ECS on the infrastructure role for load balancers and on a lifecycle hook's role (ECS-native blue/green).
ECS_INFRASTRUCTURE_ROLE_DOC = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html"
)
ECS_INFRASTRUCTURE_POLICY_DOC = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html"
ECS_BLUE_GREEN_ALB_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html"
ECS_LIFECYCLE_HOOK_ROLE_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html"
# The ECS agent on the task execution role.
TASK_EXECUTION_ROLE_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html"
AWSLOGS_DRIVER_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html"
LOGS_AUTHORIZATION_DOC = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html"
)
SECRETS_MANAGER_KMS_DOC = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"
PARAMETER_STORE_KMS_DOC = "https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html"
# Lambda on a VPC function's execution role.
LAMBDA_VPC_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions"
# Step Functions on a state machine's role.
STATES_LAMBDA_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html"
STATES_LOGGING_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy"
# Service principals on resource policies.
LOGS_KMS_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
ELB_ACCESS_LOGS_DOC = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"

ECS_TASKS = "ecs-tasks.amazonaws.com"
# "Regions available as of August 2022 or later" and, per the current page, recommended for every Region (the
# regional ELB account "is still supported"): ELB delivers access logs as this service principal.
ELB_LOG_DELIVERY = Principal.service("logdelivery.elasticloadbalancing.amazonaws.com")

# Placeholders for ids that exist only once AWS has made the call (marked so, not facts about AWS).
TASK_ID = "0123456789abcdef0123456789abcdef"
NETWORK_INTERFACE_ID = "eni-0123456789abcdef0"
SECRET_SUFFIX = "AbCdEf"  # Secrets Manager appends a hyphen and six random characters to a secret's name.
_ORIGINAL_TASK_SET = "ecs-svc/1000000000000000001"
_REPLACEMENT_TASK_SET = "ecs-svc/2000000000000000002"
_LOG_FILE_TIME = "2026/01/15", "20260115T1205Z"


def logs_service_principal(region: str = REGION) -> Principal:
    """CloudWatch Logs' regional service principal, which a key policy must name (LOGS_KMS_DOC)."""
    return Principal.service(f"logs.{region}.amazonaws.com")


# --- builders: pure functions of concrete ARNs --------------------------------------------------------------------

Documented = list[tuple[Request, str]]


def _on(action: str, arns: Sequence[str], context: Mapping[str, ContextValue] | None = None) -> list[Request]:
    """One request per ARN IAM authorizes ``action`` on (a single ``"*"`` request when it lists none)."""
    resource = effective_resource(action, arns)
    ctx = dict(context or {})
    if isinstance(resource, str):
        return [Request(action, resource, ctx)]
    return [Request(action, arn, ctx) for arn in resource]


def _doc(requests: Iterable[Request], doc: str) -> Documented:
    return [(r, doc) for r in requests]


def _codedeploy(
    *,
    cluster_arn: str,
    service_arn: str,
    task_definition_arn: str,
    original_task_set_arn: str,
    replacement_task_set_arn: str,
    task_definition_roles: Sequence[str],
    listener_arns: Sequence[str],
    rule_arns: Sequence[str],
    target_group_arns: Sequence[str],
    hook_function_arns: Sequence[str],
    alarm_arns: Sequence[str],
    trigger_topic_arns: Sequence[str],
) -> Documented:
    # ecs:cluster / ecs:service / ecs:task-definition are the ARNs the ECS condition keys filter on
    # (ECS_CONDITION_KEYS_DOC); the installed reference carries resource types, not per-action condition keys.
    on_cluster = {"ecs:cluster": cluster_arn}
    on_service = {**on_cluster, "ecs:service": service_arn}
    calls: Documented = []
    # "CodeDeploy creates a replacement task set and reroutes traffic from the original task set to the new one"
    # (CODEDEPLOY_ECS_DEPLOYMENT_DOC); the ECS actions are the ones AWS's policy for that role grants
    # (CODEDEPLOY_ECS_POLICY_DOC).
    calls += _doc(_on("ecs:DescribeServices", [service_arn], on_cluster), CODEDEPLOY_ECS_DEPLOYMENT_DOC)
    calls += _doc(
        _on(
            "ecs:CreateTaskSet", [replacement_task_set_arn], {**on_service, "ecs:task-definition": task_definition_arn}
        ),
        CODEDEPLOY_ECS_DEPLOYMENT_DOC,
    )
    calls += _doc(_on("ecs:UpdateServicePrimaryTaskSet", [service_arn], on_cluster), CODEDEPLOY_ECS_DEPLOYMENT_DOC)
    calls += _doc(_on("ecs:DeleteTaskSet", [original_task_set_arn], on_service), CODEDEPLOY_ECS_DEPLOYMENT_DOC)
    # Rerouting: the listeners' default actions and their rules (CODEDEPLOY_ECS_POLICY_DOC's ELB statement).
    calls += _doc(_on("elasticloadbalancing:DescribeTargetGroups", target_group_arns), CODEDEPLOY_ECS_POLICY_DOC)
    calls += _doc(_on("elasticloadbalancing:DescribeListeners", listener_arns), CODEDEPLOY_ECS_POLICY_DOC)
    calls += _doc(_on("elasticloadbalancing:DescribeRules", listener_arns), CODEDEPLOY_ECS_POLICY_DOC)
    calls += _doc(_on("elasticloadbalancing:ModifyListener", listener_arns), CODEDEPLOY_ECS_POLICY_DOC)
    if rule_arns:
        calls += _doc(_on("elasticloadbalancing:ModifyRule", rule_arns), CODEDEPLOY_ECS_POLICY_DOC)
    # The replacement task set runs with the task definition's roles: "you must add the iam:PassRole permission for
    # each task execution role or task role override to the CodeDeploy IAM role" (CODEDEPLOY_ECS_ROLE_DOC).
    calls += _doc(
        _on("iam:PassRole", task_definition_roles, {"iam:PassedToService": ECS_TASKS}), CODEDEPLOY_ECS_ROLE_DOC
    )
    # Each AppSpec hook is a Lambda function CodeDeploy invokes (CODEDEPLOY_ECS_HOOKS_DOC).
    if hook_function_arns:
        calls += _doc(_on("lambda:InvokeFunction", hook_function_arns), CODEDEPLOY_ECS_HOOKS_DOC)
    # The deployment group's alarms, watched for a rollback (CODEDEPLOY_ECS_POLICY_DOC: cloudwatch:DescribeAlarms).
    if alarm_arns:
        calls += _doc(_on("cloudwatch:DescribeAlarms", alarm_arns), CODEDEPLOY_ECS_POLICY_DOC)
    # Triggers: "the service role ... must be granted permission to access the Amazon SNS resources"
    # (CODEDEPLOY_SNS_DOC).
    if trigger_topic_arns:
        calls += _doc(_on("sns:Publish", trigger_topic_arns), CODEDEPLOY_SNS_DOC)
    return calls


def codedeploy_deployment_calls(
    *,
    cluster_arn: str,
    service_arn: str,
    task_definition_arn: str,
    original_task_set_arn: str,
    replacement_task_set_arn: str,
    task_definition_roles: Sequence[str],
    listener_arns: Sequence[str],
    target_group_arns: Sequence[str],
    rule_arns: Sequence[str] = (),
    hook_function_arns: Sequence[str] = (),
    alarm_arns: Sequence[str] = (),
    trigger_topic_arns: Sequence[str] = (),
) -> list[Request]:
    """What CodeDeploy calls on its service role during one ECS blue/green deployment.

    ``task_definition_roles``: the new task definition's task and execution role ARNs (passed to ECS).
    ``listener_arns``: the deployment group's production and test listeners; ``rule_arns``: their rules.
    ``hook_function_arns``: the AppSpec's lifecycle hook functions. ``alarm_arns``: the deployment group's alarms
    (``arn:aws:cloudwatch:region:account:alarm:name``). ``trigger_topic_arns``: its triggers' SNS topics.
    """
    return [
        r
        for r, _ in _codedeploy(
            cluster_arn=cluster_arn,
            service_arn=service_arn,
            task_definition_arn=task_definition_arn,
            original_task_set_arn=original_task_set_arn,
            replacement_task_set_arn=replacement_task_set_arn,
            task_definition_roles=task_definition_roles,
            listener_arns=listener_arns,
            rule_arns=rule_arns,
            target_group_arns=target_group_arns,
            hook_function_arns=hook_function_arns,
            alarm_arns=alarm_arns,
            trigger_topic_arns=trigger_topic_arns,
        )
    ]


def _ecs_native(*, traffic_routes: Sequence[str], target_group_arns: Sequence[str]) -> Documented:
    # The infrastructure role "allows Amazon ECS to manage load balancer resources" for blue/green deployments
    # (ECS_INFRASTRUCTURE_ROLE_DOC); the calls are the ones AWS's policy for it grants (ECS_INFRASTRUCTURE_POLICY_DOC).
    calls: Documented = []
    for action in ("DescribeListeners", "DescribeRules", "DescribeTargetGroups", "DescribeTargetHealth"):
        calls += _doc(_on(f"elasticloadbalancing:{action}", target_group_arns), ECS_INFRASTRUCTURE_POLICY_DOC)
    # "During a blue/green deployment, Amazon ECS automatically registers tasks with the appropriate target group"
    # (ECS_BLUE_GREEN_ALB_DOC); the policy's TargetGroupOperations statement grants it to this role.
    for action in ("RegisterTargets", "DeregisterTargets"):
        calls += _doc(_on(f"elasticloadbalancing:{action}", target_group_arns), ECS_BLUE_GREEN_ALB_DOC)
    # Shifting traffic: AdvancedConfiguration's production/test "listener rule (Application Load Balancer) or
    # listener (Network Load Balancer)".
    rules = [r for r in traffic_routes if ":listener-rule/" in r]
    listeners = [r for r in traffic_routes if ":listener/" in r]
    unknown = set(traffic_routes) - set(rules) - set(listeners)
    if unknown:
        raise ValueError(f"{sorted(unknown)} are neither listener nor listener rule ARNs")
    if rules:
        calls += _doc(_on("elasticloadbalancing:ModifyRule", rules), ECS_INFRASTRUCTURE_POLICY_DOC)
    if listeners:
        calls += _doc(_on("elasticloadbalancing:ModifyListener", listeners), ECS_INFRASTRUCTURE_POLICY_DOC)
    return calls


def ecs_native_deployment_calls(*, traffic_routes: Sequence[str], target_group_arns: Sequence[str]) -> list[Request]:
    """What ECS calls on a service's infrastructure role for load balancers during an ECS-native deployment.

    ``traffic_routes``: the ARNs AdvancedConfiguration names as ProductionListenerRule / TestListenerRule (rules
    for an ALB, listeners for an NLB). ``target_group_arns``: the primary and the alternate target group.
    """
    return [r for r, _ in _ecs_native(traffic_routes=traffic_routes, target_group_arns=target_group_arns)]


def lambda_hook_invocation(*, function_arn: str) -> list[Request]:
    """ECS invoking a deployment lifecycle hook with the hook's RoleArn: "lambda:InvokeFunction - Allows Amazon ECS
    to invoke Lambda functions configured as lifecycle hooks" (ECS_LIFECYCLE_HOOK_ROLE_DOC)."""
    return _on("lambda:InvokeFunction", [function_arn])


@dataclass(frozen=True)
class ContainerSecret:
    """A container's sensitive value as the task definition names it (``Secrets[].ValueFrom``, a log driver's
    ``SecretOptions[].ValueFrom`` or ``RepositoryCredentials.CredentialsParameter``), and the customer managed key
    that encrypts it, when there is one (None: an AWS managed key, which needs no key policy of ours)."""

    value_from: str
    kms_key_arn: str | None = None


_SECRETS_MANAGER = re.compile(
    r"arn:(?P<partition>[^:]+):secretsmanager:(?P<region>[^:]+):(?P<account>\d{12}):secret:(?P<name>[^:]+)"
)
_FULL_SECRET_NAME = re.compile(r".+-[A-Za-z0-9]{6}")


def secret_resource(value_from: str, *, region: str = REGION, account: str = ACCOUNT) -> tuple[str, str]:
    """``("secretsmanager" | "ssm", ARN)``: the secret or parameter a ValueFrom reads.

    A Secrets Manager ValueFrom is ``arn:...:secret:name[:json-key:version-stage:version-id]``; IAM authorizes on
    the secret's full ARN, whose name ends with a hyphen and six random characters (added as a placeholder when
    ValueFrom gives the name only). An SSM ValueFrom is the parameter's ARN, or its name in the task's Region
    (AWS::ECS::TaskDefinition Secret, ValueFrom).
    """
    secret = _SECRETS_MANAGER.match(value_from)
    if secret:
        name = secret["name"] if _FULL_SECRET_NAME.fullmatch(secret["name"]) else f"{secret['name']}-{SECRET_SUFFIX}"
        return (
            "secretsmanager",
            f"arn:{secret['partition']}:secretsmanager:{secret['region']}:{secret['account']}:secret:{name}",
        )
    if value_from.startswith("arn:") and ":ssm:" in value_from and ":parameter/" in value_from:
        return "ssm", value_from
    if value_from.startswith("arn:"):
        raise ValueError(f"ValueFrom {value_from!r} is neither a Secrets Manager secret nor an SSM parameter")
    return "ssm", f"arn:aws:ssm:{region}:{account}:parameter/{value_from.lstrip('/')}"


def _task_execution(
    *,
    log_stream_arns: Sequence[str],
    created_log_group_arns: Sequence[str],
    repository_arns: Sequence[str],
    secrets: Sequence[ContainerSecret],
    region: str,
    account: str,
) -> Documented:
    calls: Documented = []
    # awslogs: the execution role needs logs:CreateLogStream and logs:PutLogEvents (TASK_EXECUTION_ROLE_DOC); both
    # are authorized on the log stream (LOGS_AUTHORIZATION_DOC: arn:...:log-group:NAME:log-stream:STREAM).
    if log_stream_arns:
        calls += _doc(_on("logs:CreateLogStream", log_stream_arns), AWSLOGS_DRIVER_DOC)
        calls += _doc(_on("logs:PutLogEvents", log_stream_arns), AWSLOGS_DRIVER_DOC)
    # awslogs-create-group "true": the agent creates the group first (AWSLOGS_DRIVER_DOC).
    if created_log_group_arns:
        calls += _doc(_on("logs:CreateLogGroup", created_log_group_arns), AWSLOGS_DRIVER_DOC)
    # A private ECR image (TASK_EXECUTION_ROLE_DOC: "pulls a container image from an Amazon ECR private repository").
    if repository_arns:
        calls += _doc(_on("ecr:GetAuthorizationToken", repository_arns), TASK_EXECUTION_ROLE_DOC)
        for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"):
            calls += _doc(_on(action, repository_arns), TASK_EXECUTION_ROLE_DOC)
    # Secrets (TASK_EXECUTION_ROLE_DOC, "Required IAM permissions for Amazon ECS secrets"): secretsmanager:
    # GetSecretValue, ssm:GetParameters, and kms:Decrypt "only if your secret uses a customer managed key". KMS
    # sees the call through the service, with the secret's ARN in the encryption context (SECRETS_MANAGER_KMS_DOC:
    # SecretARN; PARAMETER_STORE_KMS_DOC: PARAMETER_ARN).
    for secret in secrets:
        service, arn = secret_resource(secret.value_from, region=region, account=account)
        if service == "secretsmanager":
            calls += _doc(_on("secretsmanager:GetSecretValue", [arn]), TASK_EXECUTION_ROLE_DOC)
            context_key, kms_doc = "kms:EncryptionContext:SecretARN", SECRETS_MANAGER_KMS_DOC
        else:
            calls += _doc(_on("ssm:GetParameters", [arn]), TASK_EXECUTION_ROLE_DOC)
            context_key, kms_doc = "kms:EncryptionContext:PARAMETER_ARN", PARAMETER_STORE_KMS_DOC
        if secret.kms_key_arn is not None:
            via = f"{service}.{region}.amazonaws.com"
            calls += _doc(_on("kms:Decrypt", [secret.kms_key_arn], {"kms:ViaService": via, context_key: arn}), kms_doc)
    return calls


def task_execution_calls(
    *,
    log_stream_arns: Sequence[str] = (),
    created_log_group_arns: Sequence[str] = (),
    repository_arns: Sequence[str] = (),
    secrets: Sequence[ContainerSecret] = (),
    region: str = REGION,
    account: str = ACCOUNT,
) -> list[Request]:
    """What the ECS agent calls on a task execution role to start one task.

    ``log_stream_arns``: the awslogs streams (``arn:aws:logs:region:account:log-group:GROUP:log-stream:STREAM``,
    :func:`log_stream_arn`). ``created_log_group_arns``: groups with ``awslogs-create-group``. ``repository_arns``:
    private ECR repositories of the images (:func:`ecr_repository_arn`). ``secrets``: every ValueFrom.
    """
    return [
        r
        for r, _ in _task_execution(
            log_stream_arns=log_stream_arns,
            created_log_group_arns=created_log_group_arns,
            repository_arns=repository_arns,
            secrets=secrets,
            region=region,
            account=account,
        )
    ]


def log_stream_arn(*, log_group: str, stream: str, region: str = REGION, account: str = ACCOUNT) -> str:
    """The log stream ARN the awslogs driver writes: its streams are ``prefix/container-name/ecs-task-id``
    (AWSLOGS_DRIVER_DOC)."""
    return f"arn:aws:logs:{region}:{account}:log-group:{log_group}:log-stream:{stream}"


_ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<name>[^:@]+)"
)


def ecr_repository_arn(image: str) -> str | None:
    """The private ECR repository of ``image`` (``account.dkr.ecr.region.amazonaws.com/name:tag``); None for any
    other registry (Docker Hub, ECR Public), which the execution role is not asked about."""
    match = _ECR_IMAGE.match(image)
    if not match:
        return None
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['name']}"


def _vpc_lambda(
    *, subnet_arns: Sequence[str], security_group_arns: Sequence[str], network_interface_arn: str
) -> Documented:
    # "make sure to add all of the following permissions and allow them on all resources: ec2:CreateNetworkInterface,
    # ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets, ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses,
    # ec2:UnassignPrivateIpAddresses" (LAMBDA_VPC_DOC). CreateNetworkInterface is authorized on the interface, the
    # subnet and the security groups (reference resource types).
    calls: Documented = []
    calls += _doc(
        _on("ec2:CreateNetworkInterface", [network_interface_arn, *subnet_arns, *security_group_arns]), LAMBDA_VPC_DOC
    )
    calls += _doc(_on("ec2:DescribeNetworkInterfaces", [network_interface_arn]), LAMBDA_VPC_DOC)
    calls += _doc(_on("ec2:DescribeSubnets", subnet_arns), LAMBDA_VPC_DOC)
    for action in ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"):
        calls += _doc(_on(action, [network_interface_arn]), LAMBDA_VPC_DOC)
    return calls


def vpc_lambda_network_calls(
    *, subnet_arns: Sequence[str], security_group_arns: Sequence[str], network_interface_arn: str | None = None
) -> list[Request]:
    """What Lambda calls on a VPC function's execution role to attach it to the VPC (its Hyperplane ENIs).

    ``network_interface_arn``: the interface Lambda creates (a placeholder id by default: it does not exist yet).
    """
    eni = network_interface_arn or _network_interface_arn(subnet_arns)
    return [
        r
        for r, _ in _vpc_lambda(
            subnet_arns=subnet_arns, security_group_arns=security_group_arns, network_interface_arn=eni
        )
    ]


def _network_interface_arn(subnet_arns: Sequence[str]) -> str:
    region, account = (subnet_arns[0].split(":")[3:5]) if subnet_arns else (REGION, ACCOUNT)
    return f"arn:aws:ec2:{region}:{account}:network-interface/{NETWORK_INTERFACE_ID}"


def state_machine_lambda_invocations(*, function_arns: Sequence[str]) -> list[Request]:
    """Step Functions invoking the functions a definition's Task states name, with the state machine's role: the
    role needs lambda:InvokeFunction on each (STATES_LAMBDA_DOC). :func:`lambda_functions_invoked_by` finds them."""
    return _on("lambda:InvokeFunction", function_arns) if function_arns else []


STATES_LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


def state_machine_log_delivery_calls() -> list[Request]:
    """Step Functions setting up a state machine's CloudWatch Logs delivery with its role (STATES_LOGGING_DOC: "you
    need to specify * in the Resource field"; none of these actions has resource types)."""
    return [request for action in STATES_LOG_DELIVERY_ACTIONS for request in _on(action, [])]


LOGS_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo")


def logs_kms_calls(*, key_arn: str, log_group_arn: str) -> list[Request]:
    """CloudWatch Logs using a customer managed key for an encrypted log group, as its regional service principal
    (:func:`logs_service_principal`), decided by the key policy.

    The key policy must let ``logs.region.amazonaws.com`` use the key, and "kms:EncryptionContext:aws:logs:arn" is
    the log group's ARN (LOGS_KMS_DOC; ``log_group_arn`` without Fn::GetAtt's trailing ``:*``). The page grants
    ``kms:Encrypt* / Decrypt* / ReEncrypt* / GenerateDataKey*``; the concrete actions here are one of each.
    """
    context = {"kms:EncryptionContext:aws:logs:arn": log_group_arn.removesuffix(":*")}
    return [request for action in LOGS_KMS_ACTIONS for request in _on(action, [key_arn], context)]


def elb_access_log_delivery(*, bucket_arn: str, prefix: str, load_balancer_arn: str) -> list[Request]:
    """ELB writing an access log file for ``load_balancer_arn`` to ``bucket_arn``, as :data:`ELB_LOG_DELIVERY`,
    decided by the bucket policy.

    The file is ``bucket[/prefix]/AWSLogs/aws-account-id/elasticloadbalancing/region/yyyy/mm/dd/...log.gz``
    (ELB_ACCESS_LOGS_DOC; the date and the file name's random part are placeholders). aws:SourceAccount and
    aws:SourceArn carry the load balancer's account and ARN, the keys the page suggests conditioning on;
    aws:SecureTransport is present in every request (true: an assumption that ELB delivers over TLS).
    """
    parts = load_balancer_arn.split(":")
    region, account = parts[3], parts[4]
    lb_id = parts[5].removeprefix("loadbalancer/").replace("/", ".")
    day, end = _LOG_FILE_TIME
    key = (
        f"{prefix + '/' if prefix else ''}AWSLogs/{account}/elasticloadbalancing/{region}/{day}/"
        f"{account}_elasticloadbalancing_{region}_{lb_id}_{end}_10.0.0.1_abcdefgh.log.gz"
    )
    context = {"aws:SourceAccount": account, "aws:SourceArn": load_balancer_arn, "aws:SecureTransport": "true"}
    return _on("s3:PutObject", [f"{bucket_arn}/{key}"], context)


# --- a Step Functions definition's Lambda functions ---------------------------------------------------------------

_LAMBDA_INVOKE = re.compile(r"arn:[^:]+:states:::lambda:invoke(?:\.waitForTaskToken)?")


def _function_arn(name: str, qualifier: str | None, region: str, account: str) -> str:
    """Lambda's FunctionName forms (name, name:qualifier, account:function:name, full ARN) as a full ARN."""
    if name.startswith("arn:"):
        arn = name
    elif re.fullmatch(r"\d{12}:function:.+", name):
        arn = f"arn:aws:lambda:{region}:{name}"
    else:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _states(definition: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for state in definition.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key])


def lambda_functions_invoked_by(
    definition: Mapping[str, Any], *, region: str = REGION, account: str = ACCOUNT
) -> list[str]:
    """The Lambda function ARNs (qualified as invoked) a state machine definition's Task states invoke.

    A Task's Resource is a function ARN, or the ``lambda:invoke`` integration with Parameters (Arguments, for
    JSONata) FunctionName and Qualifier. A FunctionName chosen at run time (``FunctionName.$``) or any other
    integration raises: the model cannot tell what it would be authorized on.
    """
    found: list[str] = []
    for state in _states(definition):
        if state.get("Type") != "Task":
            continue
        resource = str(state["Resource"])
        if resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource:
            found.append(resource)
            continue
        if not _LAMBDA_INVOKE.fullmatch(resource):
            raise ValueError(f"Task resource {resource!r} is not modelled (only Lambda invocations are)")
        parameters = state.get("Parameters", state.get("Arguments", {}))
        if "FunctionName" not in parameters:
            raise ValueError(f"Task {resource} chooses its function at run time: {parameters!r}")
        found.append(_function_arn(str(parameters["FunctionName"]), parameters.get("Qualifier"), region, account))
    return list(dict.fromkeys(found))


# --- the template: which role, which call -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCall:
    """One call AWS makes on a template's role or resource policy.

    ``role``: the logical id of the role the service uses (None when a service principal calls with no role of
    ours, decided by ``resource_policy`` alone). ``made_by``: the service and the event. ``request``: what IAM
    evaluates. ``doc``: the AWS page that says the service makes this call. ``principal``: who calls, when a
    resource policy decides (None: the role). ``resource_policy``: the logical id of the AWS::S3::Bucket or
    AWS::KMS::Key whose policy decides the call (with or without the role's identity policies).
    """

    role: str | None
    made_by: str
    request: Request
    doc: str
    principal: Principal | None = None
    resource_policy: str | None = None

    def __str__(self) -> str:
        who = self.role or str(self.principal)
        return f"{self.made_by} on {who}: {self.request.action} {self.request.resource}"


def _calls(role: str | None, made_by: str, documented: Documented, **extra: Any) -> list[ServiceCall]:
    return [ServiceCall(role, made_by, request, doc, **extra) for request, doc in documented]


def _logical(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt names (None for anything else)."""
    if isinstance(value, Mapping) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att.split(".", 1)[0] if isinstance(att, str) else att[0])
    return None


def _referenced(value: Any) -> set[str]:
    """Every logical id a value refers to, however deep (Ref, Fn::GetAtt)."""
    if isinstance(value, list):
        return {logical for item in value for logical in _referenced(item)}
    if not isinstance(value, Mapping):
        return set()
    own = _logical(value)
    found: set[str] = {own} if own is not None else set()
    for item in value.values():
        found |= _referenced(item)
    return found


class _Template:
    """A template and its resolver, with the look-ups the calls need."""

    def __init__(self, template: Mapping[str, Any], resolve: Resolve) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.resolve = resolve

    def of_type(self, *types: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [(k, r.get("Properties", {})) for k, r in self.resources.items() if r.get("Type") in types]

    def custom_resources(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            (k, r.get("Properties", {})) for k, r in self.resources.items() if str(r["Type"]).startswith("Custom::")
        ]

    def type_of(self, logical: str | None) -> str | None:
        return None if logical is None or logical not in self.resources else str(self.resources[logical]["Type"])

    def string(self, value: Any, where: str) -> str:
        resolved = self.resolve(value)
        if not isinstance(resolved, str):
            raise ValueError(f"{where}: {value!r} resolved to {resolved!r}, not a string")
        return resolved

    def role(self, value: Any, where: str) -> str:
        """The logical id of the template's role ``value`` names (a role from outside is not ours to check)."""
        logical = _logical(value)
        if self.type_of(logical) != "AWS::IAM::Role":
            raise ValueError(f"{where}: {value!r} is not a role of this template")
        return str(logical)

    def role_arn(self, role: str) -> str:
        return self.string({"Fn::GetAtt": [role, "Arn"]}, role)

    def physical_id(self, value: Any, where: str) -> str:
        """A resource id: resolved, or the logical id for an attribute the resolver does not model (a security
        group's GroupId): ids only need to be consistent within one template."""
        try:
            return self.string(value, where)
        except KeyError:
            logical = _logical(value)
            if logical is None:
                raise
            return logical

    def target_groups(self, value: Any, where: str) -> list[str]:
        """The target group ARNs ``value`` may be: itself, or, for an attribute of a custom resource (the live
        state lookup answers with whichever of blue and green is live), every target group it is given."""
        try:
            return [self.string(value, where)]
        except KeyError:
            logical = _logical(value)
            if logical is None or not str(self.type_of(logical)).startswith("Custom::"):
                raise
            given = _referenced(self.resources[logical].get("Properties", {}))
            groups = sorted(g for g in given if self.type_of(g) == "AWS::ElasticLoadBalancingV2::TargetGroup")
            return [self.string({"Ref": g}, where) for g in groups]


def _cluster_arn(name_or_arn: str) -> str:
    return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name_or_arn}"


def _task_definition_roles(t: _Template, task_definition: str) -> list[str]:
    properties = t.resources[task_definition].get("Properties", {})
    return [
        t.string(properties[key], f"{task_definition}.{key}")
        for key in ("TaskRoleArn", "ExecutionRoleArn")
        if key in properties
    ]


def _task_definition_of_service(t: _Template, service: str, deployment_group: str | None) -> str:
    """The task definition a deployment runs: the deployment trigger's (CODE_DEPLOY), else the service's own."""
    for _, trigger in t.custom_resources():
        if deployment_group is not None and _logical(trigger.get("DeploymentGroupName")) == deployment_group:
            logical = _logical(trigger.get("TaskDefinitionArn"))
            if t.type_of(logical) == "AWS::ECS::TaskDefinition":
                return str(logical)
    value = t.resources[service].get("Properties", {}).get("TaskDefinition")
    logical = _logical(value)
    if t.type_of(logical) == "AWS::ECS::TaskDefinition":
        return str(logical)
    family = t.resolve(value)
    for candidate, properties in t.of_type("AWS::ECS::TaskDefinition"):
        if t.resolve(properties.get("Family")) == family:
            return candidate
    raise ValueError(f"{service}: no task definition of the template is {value!r}")


def _codedeploy_service_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    for group, properties in t.of_type("AWS::CodeDeploy::DeploymentGroup"):
        if not properties.get("ECSServices"):
            continue
        role = t.role(properties["ServiceRoleArn"], f"{group}.ServiceRoleArn")
        pairs = properties.get("LoadBalancerInfo", {}).get("TargetGroupPairInfoList", [])
        listener_values = [
            arn
            for pair in pairs
            for route in ("ProdTrafficRoute", "TestTrafficRoute")
            for arn in pair.get(route, {}).get("ListenerArns", [])
        ]
        listeners = [t.string(v, f"{group} listener") for v in listener_values]
        listener_ids = {_logical(v) for v in listener_values} - {None}
        rules = [
            t.string({"Ref": rule}, rule)
            for rule, rp in t.of_type("AWS::ElasticLoadBalancingV2::ListenerRule")
            if _logical(rp.get("ListenerArn")) in listener_ids
        ]
        target_groups = [
            t.string({"Ref": _logical(tg["Name"])}, f"{group} target group")
            for pair in pairs
            for tg in pair.get("TargetGroups", [])
        ]
        alarm_config = properties.get("AlarmConfiguration", {})
        alarms = (
            [
                f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{t.string(a['Name'], group)}"
                for a in alarm_config.get("Alarms", [])
            ]
            if str(alarm_config.get("Enabled", False)).lower() == "true"
            else []
        )
        topics = [t.string(c["TriggerTargetArn"], group) for c in properties.get("TriggerConfigurations", [])]
        hooks = [
            function
            for _, trigger in t.custom_resources()
            if _logical(trigger.get("DeploymentGroupName")) == group
            for function in (t.string(v, f"{group} hook") for v in trigger.get("Hooks", {}).values())
        ]
        hooks = [h if h.startswith("arn:") else _function_arn(h, None, REGION, ACCOUNT) for h in hooks]
        for ecs_service in properties["ECSServices"]:
            cluster = t.string(ecs_service["ClusterName"], f"{group}.ECSServices")
            name = t.string(ecs_service["ServiceName"], f"{group}.ECSServices")
            cluster_arn = _cluster_arn(cluster)
            cluster_name = cluster_arn.rsplit("/", 1)[-1]
            service = _logical(ecs_service["ServiceName"])
            if t.type_of(service) != "AWS::ECS::Service":
                raise ValueError(
                    f"{group}: ECS service {ecs_service['ServiceName']!r} is not a service of this template"
                )
            task_definition = _task_definition_of_service(t, str(service), group)
            task_set = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-set/{cluster_name}/{name}/"
            documented = _codedeploy(
                cluster_arn=cluster_arn,
                service_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster_name}/{name}",
                task_definition_arn=t.string({"Ref": task_definition}, task_definition),
                original_task_set_arn=task_set + _ORIGINAL_TASK_SET,
                replacement_task_set_arn=task_set + _REPLACEMENT_TASK_SET,
                task_definition_roles=_task_definition_roles(t, task_definition),
                listener_arns=listeners,
                rule_arns=rules,
                target_group_arns=target_groups,
                hook_function_arns=hooks,
                alarm_arns=alarms,
                trigger_topic_arns=topics,
            )
            calls += _calls(role, f"CodeDeploy (ECS blue/green deployment of {service})", documented)
    return calls


def _ecs_native_service_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    for service, properties in t.of_type("AWS::ECS::Service"):
        if properties.get("DeploymentController", {}).get("Type", "ECS") != "ECS":
            continue
        for lb in properties.get("LoadBalancers", []):
            advanced = lb.get("AdvancedConfiguration")
            if advanced is None:
                continue
            role = t.role(advanced["RoleArn"], f"{service} AdvancedConfiguration.RoleArn")
            routes = [
                t.string(advanced[key], f"{service}.{key}")
                for key in ("ProductionListenerRule", "TestListenerRule")
                if key in advanced
            ]
            groups = t.target_groups(lb["TargetGroupArn"], service) + t.target_groups(
                advanced["AlternateTargetGroupArn"], service
            )
            documented = _ecs_native(traffic_routes=routes, target_group_arns=sorted(set(groups)))
            calls += _calls(role, f"ECS (ECS-native blue/green deployment of {service})", documented)
        for hook in properties.get("DeploymentConfiguration", {}).get("LifecycleHooks", []):
            role = t.role(hook["RoleArn"], f"{service} LifecycleHooks.RoleArn")
            function = t.string(hook["HookTargetArn"], f"{service} LifecycleHooks.HookTargetArn")
            stages = "/".join(hook.get("LifecycleStages", []))
            documented = _doc(lambda_hook_invocation(function_arn=function), ECS_LIFECYCLE_HOOK_ROLE_DOC)
            calls += _calls(role, f"ECS (lifecycle hook {stages} of {service})", documented)
    return calls


def _secret_key(t: _Template, value: Any) -> tuple[str | None, str | None]:
    """(ARN, logical id) of the customer managed key encrypting the template's secret that ``value`` reads; the
    logical id is None for an imported key, and both are None for a secret without one or from outside."""
    for logical in sorted(_referenced(value)):
        if t.type_of(logical) == "AWS::SecretsManager::Secret":
            key = t.resources[logical].get("Properties", {}).get("KmsKeyId")
            if key is None:
                return None, None
            owner = _logical(key)
            return t.string(key, f"{logical}.KmsKeyId"), owner if t.type_of(owner) == "AWS::KMS::Key" else None
    return None, None


def _task_execution_service_calls(t: _Template) -> tuple[list[ServiceCall], list[ServiceCall]]:
    """(identity-decided calls, KMS calls decided by a key policy of the template)."""
    calls: list[ServiceCall] = []
    kms_calls: list[ServiceCall] = []
    for task_definition, properties in t.of_type("AWS::ECS::TaskDefinition"):
        if "ExecutionRoleArn" not in properties:
            continue
        role = t.role(properties["ExecutionRoleArn"], f"{task_definition}.ExecutionRoleArn")
        streams: list[str] = []
        created: list[str] = []
        repositories: list[str] = []
        secrets: list[tuple[ContainerSecret, str | None]] = []
        for container in properties.get("ContainerDefinitions", []):
            name = str(container.get("Name", "container"))
            where = f"{task_definition} container {name}"
            log = container.get("LogConfiguration", {})
            if log.get("LogDriver") == "awslogs":
                options = log.get("Options", {})
                group = t.string(options["awslogs-group"], where)
                region = t.string(options.get("awslogs-region", REGION), where)
                prefix = options.get("awslogs-stream-prefix")
                stream = f"{t.string(prefix, where)}/{name}/{TASK_ID}" if prefix is not None else TASK_ID
                streams.append(log_stream_arn(log_group=group, stream=stream, region=region))
                if str(options.get("awslogs-create-group", "false")).lower() == "true":
                    created.append(f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}")
            repository = ecr_repository_arn(t.string(container["Image"], where))
            if repository is not None:
                repositories.append(repository)
            values = [s["ValueFrom"] for s in container.get("Secrets", [])]
            values += [s["ValueFrom"] for s in log.get("SecretOptions", [])]
            if "RepositoryCredentials" in container:
                values.append(container["RepositoryCredentials"]["CredentialsParameter"])
            for value in values:
                key_arn, key_owner = _secret_key(t, value)
                secrets.append((ContainerSecret(t.string(value, where), key_arn), key_owner))
        made_by = f"ECS agent (starting a task of {task_definition})"
        documented = _task_execution(
            log_stream_arns=streams,
            created_log_group_arns=created,
            repository_arns=sorted(set(repositories)),
            secrets=[ContainerSecret(s.value_from) for s, _ in secrets],
            region=REGION,
            account=ACCOUNT,
        )
        calls += _calls(role, made_by, documented)
        principal = Principal.aws(t.role_arn(role))
        for secret, key_owner in secrets:
            if secret.kms_key_arn is None or key_owner is None:
                continue  # no customer managed key, or an imported one whose key policy is not in the template
            decrypt = [
                (r, doc)
                for r, doc in _task_execution(
                    log_stream_arns=(),
                    created_log_group_arns=(),
                    repository_arns=(),
                    secrets=[secret],
                    region=REGION,
                    account=ACCOUNT,
                )
                if r.action == "kms:Decrypt"
            ]
            kms_calls += _calls(role, made_by, decrypt, principal=principal, resource_policy=key_owner)
    return calls, kms_calls


def _vpc_lambda_service_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    for function, properties in t.of_type("AWS::Lambda::Function"):
        vpc = properties.get("VpcConfig")
        if not vpc or not vpc.get("SubnetIds"):
            continue
        role = t.role(properties["Role"], f"{function}.Role")
        subnets = [
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{t.physical_id(s, function)}" for s in vpc.get("SubnetIds", [])
        ]
        groups = [
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{t.physical_id(g, function)}"
            for g in vpc.get("SecurityGroupIds", [])
        ]
        documented = _vpc_lambda(
            subnet_arns=subnets, security_group_arns=groups, network_interface_arn=_network_interface_arn(subnets)
        )
        calls += _calls(role, f"Lambda (attaching {function} to its VPC)", documented)
    return calls


def _definition(t: _Template, machine: str, properties: Mapping[str, Any]) -> Mapping[str, Any]:
    if "Definition" in properties:
        definition = t.resolve(properties["Definition"])
    else:
        text = t.string(properties["DefinitionString"], f"{machine}.DefinitionString")
        substitutions = t.resolve(properties.get("DefinitionSubstitutions", {}))
        for name, value in substitutions.items():
            text = text.replace("${" + name + "}", str(value))
        definition = json.loads(text)
    if not isinstance(definition, Mapping):
        raise ValueError(f"{machine}: the definition is not an object")
    return definition


def _state_machine_service_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    for machine, properties in t.of_type("AWS::StepFunctions::StateMachine"):
        role = t.role(properties["RoleArn"], f"{machine}.RoleArn")
        functions = lambda_functions_invoked_by(_definition(t, machine, properties))
        documented = _doc(state_machine_lambda_invocations(function_arns=functions), STATES_LAMBDA_DOC)
        logging = properties.get("LoggingConfiguration", {})
        if logging.get("Destinations") and logging.get("Level", "OFF") != "OFF":
            documented += _doc(state_machine_log_delivery_calls(), STATES_LOGGING_DOC)
        calls += _calls(role, f"Step Functions (executions of {machine})", documented)
    return calls


def _encrypted_log_group_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    principal = logs_service_principal(REGION)
    for group, properties in t.of_type("AWS::Logs::LogGroup"):
        key = _logical(properties.get("KmsKeyId"))
        if t.type_of(key) != "AWS::KMS::Key":
            continue  # no key, or an imported key whose policy is not in the template
        documented = _doc(
            logs_kms_calls(
                key_arn=t.string(properties["KmsKeyId"], f"{group}.KmsKeyId"),
                log_group_arn=t.string({"Fn::GetAtt": [group, "Arn"]}, group),
            ),
            LOGS_KMS_DOC,
        )
        calls += _calls(
            None, f"CloudWatch Logs (log group {group})", documented, principal=principal, resource_policy=key
        )
    return calls


def _access_log_calls(t: _Template) -> list[ServiceCall]:
    calls: list[ServiceCall] = []
    for balancer, properties in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        attributes = {a["Key"]: a["Value"] for a in properties.get("LoadBalancerAttributes", [])}
        if str(attributes.get("access_logs.s3.enabled", "false")).lower() != "true":
            continue
        bucket = _logical(attributes["access_logs.s3.bucket"])
        if t.type_of(bucket) != "AWS::S3::Bucket":
            continue  # a bucket from outside the template: its policy is not ours to check
        prefix = t.string(attributes.get("access_logs.s3.prefix", ""), balancer)
        documented = _doc(
            elb_access_log_delivery(
                bucket_arn=t.string({"Fn::GetAtt": [bucket, "Arn"]}, str(bucket)),
                prefix=prefix,
                load_balancer_arn=t.string({"Ref": balancer}, balancer),
            ),
            ELB_ACCESS_LOGS_DOC,
        )
        calls += _calls(
            None, f"ELB (access logs of {balancer})", documented, principal=ELB_LOG_DELIVERY, resource_policy=bucket
        )
    return calls


def service_calls(template: Mapping[str, Any], resolve: Resolve) -> list[ServiceCall]:
    """Every call AWS makes with the template's roles and on its resource policies, in the order above.

    ``resolve``: :func:`extended_resolver_for` the template (or any resolver answering with AWS-format ARNs). Roles
    named by the template but created elsewhere raise ValueError: their policies are not in the template.
    """
    t = _Template(template, resolve)
    execution, kms = _task_execution_service_calls(t)
    return [
        *_codedeploy_service_calls(t),
        *_ecs_native_service_calls(t),
        *execution,
        *kms,
        *_vpc_lambda_service_calls(t),
        *_state_machine_service_calls(t),
        *_encrypted_log_group_calls(t),
        *_access_log_calls(t),
    ]


def resource_policy_documents(template: Mapping[str, Any], resolve: Resolve, logical: str) -> list[dict[str, Any]]:
    """The resolved resource policy of ``logical``: a KMS key's KeyPolicy, or every AWS::S3::BucketPolicy of a
    bucket (none: an empty list, which allows nothing)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    kind = resources[logical]["Type"]
    if kind == "AWS::KMS::Key":
        return [resolve(resources[logical]["Properties"]["KeyPolicy"])]
    if kind == "AWS::S3::Bucket":
        return [
            resolve(r["Properties"]["PolicyDocument"])
            for r in resources.values()
            if r["Type"] == "AWS::S3::BucketPolicy" and _logical(r["Properties"].get("Bucket")) == logical
        ]
    raise ValueError(f"{logical} ({kind}) has no resource policy modelled")


def authorize_call(
    call: ServiceCall,
    *,
    template: Mapping[str, Any],
    resolve: Resolve,
    policies: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Authorization:
    """IAM's decision on ``call``: the role's identity ``policies`` (roles.role_policies), the resource policy
    it names, or both (resource_policies.authorize)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    if call.principal is not None:
        principal = call.principal
    elif call.role is not None:
        principal = Principal.aws(_Template(template, resolve).role_arn(call.role))
    else:
        raise ValueError(f"{call}: neither a role nor a principal")
    identity = policies[call.role] if call.role is not None else None
    resource_policy = (
        None if call.resource_policy is None else resource_policy_documents(template, resolve, call.resource_policy)
    )
    is_key = call.resource_policy is not None and resources[call.resource_policy]["Type"] == "AWS::KMS::Key"
    return authorize(
        call.request, principal, identity=identity, resource_policy=resource_policy, key_policy=is_key, account=ACCOUNT
    )


def extended_resolver_for(template: Mapping[str, Any]) -> Resolve:
    """roles.resolver_for, plus the resource types the calls name that it does not model, in AWS's formats:
    a Secrets Manager secret's Ref (its ARN, with a six-character suffix), a KMS key's Ref (key id) and Arn, an ECR
    repository's Ref (name) and Arn, and an EC2 security group's GroupId (its logical id)."""
    base = resolver_for(template)
    resources: Mapping[str, Any] = template.get("Resources", {})

    def kind(logical: str) -> str:
        if logical not in resources:
            raise KeyError(f"{logical!r} is not a resource of the template")
        return str(resources[logical]["Type"])

    def ref(logical: str) -> Any:
        t = kind(logical)
        if t == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{logical}-{SECRET_SUFFIX}"
        return base({"Ref": logical})

    def get_att(logical: str, attribute: str) -> Any:
        t = kind(logical)
        if t == "AWS::KMS::Key" and attribute == "Arn":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical}"
        if t == "AWS::ECR::Repository" and attribute == "Arn":
            return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{base({'Ref': logical})}"
        if t == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
            return logical
        return base({"Fn::GetAtt": [logical, attribute]})

    return Resolver(template, ref, get_att).resolve
