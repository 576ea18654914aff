"""The deployment trigger's AWS clients and calls, with one retry policy: botocore's.

Every client is created with ``CLIENT_CONFIG``: botocore's ``standard`` retry mode (exponential backoff
with jitter, capped at 20 s, and a retry quota) retries throttling, 5xx, 429, connection errors and
timeouts ``MAX_RETRIES`` times. Nothing here retries on top of it. When botocore gives up on an
error of that kind, a call raises ``TransientAwsError`` and the caller decides what waiting means: onEvent
leaves the decision to the next poll, a poll polls again. Whether an error is of that kind is decided by
botocore's own retry conditions (``is_transient``), so there is no second list of retryable codes.

Budget: a call that keeps being throttled sleeps at most 1 + 2 + 4 + 8 + 16 = 31 s (on average half of
that) over its 5 retries; a call whose endpoint never answers takes at most 6 x (5 + 20) s plus those
sleeps. The trigger's function has 5 minutes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    BotoCoreError,
    ClientError,
)
from botocore.retries.standard import (  # type: ignore[import-untyped,unused-ignore]
    RetryContext,
    StandardRetryConditions,
)

if TYPE_CHECKING:
    from . import messages
    from .request import DeploymentRequest
else:
    # Top-level module inside the Lambda asset, blue_green_ecs.handlers.messages in the library.
    messages = importlib.import_module(f"{__package__}.messages" if __package__ else "messages")

# botocore's max_attempts counts retries: 6 attempts in all.
MAX_RETRIES = 5
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": MAX_RETRIES},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="blue-green-ecs",
)
# The conditions botocore's standard mode retries on; at attempt 1 of 2 only the kind of error counts.
_RETRIED_BY_BOTOCORE = StandardRetryConditions(max_attempts=2)
# (code, message, action) -> the Reason CloudFormation shows.
Explain = Callable[[str, str, str], str]


def client(service: str) -> Any:
    """A boto3 client with the trigger's one retry policy."""
    return boto3.client(service, config=CLIENT_CONFIG)


class AwsCallError(messages.DeploymentError):
    """A non-retryable AWS error, explained with the application, group or service it concerns."""

    def __init__(self, code: str, action: str, message: str) -> None:
        """Keep the AWS error code so callers can react to specific errors."""
        super().__init__(message)
        self.code = code
        self.action = action


class TransientAwsError(Exception):
    """botocore retried and gave up on a throttling, 5xx or connection error; try again later."""


class _Status:
    """The one field of an HTTP response that botocore's retry conditions read."""

    def __init__(self, status_code: int | None) -> None:
        self.status_code = status_code


def action_name(client: Any, operation: str) -> str:
    """IAM's name of a client method, e.g. ``codedeploy:CreateDeployment``."""
    return f"{client.meta.service_model.signing_name}:{client.meta.method_to_api_mapping[operation]}"


def is_transient(client: Any, operation: str, exc: Exception) -> bool:
    """Whether botocore's standard retry mode retries ``exc`` (so it gave up only for lack of attempts)."""
    model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = RetryContext(
            attempt_number=1, operation_model=model, parsed_response=exc.response, http_response=_Status(status)
        )
    else:
        context = RetryContext(attempt_number=1, operation_model=model, caught_exception=exc)
    return bool(_RETRIED_BY_BOTOCORE.is_retryable(context))


def _attempts(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts") or 0) + 1


class Aws:
    """AWS calls on behalf of one request: errors explained, transient ones raised as TransientAwsError."""

    def __init__(self, codedeploy: Any, ecs: Any, request: DeploymentRequest) -> None:
        self._codedeploy = codedeploy
        self._ecs = ecs
        self._request = request

    def codedeploy(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call CodeDeploy's ``operation`` (a client method name)."""
        return self._call(self._codedeploy, operation, params)

    def ecs(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call ECS's ``operation`` (a client method name)."""
        return self._call(self._ecs, operation, params)

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        def explain(code: str, message: str, action: str) -> str:
            return messages.explain_error(code, message, action, self._request)

        return call(client, operation, params, explain)


def call(client: Any, operation: str, params: Mapping[str, Any], explain: Explain) -> dict[str, Any]:
    """Call ``client``'s ``operation``; a non-retryable error becomes AwsCallError worded by ``explain``.

    Errors botocore retried and gave up on raise TransientAwsError; other BotoCoreErrors pass through.
    """
    action = action_name(client, operation)
    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        if is_transient(client, operation, exc):
            raise TransientAwsError(
                f"{action} still failing after {_attempts(exc)} attempt(s): {code}: {message}"
            ) from exc
        raise AwsCallError(code, action, explain(code, message, action)) from exc
    except BotoCoreError as exc:
        if is_transient(client, operation, exc):
            raise TransientAwsError(f"{action} still failing: {type(exc).__name__}: {exc}") from exc
        raise
    return response
