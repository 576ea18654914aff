"""Helper for CodeDeploy lifecycle hook Lambdas of ECS blue/green deployments.

A hook function only decides pass or fail; the decorator reports the result to CodeDeploy::

    from lifecycle_hook import codedeploy_hook  # inside the Lambda asset

    @codedeploy_hook
    def handler(event, context):
        return check_something()  # True or None: pass; False or an exception: fail

CodeDeploy waits up to an hour for ``PutLifecycleEventHookExecutionStatus``, so the wrapper reports in
every case, including when the hook raises. The exception is logged with its traceback rather than
re-raised: a raised error would make Lambda retry an asynchronous invocation, running the check again for
a hook whose status CodeDeploy already has. Raise ``HookFailedError("reason")`` to fail with a reason and no
traceback.

The function's role needs ``codedeploy:PutLifecycleEventHookExecutionStatus`` on the deployment group.
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


def _wrap(func: HookFunction, client: Any) -> LambdaHandler:
    @functools.wraps(func)
    def handler(event: Mapping[str, Any], context: Any) -> dict[str, str]:
        deployment_id = event.get("DeploymentId")
        execution_id = event.get("LifecycleEventHookExecutionId")
        if not deployment_id or not execution_id:
            raise ValueError(
                "This function is a CodeDeploy lifecycle hook: its event must carry DeploymentId and "
                f"LifecycleEventHookExecutionId (got keys {sorted(event)})"
            )
        try:
            result = func(event, context)
        except HookFailedError as exc:
            passed, reason = False, str(exc) or "hook failed"
        except Exception as exc:
            passed, reason = False, f"{type(exc).__name__}: {exc}"
            log("hook-error", deployment_id=deployment_id, traceback=traceback.format_exc())
        else:
            passed = result is None or bool(result)
            reason = "hook passed" if passed else "hook returned False"
        status = "Succeeded" if passed else "Failed"
        report_status(client if client is not None else _default_client(), deployment_id, execution_id, status)
        log(
            "reported",
            deployment_id=deployment_id,
            hook=getattr(func, "__name__", "hook"),
            status=status,
            reason=reason,
        )
        return {"DeploymentId": deployment_id, "Status": status, "Reason": reason}

    return handler


@overload
def codedeploy_hook(func: HookFunction, /) -> LambdaHandler: ...


@overload
def codedeploy_hook(*, client: Any = None) -> Callable[[HookFunction], LambdaHandler]: ...


def codedeploy_hook(
    func: HookFunction | None = None, /, *, client: Any = None
) -> LambdaHandler | Callable[[HookFunction], LambdaHandler]:
    """Turn ``func(event, context) -> bool | None`` into a Lambda handler that reports to CodeDeploy.

    Use as ``@codedeploy_hook`` or ``@codedeploy_hook(client=codedeploy_client)``; without a client, a
    boto3 CodeDeploy client is created on the first report.
    """
    if func is not None:
        return _wrap(func, client)
    return functools.partial(_wrap, client=client)
