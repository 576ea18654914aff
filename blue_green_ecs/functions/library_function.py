"""One of the library's own Lambda functions (the smoke test, the pre-flight check, the test traffic router).

Each runs a handler of the shared ``handlers/`` asset with a role of its own, whose inline policies allow
writing to its own log group only (instead of the AWS managed basic-execution policy) plus what the
caller grants, and a log group kept for the service's retention under its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration.acknowledgements import acknowledge_lambda_functions, acknowledge_role_dependencies
from .lambda_code import HANDLER_RUNTIME, handlers_code
from .log_groups import log_group

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs


class FunctionLogSettings(Protocol):
    """Where a library function logs (the service's props are such settings)."""

    @property
    def log_retention(self) -> logs.RetentionDays: ...
    @property
    def log_encryption_key(self) -> kms.IKey | None: ...


@dataclass(frozen=True)
class LibraryFunction:
    """The function and its role (to which the caller adds the function's permissions)."""

    function: lambda_.Function
    role: iam.Role


def library_function(
    scope: Construct,
    *,
    handler: str,
    description: str,
    role_description: str,
    timeout: Duration,
    memory_size: int,
    environment: Mapping[str, str],
    log_retention: logs.RetentionDays,
    log_encryption_key: kms.IKey | None,
    in_vpc: bool = False,
    **vpc: Any,
) -> LibraryFunction:
    """The function ``Function`` with its role ``Role`` and log group ``Logs`` under ``scope``; ``vpc`` holds the
    function's VPC options (``vpc``, ``vpc_subnets``, ``security_groups``, ...) when ``in_vpc``."""
    function_logs = log_group(scope, "Logs", retention=log_retention, encryption_key=log_encryption_key)
    role = iam.Role(
        scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=role_description
    )
    function_logs.grant_write(role)
    function = lambda_.Function(
        scope,
        "Function",
        runtime=HANDLER_RUNTIME,
        handler=handler,
        code=handlers_code(),
        timeout=timeout,
        memory_size=memory_size,
        description=description,
        log_group=function_logs,
        role=role,
        environment=dict(environment),
        **vpc,
    )
    acknowledge_role_dependencies(scope)
    acknowledge_lambda_functions(scope, in_vpc=in_vpc)
    return LibraryFunction(function, role)
