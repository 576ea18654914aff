"""What IAM authorizes for one AWS API call: the call translated into the model's requests, per AWS's reference.

A botocore call names an operation and its parameters; IAM authorizes an action, on resources, with a request
context. The translation is AWS's published fact, not the caller's choice:

- The action is the operation's name under the service's IAM prefix, which is botocore's signing name (``elbv2``
  signs as ``elasticloadbalancing``, ``stepfunctions`` as ``states``), except where IAM's prefix differs from it
  (CloudWatch signs as ``monitoring``; its actions are ``cloudwatch:*``): :data:`IAM_PREFIX_OF_SIGNING_NAME`, or
  IAM's action from the operation's name (Lambda's ``Invoke`` is ``lambda:InvokeFunction``):
  :data:`IAM_ACTION_OF_OPERATION`.
- The resources are the ARNs of the reference's resource types that the call names (directly, or, for CodeDeploy,
  through the deployment it names), in the reference's ARN formats; :func:`resource_of` then asks
  ``exceptions.effective_resource``, which is the reference's answer (``"*"`` for an action that lists no resource
  types) except for the documented differences. A call that names none of the action's resource types is
  authorized on ``"*"``.
- The context holds the condition keys the Service Authorization Reference lists for the action that the request
  carries. cfn-lint's copy of the reference (reference.py) has the actions' resource types but not their condition
  keys, so those are cited per operation from the reference's pages (list_amazonelasticcontainerservice.html etc.).
  Tag keys (``aws:ResourceTag/*``) are not modelled: the roles tested here never condition on tags.

:data:`OPERATIONS` is the table: one small function per IAM action. An operation not in it raises
:class:`NotModelledError`, so a handler that starts making a new call fails its tests until the call is modelled
here (and its role is shown to allow it). :data:`ROLE_OPERATIONS` lists, per role the construct creates for a
handler, which operations the handler code makes under which engine (the source of a docs table); the handler
tests' fixture (tests/handlers/conftest.py) asserts every call it observes is listed for the role making it.

Stable API (the handler tests' fixture and the deployment-lifecycle simulator import it): ``Call`` and ``Call.of``,
``requirements``, ``denials``, ``NotModelledError``, ``ROLE_OPERATIONS``, ``operations_of``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .exceptions import effective_resource
from .policy import ContextValue, Decision, Request, evaluate
from .reference import resource_types

CODE_DEPLOY = "CODE_DEPLOY"
ECS_NATIVE = "ECS_NATIVE"
ENGINES = (CODE_DEPLOY, ECS_NATIVE)
BOTH = ENGINES

# IAM's service prefix where it is not botocore's signing name (Service Authorization Reference, "Amazon CloudWatch":
# prefix cloudwatch; botocore's cloudwatch model: signingName monitoring).
IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}
# IAM's action where it is not the API operation's name (Service Authorization Reference, "AWS Lambda": the Invoke API
# is authorized as lambda:InvokeFunction).
IAM_ACTION_OF_OPERATION = {"lambda:Invoke": "lambda:InvokeFunction"}
# ECS API reference (DescribeServices, ListServices): "If you do not specify a cluster, the default cluster is assumed."
DEFAULT_CLUSTER = "default"


class NotModelledError(LookupError):
    """The call's operation is not in :data:`OPERATIONS`: nobody has said what IAM authorizes for it."""


@dataclass(frozen=True)
class Call:
    """One API call as botocore makes it, with what AWS knows that the call names only indirectly.

    ``deployment_groups``: deployment id -> (application, deployment group). CodeDeploy authorizes most calls on a
    deployment on the deployment's group, which only CodeDeploy knows; a deployment not given here is in the group
    ``application-of-<id>/group-of-<id>``, a name no policy scoped to a real group matches.
    ``deployment_config``: the configuration of the call's deployment group, used when CreateDeployment names none
    (CreateDeployment API reference: the group's configuration is the default); unknown: ``configuration-of-<group>``.
    ``task_roles``: task definition ARN -> the task and execution role ARNs it names, which RunTask passes to ECS
    tasks; a task definition not given here names ``role/task-role-of-<family>`` and ``role/execution-role-of-
    <family>``, names no policy scoped to a real role matches.
    """

    action: str
    params: Mapping[str, Any]
    region: str
    account: str
    partition: str = "aws"
    deployment_groups: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    deployment_config: str | None = None
    task_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, service_model: Any, operation: str, params: Mapping[str, Any], region: str, account: str, **known: Any
    ) -> Call:
        """The call of botocore's ``service_model`` (a client's ``meta.service_model``) ``operation`` (API name)."""
        signing_name = str(service_model.signing_name)
        prefix = IAM_PREFIX_OF_SIGNING_NAME.get(signing_name, signing_name)
        action = IAM_ACTION_OF_OPERATION.get(f"{prefix}:{operation}", f"{prefix}:{operation}")
        return cls(action, params, region, account, **known)

    def arn(self, service: str, resource: str) -> str:
        """``resource`` of ``service`` in the call's partition, region and account."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


@dataclass(frozen=True)
class Requirement:
    """One authorization the call needs: any one of ``any_of`` (most requirements are one request)."""

    any_of: tuple[Request, ...]

    def decide(self, documents: Sequence[Mapping[str, Any]]) -> tuple[bool, list[Decision]]:
        """Whether the identity policy ``documents`` allow it, and IAM's decision on each alternative."""
        decisions = [evaluate(documents, request) for request in self.any_of]
        return any(d.allowed for d in decisions), decisions


Translate = Callable[[Call], list[Requirement]]
OPERATIONS: dict[str, Translate] = {}


def operation(action: str) -> Callable[[Translate], Translate]:
    """Register the translation of ``action``'s calls."""

    def register(translate: Translate) -> Translate:
        resource_types(action)  # KeyError unless the reference has the action
        OPERATIONS[action.lower()] = translate
        return translate

    return register


def requirements(call: Call) -> list[Requirement]:
    """What IAM must allow for ``call``; NotModelledError for an operation not in :data:`OPERATIONS`."""
    translate = OPERATIONS.get(call.action.lower())
    if translate is None:
        raise NotModelledError(
            f"{call.action} is not modelled in tests/authorization/calls.py: add the translation of its calls "
            "(resource types, ARN formats and condition keys from the Service Authorization Reference) to OPERATIONS"
        )
    return translate(call)


def denials(documents: Sequence[Mapping[str, Any]], call: Call) -> list[str]:
    """IAM's explanation of each requirement of ``call`` that the identity policy ``documents`` do not allow."""
    out: list[str] = []
    for requirement in requirements(call):
        allowed, decisions = requirement.decide(documents)
        if not allowed:
            out.append("\n  or: ".join(d.explain() for d in decisions))
    return out


def resource_of(action: str, arns: Sequence[str]) -> list[str]:
    """The resources IAM evaluates ``action`` on for a call naming ``arns`` (exceptions.effective_resource)."""
    if not arns:
        return ["*"]
    resource = effective_resource(action, arns)
    return [resource] if isinstance(resource, str) else resource


def on(call: Call, arns: Sequence[str] = (), context: Mapping[str, ContextValue] | None = None) -> list[Requirement]:
    """One requirement per resource IAM evaluates ``call.action`` on, each with the request ``context``."""
    return [Requirement((Request(call.action, r, dict(context or {})),)) for r in resource_of(call.action, arns)]


# ---- Amazon ECS ------------------------------------------------------------------------------------------------
# Reference: DescribeServices authorizes on the service type (arn:${Partition}:ecs:${Region}:${Account}:service/
# ${ClusterName}/${ServiceName}); ListServices lists no resource type ("*" only). Both list the condition key
# ecs:cluster (the ARN of the cluster the request names), which every such request carries.


def _cluster_arn(call: Call) -> str:
    cluster = str(call.params.get("cluster") or DEFAULT_CLUSTER)
    return cluster if cluster.startswith("arn:") else call.arn("ecs", f"cluster/{cluster}")


def _in_cluster(cluster_arn: str, kind: str, named: str) -> str:
    """A ``kind`` (service, task) named by ARN, or by name or id in ``cluster_arn``'s cluster (its region and
    account): ``arn:...:<kind>/<cluster>/<named>``."""
    if named.startswith("arn:"):
        return named
    prefix, _, cluster = cluster_arn.partition(":cluster/")
    return f"{prefix}:{kind}/{cluster}/{named}"


def _service_arn(cluster_arn: str, service: str) -> str:
    return _in_cluster(cluster_arn, "service", service)


@operation("ecs:DescribeServices")
def _describe_services(call: Call) -> list[Requirement]:
    cluster = _cluster_arn(call)
    services = [_service_arn(cluster, str(s)) for s in call.params.get("services") or []]
    return on(call, services, {"ecs:cluster": cluster})


@operation("ecs:ListServices")
def _list_services(call: Call) -> list[Requirement]:
    return on(call, context={"ecs:cluster": _cluster_arn(call)})


# Reference: ListServiceDeployments authorizes on the service type, the service the call names (by name in its
# cluster, or by ARN); DescribeServiceDeployments, ContinueServiceDeployment and StopServiceDeployment list the service
# and service-deployment types (arn:${Partition}:ecs:${Region}:${Account}:service-deployment/${ClusterName}/
# ${ServiceName}/${ServiceDeploymentId}), and the call names the service deployments. The CLI's operator policy
# (docs/cli.md) conditions on no key, so their condition keys are not modelled.


@operation("ecs:ListServiceDeployments")
def _list_service_deployments(call: Call) -> list[Requirement]:
    return on(call, [_service_arn(_cluster_arn(call), str(call.params["service"]))])


@operation("ecs:DescribeServiceDeployments")
def _describe_service_deployments(call: Call) -> list[Requirement]:
    return on(call, [str(arn) for arn in call.params.get("serviceDeploymentArns") or []])


@operation("ecs:ContinueServiceDeployment")
def _continue_service_deployment(call: Call) -> list[Requirement]:
    return on(call, [str(call.params["serviceDeploymentArn"])])


@operation("ecs:StopServiceDeployment")
def _stop_service_deployment(call: Call) -> list[Requirement]:
    return on(call, [str(call.params["serviceDeploymentArn"])])


# Reference: RunTask authorizes on the task-definition type (arn:${Partition}:ecs:${Region}:${Account}:task-definition/
# ${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}), the revision the call names, with the condition keys
# ecs:cluster and, with a capacity provider strategy, ecs:capacity-provider; and the ECS Developer Guide ("Task IAM
# role", "Task execution IAM role") requires iam:PassRole on the task's roles, which IAM evaluates with
# iam:PassedToService ecs-tasks.amazonaws.com. DescribeTasks and StopTask authorize on the task type (arn:...:task/
# ${ClusterName}/${TaskId}) with ecs:cluster; ListTasks lists only the container-instance type, which a call without
# containerInstance does not name ("*"), with ecs:cluster; DescribeTaskDefinition lists no resource type ("*");
# DescribeServiceRevisions lists the service and service-revision types, and the call names the revisions.


def _task_definition_arn(call: Call, named: str) -> str:
    """A revision named by ARN or by ``family:revision`` (a bare family is its latest ACTIVE revision, whose number
    only ECS knows: ``family:latest-of-<family>``)."""
    if named.startswith("arn:"):
        return named
    family, _, revision = named.partition(":")
    return call.arn("ecs", f"task-definition/{family}:{revision or f'latest-of-{family}'}")


def _task_arn(cluster_arn: str, task: str) -> str:
    return _in_cluster(cluster_arn, "task", task)


@operation("ecs:RunTask")
def _run_task(call: Call) -> list[Requirement]:
    cluster = _cluster_arn(call)
    definition = _task_definition_arn(call, str(call.params["taskDefinition"]))
    context: dict[str, ContextValue] = {"ecs:cluster": cluster}
    providers = [str(item["capacityProvider"]) for item in call.params.get("capacityProviderStrategy") or []]
    if providers:
        context["ecs:capacity-provider"] = providers
    family = definition.rsplit("/", 1)[-1].split(":", 1)[0]
    roles = call.task_roles.get(definition) or (
        call.arn("iam", f"role/task-role-of-{family}").replace(f":{call.region}:", "::"),
        call.arn("iam", f"role/execution-role-of-{family}").replace(f":{call.region}:", "::"),
    )
    passed = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    return [
        *on(call, [definition], context),
        *(Requirement((Request("iam:PassRole", role, passed),)) for role in roles),
    ]


@operation("ecs:ListTasks")
def _list_tasks(call: Call) -> list[Requirement]:
    if call.params.get("containerInstance"):
        raise NotModelledError("ecs:ListTasks of a container instance is not modelled (a Fargate task has none)")
    return on(call, context={"ecs:cluster": _cluster_arn(call)})


@operation("ecs:DescribeTasks")
def _describe_tasks(call: Call) -> list[Requirement]:
    cluster = _cluster_arn(call)
    return on(call, [_task_arn(cluster, str(t)) for t in call.params.get("tasks") or []], {"ecs:cluster": cluster})


@operation("ecs:StopTask")
def _stop_task(call: Call) -> list[Requirement]:
    cluster = _cluster_arn(call)
    return on(call, [_task_arn(cluster, str(call.params["task"]))], {"ecs:cluster": cluster})


@operation("ecs:DescribeTaskDefinition")
def _describe_task_definition(call: Call) -> list[Requirement]:
    return on(call)


@operation("ecs:DescribeServiceRevisions")
def _describe_service_revisions(call: Call) -> list[Requirement]:
    return on(call, [str(arn) for arn in call.params.get("serviceRevisionArns") or []])


# ---- AWS CodeDeploy --------------------------------------------------------------------------------------------
# Reference: ListDeployments, CreateDeployment, GetDeployment and BatchGetDeployments authorize on the deploymentgroup
# type (arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName});
# StopDeployment, ContinueDeployment and PutLifecycleEventHookExecutionStatus list no resource type, so the
# reference's answer is "*" (exceptions.py says where AWS behaves otherwise). The calls on a deployment name only its
# id: the resource is the deployment's group (Call.deployment_groups). CodeDeploy's actions list no service condition keys.


def _group_arn(call: Call, application: str, group: str) -> str:
    return call.arn("codedeploy", f"deploymentgroup:{application}/{group}")


def _named_group(call: Call) -> tuple[str, str]:
    application, group = call.params.get("applicationName"), call.params.get("deploymentGroupName")
    if not application or not group:
        # CodeDeploy permissions reference, footnote 2: ListDeployments on a group ARN is valid only with a group.
        raise NotModelledError(f"{call.action} without applicationName and deploymentGroupName is not modelled")
    return str(application), str(group)


def _group_of(call: Call, deployment_id: str) -> str:
    known = call.deployment_groups.get(deployment_id)
    application, group = known or (f"application-of-{deployment_id}", f"group-of-{deployment_id}")
    return _group_arn(call, application, group)


@operation("codedeploy:ListDeployments")
def _list_deployments(call: Call) -> list[Requirement]:
    return on(call, [_group_arn(call, *_named_group(call))])


@operation("codedeploy:CreateDeployment")
def _create_deployment(call: Call) -> list[Requirement]:
    """CreateDeployment on the group, and (CodeDeploy User Guide, "CodeDeploy permissions reference", footnote 1)
    "GetDeploymentConfig permissions for the deployment configuration and GetApplicationRevision or
    RegisterApplicationRevision permissions for the application revision"."""
    application, group = _named_group(call)
    config = call.params.get("deploymentConfigName") or call.deployment_config or f"configuration-of-{group}"
    revision = call.arn("codedeploy", f"application:{application}")

    def request(action: str, arn: str) -> Request:
        [resource] = resource_of(action, [arn])
        return Request(action, resource)

    return [
        *on(call, [_group_arn(call, application, group)]),
        Requirement((request("codedeploy:GetDeploymentConfig", call.arn("codedeploy", f"deploymentconfig:{config}")),)),
        Requirement(
            (
                request("codedeploy:GetApplicationRevision", revision),
                request("codedeploy:RegisterApplicationRevision", revision),
            )
        ),
    ]


@operation("codedeploy:GetDeployment")
def _get_deployment(call: Call) -> list[Requirement]:
    return on(call, [_group_of(call, str(call.params["deploymentId"]))])


@operation("codedeploy:BatchGetDeployments")
def _batch_get_deployments(call: Call) -> list[Requirement]:
    return on(call, [_group_of(call, str(d)) for d in call.params.get("deploymentIds") or []])


@operation("codedeploy:StopDeployment")
def _stop_deployment(call: Call) -> list[Requirement]:
    return on(call, [_group_of(call, str(call.params["deploymentId"]))])


@operation("codedeploy:ContinueDeployment")
def _continue_deployment(call: Call) -> list[Requirement]:
    return on(call, [_group_of(call, str(call.params["deploymentId"]))])


@operation("codedeploy:PutLifecycleEventHookExecutionStatus")
def _put_hook_status(call: Call) -> list[Requirement]:
    return on(call, [_group_of(call, str(call.params["deploymentId"]))])


# ---- AWS Step Functions ----------------------------------------------------------------------------------------
# Reference: StartExecution authorizes on the stateMachine type (arn:${Partition}:states:${Region}:${Account}:
# stateMachine:${StateMachineName}), the ARN the call names.


@operation("states:StartExecution")
def _start_execution(call: Call) -> list[Requirement]:
    return on(call, [str(call.params["stateMachineArn"])])


# ---- Amazon CloudWatch -----------------------------------------------------------------------------------------
# Reference: DescribeAlarms authorizes on the alarm type (arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:
# ${AlarmName}): each alarm the call names; without AlarmNames it names none ("*"). GetMetricData lists the dataset
# type, which a query of metrics does not name: "*" (the library's grant, deployment_trigger.py, says the same).


@operation("cloudwatch:DescribeAlarms")
def _describe_alarms(call: Call) -> list[Requirement]:
    return on(call, [call.arn("cloudwatch", f"alarm:{name}") for name in call.params.get("AlarmNames") or []])


@operation("cloudwatch:GetMetricData")
def _get_metric_data(call: Call) -> list[Requirement]:
    return on(call)


# ---- Elastic Load Balancing v2 ---------------------------------------------------------------------------------
# Reference: DescribeListeners and DescribeRules list no resource type ("*" only); ModifyRule authorizes on the
# listener-rule/app and listener-rule/net types (arn:${Partition}:elasticloadbalancing:${Region}:${Account}:
# listener-rule/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}/${ListenerRuleId}), the RuleArn it names.


@operation("elasticloadbalancing:DescribeListeners")
def _describe_listeners(call: Call) -> list[Requirement]:
    return on(call)


@operation("elasticloadbalancing:DescribeRules")
def _describe_rules(call: Call) -> list[Requirement]:
    return on(call)


@operation("elasticloadbalancing:ModifyRule")
def _modify_rule(call: Call) -> list[Requirement]:
    return on(call, [str(call.params["RuleArn"])])


# ---- Amazon EC2 ------------------------------------------------------------------------------------------------
# Reference: DescribeSubnets and DescribeNetworkInterfaces list no resource type ("*" only).


@operation("ec2:DescribeSubnets")
def _describe_subnets(call: Call) -> list[Requirement]:
    return on(call)


@operation("ec2:DescribeNetworkInterfaces")
def _describe_network_interfaces(call: Call) -> list[Requirement]:
    return on(call)


# ---- Amazon CloudWatch Logs ------------------------------------------------------------------------------------
# Reference: FilterLogEvents authorizes on the log-group type (arn:${Partition}:logs:${Region}:${Account}:log-group:
# ${LogGroupName}), the group the call names by logGroupName or logGroupIdentifier (its name or ARN; the ARN
# DescribeLogGroups and CloudFormation's Arn attribute give ends in ":*", which the reference's format has not).


@operation("logs:FilterLogEvents")
def _filter_log_events(call: Call) -> list[Requirement]:
    named = str(call.params.get("logGroupIdentifier") or call.params.get("logGroupName") or "")
    if not named:
        raise NotModelledError("logs:FilterLogEvents without a log group is not modelled")
    arn = named.removesuffix(":*") if named.startswith("arn:") else call.arn("logs", f"log-group:{named}")
    return on(call, [arn])


# ---- AWS Systems Manager -------------------------------------------------------------------------------------
# Reference: GetCalendarState authorizes on the document type (arn:${Partition}:ssm:${Region}:${Account}:document/
# ${DocumentName}): each calendar the call names, a name being the caller's account and Region's document, an ARN
# (a calendar shared from another account) itself. It lists no service condition keys for the action.


@operation("ssm:GetCalendarState")
def _get_calendar_state(call: Call) -> list[Requirement]:
    names = [str(name) for name in call.params.get("CalendarNames") or []]
    return on(call, [name if name.startswith("arn:") else call.arn("ssm", f"document/{name}") for name in names])


# ---- AWS Lambda ------------------------------------------------------------------------------------------------
# Reference: InvokeFunction authorizes on the function type (arn:${Partition}:lambda:${Region}:${Account}:function:
# ${FunctionName}), the function FunctionName names: a name, a partial ARN (account:function:name) or an ARN, with or
# without a qualifier (Invoke API reference), a qualified ARN being the function's version or alias.


@operation("lambda:InvokeFunction")
def _invoke_function(call: Call) -> list[Requirement]:
    named = str(call.params["FunctionName"])
    if named.startswith("arn:"):
        arn = named
    elif ":function:" in named:
        account, _, rest = named.partition(":function:")
        arn = f"arn:{call.partition}:lambda:{call.region}:{account}:function:{rest}"
    else:
        arn = call.arn("lambda", f"function:{named}")
    qualifier = call.params.get("Qualifier")
    return on(call, [f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn])


# ---- AWS CloudFormation ------------------------------------------------------------------------------------------
# Reference: DescribeStackResources authorizes on the stack type (arn:${Partition}:cloudformation:${Region}:${Account}:
# stack/${StackName}/${Id}). The call may name the stack by name; IAM sees its ARN, whose id (a UUID) only
# CloudFormation knows: a policy names it with a wildcard, and here it is ``id-of-<name>``.


@operation("cloudformation:DescribeStackResources")
def _describe_stack_resources(call: Call) -> list[Requirement]:
    name = str(call.params.get("StackName") or "")
    if not name:
        raise NotModelledError("DescribeStackResources by PhysicalResourceId is not modelled")
    return on(call, [name if name.startswith("arn:") else call.arn("cloudformation", f"stack/{name}/id-of-{name}")])


# ---- which role makes which call -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """An IAM action a handler's role needs: the handler module that calls it, under which engines."""

    action: str
    handler: str
    engines: tuple[str, ...] = BOTH


_LIVE_LOOKUP = (
    Operation("elasticloadbalancing:DescribeListeners", "live_lookup.py"),
    Operation("elasticloadbalancing:DescribeRules", "live_lookup.py"),
    Operation("ecs:ListServices", "live_lookup.py"),
    Operation("ecs:DescribeServices", "live_lookup.py"),
)
_REPORT = Operation("codedeploy:PutLifecycleEventHookExecutionStatus", "lifecycle_hook.py", (CODE_DEPLOY,))

# Role kind -> what its function's code calls, read from blue_green_ecs/handlers/ (one entry per action and module).
ROLE_OPERATIONS: dict[str, tuple[Operation, ...]] = {
    # The provider function of Custom::BlueGreenEcsDeployment and Custom::BlueGreenEcsLiveState
    # (BlueGreenEcsDeploymentTriggerHandlerRole): only the live-state lookup runs under ECS_NATIVE.
    "deployment_trigger": (
        Operation("states:StartExecution", "custom_resource.py", (CODE_DEPLOY,)),
        Operation("codedeploy:ListDeployments", "live_state.py", (CODE_DEPLOY,)),
        Operation("codedeploy:BatchGetDeployments", "live_state.py", (CODE_DEPLOY,)),
        Operation("ecs:DescribeServices", "live_state.py", (CODE_DEPLOY,)),
        Operation("codedeploy:GetDeployment", "deployment.py", (CODE_DEPLOY,)),
        Operation("codedeploy:CreateDeployment", "deployment.py", (CODE_DEPLOY,)),
        Operation("codedeploy:StopDeployment", "deployment.py", (CODE_DEPLOY,)),
        Operation("cloudwatch:DescribeAlarms", "rollback_reason.py", (CODE_DEPLOY,)),
        Operation("cloudwatch:GetMetricData", "rollback_reason.py", (CODE_DEPLOY,)),
        Operation("logs:FilterLogEvents", "hook_reason.py", (CODE_DEPLOY,)),
        *_LIVE_LOOKUP,
    ),
    # The pre-flight check (<service>PreflightRole).
    "preflight": (
        Operation("cloudwatch:DescribeAlarms", "preflight.py"),
        Operation("ecs:DescribeServices", "preflight.py"),
        Operation("ec2:DescribeSubnets", "preflight.py"),
        Operation("ssm:GetCalendarState", "preflight.py"),
        _REPORT,
    ),
    # The smoke test (<service>SmokeTestRole).
    "smoke_test": (Operation("ec2:DescribeNetworkInterfaces", "smoke_test.py"), _REPORT),
    # The test traffic router (<service>TestTrafficRouterRole).
    "test_traffic_router": (
        Operation("elasticloadbalancing:DescribeListeners", "test_traffic_router.py"),
        Operation("elasticloadbalancing:DescribeRules", "test_traffic_router.py"),
        Operation("elasticloadbalancing:ModifyRule", "test_traffic_router.py"),
        _REPORT,
    ),
    # The step analysis (<service>StepAnalysisRole).
    "step_analysis": (
        Operation("elasticloadbalancing:DescribeListeners", "step_analysis.py"),
        Operation("elasticloadbalancing:DescribeRules", "step_analysis.py"),
        Operation("cloudwatch:GetMetricData", "step_analysis.py"),
        _REPORT,
    ),
    # The migration task (<service>MigrationRole): it reads the new task definition from the deployment (CodeDeploy's
    # AppSpec, ECS's target service revision), runs it once, watches it and, under CODE_DEPLOY, hands over to a fresh
    # invocation of itself before its own timeout.
    "migration": (
        Operation("codedeploy:GetDeployment", "migration.py", (CODE_DEPLOY,)),
        Operation("ecs:DescribeServiceRevisions", "migration.py", (ECS_NATIVE,)),
        Operation("ecs:ListTasks", "migration.py"),
        Operation("ecs:DescribeTasks", "migration.py"),
        Operation("ecs:RunTask", "migration.py"),
        Operation("ecs:StopTask", "migration.py"),
        Operation("ecs:DescribeTaskDefinition", "migration.py"),
        Operation("lambda:InvokeFunction", "migration.py", (CODE_DEPLOY,)),
        _REPORT,
    ),
    # A user's hook function decorated with lifecycle_hook.codedeploy_hook (its own role, granted the report by
    # the CodeDeploy engine); under ECS_NATIVE the decorator makes no call.
    "lifecycle_hook": (_REPORT,),
}


def operations_of(kind: str, engine: str) -> list[str]:
    """The IAM actions the function of role ``kind`` calls under ``engine``, in :data:`ROLE_OPERATIONS` order."""
    return list(dict.fromkeys(o.action for o in ROLE_OPERATIONS[kind] if engine in o.engines))


# (role kind, engine) -> (the session fixture (tests/conftest.py) of a configuration that has the role, the role's logical id without
# its hash). Each configuration turns on what the tests exercise: both pre-flight checks, a test traffic header.
ROLE_IN_TEMPLATE: dict[tuple[str, str], tuple[str, str]] = {
    ("deployment_trigger", CODE_DEPLOY): ("existing_cluster", "BlueGreenEcsDeploymentTriggerHandlerRole"),
    ("deployment_trigger", ECS_NATIVE): ("sample_ecs", "BlueGreenEcsDeploymentTriggerHandlerRole"),
    ("preflight", CODE_DEPLOY): ("handler_roles", "DeployedPreflightRole"),
    ("preflight", ECS_NATIVE): ("handler_roles", "NativePreflightRole"),
    ("test_traffic_router", CODE_DEPLOY): ("existing_cluster", "WorkerTestTrafficRouterRole"),
    ("test_traffic_router", ECS_NATIVE): ("handler_roles", "NativeTestTrafficRouterRole"),
    ("smoke_test", CODE_DEPLOY): ("handler_roles", "DeployedSmokeTestRole"),
    ("smoke_test", ECS_NATIVE): ("handler_roles", "NativeSmokeTestRole"),
    ("lifecycle_hook", CODE_DEPLOY): ("handler_roles", "UserHookServiceRole"),
    ("step_analysis", CODE_DEPLOY): ("https", "ApiStepAnalysisRole"),
    ("step_analysis", ECS_NATIVE): ("handler_roles", "NativeStepAnalysisRole"),
    ("migration", CODE_DEPLOY): ("migration", "ApiMigrationRole"),
    ("migration", ECS_NATIVE): ("migration", "NativeMigrationRole"),
}
