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

AccessDenied while IAM catches up: changes to IAM "are not always immediately visible" (IAM User Guide,
Troubleshoot IAM, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency),
and CloudFormation creates the function's role policies right before the function and its first requests.
So a Create (``Patience``) calls again after an AccessDenied, 2, 4, 8, 16, then every 30 s, until
``IAM_PROPAGATION_GRACE`` after the request arrived; then, and at once on an Update or a Delete, the call
fails with the missing permission. The grace is terraform-provider-aws's for the same delay (2 minutes,
``propagationTimeout`` in its ``internal/service/iam``), well inside the function's 5 minutes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
# What a handler is timed with: tests and the simulator pass their own.
Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
# How long a Create calls again after an AccessDenied (see the module's docstring).
IAM_PROPAGATION_GRACE = timedelta(minutes=2)
_DENIED_WAITS_SECONDS = (2.0, 4.0, 8.0, 16.0, 30.0)  # then 30 s each time


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


@dataclass(frozen=True)
class Patience:
    """How long a Create's calls wait out AccessDenied while IAM makes its role's new policies visible."""

    until: datetime
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]

    @classmethod
    def of_request(
        cls,
        event: Mapping[str, Any],
        arrived: datetime | None,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> Patience | None:
        """A Create's patience, until ``IAM_PROPAGATION_GRACE`` after ``arrived``; None for any other request."""
        if event.get("RequestType") != "Create" or arrived is None:
            return None
        return cls(arrived + IAM_PROPAGATION_GRACE, clock, sleep)

    def wait(self, attempt: int) -> bool:
        """Sleep before calling again for the ``attempt``-th time (0 first), never past ``until``; False, and no
        sleep, once ``until`` has passed."""
        left = (self.until - self.clock()).total_seconds()
        if left <= 0:
            return False
        self.sleep(min(_DENIED_WAITS_SECONDS[min(attempt, len(_DENIED_WAITS_SECONDS) - 1)], left))
        return True

    @staticmethod
    def exhausted() -> str:
        """The sentence a Create's reason ends with when the grace did not suffice."""
        minutes = int(IAM_PROPAGATION_GRACE.total_seconds() // 60)
        return (
            f" Still denied {minutes} minutes after the request arrived, longer than a Create waits for IAM to "
            "show the role's new policies."
        )


def waited_out_denial(exc: Exception, patience: Patience | None, attempt: int, action: str) -> bool:
    """Whether ``exc`` is an AccessDenied that ``patience`` waited out (it slept): then call again."""
    if patience is None or not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code") or "")
    if code not in messages.ACCESS_DENIED_CODES or not patience.wait(attempt):
        return False
    messages.log("access-denied", decision="call-again", call=action, attempt=attempt + 1)
    return True


def _attempts(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts") or 0) + 1


class Aws:
    """AWS calls on behalf of one request: errors explained, transient ones raised as TransientAwsError."""

    def __init__(self, codedeploy: Any, ecs: Any, request: DeploymentRequest, patience: Patience | None = None) -> None:
        self._codedeploy = codedeploy
        self._ecs = ecs
        self._request = request
        self._patience = patience

    def codedeploy(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call CodeDeploy's ``operation`` (a client method name)."""
        return self._call(self._codedeploy, operation, params)

    def ecs(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call ECS's ``operation`` (a client method name)."""
        return self._call(self._ecs, operation, params)

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        def explain(code: str, message: str, action: str) -> str:
            return messages.explain_error(code, message, action, self._request)

        return call(client, operation, params, explain, patience=self._patience)


def call(
    client: Any, operation: str, params: Mapping[str, Any], explain: Explain, *, patience: Patience | None = None
) -> dict[str, Any]:
    """Call ``client``'s ``operation``; a non-retryable error becomes AwsCallError worded by ``explain``.

    Errors botocore retried and gave up on raise TransientAwsError; other BotoCoreErrors pass through. With
    ``patience`` (a Create's), an AccessDenied is called again until it runs out.
    """
    action = action_name(client, operation)
    attempt = 0
    while True:
        try:
            response: dict[str, Any] = getattr(client, operation)(**params)
        except ClientError as exc:
            if waited_out_denial(exc, patience, attempt, action):
                attempt += 1
                continue
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Unknown")
            message = str(error.get("Message") or exc)
            if is_transient(client, operation, exc):
                raise TransientAwsError(
                    f"{action} still failing after {_attempts(exc)} attempt(s): {code}: {message}"
                ) from exc
            reason = explain(code, message, action)
            if patience is not None and code in messages.ACCESS_DENIED_CODES:
                reason += patience.exhausted()
            raise AwsCallError(code, action, reason) from exc
        except BotoCoreError as exc:
            if is_transient(client, operation, exc):
                raise TransientAwsError(f"{action} still failing: {type(exc).__name__}: {exc}") from exc
            raise
        return response
