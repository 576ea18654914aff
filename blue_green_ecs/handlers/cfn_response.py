"""The answer to CloudFormation: a PUT of a JSON body (at most 4096 bytes) to the request's presigned ResponseURL.

Standard library only. The ResponseURL is a credential: it is never logged.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

# CloudFormation rejects a larger response body.
MAX_RESPONSE_BYTES = 4096
PUT_ATTEMPTS = 4
PUT_TIMEOUT_SECONDS = 20.0

_ELLIPSIS = "..."

# (url, body, headers) -> HTTP status. Raises OSError (urllib's URLError is one) when there is no answer.
HttpPut = Callable[[str, bytes, Mapping[str, str]], int]


class ResponseError(Exception):
    """CloudFormation's ResponseURL could not be reached or refused the response."""


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs; callers never pass the event or its ResponseURL."""
    print(
        json.dumps({"logger": "blue_green_ecs.custom_resource", "action": action, **fields}, default=str),
        flush=True,
    )


def urllib_put(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """PUT ``body`` with urllib (the Lambda runtime has no requests library); return the HTTP status."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        # Not a network problem: the caller decides by the status whether trying again can help.
        return int(exc.code)


def failed_physical_resource_id(request: Mapping[str, Any]) -> str:
    """The PhysicalResourceId of a FAILED response: the known one, else a deterministic placeholder.

    CloudFormation requires one even when a Create failed before any existed, and sends it back in the
    rollback's Delete (a no-op in ``deployment.py``).
    """
    known = request.get("PhysicalResourceId")
    if known:
        return str(known)
    return f"{request.get('LogicalResourceId', 'Resource')}-failed-{request.get('RequestId', '')}"


def _encode(body: Mapping[str, Any]) -> bytes:
    # ASCII-only JSON: one byte per character, so lengths below are byte counts.
    return json.dumps(body, default=str).encode("ascii")


def _truncate(text: str, room: int) -> str:
    """The longest start of ``text``, ending with "...", whose JSON string encoding fits in ``room`` bytes."""

    def size(candidate: str) -> int:
        return len(json.dumps(candidate)) - 2  # without the quotes

    if size(_ELLIPSIS) > room:
        return ""
    low, high = 0, len(text)
    while low < high:  # encoded size grows with the prefix, so bisect on its length
        middle = (low + high + 1) // 2
        if size(text[:middle] + _ELLIPSIS) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + _ELLIPSIS


def response_body(
    request: Mapping[str, Any], *, status: str, reason: str, physical_resource_id: str, data: Mapping[str, Any]
) -> bytes:
    """The JSON CloudFormation expects, at most ``MAX_RESPONSE_BYTES``: only the Reason is ever shortened.

    Data is what ``Fn::GetAtt`` reads, so a truncated value would be silently wrong; the Reason is prose.
    """
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_resource_id,
        "StackId": request.get("StackId", ""),
        "RequestId": request.get("RequestId", ""),
        "LogicalResourceId": request.get("LogicalResourceId", ""),
        "NoEcho": False,
        "Data": dict(data),
    }
    encoded = _encode(body)
    if len(encoded) <= MAX_RESPONSE_BYTES:
        return encoded
    room = MAX_RESPONSE_BYTES - len(_encode({**body, "Reason": ""}))
    body["Reason"] = _truncate(reason, room)
    return _encode(body)


def send(
    request: Mapping[str, Any],
    status: str,
    reason: str,
    physical_resource_id: str,
    data: Mapping[str, Any],
    *,
    put: HttpPut = urllib_put,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = PUT_ATTEMPTS,
    base_delay: float = 1.0,
) -> dict[str, Any]:
    """PUT the response to the ResponseURL, retrying network errors and 5xx with exponential backoff."""
    body = response_body(request, status=status, reason=reason, physical_resource_id=physical_resource_id, data=data)
    # The presigned URL is signed for an empty Content-Type.
    headers = {"Content-Type": "", "Content-Length": str(len(body))}
    url = str(request["ResponseURL"])
    fields = {"request_id": request.get("RequestId"), "status": status}
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            code = put(url, body, headers)
        except OSError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= code < 300:
                log("responded", **fields, physical_resource_id=physical_resource_id, reason=reason, data=data)
                return {"Status": status}
            problem = f"HTTP {code}"
            if code < 500:
                # A refused or expired presigned URL: trying again cannot help.
                break
        if attempt < attempts:
            delay = base_delay * 2 ** (attempt - 1)
            log("response-retry", **fields, attempt=attempt, delay_seconds=delay, error=problem)
            sleep(delay)
    log("response-failed", **fields, level="ERROR", error=problem, reason=reason)
    raise ResponseError(f"Could not send the {status} response to CloudFormation: {problem}")
