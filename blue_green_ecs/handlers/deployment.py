"""CloudFormation custom resource that runs an ECS blue/green deployment through CodeDeploy.

ECS services that use the CODE_DEPLOY deployment controller are not redeployed by CloudFormation when
their task definition changes. This module is the onEvent/isComplete pair behind
the trigger's provider (``custom_resource.py``): a Create or Update starts a CodeDeploy deployment when the live
service differs from the request, and the resource completes when the deployment succeeds, or fails with
CodeDeploy's own reason. One provider serves every service of a stack, so everything about a service
comes from the resource properties (see ``DeploymentRequest.from_properties``).

Decisions
---------
* The live state is read from ECS, never remembered: the PRIMARY task set of the service (or the service
  itself when it has no task sets) is compared with the request (task definition, network
  configuration, platform version unless LATEST, container name/port, capacity provider strategy). Equal
  means no deployment: the first Create (CloudFormation created the service with this task definition),
  an Update that only changes hooks or the description, and the Update CloudFormation sends during a
  stack rollback after CodeDeploy already rolled the service back.
* While any deployment of the group is active (Created, Queued, InProgress, Baking, Ready), nothing is
  started: the resource waits and decides again against ECS once it has finished. A
  DeploymentLimitExceededException from CreateDeployment means the same.
* Delete makes no AWS call: removing the resource must neither start nor stop a deployment.

Recognising its own deployment across polls
-------------------------------------------
isComplete receives the same event on every poll and cannot store anything. Two channels carry state:

1. When onEvent starts the deployment, its id is returned in ``Data.DeploymentId``; the provider merges
   the onEvent result into every isComplete event, so each poll calls GetDeployment on that id.
2. When onEvent could not start it (another deployment was active, or AWS kept throttling), a later poll
   starts it. Its description then ends with the marker ``[cfn-request:<RequestId>]``: the CloudFormation
   RequestId is unique per request and is in every event. Each later poll lists the group's deployments
   created since onEvent ran (``RequestedAt`` in the state onEvent returns, minus a clock-skew margin,
   all statuses so that a finished one is found too), reads them with BatchGetDeployments and picks the one
   whose description holds the marker. Only when none holds it does the poll decide again, so a poll never
   starts a second deployment for the same request. A new request (for instance the Update of a stack
   rollback) has a new RequestId and so never mistakes an older deployment for its own.

onEvent also returns ``BlueGreenEcsState = {"Decision": ..., "RequestedAt": ...}`` next to ``Data`` (the
provider passes every key of the onEvent result to isComplete, but sends only ``Data`` to CloudFormation).

Time budget, approval, throttling
---------------------------------
``TimeoutMinutes`` counts from the deployment's createTime. When it is exceeded the deployment is stopped
with automatic rollback and the resource fails, saying so; a deployment in status Ready (waiting for
``aws deploy continue-deployment``) is polled like any other and its timeout message says it was waiting
for approval. Retryable AWS errors (throttling, 5xx, connection errors) make a poll return
``IsComplete: False``; onEvent retries each call with exponential backoff and, if AWS still refuses, leaves
the decision to isComplete instead of failing the stack.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import appspec
else:
    # Top-level module inside the Lambda asset, blue_green_ecs.handlers.appspec in the library.
    appspec = importlib.import_module(f"{__package__}.appspec" if __package__ else "appspec")

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    ConnectionError as BotoConnectionError,
)

ACTIVE_STATUSES: tuple[str, ...] = ("Created", "Queued", "InProgress", "Baking", "Ready")
STATE_KEY = "BlueGreenEcsState"
DEFAULT_TIMEOUT_MINUTES = 60

# Clocks of Lambda and CodeDeploy are not the same clock; a margin keeps our own deployment inside the
# createTimeRange filter.
_CLOCK_SKEW = timedelta(minutes=5)
_BATCH_SIZE = 25  # BatchGetDeployments limit
_MAX_DESCRIPTION = 400
_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
_DENIED_ACTION = re.compile(r"not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (BotoConnectionError, HTTPClientError)


class DeploymentError(Exception):
    """A failure whose message is the reason CloudFormation shows for the resource."""


class AwsCallError(DeploymentError):
    """A non-retryable AWS error, explained with the application, group or service it concerns."""

    def __init__(self, code: str, action: str, message: str) -> None:
        """Keep the AWS error code so callers can react to specific errors."""
        super().__init__(message)
        self.code = code
        self.action = action


class TransientAwsError(Exception):
    """AWS kept answering with a retryable error; the caller should try again later."""


# --------------------------------------------------------------------------------------------------
# Resource properties and the AppSpec
# --------------------------------------------------------------------------------------------------


def _name_from_arn(value: str) -> str:
    # ECS ARNs end with the name: cluster/NAME, service/NAME or service/CLUSTER/NAME.
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


@dataclass(frozen=True)
class DeploymentRequest:
    """Everything one custom resource asks for, validated."""

    application_name: str
    deployment_group_name: str
    cluster: str
    service: str
    target: appspec.AppSpecTarget
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES
    description: str | None = None

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> DeploymentRequest:
        """Validate the custom resource's properties; a ValueError names the faulty property."""
        timeout = properties.get("TimeoutMinutes")
        timeout_minutes = (
            DEFAULT_TIMEOUT_MINUTES if timeout in (None, "") else appspec.to_int(timeout, "TimeoutMinutes")
        )
        if timeout_minutes < 1:
            raise ValueError(f"Property 'TimeoutMinutes' must be at least 1, got {timeout_minutes}")
        return cls(
            application_name=appspec.required_str(properties, "ApplicationName"),
            deployment_group_name=appspec.required_str(properties, "DeploymentGroupName"),
            cluster=appspec.required_str(properties, "ClusterName"),
            service=appspec.required_str(properties, "ServiceName"),
            target=appspec.AppSpecTarget.from_properties(properties),
            timeout_minutes=timeout_minutes,
            description=appspec.optional_str(properties, "Description"),
        )

    @property
    def physical_resource_id(self) -> str:
        """Stable per service, so an Update never makes CloudFormation delete the old resource."""
        return f"blue-green-ecs/{_name_from_arn(self.cluster)}/{_name_from_arn(self.service)}"

    @property
    def group_label(self) -> str:
        """How messages name the deployment group."""
        return f"CodeDeploy application '{self.application_name}', deployment group '{self.deployment_group_name}'"

    @property
    def service_label(self) -> str:
        """How messages name the ECS service."""
        return f"ECS service '{self.service}' in cluster '{self.cluster}'"


# --------------------------------------------------------------------------------------------------
# Comparing the request with what ECS runs
# --------------------------------------------------------------------------------------------------


def _task_definition_key(value: str) -> str:
    # A full ARN and "family:revision" name the same revision.
    return value.split(":task-definition/", 1)[-1]


def live_configuration(service: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Return (source, configuration) of what the service runs: its PRIMARY task set, else the service."""
    for task_set in service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY":
            return f"PRIMARY task set {task_set.get('id', '?')}", task_set
    return "service", service


def differences(target: appspec.AppSpecTarget, live: Mapping[str, Any]) -> list[str]:
    """List what the live configuration lacks of the request; empty means no deployment is needed."""
    found = []
    live_task_definition = str(live.get("taskDefinition") or "")
    if _task_definition_key(live_task_definition) != _task_definition_key(target.task_definition):
        found.append(f"task definition {live_task_definition or '(none)'} -> {target.task_definition}")
    if target.subnets:
        awsvpc = (live.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        if sorted(awsvpc.get("subnets") or []) != sorted(target.subnets):
            found.append(f"subnets {sorted(awsvpc.get('subnets') or [])} -> {sorted(target.subnets)}")
        live_groups = sorted(awsvpc.get("securityGroups") or [])
        if live_groups != sorted(target.security_groups):
            found.append(f"security groups {live_groups} -> {sorted(target.security_groups)}")
        live_public_ip = awsvpc.get("assignPublicIp") or "DISABLED"
        if live_public_ip != target.assign_public_ip:
            found.append(f"assign public IP {live_public_ip} -> {target.assign_public_ip}")
    # ECS reports the resolved version (e.g. 1.4.0) for LATEST, so LATEST cannot be compared.
    if target.platform_version and target.platform_version.upper() != "LATEST":
        live_platform = live.get("platformVersion")
        if live_platform != target.platform_version:
            found.append(f"platform version {live_platform} -> {target.platform_version}")
    live_containers = {(lb.get("containerName"), lb.get("containerPort")) for lb in live.get("loadBalancers") or []}
    if live_containers and (target.container_name, target.container_port) not in live_containers:
        found.append(
            f"load balancer container {sorted(live_containers, key=str)} -> "
            f"({target.container_name!r}, {target.container_port})"
        )
    if target.capacity_provider_strategy:
        live_strategy = sorted(
            (item.get("capacityProvider", ""), item.get("base", 0), item.get("weight", 0))
            for item in live.get("capacityProviderStrategy") or []
        )
        wanted = sorted(item.comparable() for item in target.capacity_provider_strategy)
        if live_strategy != wanted:
            found.append(f"capacity provider strategy {live_strategy} -> {wanted}")
    return found


# --------------------------------------------------------------------------------------------------
# Messages and logging
# --------------------------------------------------------------------------------------------------


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs; callers never pass secrets (no ResponseURL, no event)."""
    print(
        json.dumps({"logger": "blue_green_ecs.deployment", "action": action, **fields}, default=str),
        flush=True,
    )


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


def _error_message(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)


def _is_retryable(exc: Any) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return _error_code(exc) in _RETRYABLE_CODES or status == 429 or status >= 500


def explain_error(code: str, message: str, action: str, request: DeploymentRequest) -> str:
    """Turn an AWS error into a reason that names the resource and, if denied, the missing permission."""
    where = request.service_label if action.startswith("ecs:") else request.group_label
    if code in _ACCESS_DENIED_CODES:
        denied = _DENIED_ACTION.search(message)
        permission = denied.group(1) if denied else action
        return (
            f"Access denied: the deployment handler's IAM role is not allowed to call {permission} "
            f"(while calling {action} for {where}). Grant {permission} to the role. "
            f"AWS said: {_sentence(message)}"
        )
    if code == "DeploymentGroupDoesNotExistException":
        return (
            f"CodeDeploy deployment group '{request.deployment_group_name}' does not exist in application "
            f"'{request.application_name}' ({action}: {_sentence(message)}) "
            "Check DeploymentGroupName and that the group exists in this account and region."
        )
    if code == "ApplicationDoesNotExistException":
        return (
            f"CodeDeploy application '{request.application_name}' does not exist "
            f"({action}: {_sentence(message)}) "
            "Check ApplicationName and that the application exists in this account and region."
        )
    if code == "ClusterNotFoundException":
        return f"ECS cluster '{request.cluster}' was not found ({action}: {_sentence(message)})"
    return f"{action} failed for {where}: {code}: {_sentence(message)}"


def failure_message(info: Mapping[str, Any], rollback: Mapping[str, Any] | None) -> str:
    """Describe a Failed or Stopped deployment with CodeDeploy's error and the state of its rollback."""
    deployment_id = info.get("deploymentId", "?")
    error = info.get("errorInformation") or {}
    code = error.get("code") or "UNKNOWN_ERROR"
    detail = error.get("message") or "CodeDeploy gave no error message"
    if info.get("status") == "Stopped":
        verb = "was stopped by an alarm" if code == "ALARM_ACTIVE" else "was stopped"
    else:
        verb = "failed"
    text = f"CodeDeploy deployment {deployment_id} {verb} ({code}): {_sentence(detail)}"
    rollback_info = info.get("rollbackInfo") or {}
    rollback_id = rollback_info.get("rollbackDeploymentId")
    rollback_message = rollback_info.get("rollbackMessage")
    if rollback_id:
        rollback_status = (rollback or {}).get("status")
        if rollback_status == "Succeeded":
            outcome = "restored the previous task set"
        elif rollback_status in ("Failed", "Stopped"):
            outcome = f"FAILED to restore the previous task set (status {rollback_status}); check the service"
        elif rollback_status:
            outcome = f"is restoring the previous task set (status {rollback_status})"
        else:
            outcome = "was started to restore the previous task set"
        text += f" Rollback: deployment {rollback_id} {outcome}."
        if rollback_message:
            text += f" {_sentence(rollback_message)}"
    elif rollback_message:
        text += f" Rollback: {_sentence(rollback_message)}"
    else:
        text += " No rollback deployment was started."
    return text


# --------------------------------------------------------------------------------------------------
# AWS calls
# --------------------------------------------------------------------------------------------------


def _default_client(service: str) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="blue-green-ecs",
    )
    return boto3.client(service, config=config)


class _Aws:
    """AWS calls on behalf of one request: errors explained, retryable ones retried or reported."""

    def __init__(self, handler: DeploymentHandler, request: DeploymentRequest, attempts: int) -> None:
        self._handler = handler
        self._request = request
        self._attempts = attempts

    def codedeploy(self, operation: str, **params: Any) -> dict[str, Any]:
        return self._call(self._handler.codedeploy, operation, params)

    def ecs(self, operation: str, **params: Any) -> dict[str, Any]:
        return self._call(self._handler.ecs, operation, params)

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        action = f"{client.meta.service_model.signing_name}:{client.meta.method_to_api_mapping[operation]}"
        problem = ""
        for attempt in range(1, self._attempts + 1):
            try:
                response: dict[str, Any] = getattr(client, operation)(**params)
                return response
            except ClientError as exc:
                code, message = _error_code(exc), _error_message(exc)
                if not _is_retryable(exc):
                    raise AwsCallError(code, action, explain_error(code, message, action, self._request)) from exc
                problem = f"{code}: {message}"
            except _TRANSPORT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self._attempts:
                delay = self._handler.base_delay * 2 ** (attempt - 1)
                log("retry", call=action, attempt=attempt, delay_seconds=delay, error=problem)
                self._handler.sleep(delay)
        raise TransientAwsError(f"{action} still failing after {self._attempts} attempt(s): {problem}")


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _marker(event: Mapping[str, Any]) -> str:
    return f"[cfn-request:{event.get('RequestId', '')}]"


@dataclass(frozen=True)
class _Outcome:
    decision: str  # "deploying", "unchanged" or "waiting"
    deployment_id: str = ""


# --------------------------------------------------------------------------------------------------
# The handler
# --------------------------------------------------------------------------------------------------


class DeploymentHandler:
    """onEvent/isComplete logic with injectable clients, clock and sleep (tests pass stubbed clients)."""

    def __init__(
        self,
        codedeploy: Any = None,
        ecs: Any = None,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 4,
        base_delay: float = 1.0,
    ) -> None:
        """Clients default to real boto3 clients created on first use (Delete never creates them)."""
        self._codedeploy = codedeploy
        self._ecs = ecs
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.attempts = attempts
        self.base_delay = base_delay

    @property
    def codedeploy(self) -> Any:
        """The CodeDeploy client."""
        if self._codedeploy is None:
            self._codedeploy = _default_client("codedeploy")
        return self._codedeploy

    @property
    def ecs(self) -> Any:
        """The ECS client."""
        if self._ecs is None:
            self._ecs = _default_client("ecs")
        return self._ecs

    # ---- entry points -------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Handle Create/Update/Delete: decide against ECS and start a deployment when needed."""
        request_type = event.get("RequestType")
        if request_type == "Delete":
            physical_id = str(event.get("PhysicalResourceId", ""))
            log("delete", decision="no-op", physical_resource_id=physical_id)
            return {"PhysicalResourceId": physical_id}
        if request_type not in ("Create", "Update"):
            raise DeploymentError(f"Unsupported RequestType {request_type!r}")
        request = self._request(event)
        requested_at = self.clock()
        aws = _Aws(self, request, attempts=self.attempts)
        try:
            outcome = self._decide(aws, request, event)
        except TransientAwsError as exc:
            log("decision", decision="deferred", request_id=event.get("RequestId"), reason=str(exc))
            outcome = _Outcome("waiting")
        return {
            "PhysicalResourceId": request.physical_resource_id,
            "Data": {"DeploymentId": outcome.deployment_id},
            STATE_KEY: {"Decision": outcome.decision, "RequestedAt": requested_at.isoformat()},
        }

    def is_complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Poll: follow this request's deployment, or keep deciding until one is started or none is needed."""
        if event.get("RequestType") == "Delete":
            return {"IsComplete": True}
        request = self._request(event)
        state = event.get(STATE_KEY) or {}
        if state.get("Decision") == "unchanged":
            return {"IsComplete": True, "Data": {"DeploymentId": ""}}
        aws = _Aws(self, request, attempts=1)
        try:
            return self._poll(aws, request, event, state)
        except TransientAwsError as exc:
            log("poll", decision="poll-again", request_id=event.get("RequestId"), reason=str(exc))
            return {"IsComplete": False}

    # ---- steps --------------------------------------------------------------------------------------

    @staticmethod
    def _request(event: Mapping[str, Any]) -> DeploymentRequest:
        try:
            return DeploymentRequest.from_properties(event.get("ResourceProperties") or {})
        except ValueError as exc:
            raise DeploymentError(f"Invalid blue/green deployment properties: {exc}") from exc

    def _poll(
        self, aws: _Aws, request: DeploymentRequest, event: Mapping[str, Any], state: Mapping[str, Any]
    ) -> dict[str, Any]:
        deployment_id = (event.get("Data") or {}).get("DeploymentId")
        if deployment_id:
            info = aws.codedeploy("get_deployment", deploymentId=deployment_id)["deploymentInfo"]
            return self._track(aws, request, info)
        own = self._find_own(aws, request, _marker(event), _since(state))
        if own is not None:
            return self._track(aws, request, own)
        outcome = self._decide(aws, request, event)
        if outcome.decision == "unchanged":
            return {"IsComplete": True, "Data": {"DeploymentId": ""}}
        return {"IsComplete": False}

    def _decide(self, aws: _Aws, request: DeploymentRequest, event: Mapping[str, Any]) -> _Outcome:
        active = self._list(aws, request, includeOnlyStatuses=list(ACTIVE_STATUSES))
        if active:
            blocking = aws.codedeploy("get_deployment", deploymentId=active[0])["deploymentInfo"]
            log(
                "decision",
                decision="wait",
                reason="another deployment of the group is active; deciding again once it has finished",
                request_id=event.get("RequestId"),
                active_deployments=active,
                blocking_deployment=active[0],
                blocking_status=blocking.get("status"),
            )
            return _Outcome("waiting")
        source, live = live_configuration(self._describe_service(aws, request))
        changes = differences(request.target, live)
        if not changes:
            log(
                "decision",
                decision="no-deployment",
                reason=f"the service's {source} already runs the requested configuration",
                request_id=event.get("RequestId"),
                service=request.service,
                task_definition=request.target.task_definition,
            )
            return _Outcome("unchanged")
        deployment_id = self._create(aws, request, event)
        if deployment_id is None:
            log(
                "decision",
                decision="wait",
                reason="DeploymentLimitExceededException: another deployment of the group is active",
                request_id=event.get("RequestId"),
            )
            return _Outcome("waiting")
        log(
            "decision",
            decision="deploy",
            request_id=event.get("RequestId"),
            deployment_id=deployment_id,
            compared_with=source,
            changes=changes,
        )
        return _Outcome("deploying", deployment_id)

    def _describe_service(self, aws: _Aws, request: DeploymentRequest) -> Mapping[str, Any]:
        response = aws.ecs("describe_services", cluster=request.cluster, services=[request.service])
        services = response.get("services") or []
        if not services:
            failures = response.get("failures") or [{}]
            reason = failures[0].get("reason") or "not returned"
            raise DeploymentError(
                f"{request.service_label} was not found (ecs:DescribeServices reported {reason}). "
                "Check ClusterName and ServiceName."
            )
        service: Mapping[str, Any] = services[0]
        if service.get("status") != "ACTIVE":
            raise DeploymentError(f"{request.service_label} is {service.get('status')}, not ACTIVE.")
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller != "CODE_DEPLOY":
            raise DeploymentError(
                f"{request.service_label} uses the {controller} deployment controller; blue/green "
                "deployments through CodeDeploy need the CODE_DEPLOY deployment controller."
            )
        return service

    def _create(self, aws: _Aws, request: DeploymentRequest, event: Mapping[str, Any]) -> str | None:
        content = json.dumps(request.target.appspec(), separators=(",", ":"))
        try:
            response = aws.codedeploy(
                "create_deployment",
                applicationName=request.application_name,
                deploymentGroupName=request.deployment_group_name,
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {
                        "content": content,
                        "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
                    },
                },
                description=_description(request, event),
            )
        except AwsCallError as exc:
            if exc.code == "DeploymentLimitExceededException":
                return None
            raise
        return str(response["deploymentId"])

    def _list(self, aws: _Aws, request: DeploymentRequest, **filters: Any) -> list[str]:
        ids: list[str] = []
        params: dict[str, Any] = {
            "applicationName": request.application_name,
            "deploymentGroupName": request.deployment_group_name,
            **filters,
        }
        while True:
            response = aws.codedeploy("list_deployments", **params)
            ids.extend(response.get("deployments") or [])
            token = response.get("nextToken")
            if not token:
                return ids
            params["nextToken"] = token

    def _find_own(
        self, aws: _Aws, request: DeploymentRequest, marker: str, since: datetime | None
    ) -> Mapping[str, Any] | None:
        filters: dict[str, Any] = {}
        if since is not None:
            filters["createTimeRange"] = {"start": since - _CLOCK_SKEW}
        mine: list[Mapping[str, Any]] = []
        for chunk in _chunks(self._list(aws, request, **filters), _BATCH_SIZE):
            infos = aws.codedeploy("batch_get_deployments", deploymentIds=chunk).get("deploymentsInfo") or []
            mine.extend(info for info in infos if marker in (info.get("description") or ""))
        if not mine:
            return None
        # Several only after a retried create; the active one (else the newest) is the one that counts.
        return max(
            mine,
            key=lambda info: (
                info.get("status") in ACTIVE_STATUSES,
                _as_utc(info.get("createTime")) or datetime.min.replace(tzinfo=UTC),
            ),
        )

    def _track(self, aws: _Aws, request: DeploymentRequest, info: Mapping[str, Any]) -> dict[str, Any]:
        deployment_id = str(info.get("deploymentId"))
        status = info.get("status")
        if status == "Succeeded":
            log("outcome", decision="succeeded", deployment_id=deployment_id, service=request.service)
            return {"IsComplete": True, "Data": {"DeploymentId": deployment_id}}
        if status in ("Failed", "Stopped"):
            rollback = self._rollback(aws, info)
            message = failure_message(info, rollback)
            log("outcome", decision="failed", deployment_id=deployment_id, status=status, reason=message)
            raise DeploymentError(message)
        created = _as_utc(info.get("createTime"))
        now = self.clock()
        elapsed = now - created if created else timedelta(0)
        budget = timedelta(minutes=request.timeout_minutes)
        if elapsed > budget:
            return self._stop(aws, request, info, elapsed)
        if status == "Ready":
            log(
                "poll",
                decision="waiting-for-approval",
                level="WARNING",
                deployment_id=deployment_id,
                status=status,
                elapsed_seconds=int(elapsed.total_seconds()),
                timeout_minutes=request.timeout_minutes,
                reason=(
                    "the replacement task set is ready and waits to be continued: run "
                    f"'aws deploy continue-deployment --deployment-id {deployment_id} "
                    "--deployment-wait-type READY_WAIT' (or stop it); it is stopped with rollback once "
                    "TimeoutMinutes is exceeded"
                ),
            )
        else:
            log(
                "poll",
                decision="in-progress",
                deployment_id=deployment_id,
                status=status,
                elapsed_seconds=int(elapsed.total_seconds()),
                timeout_minutes=request.timeout_minutes,
            )
        return {"IsComplete": False}

    def _rollback(self, aws: _Aws, info: Mapping[str, Any]) -> Mapping[str, Any] | None:
        rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if not rollback_id:
            return None
        try:
            rollback: Mapping[str, Any] = aws.codedeploy("get_deployment", deploymentId=rollback_id)["deploymentInfo"]
        except AwsCallError as exc:
            # The failure itself is what CloudFormation must show; the rollback status is a detail.
            log("rollback-status-unavailable", deployment_id=rollback_id, error=str(exc))
            return None
        return rollback

    def _stop(
        self, aws: _Aws, request: DeploymentRequest, info: Mapping[str, Any], elapsed: timedelta
    ) -> dict[str, Any]:
        deployment_id = str(info.get("deploymentId"))
        status = info.get("status")
        try:
            stopped = aws.codedeploy("stop_deployment", deploymentId=deployment_id, autoRollbackEnabled=True)
        except AwsCallError as exc:
            if exc.code == "DeploymentAlreadyCompletedException":
                # It finished between GetDeployment and StopDeployment: the next poll reports how.
                log("poll", decision="poll-again", deployment_id=deployment_id, reason=str(exc))
                return {"IsComplete": False}
            raise
        minutes = request.timeout_minutes
        if status == "Ready":
            message = (
                f"CodeDeploy deployment {deployment_id} exceeded the {minutes}-minute timeout "
                "(TimeoutMinutes) while waiting for approval: it was in status Ready, waiting for "
                f"'aws deploy continue-deployment --deployment-id {deployment_id} --deployment-wait-type "
                "READY_WAIT'. It was stopped with automatic rollback to the previous task set."
            )
        else:
            message = (
                f"CodeDeploy deployment {deployment_id} exceeded the {minutes}-minute timeout "
                f"(TimeoutMinutes) in status {status} and was stopped with automatic rollback to the "
                "previous task set."
            )
        log(
            "outcome",
            decision="timed-out",
            deployment_id=deployment_id,
            status=status,
            elapsed_seconds=int(elapsed.total_seconds()),
            stop_status=stopped.get("status"),
            stop_message=stopped.get("statusMessage"),
        )
        raise DeploymentError(message)


def _since(state: Mapping[str, Any]) -> datetime | None:
    try:
        return _as_utc(datetime.fromisoformat(str(state["RequestedAt"])))
    except (KeyError, ValueError):
        return None


def _description(request: DeploymentRequest, event: Mapping[str, Any]) -> str:
    stack_id = str(event.get("StackId", ""))
    stack = stack_id.split("/")[1] if stack_id.count("/") >= 2 else stack_id
    text = request.description or (
        f"CloudFormation {stack}/{event.get('LogicalResourceId', '')}: "
        f"{_task_definition_key(request.target.task_definition)}"
    )
    if len(text) > _MAX_DESCRIPTION:
        text = text[: _MAX_DESCRIPTION - 3] + "..."
    return f"{text} {_marker(event)}"


@functools.cache
def _default_handler() -> DeploymentHandler:
    return DeploymentHandler()


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point as aws-cdk-lib's Provider framework onEvent (benchmarks/l2_stack.py uses it so);
    the library's own provider calls ``DeploymentHandler`` from ``custom_resource.py``."""
    return _default_handler().on_event(event)


def is_complete(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point as aws-cdk-lib's Provider framework isComplete (see ``on_event``)."""
    return _default_handler().is_complete(event)
