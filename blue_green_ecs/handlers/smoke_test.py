"""Built-in smoke test: a lifecycle hook that probes the replacement (green) tasks through the test listener.

Once the load balancer's test listener routes to the replacement tasks, this hook sends GET requests through
that listener and fails the deployment (so it rolls back before any production traffic moves) when more
requests fail than allowed. A request fails on a connection error, a timeout or an unexpected status;
redirects are not followed, a 3xx is a status like any other.

The requests go to the private IP addresses of the load balancer's nodes (its in-use network interfaces,
found with ``ec2:DescribeNetworkInterfaces``), in turn, so each node (one per Availability Zone) is tested
and an internet-facing load balancer is reached inside the VPC, through a test listener closed to the
internet. URL, port, path and Host header stay those of TARGET_URL, so the listener routes and logs the
requests as usual; over HTTPS the TLS server name (SNI) is TARGET_URL's host name.

It runs under either deployment engine, through the ``lifecycle_hook`` helper, which tells them apart by
the event: under CodeDeploy as the ``AfterAllowTestTraffic`` hook, reporting with
``PutLifecycleEventHookExecutionStatus``; under Amazon ECS native blue/green deployments as a Lambda hook
at the ``POST_TEST_TRAFFIC_SHIFT`` stage, returning ``{"hookStatus": "SUCCEEDED"}`` or ``"FAILED"``.

``hooks.SmokeTestFunction`` deploys it (``smoke_test.handler``) in the load balancer's VPC, with the role,
security group and timeout it needs: ``REQUESTS * (TIMEOUT_SECONDS + INTERVAL_SECONDS)`` plus room for
the EC2 call, retried on throttling and connection errors (up to 8 retries, 5 s connect timeout, backoff
of up to 20 s). Under CodeDeploy a function that times out never reports, leaving CodeDeploy waiting for
an hour. Its environment variables:

``TARGET_URL``
    Base URL of the test listener, e.g. ``http://internal-shop-123.eu-west-1.elb.amazonaws.com:8080``.
``LOAD_BALANCER_FULL_NAME``
    Full name of the Application Load Balancer, ``app/<name>/<id>`` (its ``LoadBalancerFullName``).
``REQUEST_PATH``
    Path requested on TARGET_URL, default: TARGET_URL as given. (Not ``PATH``: that variable is the Lambda
    runtime's executable search path.)
``EXPECTED_STATUS``
    Accepted status codes, default ``200``; codes and ranges, e.g. ``200,204`` or ``200-299``.
``REQUESTS``, ``INTERVAL_SECONDS``, ``TIMEOUT_SECONDS``, ``MAX_FAILURES``
    Number of requests (default 5), pause between two (default 2), time limit of each, connect then each
    read (default 5), and how many may fail while the test still passes (default 0).
``VERIFY_TLS``
    ``false`` (default) accepts any certificate on an HTTPS test listener: it presents the production
    certificate, whose name is not the load balancer's. ``true`` verifies the chain and TARGET_URL's host.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import importlib
import json
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    BotoCoreError,
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
    ConnectionError as BotocoreConnectionError,
)

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    # Inside the Lambda asset the handlers directory is the import root and there is no package; in the
    # library (and its tests) this module is blue_green_ecs.handlers.smoke_test.
    lifecycle_hook = importlib.import_module(f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook")

_MAX_BODY = 64 * 1024
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
# Application Load Balancer full name, as it appears in ENI descriptions.
_FULL_NAME = re.compile(r"app/[^/\s]+/[^/\s]+")
_ACCESS_DENIED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
_N = TypeVar("_N", int, float)


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.smoke_test", "action": action, **fields}, default=str))


def _setting(environ: Mapping[str, str], name: str, default: str, kind: type[_N], *, minimum: _N) -> _N:
    """Environment variable ``name`` as a ``kind`` (int or float) of at least ``minimum``."""
    raw = environ.get(name, default).strip() or default
    try:
        value = kind(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ValueError(f"Environment variable {name} must be {noun}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"Environment variable {name} must be at least {minimum:g}, got {raw!r}")
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
    load_balancer_full_name: str
    expected_statuses: frozenset[int] = frozenset({200})
    expected_label: str = "200"
    requests: int = 5
    interval_seconds: float = 2.0
    timeout_seconds: float = 5.0
    max_failures: int = 0
    verify_tls: bool = False

    @property
    def server_name(self) -> str:
        """The host name the requests are for: TARGET_URL's (without port)."""
        parts = urllib.parse.urlsplit(self.url)
        return parts.hostname or parts.netloc

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmokeTestConfig:
        """Read the configuration from environment variables; a ValueError names the faulty variable."""
        base = environ.get("TARGET_URL", "").strip()
        if not base.lower().startswith(("http://", "https://")):
            raise ValueError(f"Environment variable TARGET_URL must be an http:// or https:// URL, got {base!r}")
        path = environ.get("REQUEST_PATH", "").strip()
        url = f"{base.rstrip('/')}/{path.lstrip('/')}" if path else base
        expected = environ.get("EXPECTED_STATUS", "200").strip() or "200"
        verify = environ.get("VERIFY_TLS", "false").strip().lower()
        if verify not in _TRUE | _FALSE:
            raise ValueError(f"Environment variable VERIFY_TLS must be true or false, got {verify!r}")
        full_name = environ.get("LOAD_BALANCER_FULL_NAME", "").strip()
        if not _FULL_NAME.fullmatch(full_name):
            raise ValueError(
                "Environment variable LOAD_BALANCER_FULL_NAME must be a load balancer's full name, "
                f"app/<name>/<id> (its LoadBalancerFullName attribute, not its ARN), got {full_name!r}"
            )
        return cls(
            url=url,
            load_balancer_full_name=full_name,
            expected_statuses=parse_statuses(expected),
            expected_label=expected,
            requests=_setting(environ, "REQUESTS", "5", int, minimum=1),
            interval_seconds=_setting(environ, "INTERVAL_SECONDS", "2", float, minimum=0.0),
            timeout_seconds=_setting(environ, "TIMEOUT_SECONDS", "5", float, minimum=0.001),
            max_failures=_setting(environ, "MAX_FAILURES", "0", int, minimum=0),
            verify_tls=verify in _TRUE,
        )


@dataclass(frozen=True)
class Probe:
    """The outcome of one request."""

    number: int
    passed: bool
    status: int | None
    elapsed_ms: int
    address: str
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
        errors = [f"#{probe.number} ({probe.address}): {probe.error}" for probe in self.probes if not probe.passed]
        return f"{text}: {'; '.join(errors)}" if errors else text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a 3xx as it is: following it could leave the test listener (e.g. to production)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def tls_context(verify: bool) -> ssl.SSLContext:
    """A TLS context that verifies chain and host name, or accepts any certificate."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to ``address`` instead of the host it was given, which still goes into the Host header."""

    def __init__(self, host: str, /, *, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to ``address``; the TLS server name (SNI, and the name verified) stays a host name."""

    def __init__(self, host: str, /, *, address: str, context: ssl.SSLContext, server_name: str, **kwargs: Any) -> None:
        super().__init__(host, context=context, **kwargs)
        self.address = address
        self.tls = context
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.server_name)
        except BaseException:
            sock.close()
            raise


class _PinnedHandler(urllib.request.HTTPSHandler, urllib.request.HTTPHandler):
    """Opens http:// and https:// URLs through a connection to ``address``, whatever the URL's host resolves to.

    A subclass of both default handlers, so that ``build_opener`` adds neither of them.
    """

    def __init__(self, address: str, context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(context=context)
        self.plain = functools.partial(_PinnedHTTPConnection, address=address)
        self.tls = functools.partial(_PinnedHTTPSConnection, address=address, context=context, server_name=server_name)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.plain, req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self.tls, req)


def _opener(config: SmokeTestConfig, address: str) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        # A proxy from the environment would not reach the load balancer's private addresses.
        urllib.request.ProxyHandler({}),
        _PinnedHandler(address, tls_context(config.verify_tls), config.server_name),
        _NoRedirect(),
    )


def _describe(reason: object, config: SmokeTestConfig) -> str:
    if isinstance(reason, TimeoutError):
        return f"timed out after {config.timeout_seconds:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason}"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return str(reason)


def _probe(opener: urllib.request.OpenerDirector, config: SmokeTestConfig, number: int, address: str) -> Probe:
    headers = {"User-Agent": "blue-green-ecs-smoke-test"}
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
    probe = Probe(number=number, passed=passed, status=status, elapsed_ms=elapsed_ms, address=address, error=error)
    log("request", url=config.url, **dataclasses.asdict(probe))
    return probe


def run_smoke_test(
    config: SmokeTestConfig,
    addresses: Sequence[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SmokeTestResult:
    """Send ``config.requests`` GET requests to ``addresses`` in turn, pausing ``config.interval_seconds``."""
    if not addresses:
        raise ValueError("run_smoke_test needs at least one address of the load balancer's nodes")
    routes = [(address, _opener(config, address)) for address in addresses]
    probes = []
    for number in range(1, config.requests + 1):
        if number > 1 and config.interval_seconds:
            sleep(config.interval_seconds)
        address, opener = routes[(number - 1) % len(routes)]
        probes.append(_probe(opener, config, number, address))
    return SmokeTestResult(url=config.url, probes=tuple(probes), max_failures=config.max_failures)


@functools.cache
def _default_ec2_client() -> Any:
    # botocore's 60 s connect timeout, times 9 attempts, would outlast the function where the EC2 API is
    # unreachable (a VPC without NAT or endpoint), and a function that times out never reports to CodeDeploy
    # (and under Amazon ECS fails the hook without saying why).
    return boto3.client(
        "ec2",
        config=Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=10),
    )


def load_balancer_addresses(ec2: Any, full_name: str) -> tuple[str, ...]:
    """The private IP addresses of the load balancer's nodes (its in-use network interfaces), sorted.

    Raises HookFailedError, with the reason the hook fails for, when there are none or EC2 cannot be asked.
    """
    request: dict[str, Any] = {"Filters": [{"Name": "description", "Values": [f"ELB {full_name}"]}]}
    addresses: set[str] = set()
    try:
        while True:
            page = ec2.describe_network_interfaces(**request)
            addresses.update(
                interface["PrivateIpAddress"]
                for interface in page.get("NetworkInterfaces", [])
                # Interfaces of nodes being added or removed have other states and may not answer yet.
                if interface.get("Status") == "in-use" and interface.get("PrivateIpAddress")
            )
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        hint = (
            '; the function\'s role needs ec2:DescribeNetworkInterfaces on Resource "*"'
            if code in _ACCESS_DENIED
            else ""
        )
        raise lifecycle_hook.HookFailedError(
            f"cannot list the network interfaces of load balancer {full_name}: {code}: {message}{hint}"
        ) from exc
    except BotoCoreError as exc:
        hint = (
            "; a function in a VPC without NAT needs an interface VPC endpoint com.amazonaws.<region>.ec2"
            if isinstance(exc, BotocoreConnectionError | HTTPClientError)
            else ""
        )
        raise lifecycle_hook.HookFailedError(
            f"cannot list the network interfaces of load balancer {full_name}: {exc}{hint}"
        ) from exc
    if not addresses:
        # DescribeNetworkInterfaces sees the whole account and region, whatever VPC the function is in.
        raise lifecycle_hook.HookFailedError(
            f"no in-use network interfaces found for load balancer {full_name}; is LOAD_BALANCER_FULL_NAME "
            "the full name of a load balancer in this account and region?"
        )
    return tuple(sorted(addresses))


def make_handler(
    *,
    client: Any = None,
    ec2_client: Any = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> lifecycle_hook.LambdaHandler:
    """Build the Lambda handler; tests inject the CodeDeploy and EC2 clients, the environment and the sleep.

    The handler answers CodeDeploy and Amazon ECS events alike; ``client`` only serves CodeDeploy events, and
    without it a CodeDeploy client is created on the first CodeDeploy report, never for an ECS event. Without
    ``ec2_client``, an EC2 client is created on first use.
    """

    def smoke_test(event: Mapping[str, Any], context: Any) -> bool:
        config = SmokeTestConfig.from_env(os.environ if environ is None else environ)
        ec2 = ec2_client if ec2_client is not None else _default_ec2_client()
        addresses = load_balancer_addresses(ec2, config.load_balancer_full_name)
        log("load-balancer-addresses", load_balancer=config.load_balancer_full_name, addresses=addresses)
        result = run_smoke_test(config, addresses, sleep=sleep)
        log("result", passed=result.passed, summary=result.summary())
        if not result.passed:
            raise lifecycle_hook.HookFailedError(result.summary())
        return True

    return lifecycle_hook.codedeploy_hook(client=client)(smoke_test)


handler = make_handler()
