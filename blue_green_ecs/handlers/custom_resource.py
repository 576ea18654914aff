"""The deployment custom resource's own provider: one Lambda function and a small Step Functions waiter.

aws-cdk-lib's ``custom_resources.Provider`` puts five Lambda functions and a state machine in every stack
to run an onEvent/isComplete pair. This module does the same job with one function (``handler``), which
CloudFormation invokes directly (it is the resource's ServiceToken) and which the waiter state machine
invokes between polls. A deployment can outlast Lambda's 15-minute limit, so a function cannot wait for
it; Step Functions waits instead, for free between polls, and the function only runs to decide.

Protocol
--------
1. CloudFormation sends a request (an event with ``RequestType`` and ``ResponseURL``). ``on_event`` of
   ``deployment.py`` decides and maybe starts a deployment; its result is merged into the event exactly
   as the Provider framework did (``{**event, **result}``) and polled once at once, so a Delete, the
   first Create and an Update that changes nothing are answered in this one invocation.
2. Otherwise the function starts the waiter state machine, whose ARN is the resource property
   ``WaiterStateMachineArn`` (an environment variable would make the function depend on the state
   machine that invokes it: a CloudFormation dependency cycle). The execution is named after the
   RequestId, so a retried invocation for the same request cannot start a second waiter. Its input is
   ``{"Request": <merged request>, "StartedAt": <ISO 8601 UTC>}``.
3. The state machine invokes the function with ``{"Action": "poll", "Request": ..., "StartedAt": ...}``
   and waits while it returns ``{"Done": false}``. Each poll answers CloudFormation when the deployment
   has finished, failed, or ``TOTAL_TIMEOUT`` has passed since StartedAt, and then returns
   ``{"Done": true}``.
4. When a poll itself keeps failing, the state machine's Catch invokes the function with
   ``{"Action": "fail", "Request": ..., "Error": {"Error": ..., "Cause": ...}}`` so that CloudFormation
   hears a reason instead of waiting an hour for a timeout.

The answer to CloudFormation is a PUT of a JSON body (at most 4096 bytes) to the presigned ResponseURL
(``cfn_response.py``). The ResponseURL is a credential: it is never logged (the state machine must not log
execution data).

When the waiter cannot be started because Step Functions still throttles or fails after botocore's
retries, the invocation raises: CloudFormation invokes the function asynchronously, so Lambda delivers
the request again (after about one minute, then two more), and the repeat follows the deployment this
delivery started instead of starting another (``deployment.py``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from . import aws, cfn_response, deployment, live_lookup, messages
    from .cfn_response import HttpPut
else:
    # Top-level modules inside the Lambda asset, blue_green_ecs.handlers.* in the library.
    def _sibling(name: str) -> Any:
        return importlib.import_module(f"{__package__}.{name}" if __package__ else name)

    aws, cfn_response, deployment = _sibling("aws"), _sibling("cfn_response"), _sibling("deployment")
    live_lookup, messages = _sibling("live_lookup"), _sibling("messages")
    HttpPut = cfn_response.HttpPut

from botocore.exceptions import ClientError  # type: ignore[import-untyped,unused-ignore]

# Above the deployment handler's own limit (at most 55 minutes, so its precise message normally wins),
# below CloudFormation's hour, after which the stack fails with a generic timeout.
TOTAL_TIMEOUT = timedelta(minutes=58)
WAITER_ARN_PROPERTY = "WaiterStateMachineArn"

_EXECUTION_NAME_MAX = 80
_INVALID_NAME_CHARS = re.compile(r"[^0-9A-Za-z_-]")


@runtime_checkable
class DeploymentStopper(Protocol):
    """What stops a request's deployment: ``deployment.DeploymentHandler.stop``."""

    def stop(self, event: Mapping[str, Any]) -> str:
        """Stop the request's deployment with rollback, best effort; a sentence for the Reason."""
        ...


class DeploymentHandlerLike(Protocol):
    """What this module needs of ``deployment.DeploymentHandler`` (tests pass a fake)."""

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Decide on a Create/Update/Delete; see ``deployment.DeploymentHandler.on_event``."""
        ...

    def is_complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Poll the merged request; see ``deployment.DeploymentHandler.is_complete``."""
        ...


class LiveStateLike(Protocol):
    """What this module needs of ``live_lookup.LiveStateLookup`` (tests and the simulator pass their own)."""

    def on_event(self, event: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
        """(PhysicalResourceId, Data) of a Create/Update/Delete; a refusal raises a DeploymentError."""
        ...


class WaiterStartError(Exception):
    """Step Functions still throttled or failed after botocore's retries: Lambda delivers the request again."""


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs; callers never pass the event or its ResponseURL."""
    print(
        json.dumps({"logger": "blue_green_ecs.custom_resource", "action": action, **fields}, default=str),
        flush=True,
    )


def execution_name(request_id: str) -> str:
    """A Step Functions execution name derived from the RequestId: the same request, the same name.

    A RequestId is a UUID, which is a valid name as it is. Anything else is cleaned and suffixed with a
    hash of the original, so that two requests never share a name after cleaning or truncation.
    """
    cleaned = _INVALID_NAME_CHARS.sub("-", request_id)
    if cleaned and cleaned == request_id and len(cleaned) <= _EXECUTION_NAME_MAX:
        return cleaned
    digest = hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:16]
    return f"{cleaned[: _EXECUTION_NAME_MAX - len(digest) - 1]}-{digest}"


def _error_reason(exc: Exception) -> str:
    """The Reason CloudFormation shows: a DeploymentError is already worded for the user."""
    if isinstance(exc, deployment.DeploymentError):
        return str(exc)
    return f"Internal error in the deployment trigger: {type(exc).__name__}: {exc}"


def _cause_message(cause: Any) -> str:
    """Lambda errors arrive as a JSON Cause holding errorMessage; other causes are plain text."""
    text = "" if cause is None else str(cause)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"])
    return text


def _started_at(value: Any) -> datetime:
    try:
        started = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"Poll event has an invalid StartedAt {value!r}: expected an ISO 8601 timestamp") from exc
    return started.replace(tzinfo=UTC) if started.tzinfo is None else started


def _unexpected_event(event: object) -> ValueError:
    # Keys only: values include the ResponseURL.
    got = f"keys {sorted(map(str, event))}" if isinstance(event, Mapping) else f"a {type(event).__name__}"
    log("unexpected-event", got=got)
    return ValueError(
        "Unexpected event for the deployment custom resource: expected a CloudFormation request (RequestType "
        "and ResponseURL) or a waiter event (Action 'poll' or 'fail' with a Request holding a ResponseURL), "
        f"got {got}"
    )


class CustomResourceHandler:
    """The provider's logic, with injectable deployment handler, Step Functions client, HTTP put and clock."""

    def __init__(
        self,
        deployment_handler: DeploymentHandlerLike | None = None,
        stepfunctions: Any = None,
        *,
        put: HttpPut | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        put_attempts: int = 4,
        put_base_delay: float = 1.0,
        live_state: LiveStateLike | None = None,
    ) -> None:
        """Missing pieces default to the real ones, created on first use (a Delete creates no client)."""
        self._deployment_handler = deployment_handler
        self._stepfunctions = stepfunctions
        self.put = put or cfn_response.urllib_put
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.live_state: LiveStateLike = live_state or live_lookup.LiveStateLookup(clock=self.clock, sleep=sleep)
        self.put_attempts = put_attempts
        self.put_base_delay = put_base_delay

    @property
    def deployment_handler(self) -> DeploymentHandlerLike:
        """The onEvent/isComplete logic of ``deployment.py``."""
        if self._deployment_handler is None:
            self._deployment_handler = deployment._default_handler()
        return self._deployment_handler

    @property
    def stepfunctions(self) -> Any:
        """The Step Functions client that starts the waiter."""
        if self._stepfunctions is None:
            self._stepfunctions = aws.client("stepfunctions")
        return self._stepfunctions

    # ---- entry point --------------------------------------------------------------------------------

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Dispatch on the event's shape; an event of no known shape raises ValueError."""
        if not isinstance(event, Mapping):
            raise _unexpected_event(event)
        if "RequestType" in event and "ResponseURL" in event:
            if event.get("ResourceType") in live_lookup.RESOURCE_TYPES:
                return self.on_live_state(event)
            return self.on_request(event)
        request = event.get("Request")
        if not isinstance(request, Mapping) or "ResponseURL" not in request:
            raise _unexpected_event(event)
        if event.get("Action") == "poll":
            return self.on_poll(request, _started_at(event.get("StartedAt")))
        if event.get("Action") == "fail":
            error = event.get("Error")
            return self.on_fail(request, error if isinstance(error, Mapping) else {})
        raise _unexpected_event(event)

    # ---- the three events ---------------------------------------------------------------------------

    def on_request(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A CloudFormation request: decide, poll once, and answer now or start the waiter."""
        # StartedAt is when the request arrived, not when the waiter starts: CloudFormation's hour counts from
        # its request too, and onEvent may already have spent minutes retrying.
        received = self.clock()
        log(
            "request",
            request_type=event.get("RequestType"),
            request_id=event.get("RequestId"),
            logical_resource_id=event.get("LogicalResourceId"),
            stack_id=event.get("StackId"),
        )
        try:
            result = self.deployment_handler.on_event(event)
        except Exception as exc:
            return self._fail(event, exc, stage="on_event")
        request = {**event, **result}
        try:
            status = self.deployment_handler.is_complete(request)
        except Exception as exc:
            return self._fail(
                request, exc, stage="is_complete", physical_resource_id=self._failed_id(event, result), stop=True
            )
        if status.get("IsComplete"):
            return self._succeed(request, status)
        return self._start_waiter(event, result, request, received)

    def on_live_state(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The live-state lookup (``live_lookup.py``): answered in this invocation, no waiter."""
        log(
            "request",
            request_type=event.get("RequestType"),
            request_id=event.get("RequestId"),
            logical_resource_id=event.get("LogicalResourceId"),
            resource_type=event.get("ResourceType"),
        )
        try:
            physical_resource_id, data = self.live_state.on_event(event)
        except Exception as exc:
            # Nothing to stop: the lookup starts no deployment.
            return self._fail(event, exc, stage="live_state")
        return self._respond(event, "SUCCESS", "", physical_resource_id, data)

    def on_poll(self, request: Mapping[str, Any], started_at: datetime) -> dict[str, Any]:
        """One poll from the waiter: answer CloudFormation once the deployment has an outcome."""
        try:
            status = self.deployment_handler.is_complete(request)
        except Exception as exc:
            self._fail(request, exc, stage="poll", stop=True)
            return {"Done": True}
        if status.get("IsComplete"):
            self._succeed(request, status)
            return {"Done": True}
        elapsed = self.clock() - started_at
        if elapsed > TOTAL_TIMEOUT:
            deployment_id = (request.get("Data") or {}).get("DeploymentId")
            which = f"CodeDeploy deployment {deployment_id}" if deployment_id else "the CodeDeploy deployment"
            minutes = int(TOTAL_TIMEOUT.total_seconds() // 60)
            reason = (
                f"Timed out after {minutes} minutes waiting for the deployment of "
                f"{request.get('LogicalResourceId', 'the service')} to finish: {which} had no outcome yet, "
                "and CloudFormation gives up at 60 minutes. Check the deployment group's deployments in "
                "CodeDeploy and the deployment trigger's logs."
            )
            self._fail_and_stop(request, reason, cfn_response.failed_physical_resource_id(request))
            return {"Done": True}
        log("poll", decision="wait", request_id=request.get("RequestId"), elapsed_seconds=int(elapsed.total_seconds()))
        return {"Done": False}

    def on_fail(self, request: Mapping[str, Any], error: Mapping[str, Any]) -> dict[str, Any]:
        """The waiter's Catch: a poll kept failing, so CloudFormation is told why instead of timing out."""
        name = str(error.get("Error") or "UnknownError")
        cause = _cause_message(error.get("Cause")) or "no cause given"
        reason = f"The deployment waiter failed with {name}: {cause}"
        self._fail_and_stop(request, reason, cfn_response.failed_physical_resource_id(request))
        return {"Done": True}

    # ---- steps --------------------------------------------------------------------------------------

    @staticmethod
    def _failed_id(event: Mapping[str, Any], result: Mapping[str, Any]) -> str:
        # The event's own id first: a failed Update keeps the resource CloudFormation already knows.
        known = event.get("PhysicalResourceId") or result.get("PhysicalResourceId")
        return str(known) if known else cfn_response.failed_physical_resource_id(event)

    def _start_waiter(
        self,
        event: Mapping[str, Any],
        result: Mapping[str, Any],
        request: Mapping[str, Any],
        received: datetime,
    ) -> dict[str, Any]:
        name = execution_name(str(event.get("RequestId", "")))
        arn = (event.get("ResourceProperties") or {}).get(WAITER_ARN_PROPERTY)
        if not arn:
            reason = (
                f"The deployment waiter could not be started: the resource property {WAITER_ARN_PROPERTY} is "
                "missing. The custom resource must be created by blue_green_ecs's deployment trigger."
            )
            return self._fail_and_stop(request, reason, self._failed_id(event, result))
        # A Create's StartExecution may be denied until IAM shows the StartWaiter policy CloudFormation just created.
        patience, attempt = aws.Patience.of_request(event, received, self.clock, self.sleep), 0
        while True:
            try:
                self.stepfunctions.start_execution(
                    stateMachineArn=str(arn),
                    name=name,
                    input=json.dumps({"Request": request, "StartedAt": received.isoformat()}, default=str),
                )
            except Exception as exc:
                if aws.waited_out_denial(exc, patience, attempt, "states:StartExecution"):
                    attempt += 1
                    continue
                return self._waiter_not_started(event, result, request, arn, name, exc, patience)
            break
        log("waiter", decision="started", request_id=event.get("RequestId"), execution_name=name)
        return {"Status": "WAITING", "ExecutionName": name, "AlreadyStarted": False}

    def _waiter_not_started(
        self,
        event: Mapping[str, Any],
        result: Mapping[str, Any],
        request: Mapping[str, Any],
        arn: Any,
        name: str,
        exc: Exception,
        patience: aws.Patience | None,
    ) -> dict[str, Any]:
        """StartExecution failed: a retried invocation's waiter carries on, a transient error is raised for
        Lambda to deliver again, anything else fails the resource with the reason."""
        error = exc.response.get("Error", {}) if isinstance(exc, ClientError) else {}
        if error.get("Code") == "ExecutionAlreadyExists":
            # A retried invocation for the same request: the first waiter carries on.
            log("waiter", decision="already-started", request_id=event.get("RequestId"), execution_name=name)
            return {"Status": "WAITING", "ExecutionName": name, "AlreadyStarted": True}
        if error:
            problem = f"{error.get('Code', 'Unknown')}: {error.get('Message', exc)}"
        else:
            log(
                "error",
                stage="start_execution",
                request_id=event.get("RequestId"),
                traceback=traceback.format_exc(),
            )
            problem = f"{type(exc).__name__}: {exc}"
        if aws.is_transient(self.stepfunctions, "start_execution", exc):
            # A repeated delivery follows the deployment this one started (deployment.py), and Lambda
            # delivers again after one minute and after two more: longer than retrying in this invocation.
            raise WaiterStartError(
                f"The deployment waiter could not be started yet (states:StartExecution on {arn}): "
                f"{problem.rstrip('.')}. Raising so that Lambda delivers the request again."
            ) from exc
        reason = f"The deployment waiter could not be started (states:StartExecution on {arn}): {problem}"
        if patience is not None and error.get("Code") in messages.ACCESS_DENIED_CODES:
            reason = f"{reason.rstrip('.')}.{patience.exhausted()}"
        return self._fail_and_stop(request, reason, self._failed_id(event, result))

    def _succeed(self, request: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
        data = {**(request.get("Data") or {}), **(status.get("Data") or {})}
        return self._respond(request, "SUCCESS", "", str(request.get("PhysicalResourceId", "")), data)

    def _fail(
        self,
        request: Mapping[str, Any],
        exc: Exception,
        *,
        stage: str,
        physical_resource_id: str | None = None,
        stop: bool = False,
    ) -> dict[str, Any]:
        """Answer FAILED for ``exc``; with ``stop``, stop the deployment unless it has ended by itself."""
        if not isinstance(exc, deployment.DeploymentError):
            log("error", stage=stage, request_id=request.get("RequestId"), traceback=traceback.format_exc())
        physical_resource_id = physical_resource_id or cfn_response.failed_physical_resource_id(request)
        if stop and not isinstance(exc, deployment.DeploymentEndedError):
            return self._fail_and_stop(request, _error_reason(exc), physical_resource_id)
        return self._respond(request, "FAILED", _error_reason(exc), physical_resource_id, {})

    def _fail_and_stop(self, request: Mapping[str, Any], reason: str, physical_resource_id: str) -> dict[str, Any]:
        """Answer FAILED on the trigger's own account, after stopping this request's deployment (best effort)."""
        handler = self.deployment_handler
        try:
            stopped = handler.stop(request) if isinstance(handler, DeploymentStopper) else ""
        except Exception as exc:
            log("error", stage="stop", request_id=request.get("RequestId"), traceback=traceback.format_exc())
            stopped = (
                f"Its CodeDeploy deployment could not be stopped ({type(exc).__name__}: {exc}); check the "
                "deployment group's deployments in CodeDeploy."
            )
        if stopped:
            reason = f"{reason.rstrip('.')}. {stopped}"
        return self._respond(request, "FAILED", reason, physical_resource_id, {})

    def _respond(
        self, request: Mapping[str, Any], status: str, reason: str, physical_resource_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        return cfn_response.send(
            request,
            status,
            reason,
            physical_resource_id,
            data,
            put=self.put,
            sleep=self.sleep,
            attempts=self.put_attempts,
            base_delay=self.put_base_delay,
        )


@functools.cache
def _default_resource() -> CustomResourceHandler:
    return CustomResourceHandler()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: CloudFormation requests and the waiter state machine's poll and fail events."""
    return _default_resource().handle(event)
