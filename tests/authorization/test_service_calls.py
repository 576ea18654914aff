"""The calls AWS makes on the library's roles and resource policies are allowed (issue #20, item 2).

Every configuration the suite synthesizes, plus one of this module's own (a private ECR image, the three kinds of
container secret, a customer managed key for the secret and the log groups), is read by service_calls.py into the
calls CodeDeploy, ECS, the ECS agent, Lambda, Step Functions, CloudWatch Logs and ELB make, each with the AWS page
that says so; each call is evaluated against the synthesized identity policies and resource policies. What each
test trusts: the call lists to the cited AWS pages, resource types and ARN formats to the Service Authorization
Reference (cfn-lint's copy), managed policies to the AWS Managed Policy Reference Guide, the decision to the model
in policy.py / resource_policies.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template

from blue_green_ecs import BlueGreenFargateService

from .. import configurations
from ..conftest import Synthesized, TwoServices
from ..simulator.aws import ACCOUNT, REGION
from ..support import cdk_context
from .exceptions import EXCEPTIONS, effective_resource
from .managed_policies import managed_policy
from .policy import Request, evaluate
from .resource_policies import Principal, authorize, evaluate_resource_policy, principal_matches
from .roles import role_policies
from .service_calls import (
    ELB_LOG_DELIVERY,
    ContainerSecret,
    ServiceCall,
    authorize_call,
    codedeploy_deployment_calls,
    ecs_native_deployment_calls,
    elb_access_log_delivery,
    extended_resolver_for,
    lambda_functions_invoked_by,
    lambda_hook_invocation,
    logs_kms_calls,
    logs_service_principal,
    secret_resource,
    service_calls,
    state_machine_log_delivery_calls,
    task_execution_calls,
    vpc_lambda_network_calls,
)

# The session fixtures of tests/conftest.py, and the configurations other modules synthesize on their own (built
# here at most once per session, without cfn-lint: their templates are linted where they are tested).
SHARED = ["sample", "sample_ecs", "minimal", "https", "existing_cluster", "two_services"]
OWN = ["ecs_test_traffic", "ecs_native_preflight", "shared_load_balancer", "shared_listener_pairs", "encrypted_secrets"]
CONFIGURATIONS = SHARED + OWN


def encrypted_secrets() -> Stack:
    """A private ECR image, a Secrets Manager secret under a customer managed key (JSON key), a secret by name,
    an SSM parameter, and the same key for the log groups: the kinds of calls no shared configuration has."""
    stack = Stack(App(context=cdk_context()), "Encrypted")
    key = kms.Key(stack, "Key")
    password = secretsmanager.Secret(stack, "DbPassword", encryption_key=key)
    api_key = secretsmanager.Secret.from_secret_name_v2(stack, "ApiKey", "api-key")
    token = ssm.StringParameter.from_secure_string_parameter_attributes(stack, "Token", parameter_name="/app/token")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "app")
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_ecr_repository(repository, "1.0"),
        secrets={
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(password, "password"),
            "API_KEY": ecs.Secret.from_secrets_manager(api_key),
            "TOKEN": ecs.Secret.from_ssm_parameter(token),
        },
        log_encryption_key=key,
    )
    return stack


_OWN_STACKS: dict[str, Callable[[], Stack]] = {
    "ecs_test_traffic": lambda: configurations.ecs_test_traffic()[0],
    "ecs_native_preflight": lambda: configurations.ecs_native_preflight()[0],
    "shared_load_balancer": configurations.shared_load_balancer,
    "shared_listener_pairs": configurations.shared_listener_pairs,
    "encrypted_secrets": encrypted_secrets,
}


@dataclass(frozen=True)
class Model:
    """A configuration's template, resolver, role policies and the calls AWS makes."""

    template: dict[str, Any]
    resolve: Callable[[Any], Any]
    policies: dict[str, list[dict[str, Any]]]
    calls: list[ServiceCall]

    def allowed(self, call: ServiceCall) -> tuple[bool, str]:
        decision = authorize_call(call, template=self.template, resolve=self.resolve, policies=self.policies)
        return decision.allowed, decision.explain()


_MODELS: dict[str, Model] = {}


def model(request: pytest.FixtureRequest, name: str) -> Model:
    """The configuration's model, built once per session (the shared templates come from tests/conftest.py)."""
    if name not in _MODELS:
        if name in _OWN_STACKS:
            template: dict[str, Any] = dict(Template.from_stack(_OWN_STACKS[name]()).to_json())
        else:
            synthesized: Synthesized | TwoServices = request.getfixturevalue(name)
            template = dict(synthesized.template.to_json())
        resolve = extended_resolver_for(template)
        _MODELS[name] = Model(template, resolve, role_policies(template, resolve), service_calls(template, resolve))
    return _MODELS[name]


def _denied(m: Model, calls: list[ServiceCall]) -> list[str]:
    out = []
    for call in calls:
        allowed, why = m.allowed(call)
        if not allowed:
            out.append(f"{call}\n  (AWS makes it: {call.doc})\n  {why.replace(chr(10), chr(10) + '  ')}")
    return out


# --- every configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_call_aws_makes_on_the_library_s_roles_is_allowed(
    request: pytest.FixtureRequest, configuration: str
) -> None:
    m = model(request, configuration)
    denied = _denied(m, m.calls)
    assert not denied, "AWS's calls the template does not allow:\n" + "\n".join(denied)


# Which services call, per configuration: a template the parser misread would otherwise pass with no calls.
CODE_DEPLOY_CALLERS = {"CodeDeploy", "ECS agent", "Step Functions", "ELB"}
ECS_NATIVE_CALLERS = {"ECS (ECS-native", "ECS agent", "ELB"}
EXPECTED_CALLERS = {
    "sample": CODE_DEPLOY_CALLERS,
    "minimal": CODE_DEPLOY_CALLERS,
    "https": CODE_DEPLOY_CALLERS,
    "existing_cluster": CODE_DEPLOY_CALLERS,
    "two_services": CODE_DEPLOY_CALLERS,
    "encrypted_secrets": CODE_DEPLOY_CALLERS | {"CloudWatch Logs"},
    "sample_ecs": ECS_NATIVE_CALLERS,
    "ecs_test_traffic": ECS_NATIVE_CALLERS | {"ECS (lifecycle hook"},
    "ecs_native_preflight": ECS_NATIVE_CALLERS | {"ECS (lifecycle hook"},
    "shared_load_balancer": ECS_NATIVE_CALLERS | {"ECS (lifecycle hook", "Lambda (attaching"},
    "shared_listener_pairs": CODE_DEPLOY_CALLERS | {"Lambda (attaching"},
}
CALLERS = sorted(set().union(*EXPECTED_CALLERS.values()))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_calls_come_from_the_services_the_configuration_uses(
    request: pytest.FixtureRequest, configuration: str
) -> None:
    m = model(request, configuration)
    callers = {prefix for prefix in CALLERS for call in m.calls if call.made_by.startswith(prefix)}
    assert callers == EXPECTED_CALLERS[configuration]
    assert all(call.doc.startswith("https://docs.aws.amazon.com/") for call in m.calls)


@pytest.mark.parametrize("configuration", ["minimal", "existing_cluster", "two_services"])
def test_codedeploy_passes_every_task_definition_role(request: pytest.FixtureRequest, configuration: str) -> None:
    m = model(request, configuration)
    roles = {
        m.resolve(r["Properties"][key])
        for r in m.template["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for key in ("TaskRoleArn", "ExecutionRoleArn")
    }
    passed = {c.request.resource for c in m.calls if c.request.action == "iam:PassRole"}
    assert passed == roles
    assert all(
        dict(c.request.context) == {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        for c in m.calls
        if c.request.action == "iam:PassRole"
    )


def test_codedeploy_invokes_the_hooks_the_deployment_names(request: pytest.FixtureRequest) -> None:
    m = model(request, "existing_cluster")
    invoked = {
        c.request.resource.rsplit(":", 1)[-1]
        for c in m.calls
        if c.made_by.startswith("CodeDeploy") and c.request.action == "lambda:InvokeFunction"
    }
    assert {re.sub("[0-9A-F]{8}$", "", name) for name in invoked} == {
        "WorkerPreflightFunction",
        "WorkerTestTrafficRouterFunction",
    }


def test_the_waiter_invokes_the_function_its_definition_names(request: pytest.FixtureRequest) -> None:
    m = model(request, "minimal")
    [handler] = [
        k
        for k in m.template["Resources"]
        if k.startswith("BlueGreenEcsDeploymentTriggerHandler")
        and m.template["Resources"][k]["Type"] == "AWS::Lambda::Function"
    ]
    invoked = [
        c.request.resource
        for c in m.calls
        if c.made_by.startswith("Step Functions") and c.request.action == "lambda:InvokeFunction"
    ]
    assert invoked == [f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{handler}"]


def test_the_key_calls_of_the_encrypted_configuration_are_decided_by_its_key_policy(
    request: pytest.FixtureRequest,
) -> None:
    m = model(request, "encrypted_secrets")
    decrypts = [c for c in m.calls if c.request.action == "kms:Decrypt" and c.role is not None]
    assert [dict(c.request.context)["kms:ViaService"] for c in decrypts] == [f"secretsmanager.{REGION}.amazonaws.com"]
    logs = [c for c in m.calls if c.principal == logs_service_principal(REGION)]
    groups = {dict(c.request.context)["kms:EncryptionContext:aws:logs:arn"] for c in logs}
    assert len(groups) == sum(
        1
        for r in m.template["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup" and "KmsKeyId" in r["Properties"]
    )
    assert all(c.resource_policy is not None and c.resource_policy.startswith("Key") for c in decrypts + logs)


# --- the defect found, and the one the model exists to catch ------------------------------------------------


def test_lambda_may_describe_the_subnets_of_the_smoke_test_function(request: pytest.FixtureRequest) -> None:
    # Found by this model (issue #20): the smoke test's role granted the VPC network-interface actions without
    # ec2:DescribeSubnets, which Lambda's "Giving Lambda functions access to resources in an Amazon VPC" lists
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions;
    # AWSLambdaVPCAccessExecutionRole v3 has it too). Denied before blue_green_ecs/deployment/hooks.py granted it.
    m = model(request, "shared_load_balancer")
    subnets = [c for c in m.calls if c.role and "SmokeTestRole" in c.role and c.request.action == "ec2:DescribeSubnets"]
    assert [c.request for c in subnets] == [Request("ec2:DescribeSubnets", "*")]
    assert not _denied(m, subnets)


def test_codedeploy_pass_role_defect_is_found_without_the_library_s_default_policy(
    request: pytest.FixtureRequest,
) -> None:
    # Given the CodeDeploy role with only AWSCodeDeployRoleForECSLimited (the DefaultPolicy the library adds
    # removed), when CodeDeploy passes the task definition's roles, then IAM denies it: the managed policy passes
    # only roles named ecsTaskExecutionRole / ECSTaskExecution*.
    m = model(request, "minimal")
    [role] = {c.role for c in m.calls if c.made_by.startswith("CodeDeploy")}
    assert role is not None
    managed_only = [managed_policy("AWSCodeDeployRoleForECSLimited")]
    pass_role = [c.request for c in m.calls if c.role == role and c.request.action == "iam:PassRole"]
    assert len(pass_role) == 2
    for call in pass_role:
        decision = evaluate(managed_only, call)
        assert not decision.allowed
        assert "resource mismatch" in decision.explain()
        assert "ecsTaskExecutionRole" in decision.explain()
        assert evaluate(m.policies[role], call).allowed


# --- the builders, with ARNs of their own (no configuration) ------------------------------------------------

CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/c/s"
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/lb/50dc6c495c0c9188/f2f7dc8efc522ab2"
NLB_LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/net/lb/50dc6c495c0c9188/f2f7dc8efc522ab2"
RULE = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/lb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/blue/73e2d6bc24d8a067"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Stack-TaskRole-ABC"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_codedeploy_builder_against_aws_s_managed_policy_alone() -> None:
    calls = codedeploy_deployment_calls(
        cluster_arn=CLUSTER,
        service_arn=SERVICE,
        task_definition_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/f:1",
        original_task_set_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-set/c/s/ecs-svc/1",
        replacement_task_set_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-set/c/s/ecs-svc/2",
        task_definition_roles=[ROLE],
        listener_arns=[LISTENER],
        rule_arns=[RULE],
        target_group_arns=[TARGET_GROUP],
        hook_function_arns=[FUNCTION],
        alarm_arns=[f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a"],
        trigger_topic_arns=[f"arn:aws:sns:{REGION}:{ACCOUNT}:t"],
    )
    managed = [managed_policy("AWSCodeDeployRoleForECSLimited")]
    denied = {c.action for c in calls if not evaluate(managed, c).allowed}
    # The managed policy passes only ecsTaskExecutionRole*, invokes only CodeDeployHook_*, publishes only to
    # CodeDeployTopic_*: everything else a deployment needs it allows.
    assert denied == {"iam:PassRole", "lambda:InvokeFunction", "sns:Publish"}
    create = next(c for c in calls if c.action == "ecs:CreateTaskSet")
    assert dict(create.context) == {
        "ecs:cluster": CLUSTER,
        "ecs:service": SERVICE,
        "ecs:task-definition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/f:1",
    }


def test_ecs_native_builder_against_the_infrastructure_role_policy() -> None:
    managed = [managed_policy("AmazonECSInfrastructureRolePolicyForLoadBalancers")]
    calls = ecs_native_deployment_calls(traffic_routes=[RULE, NLB_LISTENER], target_group_arns=[TARGET_GROUP])
    assert {(c.action, c.resource) for c in calls if "Modify" in c.action} == {
        ("elasticloadbalancing:ModifyRule", RULE),
        ("elasticloadbalancing:ModifyListener", NLB_LISTENER),
    }
    assert all(evaluate(managed, c).allowed for c in calls), [evaluate(managed, c).explain() for c in calls]
    with pytest.raises(ValueError, match="neither listener nor listener rule"):
        ecs_native_deployment_calls(traffic_routes=[TARGET_GROUP], target_group_arns=[])
    assert lambda_hook_invocation(function_arn=FUNCTION) == [Request("lambda:InvokeFunction", FUNCTION)]


def test_secret_resources_of_each_value_from_form() -> None:
    base = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
    assert secret_resource(f"{base}:db-AbC123:password::") == ("secretsmanager", f"{base}:db-AbC123")
    assert secret_resource(f"{base}:api-key") == ("secretsmanager", f"{base}:api-key-AbCdEf")
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/token"
    assert secret_resource(parameter) == ("ssm", parameter)
    assert secret_resource("/app/token") == ("ssm", parameter)
    assert secret_resource("app/token") == ("ssm", parameter)
    with pytest.raises(ValueError, match="neither"):
        secret_resource(f"arn:aws:s3:::{ACCOUNT}/x")


def test_task_execution_builder_decrypts_only_with_a_customer_managed_key() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/p"
    calls = task_execution_calls(secrets=[ContainerSecret(parameter, key), ContainerSecret("/q")])
    assert [c.action for c in calls] == ["ssm:GetParameters", "kms:Decrypt", "ssm:GetParameters"]
    assert dict(calls[1].context) == {
        "kms:ViaService": f"ssm.{REGION}.amazonaws.com",
        "kms:EncryptionContext:PARAMETER_ARN": parameter,
    }
    # The ECR authorization token is authorized on "*", the layers on the repository.
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
    pulls = task_execution_calls(repository_arns=[repository])
    assert [(c.action, c.resource) for c in pulls][:2] == [
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:BatchCheckLayerAvailability", repository),
    ]


def test_vpc_lambda_builder_against_aws_s_vpc_access_policy() -> None:
    # AWSLambdaVPCAccessExecutionRole v3, as published (LAMBDA_VPC_DOC points to it).
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
    vpc_access = doc(
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        }
    )
    calls = vpc_lambda_network_calls(
        subnet_arns=[f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-1"],
        security_group_arns=[f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1"],
    )
    assert all(evaluate([vpc_access], c).allowed for c in calls)
    assert {c.action for c in calls} == {a for a in vpc_access["Statement"][0]["Action"] if a.startswith("ec2:")}


def test_state_machine_definitions_name_their_functions() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": FUNCTION, "Next": "B"},
            "B": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "C",
                        "States": {
                            "C": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": "other", "Qualifier": "live"},
                                "End": True,
                            }
                        },
                    }
                ],
                "End": True,
            },
        },
    }
    assert lambda_functions_invoked_by(definition) == [
        FUNCTION,
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other:live",
    ]
    dynamic = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.f"}}
        },
    }
    with pytest.raises(ValueError, match="run time"):
        lambda_functions_invoked_by(dynamic)
    assert {c.resource for c in state_machine_log_delivery_calls()} == {"*"}


def test_logs_kms_builder_against_the_cloudwatch_logs_key_policy() -> None:
    # The key policy statement CloudWatch Logs' "Encrypt log data in CloudWatch Logs using AWS KMS" publishes,
    # for one log group (no configuration of the suite needs it: encrypted_secrets covers the library's own).
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app"

    def key_policy(service: str, log_group: str) -> dict[str, Any]:
        return doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group}},
            }
        )

    principal = logs_service_principal(REGION)
    calls = logs_kms_calls(key_arn=key, log_group_arn=group + ":*")
    assert {dict(c.context)["kms:EncryptionContext:aws:logs:arn"] for c in calls} == {group}

    def allowed(policy: dict[str, Any]) -> bool:
        return all(
            authorize(c, principal, resource_policy=[policy], key_policy=True, account=ACCOUNT).allowed for c in calls
        )

    assert allowed(key_policy(f"logs.{REGION}.amazonaws.com", group))
    assert not allowed(key_policy("logs.eu-west-1.amazonaws.com", group))
    assert not allowed(key_policy(f"logs.{REGION}.amazonaws.com", group + "-other"))


def test_access_log_builder_against_the_bucket_policy_elb_publishes() -> None:
    bucket = "arn:aws:s3:::logs"
    balancer = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/lb/50dc6c495c0c9188"
    [call] = elb_access_log_delivery(bucket_arn=bucket, prefix="p", load_balancer_arn=balancer)
    assert call.resource.startswith(f"{bucket}/p/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/")

    def policy(resource: str) -> dict[str, Any]:
        return doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": ELB_LOG_DELIVERY.name},
                "Action": "s3:PutObject",
                "Resource": resource,
            }
        )

    assert authorize(
        call, ELB_LOG_DELIVERY, resource_policy=[policy(f"{bucket}/p/AWSLogs/{ACCOUNT}/*")], account=ACCOUNT
    ).allowed
    wrong_prefix = authorize(
        call, ELB_LOG_DELIVERY, resource_policy=[policy(f"{bucket}/q/AWSLogs/{ACCOUNT}/*")], account=ACCOUNT
    )
    assert not wrong_prefix.allowed
    assert "resource mismatch" in wrong_prefix.explain()


# --- the resource-policy model ------------------------------------------------------------------------------

ROLE_PRINCIPAL = Principal.aws(ROLE)


@pytest.mark.parametrize(
    ("element", "principal", "expected"),
    [
        ("*", ELB_LOG_DELIVERY, True),
        ({"AWS": "*"}, ELB_LOG_DELIVERY, True),
        ({"Service": ELB_LOG_DELIVERY.name}, ELB_LOG_DELIVERY, True),
        ({"Service": ["x.amazonaws.com", ELB_LOG_DELIVERY.name]}, ELB_LOG_DELIVERY, True),
        ({"Service": "x.amazonaws.com"}, ELB_LOG_DELIVERY, False),
        ({"AWS": ROLE}, ROLE_PRINCIPAL, True),
        ({"AWS": ROLE}, ELB_LOG_DELIVERY, False),
        ({"AWS": ACCOUNT}, Principal.aws(f"arn:aws:iam::{ACCOUNT}:root"), True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ROLE_PRINCIPAL, False),
    ],
)
def test_principal_matching(element: Any, principal: Principal, expected: bool) -> None:
    assert principal_matches(element, principal) is expected


def test_unmodelled_principal_type_raises() -> None:
    with pytest.raises(ValueError, match="Federated"):
        principal_matches({"Federated": "cognito-identity.amazonaws.com"}, ELB_LOG_DELIVERY)


def test_resource_policy_names_the_statement_of_another_principal() -> None:
    request = Request("s3:PutObject", "arn:aws:s3:::b/k")
    policy = doc(
        {
            "Sid": "Other",
            "Effect": "Allow",
            "Principal": {"Service": "x.amazonaws.com"},
            "Action": "s3:*",
            "Resource": "*",
        }
    )
    decision = evaluate_resource_policy([policy], request, ELB_LOG_DELIVERY)
    assert not decision.allowed
    assert "'Other' (Allow): principal mismatch" in decision.explain()
    not_principal = doc(
        {"Effect": "Deny", "NotPrincipal": {"Service": "x.amazonaws.com"}, "Action": "s3:*", "Resource": "*"}
    )
    assert evaluate_resource_policy([not_principal], request, ELB_LOG_DELIVERY).denied_by


def test_same_account_identity_or_resource_policy_suffices_and_deny_wins() -> None:
    request = Request("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:s-AbCdEf")
    allow = doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    by_role = doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "secretsmanager:*", "Resource": "*"})
    by_account = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "secretsmanager:*", "Resource": "*"})
    deny = doc({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"})
    assert authorize(request, ROLE_PRINCIPAL, identity=[allow], account=ACCOUNT).allowed
    assert authorize(request, ROLE_PRINCIPAL, identity=[], resource_policy=[by_role], account=ACCOUNT).allowed
    assert not authorize(request, ROLE_PRINCIPAL, identity=[], resource_policy=[by_account], account=ACCOUNT).allowed
    assert not authorize(request, ROLE_PRINCIPAL, identity=[allow], resource_policy=[deny], account=ACCOUNT).allowed


def test_a_key_policy_must_allow_the_principal_or_delegate_to_the_account() -> None:
    request = Request("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k")
    allow = doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    root = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    )
    other = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    assert authorize(
        request, ROLE_PRINCIPAL, identity=[allow], resource_policy=[root], key_policy=True, account=ACCOUNT
    ).allowed
    assert not authorize(
        request, ROLE_PRINCIPAL, identity=[], resource_policy=[root], key_policy=True, account=ACCOUNT
    ).allowed
    no_delegation = authorize(
        request, ROLE_PRINCIPAL, identity=[allow], resource_policy=[other], key_policy=True, account=ACCOUNT
    )
    assert not no_delegation.allowed
    assert "key policy" in no_delegation.explain()


# --- the reference's exceptions -----------------------------------------------------------------------------


def test_put_lifecycle_event_hook_execution_status_is_authorized_on_the_deployment_group() -> None:
    group = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:app/group"
    assert effective_resource("codedeploy:PutLifecycleEventHookExecutionStatus", [group]) == [group]
    with pytest.raises(ValueError, match="deploymentgroup"):
        effective_resource(
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            [f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:app"],
        )
    assert effective_resource("ecs:ListServices", [CLUSTER]) == "*"
    assert all(e.evidence and e.reference_says for e in EXCEPTIONS)


def test_every_exception_contradicts_the_installed_reference() -> None:
    # An exception the reference has caught up with is stale: remove it.
    from .reference import resource_types

    stale: Mapping[str, list[str]] = {
        e.action: resource_types(e.action)
        for e in EXCEPTIONS
        if e.resource in [t.lower() for t in resource_types(e.action)]
    }
    assert stale == {}
