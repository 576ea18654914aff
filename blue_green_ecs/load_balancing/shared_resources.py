"""Resources the services of one stack share: the first service creates each, later ones reuse it.

None of these hold anything per service: an access-log bucket takes every load balancer's logs
under its own prefix, a CodeDeploy application is a namespace for deployment groups, and the
CodeDeploy and ECS infrastructure roles carry only AWS's managed service policies (plus the hook
invoke grants, which the stack's services would all need anyway). One of each per stack saves a
bucket, an application and a role for every further service: S3's default quota is 100 buckets
per account, and IAM's 1,000 roles.

Each is a child of the stack with a reserved construct id, so its logical id does not depend on
which service came first, and removing that service leaves the others' resources in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aws_cdk import Duration, Stack
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from ..configuration.validation import invalid
from .access_logs import access_logs_bucket, check_retention

T = TypeVar("T", bound=IConstruct)

ACCESS_LOGS_ID = "BlueGreenEcsAccessLogs"
APPLICATION_ID = "BlueGreenEcsApplication"
CODEDEPLOY_ROLE_ID = "BlueGreenEcsCodeDeployRole"
INFRASTRUCTURE_ROLE_ID = "BlueGreenEcsInfrastructureRole"


def stack_singleton(scope: Construct, construct_id: str, kind: type[T], create: Callable[[Stack, str], T]) -> T:
    """The child ``construct_id`` of ``scope``'s stack, created by ``create`` on first use."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if existing is None:
        return create(stack, construct_id)
    if not isinstance(existing, kind):
        raise TypeError(
            f"{existing.node.path} is not a {kind.__name__}; blue_green_ecs reserves the construct id "
            f"{construct_id!r} at stack level."
        )
    return existing


class SharedAccessLogs(Construct):
    """The stack's access-log bucket (see :func:`access_logs.access_logs_bucket`) and its retention."""

    def __init__(self, scope: Construct, construct_id: str, *, retention: Duration, created_by: str) -> None:
        super().__init__(scope, construct_id)
        self.retention = retention
        self.created_by = created_by
        self.bucket = access_logs_bucket(self, "Bucket", retention=retention)
        reason = "This bucket receives access logs; logging it too would need yet another bucket."
        acknowledge_nag(self.bucket, "S1", reason)
        skip_checkov(self.bucket, ("CKV_AWS_18", reason))

    @classmethod
    def of(cls, scope: Construct, *, retention: Duration) -> SharedAccessLogs:
        """The stack's bucket; a service asking for another retention than its creator is refused."""
        check_retention(retention)
        shared = stack_singleton(
            scope,
            ACCESS_LOGS_ID,
            cls,
            lambda stack, construct_id: cls(stack, construct_id, retention=retention, created_by=scope.node.path),
        )
        if not _same_duration(shared.retention, retention):
            raise invalid(
                "access_logs_retention",
                retention,
                f"the stack's shared access-log bucket keeps logs for {shared.retention.to_days()} days, as "
                f"{shared.created_by} asked; give every service of the stack the same retention, or pass "
                "access_logs_bucket to log elsewhere.",
            )
        return shared


def _same_duration(a: Duration, b: Duration) -> bool:
    if a.is_unresolved() or b.is_unresolved():
        return a is b
    return bool(a.to_seconds() == b.to_seconds())


def codedeploy_application(scope: Construct) -> codedeploy.EcsApplication:
    """The stack's CodeDeploy ECS application: one deployment group per service under it."""
    return stack_singleton(
        scope,
        APPLICATION_ID,
        codedeploy.EcsApplication,
        lambda stack, construct_id: codedeploy.EcsApplication(stack, construct_id),
    )


def codedeploy_role(scope: Construct) -> iam.Role:
    """The role CodeDeploy assumes for every deployment group of the stack."""
    return _service_role(
        scope,
        CODEDEPLOY_ROLE_ID,
        service="codedeploy.amazonaws.com",
        description="blue-green-ecs: CodeDeploy blue/green deployments of the stack's ECS services",
        # The limited policy: ECS task sets, listeners and rules, alarms. It passes only roles named
        # ecsTaskExecutionRole / ECSTaskExecution* and invokes only functions named CodeDeployHook_*, so each
        # service grants PassRole of its task and execution roles and the invocation of its hooks by ARN.
        # AWSCodeDeployRoleForECS would let CodeDeploy invoke every function, read every object and
        # publish to every topic in the account.
        managed_policy="AWSCodeDeployRoleForECSLimited",
        why_managed="AWS's limited service policy for CodeDeploy ECS blue/green (task sets, listeners, rules, "
        "alarms): AWS keeps it in step with what CodeDeploy calls; each service's task and execution roles (PassRole) "
        "and hooks are granted by their ARN on top of it.",
    )


def infrastructure_role(scope: Construct) -> iam.Role:
    """The ECS infrastructure role that shifts the listener rules of every ECS-native service of the stack."""
    return _service_role(
        scope,
        INFRASTRUCTURE_ROLE_ID,
        service="ecs.amazonaws.com",
        description="blue-green-ecs: lets ECS shift the listener rules between blue and green",
        managed_policy="AmazonECSInfrastructureRolePolicyForLoadBalancers",
        why_managed="AWS's policy for the ECS infrastructure role that shifts blue/green listener rules; AWS keeps "
        "it in step with what ECS calls.",
    )


def _service_role(
    scope: Construct, construct_id: str, *, service: str, description: str, managed_policy: str, why_managed: str
) -> iam.Role:
    """A stack's role for an AWS service, with AWS's managed policy for the job (acknowledged, with why)."""

    def create(stack: Stack, role_id: str) -> iam.Role:
        role = iam.Role(
            stack,
            role_id,
            assumed_by=iam.ServicePrincipal(service),
            description=description,
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(managed_policy)],
        )
        acknowledge_nag(role, f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{managed_policy}]", why_managed)
        return role

    return stack_singleton(scope, construct_id, iam.Role, create)
