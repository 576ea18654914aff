"""The built-in pre-flight check: a lifecycle hook that stops a deployment before any green task starts."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import jsii
from aws_cdk import Duration, IStableStringProducer, Lazy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import acknowledge_nag
from ..configuration.validation import check_int, check_strings, invalid, unresolved
from ..functions.library_function import FunctionLogSettings, library_function

if TYPE_CHECKING:
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs

# The largest subnet AWS allows is a /16.
_MAX_HEADROOM = 65_536
# handlers/preflight.py: three AWS calls and the report to CodeDeploy (defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES).
FUNCTION_TIMEOUT = Duration.minutes(defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES)
# ... and one GetCalendarState call per change calendar, each over within about 75 s (HOOK_CLIENT_CONFIG).
CALL_SECONDS = 75
# At most this many calendars: with one call each, the function's timeout stays within 12 of Lambda's 15 minutes.
MAX_CHANGE_CALENDARS = 5
# An SSM document's name (botocore's ssm model, shape DocumentName) and a document's ARN (Service Authorization
# Reference, Systems Manager, resource type "document": arn:${Partition}:ssm:${Region}:${Account}:document/...).
_DOCUMENT_NAME = re.compile(r"^[a-zA-Z0-9_\-.]{3,128}$")
_DOCUMENT_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:document/(?P<name>[a-zA-Z0-9_\-.]{3,128})$")


@dataclass(frozen=True)
class PreflightCheck:
    """The built-in pre-flight check: before any green task starts, fail fast with the reason.

    Runs as the BeforeInstall hook (ECS_NATIVE: at the ``PRE_SCALE_UP`` stage), in a Lambda function
    outside the VPC that calls the CloudWatch, ECS and EC2 APIs. A failure stops the deployment before
    green exists; the function's log, and under ECS_NATIVE the failed stack update, say why.

    :param check_alarms: fail when a rollback alarm (built-in, ``alarms``, or added later with
        ``add_rollback_alarm``) is already in ALARM: the deployment could only roll back. OK and
        INSUFFICIENT_DATA pass. Default: true.
    :param check_ip_addresses: fail when the task subnets together have fewer free IP addresses
        than green needs: it runs at full size next to blue, one address per task (the service's
        desired count), plus ``ip_address_headroom``. Default: true.
    :param ip_address_headroom: free addresses to keep beyond green's tasks (tasks that auto scaling
        adds during the deployment, other services in the same subnets), 0-65536. Default: 0.
    :param change_calendars: freeze windows: fail while any of these AWS Systems Manager Change Calendars
        is CLOSED (``ssm:GetCalendarState``; a calendar open by default is closed during its events, one
        closed by default is open only during them), naming each closed calendar and when it next opens.
        Each is a calendar's name (a document of this account and Region) or its document ARN
        (``arn:aws:ssm:<region>:<account>:document/<name>``: a calendar shared from another account); a token is
        taken as a name (``ssm.CfnDocument.ref``). At most 5. A calendar that cannot be read (deleted, not shared)
        fails the check. The function's role may read exactly these calendars. Default: none.
    """

    check_alarms: bool = True
    check_ip_addresses: bool = True
    ip_address_headroom: int = 0
    change_calendars: Sequence[str] | None = None

    def validate(self) -> None:
        """Reject options the check could not run with."""
        for name in ("check_alarms", "check_ip_addresses"):
            if not isinstance(getattr(self, name), bool):
                raise invalid(f"preflight_check.{name}", getattr(self, name), "use True or False.")
        check_strings("preflight_check.change_calendars", self.change_calendars)
        if not (self.check_alarms or self.check_ip_addresses or self.change_calendars):
            raise invalid(
                "preflight_check",
                "PreflightCheck(check_alarms=False, check_ip_addresses=False)",
                "it would check nothing; turn one check on, give change_calendars, or drop preflight_check.",
            )
        check_int("preflight_check.ip_address_headroom", self.ip_address_headroom, minimum=0, maximum=_MAX_HEADROOM)
        self._validate_calendars()

    def _validate_calendars(self) -> None:
        calendars = list(self.change_calendars or ())
        if len(calendars) > MAX_CHANGE_CALENDARS:
            raise invalid(
                "preflight_check.change_calendars",
                calendars,
                f"give at most {MAX_CHANGE_CALENDARS} change calendars (the check asks each one in turn, within "
                "the function's timeout); combine freeze windows as events of fewer calendars.",
            )
        for calendar in calendars:
            if not isinstance(calendar, str) or unresolved(calendar):
                continue
            if not (_DOCUMENT_NAME.match(calendar) or _DOCUMENT_ARN.match(calendar)):
                raise invalid(
                    "preflight_check.change_calendars",
                    calendar,
                    "give a change calendar's name (3-128 letters, digits, '_', '-' or '.') or its document ARN "
                    "(arn:aws:ssm:<region>:<account>:document/<name>).",
                )
        if len(set(calendars)) != len(calendars):
            raise invalid("preflight_check.change_calendars", calendars, "name each calendar once.")

    def calendar_arns(self, stack: Stack) -> list[str]:
        """The document ARN of each change calendar: a name is this stack's account and Region's document."""
        return [
            calendar
            if calendar.startswith("arn:")
            else stack.format_arn(service="ssm", resource="document", resource_name=calendar)
            for calendar in self.change_calendars or ()
        ]


class PreflightSettings(FunctionLogSettings, Protocol):
    """What a service's pre-flight function is made from (the service's props are one)."""

    @property
    def preflight_check(self) -> PreflightCheck | None: ...


class PreflightCheckFunction(Construct):
    """The pre-flight check's Lambda function for one service, with its own role and log group."""

    @classmethod
    def for_service(
        cls,
        scope: Construct,
        settings: PreflightSettings,
        *,
        service: ecs.FargateService,
        subnet_ids: Sequence[str],
        alarm_names: Callable[[], list[str]],
        service_names_its_hooks: bool,
    ) -> lambda_.Function | None:
        """The function of a service's pre-flight check (construct id ``Preflight``), ``None`` without one."""
        if settings.preflight_check is None:
            return None
        return cls(
            scope,
            "Preflight",
            options=settings.preflight_check,
            cluster=service.cluster,
            # Where the service names its hooks (ECS_NATIVE), the function names neither the service nor its
            # alarms (a cycle): ECS's event names the service, and the service its rollback alarms.
            service_arn=None if service_names_its_hooks else service.service_arn,
            subnet_ids=subnet_ids,
            alarm_names=None if service_names_its_hooks else alarm_names,
            log_retention=settings.log_retention,
            log_encryption_key=settings.log_encryption_key,
        ).function

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        options: PreflightCheck,
        cluster: ecs.ICluster,
        service_arn: str | None,
        subnet_ids: Sequence[str],
        alarm_names: Callable[[], list[str]] | None,
        log_retention: logs.RetentionDays,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        environment: dict[str, str] = {"CLUSTER_ARN": cluster.cluster_arn}
        if service_arn is not None:
            environment["SERVICE_ARN"] = service_arn
        # The read calls each check needs, and why each has no narrower resource than "*".
        reads: list[tuple[iam.PolicyStatement, str]] = []
        # ... and those on named resources.
        scoped: list[iam.PolicyStatement] = []
        if options.check_alarms:
            if alarm_names is None:
                environment["ALARM_NAMES_FROM_SERVICE"] = "true"
            else:
                # Read at synthesis, so alarms added with add_rollback_alarm after construction are in it.
                environment["ALARM_NAMES"] = Lazy.string(_JsonList(Stack.of(self), alarm_names))
            # DescribeAlarms returns composite alarms only to a permission on "*" (CloudWatch API reference,
            # DescribeAlarms), and a rollback alarm may be composite.
            reads.append(
                (
                    iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]),
                    "cloudwatch:DescribeAlarms returns composite alarms only with Resource '*'",
                )
            )
        if options.check_ip_addresses:
            environment["SUBNET_IDS"] = ",".join(subnet_ids)
            environment["IP_ADDRESS_HEADROOM"] = str(options.ip_address_headroom)
            reads.append(
                (
                    iam.PolicyStatement(actions=["ec2:DescribeSubnets"], resources=["*"]),
                    "ec2:DescribeSubnets has no resource-level permissions",
                )
            )
        if options.change_calendars:
            # A change calendar is an SSM document: GetCalendarState is authorized on each one's document ARN
            # (Service Authorization Reference, Systems Manager: GetCalendarState, resource type "document"),
            # a calendar shared from another account included.
            environment["CHANGE_CALENDARS"] = Stack.of(self).to_json_string(list(options.change_calendars))
            scoped.append(
                iam.PolicyStatement(actions=["ssm:GetCalendarState"], resources=options.calendar_arns(Stack.of(self)))
            )
        if options.check_ip_addresses or (options.check_alarms and alarm_names is None):
            reads.append(
                (
                    iam.PolicyStatement(
                        actions=["ecs:DescribeServices"],
                        resources=["*"],
                        # The cluster's services: under ECS_NATIVE the service cannot be named (see for_service).
                        conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
                    ),
                    "ecs:DescribeServices is limited to the service's cluster by the ecs:cluster condition (under "
                    "ECS_NATIVE the service names this hook, which so cannot name the service)",
                )
            )
        made = library_function(
            self,
            handler="preflight.handler",
            description="blue-green-ecs pre-flight check: rollback alarms and free IP addresses before green starts",
            role_description="blue-green-ecs pre-flight check before green tasks start",
            timeout=function_timeout(options),
            memory_size=256,
            environment=environment,
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
        )
        self.function: lambda_.Function = made.function
        for statement in [*(statement for statement, _ in reads), *scoped]:
            made.role.add_to_principal_policy(statement)
        reasons = "; ".join(reason for _, reason in reads)
        if reads:
            acknowledge_nag(made.role, "IAM5[Resource::*]", f"Read calls of the pre-flight check: {reasons}.")


def function_timeout(options: PreflightCheck) -> Duration:
    """The pre-flight function's timeout: the built-in hooks' one, and a call's time per change calendar."""
    extra = math.ceil(CALL_SECONDS * len(options.change_calendars or ()) / 60)
    return Duration.minutes(defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES + extra)


@jsii.implements(IStableStringProducer)
class _JsonList:
    """A list known only at synthesis, as a JSON array string (its items may be tokens, such as alarm names)."""

    def __init__(self, stack: Stack, produce: Callable[[], list[str]]) -> None:
        self._stack = stack
        self._produce = produce

    def produce(self) -> str:
        return self._stack.to_json_string(self._produce())
