"""The built-in migration task: before any green task starts, one task of the new task definition with a command
override (a database migration), whose non-zero exit fails the deployment.

The hook (``handlers/migration.py``) runs at ``BeforeInstall`` under CODE_DEPLOY and at ``PRE_SCALE_UP`` under
ECS_NATIVE: both come after the deployment names its new task definition (CodeDeploy's AppSpec, ECS's target service
revision) and before the replacement tasks start ("Use to run tasks before the replacement task set is created",
https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-ecs;
"The green service revision has not started",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html), so the new code never
runs against a schema it does not know. ``AfterInstall`` / ``POST_SCALE_UP`` would start green first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration import defaults, limits
from ..configuration.acknowledgements import acknowledge_nag
from ..configuration.validation import check_duration, check_strings, invalid, unresolved
from ..functions.library_function import FunctionLogSettings, library_function

if TYPE_CHECKING:
    from aws_cdk import aws_codedeploy as codedeploy
    from aws_cdk import aws_ecs as ecs

    from ..deployment.hooks import DeploymentHooks
    from ..deployment.preflight import PreflightCheck
    from ..engines import DeploymentEngine

# The AppSpec event it runs at (ECS_NATIVE: its stage, engines/ecs_native.py STAGES).
EVENT = "BeforeInstall"
# handlers/migration.py: the task may run this long at most (CodeDeploy waits an hour for a hook's report).
MAX_TIMEOUT_SECONDS = limits.MAX_MIGRATION_MINUTES * 60
DEFAULT_TIMEOUT = Duration.minutes(15)
# How often the hook looks at the task (ECS: the callBackDelay; CodeDeploy: the pause between looks).
POLL_SECONDS = 15
# Lambda allows 4 KB of environment variables in all; the ARNs, ids and the network take the rest.
MAX_CONFIGURATION_CHARACTERS = 2500
# CODE_DEPLOY: one invocation polls until a minute before its end, then invokes itself again (handlers/migration.py).
CODE_DEPLOY_FUNCTION_TIMEOUT = Duration.minutes(15)


@dataclass(frozen=True, kw_only=True)
class MigrationTask:
    """The built-in migration task: before green starts, one task of the new task definition runs ``command``.

    Runs as the BeforeInstall hook (ECS_NATIVE: at the ``PRE_SCALE_UP`` stage), once per deployment, in a Lambda
    function outside the VPC that starts the task with ``ecs:RunTask`` in the service's cluster, subnets and
    security groups (its capacity provider strategy and platform version), with ``command`` in place of the
    container's command, waits for it to stop and fails the deployment when the container exits non-zero or the
    task never ran, with the task's CloudWatch Logs link in the reason. Blue keeps serving meanwhile and afterwards
    (the migration must suit the old version too), and nothing undoes the migration when the deployment rolls back.

    :param command: the container's command for the task, e.g. ``["python", "manage.py", "migrate"]``; the image's
        entry point stays. Required.
    :param environment: environment variables for the task, added to the container's own (a name given here wins).
        Default: none.
    :param timeout: how long the task may take from its start, 1-50 minutes in whole seconds; a task still running
        then is stopped and fails the deployment. Under CODE_DEPLOY it counts towards ``deployment_timeout``'s
        default. Default: 15 minutes.
    :param container_name: the container whose command is replaced. Default: the service's ``container_name``.
    """

    command: Sequence[str]
    environment: Mapping[str, str] | None = None
    timeout: Duration = field(default_factory=lambda: DEFAULT_TIMEOUT)
    container_name: str | None = None

    def validate(self) -> None:
        """Reject what the handler could not run with."""
        check_strings("migration_task.command", self.command)
        if not unresolved(self.command) and not self.command:
            raise invalid("migration_task.command", list(self.command), 'give the command, e.g. ["./migrate"].')
        if not isinstance(self.environment, Mapping | None):
            raise TypeError(f"Invalid migration_task.environment={self.environment!r}: give a dict of strings.")
        for name, value in (self.environment or {}).items():
            if not isinstance(name, str) or not isinstance(value, str) or not name:
                raise invalid("migration_task.environment", {name: value}, "map names to string values.")
        if not isinstance(self.timeout, Duration):
            raise TypeError(
                f"Invalid migration_task.timeout={self.timeout!r}: use a Duration, e.g. Duration.minutes(15) (a number "
                "has no unit)."
            )
        check_duration("migration_task.timeout", self.timeout, minimum_seconds=60, maximum_seconds=MAX_TIMEOUT_SECONDS)
        size = len(self.configuration_text())
        if size > MAX_CONFIGURATION_CHARACTERS:
            raise invalid(
                "migration_task.command",
                f"<command and environment: {size} characters as JSON>",
                f"they go to the function's environment, which Lambda limits to 4 KB: keep them under "
                f"{MAX_CONFIGURATION_CHARACTERS} characters (read long settings from a file or a parameter).",
            )

    def configuration_text(self) -> str:
        """The command and environment as the handler reads them (for the size check: tokens count as written)."""
        return json.dumps([list(self.command), dict(self.environment or {})])


def check_migration_task(
    task: MigrationTask | None, *, hooks: DeploymentHooks | None, preflight: PreflightCheck | None
) -> None:
    """The task's own checks, and the lifecycle event it takes (one function per event)."""
    if task is None:
        return
    if not isinstance(task, MigrationTask):
        raise TypeError(f"Invalid migration_task={task!r}: use MigrationTask(command=[...]) to turn it on, or None.")
    task.validate()
    # CodeDeploy's AppSpec names one function per event ("An AWS Lambda hook is one Lambda function", AppSpec
    # 'hooks' section for an Amazon ECS deployment); ECS takes several Lambda hooks at one stage but documents no
    # order among them, so there the pre-flight check would not gate the migration either.
    if preflight is not None:
        raise invalid(
            "migration_task",
            "MigrationTask(...)",
            "preflight_check is also set and both run at BeforeInstall (ECS_NATIVE: PRE_SCALE_UP), before green "
            "starts; a deployment runs one function per lifecycle event (CodeDeploy's AppSpec names one per event, "
            "and ECS documents no order among hooks of one stage, so the check could not gate the migration). Drop "
            "one of the two.",
        )
    if hooks is not None and hooks.before_install is not None:
        raise invalid(
            "migration_task",
            "MigrationTask(...)",
            "hooks.before_install is also set and a deployment runs one function per lifecycle event (CodeDeploy's "
            "AppSpec names one per event); move your function to hooks.after_install, or drop one of the two.",
        )


class MigrationSettings(FunctionLogSettings, Protocol):
    """What a service's migration function is made from (the service's props are one)."""

    @property
    def migration_task(self) -> MigrationTask | None: ...
    @property
    def engine(self) -> DeploymentEngine: ...
    @property
    def container_name(self) -> str: ...
    @property
    def platform_version(self) -> ecs.FargatePlatformVersion | None: ...
    @property
    def capacity_provider_strategies(self) -> Sequence[ecs.CapacityProviderStrategy] | None: ...


class MigrationTaskFunction(Construct):
    """The migration task's Lambda function for one service, with its own role and log group.

    Attributes: ``function`` and ``role``; ``allow_deployment_group`` (the CodeDeploy engine calls it) lets the
    function read the deployment's AppSpec.
    """

    @classmethod
    def for_service(
        cls,
        scope: Construct,
        settings: MigrationSettings,
        *,
        subnet_ids: Sequence[str],
        assign_public_ip: bool,
        service: ecs.FargateService,
    ) -> MigrationTaskFunction | None:
        """The function of a service's migration task (construct id ``Migration``), ``None`` without one."""
        if settings.migration_task is None:
            return None
        return cls(
            scope,
            "Migration",
            settings=settings,
            task=settings.migration_task,
            subnet_ids=subnet_ids,
            assign_public_ip=assign_public_ip,
            service=service,
        )

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MigrationSettings,
        task: MigrationTask,
        subnet_ids: Sequence[str],
        assign_public_ip: bool,
        service: ecs.FargateService,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        code_deploy = settings.engine.value == "CODE_DEPLOY"
        cluster = service.cluster
        task_definition = service.task_definition
        # Where green runs: the service's own subnets, security groups, public IP, platform and capacity providers
        # (what the AppSpec deploys under CODE_DEPLOY). The service's own ARN is not named: under ECS_NATIVE the
        # service names its hooks (a cycle), and the event names the deployment.
        strategies = [
            {key: value for key, value in item.items() if value is not None}
            for item in (
                {"capacityProvider": s.capacity_provider, "weight": s.weight, "base": s.base}
                for s in settings.capacity_provider_strategies or ()
            )
        ]
        environment = {
            "CLUSTER": cluster.cluster_arn,
            "SUBNETS": ",".join(subnet_ids),
            "SECURITY_GROUPS": ",".join(group.security_group_id for group in service.connections.security_groups),
            "ASSIGN_PUBLIC_IP": "ENABLED" if assign_public_ip else "DISABLED",
            "PLATFORM_VERSION": (settings.platform_version.value if settings.platform_version else "LATEST"),
            "CONTAINER_NAME": task.container_name or settings.container_name,
            "COMMAND": stack.to_json_string(list(task.command)),
            "ENVIRONMENT": stack.to_json_string(dict(task.environment or {})),
            "TIMEOUT_SECONDS": str(int(task.timeout.to_seconds())),
            "POLL_SECONDS": str(POLL_SECONDS),
        }
        if strategies:
            environment["CAPACITY_PROVIDER_STRATEGY"] = stack.to_json_string(strategies)
        made = library_function(
            self,
            handler="migration.handler",
            description="blue-green-ecs migration task: the new task definition's one-off command before green starts",
            role_description="blue-green-ecs migration task of the new task definition",
            # ECS_NATIVE: each invocation looks once and answers IN_PROGRESS; CODE_DEPLOY: it polls, then hands over.
            timeout=CODE_DEPLOY_FUNCTION_TIMEOUT
            if code_deploy
            else Duration.minutes(defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES),
            memory_size=256,
            environment=environment,
            log_retention=settings.log_retention,
            log_encryption_key=settings.log_encryption_key,
        )
        self.function: lambda_.Function = made.function
        self.role: iam.Role = made.role
        in_cluster = {"ArnEquals": {"ecs:cluster": cluster.cluster_arn}}
        revision_arns = stack.format_arn(
            service="ecs", resource="service-revision", resource_name=f"{cluster.cluster_name}/*"
        )
        # Service Authorization Reference, Amazon ECS: RunTask authorizes on the task-definition type, each revision
        # ARN (task-definition/<family>:<revision>): every revision of the service's family, as the deployment's new
        # one is not known yet; in this cluster only (ecs:cluster).
        family = task_definition.family
        revisions = stack.format_arn(service="ecs", resource="task-definition", resource_name=f"{family}:*")
        made.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecs:RunTask"], resources=[revisions], conditions=in_cluster)
        )
        # RunTask passes the task definition's roles to ECS tasks (ECS Developer Guide, "Task IAM role": iam:PassRole).
        passed = [r.role_arn for r in (task_definition.task_role, task_definition.execution_role) if r is not None]
        made.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=passed,
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        # DescribeTasks and StopTask authorize on the task type (task/<cluster>/<id>): the cluster's tasks.
        tasks = stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster.cluster_name}/*")
        made.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecs:DescribeTasks", "ecs:StopTask"], resources=[tasks], conditions=in_cluster)
        )
        # ListTasks lists only the container-instance type, which a Fargate listing names none of: "*", in this
        # cluster (ecs:cluster); DescribeTaskDefinition (the log link) lists no resource type.
        made.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecs:ListTasks"], resources=["*"], conditions=in_cluster)
        )
        made.role.add_to_principal_policy(iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition"], resources=["*"]))
        reason = (
            "Wildcards the migration needs: every revision of the service's task definition family (RunTask, in the "
            "service's cluster by ecs:cluster: the deployment's revision is not known before it starts), the "
            "cluster's tasks (DescribeTasks, StopTask) and, under ECS_NATIVE, its service revisions (the service "
            "names this hook and cannot be named back); ecs:ListTasks ('*', in the cluster by ecs:cluster) and "
            "ecs:DescribeTaskDefinition have no resource type a Fargate task's calls name."
        )
        wildcards = [revisions, tasks] if code_deploy else [revisions, tasks, revision_arns]
        for finding in ["*", *(_nag_resource(stack, arn) for arn in wildcards)]:
            acknowledge_nag(made.role, f"IAM5[Resource::{finding}]", reason)
        if code_deploy:
            # A migration may outlast one invocation (15 minutes): the function invokes itself again. In a policy of
            # its own: the function waits for its role's default policy, which so cannot name the function.
            iam.Policy(
                self,
                "InvokeSelf",
                roles=[made.role],
                statements=[
                    iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[made.function.function_arn])
                ],
            )
        else:
            # The target service revision names the task definition (service-revision/<cluster>/<service>/<id>): the
            # service itself cannot be named here (it names this hook).
            made.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["ecs:DescribeServiceRevisions"], resources=[revision_arns])
            )

    def allow_deployment_group(self, group: codedeploy.IEcsDeploymentGroup) -> None:
        """CODE_DEPLOY: read the deployment's AppSpec (``GetDeployment`` authorizes on the deployment group)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["codedeploy:GetDeployment"], resources=[group.deployment_group_arn])
        )


def _nag_resource(stack: Stack, arn: str) -> str:
    """``arn`` as cdk-nag names it in a finding: a Ref as ``<LogicalId>``, a GetAtt as ``<LogicalId.Attribute>``."""

    def render(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return "<{}.{}>".format(*value["Fn::GetAtt"])
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)

    return render(stack.resolve(arn))


def migration_minutes(task: MigrationTask | None) -> Duration | None:
    """The time a deployment may spend on the migration (``None`` without one or with a token)."""
    if task is None or Token.is_unresolved(task.timeout):
        return None
    return task.timeout
