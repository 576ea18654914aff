"""Helper for the lifecycle hook Lambdas of ECS blue/green deployments, under either deployment engine.

A hook function only decides pass or fail; the decorator tells the engine that invoked it::

    from lifecycle_hook import codedeploy_hook  # inside the Lambda asset

    @codedeploy_hook
    def handler(event, context):
        return check_something()  # True or None: pass; False or an exception: fail

The name is the original one; the same hook function runs unchanged
under both engines; the decorator tells them apart by the event:

CodeDeploy
    The event is ``{"DeploymentId": "d-...", "LifecycleEventHookExecutionId": "..."}``. CodeDeploy invokes
    the function asynchronously, ignores what it returns and waits up to an hour for
    ``PutLifecycleEventHookExecutionStatus``, so the wrapper reports ``Succeeded`` or ``Failed`` in every case,
    including when the hook raises, and returns ``{"DeploymentId": ..., "Status": ..., "Reason": ...}``.
    The exception is logged with its traceback rather than re-raised: a raised error would make Lambda retry
    an asynchronous invocation, running the check again for a hook whose status CodeDeploy already has.

Amazon ECS (native blue/green deployments)
    The event carries ``executionDetails`` (``serviceArn``, ``targetServiceRevisionArn``,
    ``testTrafficWeights``, ``productionTrafficWeights``) next to ``executionId``, ``lifecycleStage``,
    ``resourceArn`` and, when the hook has any, ``hookDetails``. ECS reads the function's return value, so the
    wrapper makes no AWS call and returns ``{"hookStatus": "SUCCEEDED"}`` or ``{"hookStatus": "FAILED"}``.
    An exception is logged as under CodeDeploy and returned as ``FAILED``: ECS would roll back on a raised
    error too, but the log would then lack the reason line. The wrapper never returns ``IN_PROGRESS``, so the
    check has to finish within the function's timeout; a timed-out invocation fails the hook.

Raise ``HookFailedError("reason")`` to fail with a reason and no traceback. An event of neither shape is
logged and raises ValueError: there is nobody to report to, and a failed invocation makes the misconfiguration
visible.

IAM: under CodeDeploy, the function's role needs ``codedeploy:PutLifecycleEventHookExecutionStatus`` on the
deployment group. Under Amazon ECS it needs no permission to report (the role that ECS assumes to invoke the
function is another matter: the hook's ``roleArn`` needs ``lambda:InvokeFunction``).
"""

from __future__ import annotations

import functools
import json
import traceback
from collections.abc import Callable, Mapping
from typing import Any, overload

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped,unused-ignore]

HookFunction = Callable[[Mapping[str, Any], Any], bool | None]
LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, str]]


class HookFailedError(Exception):
    """Raise from a hook function to fail the deployment with this reason (logged without traceback)."""


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.lifecycle_hook", "action": action, **fields}, default=str))


# The AWS clients of the built-in hooks (pre-flight check, test traffic router): botocore's standard mode with
# max_attempts 3 (it counts retries: 4 attempts in all) and 5 s connect and 10 s read timeouts, so one call gives up
# within about 75 s and the hook reports within its function's timeout (BUILT_IN_HOOK_TIMEOUT in defaults.py).
HOOK_CLIENT_MAX_RETRIES = 3
HOOK_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": HOOK_CLIENT_MAX_RETRIES},
    connect_timeout=5,
    read_timeout=10,
    user_agent_extra="blue-green-ecs",
)


@functools.cache
def hook_client(service: str) -> Any:
    """A boto3 client of ``service`` for a built-in hook (:data:`HOOK_CLIENT_CONFIG`), one per service."""
    return boto3.client(service, config=HOOK_CLIENT_CONFIG)


@functools.cache
def _default_client() -> Any:
    return boto3.client("codedeploy", config=Config(retries={"mode": "standard", "max_attempts": 10}))


def report_status(client: Any, deployment_id: str, execution_id: str, status: str) -> None:
    """Tell CodeDeploy the hook's result; a hook that was already reported is not an error."""
    try:
        client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "LifecycleEventAlreadyCompletedException":
            raise
        # A retried invocation, or the hook timed out first: CodeDeploy keeps the first status.
        log("already-reported", deployment_id=deployment_id, status=status, error=str(exc))


def _unexpected_event(event: object) -> ValueError:
    got = f"keys {sorted(map(str, event))}" if isinstance(event, Mapping) else f"a {type(event).__name__}"
    log("unexpected-event", got=got)
    return ValueError(
        "This function is a deployment lifecycle hook: its event must carry DeploymentId and "
        "LifecycleEventHookExecutionId when CodeDeploy invokes it, or executionDetails when Amazon ECS does "
        f"(got {got})"
    )


def _decide(func: HookFunction, event: Mapping[str, Any], context: Any, **log_fields: Any) -> tuple[bool, str]:
    """Run the hook function; whatever it does becomes a pass or a fail with a reason."""
    try:
        result = func(event, context)
    except HookFailedError as exc:
        return False, str(exc) or "hook failed"
    except Exception as exc:
        log("hook-error", **log_fields, traceback=traceback.format_exc())
        return False, f"{type(exc).__name__}: {exc}"
    passed = result is None or bool(result)
    return passed, "hook passed" if passed else "hook returned False"


def _codedeploy(func: HookFunction, client: Any, event: Mapping[str, Any], context: Any) -> dict[str, str]:
    deployment_id = event.get("DeploymentId")
    execution_id = event.get("LifecycleEventHookExecutionId")
    if not deployment_id or not execution_id:
        raise _unexpected_event(event)
    passed, reason = _decide(func, event, context, deployment_id=deployment_id)
    status = "Succeeded" if passed else "Failed"
    report_status(client if client is not None else _default_client(), deployment_id, execution_id, status)
    log(
        "reported",
        engine="codedeploy",
        deployment_id=deployment_id,
        hook=getattr(func, "__name__", "hook"),
        status=status,
        reason=reason,
    )
    return {"DeploymentId": deployment_id, "Status": status, "Reason": reason}


def _ecs(func: HookFunction, event: Mapping[str, Any], context: Any) -> dict[str, str]:
    details = event.get("executionDetails")
    details = details if isinstance(details, Mapping) else {}
    fields = {
        "execution_id": event.get("executionId"),
        # Documented at the top level; executionDetails is only a fallback for payloads that nest it there.
        "lifecycle_stage": event.get("lifecycleStage") or details.get("lifecycleStage"),
        "service_arn": details.get("serviceArn"),
        "target_service_revision_arn": details.get("targetServiceRevisionArn"),
    }
    passed, reason = _decide(func, event, context, **fields)
    status = "SUCCEEDED" if passed else "FAILED"
    log("reported", engine="ecs", **fields, hook=getattr(func, "__name__", "hook"), status=status, reason=reason)
    return {"hookStatus": status}


def _wrap(func: HookFunction, client: Any) -> LambdaHandler:
    @functools.wraps(func)
    def handler(event: Mapping[str, Any], context: Any) -> dict[str, str]:
        if not isinstance(event, Mapping):
            raise _unexpected_event(event)
        # An event with both shapes is taken for CodeDeploy's: only CodeDeploy waits for a report.
        if "LifecycleEventHookExecutionId" in event:
            return _codedeploy(func, client, event, context)
        if "executionDetails" in event:
            return _ecs(func, event, context)
        raise _unexpected_event(event)

    return handler


@overload
def codedeploy_hook(func: HookFunction, /) -> LambdaHandler: ...


@overload
def codedeploy_hook(*, client: Any = None) -> Callable[[HookFunction], LambdaHandler]: ...


def codedeploy_hook(
    func: HookFunction | None = None, /, *, client: Any = None
) -> LambdaHandler | Callable[[HookFunction], LambdaHandler]:
    """Turn ``func(event, context) -> bool | None`` into a Lambda handler for CodeDeploy or Amazon ECS hooks.

    Use as ``@codedeploy_hook`` or ``@codedeploy_hook(client=codedeploy_client)``. The client only serves
    CodeDeploy events; without one, a boto3 CodeDeploy client is created on the first CodeDeploy report, so
    a function that only Amazon ECS invokes never creates one.
    """
    if func is not None:
        return _wrap(func, client)
    return functools.partial(_wrap, client=client)
