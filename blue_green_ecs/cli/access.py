"""How ``status``, ``approve``, ``rollback`` and ``watch`` reach AWS (docs/cli.md): the service's names are checked
first, then the profile and the region are found, and botocore's errors about credentials are explained.

Names: ``--stack`` and ``--path`` (or ``--cluster`` and ``--service``) must be given, and are checked against the
app's cloud assembly when there is one (``assembly``), before anything else.

Region, the first of: ``--region``; the stack's region when its environment in the cloud assembly names one (CDK
deploys such a stack there, whatever the shell says); ``AWS_REGION``; ``AWS_DEFAULT_REGION``; the profile's
``region``. botocore (1.44) reads only the last two; ``AWS_REGION`` is the variable the AWS CLI v2 and the other
SDKs put first, so the command reads it itself.

Profile: ``--profile``, else ``AWS_PROFILE`` (botocore reads it), else the default one. Credentials are
botocore's chain for that profile; the command never reads them, it only says, when botocore finds none or
incomplete or expired ones, which ones and how to give them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import assembly
from .errors import CliError

CLIENTS = ("cloudformation", "codedeploy", "ecs", "cloudwatch")
GIVE_CREDENTIALS = (
    "Give them with --profile NAME (or AWS_PROFILE=NAME) naming a profile of ~/.aws/config (IAM Identity Center: "
    "`aws configure sso` once, then `aws sso login --profile NAME`), or with the environment variables "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)."
)
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
_REJECTED = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidSignatureException"}
)


@dataclass(frozen=True)
class Where:
    """The region and profile the clients use, and where each came from, for messages."""

    region: str
    region_source: str = ""
    profile: str | None = None  # None: the default profile
    profile_source: str = ""  # --profile or AWS_PROFILE

    @property
    def profile_text(self) -> str:
        """``profile 'dev' (--profile)`` or ``the default profile``."""
        return "the default profile" if self.profile is None else f"profile {self.profile!r} ({self.profile_source})"

    @property
    def region_text(self) -> str:
        """``region eu-west-1, from AWS_REGION``."""
        return f"region {self.region}" + (f", from {self.region_source}" if self.region_source else "")


def checked_names(args: Any) -> assembly.AssemblyStack | None:
    """The options that name the service, checked without AWS: given in pairs, and (``--stack``, ``--path``) known to
    the cloud assembly when there is one; returns its stack, ``None`` when nothing was checked."""
    stack, path, cluster, service = args.stack, args.path, args.cluster, args.service
    if cluster and service:
        return None
    if not (stack and path):
        raise CliError(_name_the_service(stack, path, cluster, service))
    given = getattr(args, "assembly", None)
    if getattr(args, "no_assembly", False):
        return None
    directory = Path(given) if given else assembly.default_directory()
    if not (directory / assembly.MANIFEST).is_file():
        if given:
            raise CliError(
                f"Invalid --assembly {given!r}: it holds no {assembly.MANIFEST}; pass the folder `cdk synth` writes "
                "(cdk.out, or cdk.json's output), or --no-assembly."
            )
        return None
    return assembly.check(directory, given or str(directory), stack, path)


def _name_the_service(stack: str, path: str, cluster: str, service: str) -> str:
    other = "or use --cluster CLUSTER --service SERVICE"
    if stack:
        return f"Name the service: --stack {stack!r} needs --path CONSTRUCT_PATH (e.g. --path {stack}/Web), {other}."
    if path:
        return f"Name the service: --path {path!r} needs --stack STACK (its name in CloudFormation), {other}."
    if cluster or service:
        named = f"--cluster {cluster!r} needs --service SERVICE"
        if not cluster:
            named = f"--service {service!r} needs --cluster CLUSTER"
        return f"Name the service: {named}, or use --stack STACK --path CONSTRUCT_PATH."
    return "Name the service: --stack STACK --path CONSTRUCT_PATH, or --cluster CLUSTER --service SERVICE."


def connect(
    args: Any, stack: assembly.AssemblyStack | None, environ: Mapping[str, str] = os.environ
) -> tuple[dict[str, Any], Where]:
    """boto3 clients in the region and profile the options, the cloud assembly and the environment give."""
    try:
        import boto3  # type: ignore[import-untyped,unused-ignore]
        from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
            InvalidRegionError,
            ProfileNotFound,
        )
        from botocore.session import Session  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise CliError("These commands need boto3: pip install 'blue-green-ecs[cli]'.") from exc
    profile = getattr(args, "profile", None) or None
    name, source = (profile, "--profile") if profile else (environ.get("AWS_PROFILE") or None, "AWS_PROFILE")
    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound as error:
        profiles = ", ".join(repr(p) for p in Session().available_profiles) or "none"
        raise CliError(
            f"Invalid profile {name!r} ({source}): no such profile in the AWS config and credentials files; the "
            f"profiles there are {profiles}. Use --profile NAME with one of them, or add it (`aws configure "
            f"--profile {name}`, or `aws configure sso --profile {name}`)."
        ) from error
    where = Where("", profile=name, profile_source=source if name else "")
    region, region_source = _region(args, stack, environ, session.region_name, where)
    where = Where(region, region_source, where.profile, where.profile_source)
    try:
        return {client: session.client(client, region_name=region) for client in CLIENTS}, where
    except InvalidRegionError as error:
        raise CliError(
            f"Invalid region {region!r} (from {region_source}): {error} Use a region code, such as eu-west-1."
        ) from error


def _region(
    args: Any,
    stack: assembly.AssemblyStack | None,
    environ: Mapping[str, str],
    profile_region: str | None,
    where: Where,
) -> tuple[str, str]:
    """The region and where it came from (the order of the module's docstring)."""
    if getattr(args, "region", None):
        return args.region, "--region"
    if stack is not None and stack.region:
        return stack.region, f"stack {stack.name!r} in the cloud assembly {stack.assembly}"
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(variable):
            return environ[variable], variable
    if profile_region:
        return profile_region, where.profile_text
    looked_for = f"stack {args.stack!r}" if args.stack and args.path else f"cluster {args.cluster!r}"
    configure = "aws configure set region REGION" + (f" --profile {where.profile}" if where.profile else "")
    profile = "the default profile" if where.profile is None else f"profile {where.profile!r}"
    raise CliError(
        f"No AWS region to look for {looked_for} in: give --region REGION, or set AWS_REGION (or AWS_DEFAULT_REGION), "
        f"or a region in {profile} (`{configure}`)."
    )


def given(clients: Mapping[str, Any]) -> Where:
    """What is known of clients made elsewhere (tests): their region."""
    return Where(str(next(iter(clients.values())).meta.region_name))


def aws_errors() -> tuple[type[Exception], ...]:
    """botocore's error types (none when botocore is not installed: then no AWS call was made)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return ()
    return BotoCoreError, ClientError


def explain(error: Exception, where: Where | None, args: Any) -> str:
    """botocore's error as the message: for credentials, which are missing or wrong and how to give them."""
    from botocore import exceptions  # type: ignore[import-untyped,unused-ignore]

    where = where or Where("unknown")
    profile = where.profile_text
    login = "aws sso login" + (f" --profile {where.profile}" if where.profile else "")
    details: dict[str, Any] = getattr(error, "kwargs", {})
    if isinstance(error, exceptions.NoCredentialsError):
        return (
            f"No AWS credentials for {profile} ({where.region_text}): botocore found none in the environment, the "
            f"shared credentials and config files or the instance metadata. {GIVE_CREDENTIALS}"
        )
    if isinstance(error, exceptions.PartialCredentialsError):
        provider, missing = details.get("provider"), details.get("cred_var")
        if provider == "env":
            return (
                f"Incomplete AWS credentials in env: {missing} is missing. Set it along with AWS_ACCESS_KEY_ID, or "
                "unset both and use --profile NAME."
            )
        return f"Incomplete AWS credentials of {profile} in {provider}: {missing} is missing. Add it, or use another."
    if isinstance(error, exceptions.SSOError) or (
        isinstance(error, exceptions.TokenRetrievalError) and "sso" in str(details.get("provider", "")).lower()
    ):
        reason = f" ({details['error_msg']})" if details.get("error_msg") else ""
        return (
            f"The IAM Identity Center (SSO) sign-in of {profile} is missing or has expired{reason}: run `{login}`, "
            "then this command again."
        )
    if isinstance(error, exceptions.CredentialRetrievalError):
        return (
            f"Could not get AWS credentials for {profile} from {details.get('provider')} ({details.get('error_msg')}). "
            "Check the profile's credential_process, role_arn or source_profile in ~/.aws/config. " + GIVE_CREDENTIALS
        )
    if isinstance(error, exceptions.EndpointConnectionError):
        return f"{error}: check {where.region_text} (a region that does not exist has no endpoint), and the network."
    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in _EXPIRED:
            return (
                f"The AWS credentials of {profile} have expired ({code}: {message}): get new ones (IAM Identity "
                f"Center: `{login}`; temporary keys: a new AWS_SESSION_TOKEN), then run this command again."
            )
        if code in _REJECTED:
            return (
                f"AWS rejected the credentials of {profile} in {where.region_text} ({code}: {message}). Check "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the profile's keys, or use another (--profile NAME)."
            )
        if error.operation_name == "DescribeStackResources" and "does not exist" in message:
            return (
                f"Invalid --stack {args.stack!r}: CloudFormation has no such stack in {where.region_text} ({message}). "
                "Check --stack and the region (--region, AWS_REGION), or deploy the stack first."
            )
    return str(error)
