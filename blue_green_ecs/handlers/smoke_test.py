"""Built-in smoke test: an AfterAllowTestTraffic hook that probes the replacement task set.

When CodeDeploy has moved the load balancer's test listener to the replacement (green) task set, this hook
sends GET requests through that listener and fails the deployment (so CodeDeploy rolls back before any
production traffic moves) when more requests fail than allowed. A request fails on a connection error, a
timeout or an unexpected status; redirects are not followed, a 3xx is a status like any other.

Lambda handler: ``smoke_test.handler``. Its timeout must exceed
``REQUESTS * (TIMEOUT_SECONDS + INTERVAL_SECONDS)`` with some margin.

Environment variables
---------------------
``TARGET_URL``
    Required. Base URL of the test listener, e.g. ``http://internal-shop-123.eu-west-1.elb.amazonaws.com:8080``.
``REQUEST_PATH``
    Path requested on TARGET_URL, default: TARGET_URL as given. (Not ``PATH``: that variable is the Lambda
    runtime's executable search path and must not be overridden.)
``EXPECTED_STATUS``
    Accepted status codes, default ``200``; a comma-separated list of codes and ranges, e.g. ``200,204``
    or ``200-299``.
``REQUESTS``
    Number of requests, default ``5``.
``INTERVAL_SECONDS``
    Pause between two requests, default ``2``.
``TIMEOUT_SECONDS``
    Time limit of each request (connect, then each read), default ``5``.
``MAX_FAILURES``
    How many requests may fail while the test still passes, default ``0``.
``VERIFY_TLS``
    ``false`` (default) accepts any certificate on an HTTPS test listener: it presents the production
    certificate, whose name does not match the load balancer's DNS name. ``true`` verifies the chain and
    the host name of TARGET_URL.
``HOST_HEADER``
    Optional Host header, for listener rules that route by host name.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    # Inside the Lambda asset the handlers directory is the import root and there is no package; in the
    # library (and its tests) this module is blue_green_ecs.handlers.smoke_test.
    lifecycle_hook = importlib.import_module(
        f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook"
    )

_MAX_BODY = 64 * 1024
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.smoke_test", "action": action, **fields}, default=str))


def _number(environ: Mapping[str, str], name: str, default: str, *, minimum: float) -> float:
    raw = environ.get(name, default).strip() or default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"Environment variable {name} must be at least {minimum:g}, got {raw!r}")
    return value


def _whole(environ: Mapping[str, str], name: str, default: str, *, minimum: int) -> int:
    raw = environ.get(name, default).strip() or default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"Environment variable {name} must be at least {minimum}, got {raw!r}")
    return value


def parse_statuses(text: str) -> frozenset[int]:
    """Parse ``"200"``, ``"200,204"`` or ``"200-299"`` into the set of accepted status codes."""
    codes: set[int] = set()
    for part in (item.strip() for item in text.split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"EXPECTED_STATUS must list status codes or ranges, got {text!r}") from None
        if not 100 <= first <= last <= 599:
            raise ValueError(f"EXPECTED_STATUS has an invalid code or range {part!r}")
        codes.update(range(first, last + 1))
    if not codes:
        raise ValueError(f"EXPECTED_STATUS must list at least one status code, got {text!r}")
    return frozenset(codes)


@dataclass(frozen=True)
class SmokeTestConfig:
    """What to request and what counts as a pass."""

    url: str
    expected_statuses: frozenset[int] = frozenset({200})
    expected_label: str = "200"
    requests: int = 5
    interval_seconds: float = 2.0
    timeout_seconds: float = 5.0
    max_failures: int = 0
    verify_tls: bool = False
    host_header: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmokeTestConfig:
        """Read the configuration from environment variables; a ValueError names the faulty variable."""
        base = environ.get("TARGET_URL", "").strip()
        if not base.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"Environment variable TARGET_URL must be an http:// or https:// URL, got {base!r}"
            )
        path = environ.get("REQUEST_PATH", "").strip()
        url = f"{base.rstrip('/')}/{path.lstrip('/')}" if path else base
        expected = environ.get("EXPECTED_STATUS", "200").strip() or "200"
        verify = environ.get("VERIFY_TLS", "false").strip().lower()
        if verify not in _TRUE | _FALSE:
            raise ValueError(f"Environment variable VERIFY_TLS must be true or false, got {verify!r}")
        return cls(
            url=url,
            expected_statuses=parse_statuses(expected),
            expected_label=expected,
            requests=_whole(environ, "REQUESTS", "5", minimum=1),
            interval_seconds=_number(environ, "INTERVAL_SECONDS", "2", minimum=0),
            timeout_seconds=_number(environ, "TIMEOUT_SECONDS", "5", minimum=0.001),
            max_failures=_whole(environ, "MAX_FAILURES", "0", minimum=0),
            verify_tls=verify in _TRUE,
            host_header=environ.get("HOST_HEADER", "").strip() or None,
        )


@dataclass(frozen=True)
class Probe:
    """The outcome of one request."""

    number: int
    passed: bool
    status: int | None
    elapsed_ms: int
    error: str | None = None


@dataclass(frozen=True)
class SmokeTestResult:
    """All probes of one run."""

    url: str
    probes: tuple[Probe, ...]
    max_failures: int

    @property
    def failures(self) -> int:
        """How many requests failed."""
        return sum(not probe.passed for probe in self.probes)

    @property
    def passed(self) -> bool:
        """Whether no more requests failed than allowed."""
        return bool(self.probes) and self.failures <= self.max_failures

    def summary(self) -> str:
        """One sentence for the logs and the hook's failure reason."""
        text = (
            f"{len(self.probes) - self.failures} of {len(self.probes)} requests to {self.url} passed "
            f"({self.failures} failed, at most {self.max_failures} allowed)"
        )
        errors = [f"#{probe.number}: {probe.error}" for probe in self.probes if not probe.passed]
        return f"{text}: {'; '.join(errors)}" if errors else text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a 3xx as it is: following it could leave the test listener (e.g. to production)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def tls_context(verify: bool) -> ssl.SSLContext:
    """A TLS context that verifies chain and host name, or accepts any certificate."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _opener(config: SmokeTestConfig) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        # A proxy from the environment would not reach an internal load balancer.
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=tls_context(config.verify_tls)),
        _NoRedirect(),
    )


def _describe(reason: object, config: SmokeTestConfig) -> str:
    if isinstance(reason, TimeoutError):
        return f"timed out after {config.timeout_seconds:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason}"
    if isinstance(reason, socket.gaierror):
        return f"host name lookup failed: {reason}"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return str(reason)


def _probe(opener: urllib.request.OpenerDirector, config: SmokeTestConfig, number: int) -> Probe:
    headers = {"User-Agent": "blue-green-ecs-smoke-test"}
    if config.host_header:
        headers["Host"] = config.host_header
    request = urllib.request.Request(config.url, headers=headers, method="GET")
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        with opener.open(request, timeout=config.timeout_seconds) as response:
            # Reading the body makes a backend that stalls mid-response count as a timeout.
            response.read(_MAX_BODY)
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except urllib.error.URLError as exc:
        error = _describe(exc.reason, config)
    except (OSError, http.client.HTTPException) as exc:
        error = _describe(exc, config)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    passed = status is not None and status in config.expected_statuses
    if status is not None and not passed:
        error = f"HTTP {status}, expected {config.expected_label}"
    probe = Probe(number=number, passed=passed, status=status, elapsed_ms=elapsed_ms, error=error)
    log(
        "request",
        number=number,
        url=config.url,
        passed=passed,
        status=status,
        elapsed_ms=elapsed_ms,
        error=error,
    )
    return probe


def run_smoke_test(
    config: SmokeTestConfig, *, sleep: Callable[[float], None] = time.sleep
) -> SmokeTestResult:
    """Send ``config.requests`` GET requests, pausing ``config.interval_seconds`` between them."""
    opener = _opener(config)
    probes = []
    for number in range(1, config.requests + 1):
        if number > 1 and config.interval_seconds:
            sleep(config.interval_seconds)
        probes.append(_probe(opener, config, number))
    return SmokeTestResult(url=config.url, probes=tuple(probes), max_failures=config.max_failures)


def make_handler(
    *,
    client: Any = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> lifecycle_hook.LambdaHandler:
    """Build the Lambda handler; tests inject a CodeDeploy client, the environment and the sleep."""

    def smoke_test(event: Mapping[str, Any], context: Any) -> bool:
        config = SmokeTestConfig.from_env(os.environ if environ is None else environ)
        result = run_smoke_test(config, sleep=sleep)
        log("result", passed=result.passed, summary=result.summary())
        if not result.passed:
            raise lifecycle_hook.HookFailedError(result.summary())
        return True

    return lifecycle_hook.codedeploy_hook(client=client)(smoke_test)


handler = make_handler()
