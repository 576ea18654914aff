"""The built-in smoke test against a real local HTTP server, with CodeDeploy stubbed."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers import smoke_test
from blue_green_ecs.handlers.smoke_test import SmokeTestConfig, make_handler, parse_statuses, run_smoke_test

EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "hook-exec-1"}


class Backend(BaseHTTPRequestHandler):
    """/health answers 200, /broken 503, /slow stalls, /moved redirects; it records Host headers."""

    hosts: list[str] = []  # noqa: RUF012 - shared with the test through the class

    def do_GET(self) -> None:
        Backend.hosts.append(self.headers.get("Host", ""))
        if self.path == "/slow":
            time.sleep(1.0)
        status = {"/health": 200, "/broken": 503, "/slow": 200, "/moved": 302}.get(self.path, 404)
        body = b"ok" if status == 200 else b"no"
        try:
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "/health")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def codedeploy() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def expect_report(stub: Stubber, status: str) -> None:
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-NEW", "lifecycleEventHookExecutionId": "hook-exec-1", "status": status},
    )


def run_hook(codedeploy: tuple[Any, Stubber], environ: dict[str, str], status: str) -> dict[str, str]:
    client, stub = codedeploy
    expect_report(stub, status)
    sleeps: list[float] = []
    result = make_handler(client=client, environ=environ, sleep=sleeps.append)(EVENT, None)
    assert result["Status"] == status
    return result


def test_passing_endpoint_reports_succeeded(server: str, codedeploy: tuple[Any, Stubber]) -> None:
    client, stub = codedeploy
    expect_report(stub, "Succeeded")
    sleeps: list[float] = []
    environ = {"TARGET_URL": server, "REQUEST_PATH": "/health", "REQUESTS": "3", "INTERVAL_SECONDS": "2"}

    result = make_handler(client=client, environ=environ, sleep=sleeps.append)(EVENT, None)

    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}
    assert sleeps == [2.0, 2.0]


def test_wrong_status_reports_failed(server: str, codedeploy: tuple[Any, Stubber]) -> None:
    result = run_hook(codedeploy, {"TARGET_URL": f"{server}/broken", "REQUESTS": "2"}, "Failed")

    assert result["Reason"] == (
        f"0 of 2 requests to {server}/broken passed (2 failed, at most 0 allowed): "
        "#1: HTTP 503, expected 200; #2: HTTP 503, expected 200"
    )


def test_redirect_is_a_status_not_followed(server: str, codedeploy: tuple[Any, Stubber]) -> None:
    result = run_hook(codedeploy, {"TARGET_URL": server, "REQUEST_PATH": "moved", "REQUESTS": "1"}, "Failed")

    assert result["Reason"].endswith("#1: HTTP 302, expected 200")


def test_connection_refused_reports_failed(closed_port: int, codedeploy: tuple[Any, Stubber]) -> None:
    url = f"http://127.0.0.1:{closed_port}/health"

    result = run_hook(codedeploy, {"TARGET_URL": url, "REQUESTS": "1"}, "Failed")

    assert result["Reason"] == (
        f"0 of 1 requests to {url} passed (1 failed, at most 0 allowed): #1: connection refused"
    )


def test_timeout_reports_failed(server: str, codedeploy: tuple[Any, Stubber]) -> None:
    environ = {"TARGET_URL": server, "REQUEST_PATH": "/slow", "REQUESTS": "1", "TIMEOUT_SECONDS": "0.2"}

    result = run_hook(codedeploy, environ, "Failed")

    assert result["Reason"].endswith("#1: timed out after 0.2s")


def test_allowed_failures_and_status_ranges(server: str) -> None:
    config = SmokeTestConfig.from_env(
        {"TARGET_URL": f"{server}/broken", "EXPECTED_STATUS": "200-299", "REQUESTS": "2", "MAX_FAILURES": "2"}
    )

    result = run_smoke_test(config, sleep=lambda _: None)

    assert result.passed
    assert result.failures == 2


def test_host_header_is_sent(server: str) -> None:
    Backend.hosts.clear()
    config = SmokeTestConfig.from_env(
        {"TARGET_URL": f"{server}/health", "REQUESTS": "1", "HOST_HEADER": "shop.example.com"}
    )

    assert run_smoke_test(config).passed
    assert Backend.hosts == ["shop.example.com"]


def test_invalid_configuration_fails_the_deployment(codedeploy: tuple[Any, Stubber]) -> None:
    result = run_hook(codedeploy, {"TARGET_URL": "internal-lb:8080"}, "Failed")

    assert result["Reason"] == (
        "ValueError: Environment variable TARGET_URL must be an http:// or https:// URL, "
        "got 'internal-lb:8080'"
    )


def test_configuration_defaults() -> None:
    config = SmokeTestConfig.from_env({"TARGET_URL": "https://lb.example.com:8443/"})

    assert config == SmokeTestConfig(url="https://lb.example.com:8443/")
    assert config.requests == 5
    assert config.interval_seconds == 2.0
    assert config.timeout_seconds == 5.0
    assert config.verify_tls is False


def test_tls_verification_is_optional() -> None:
    lenient = smoke_test.tls_context(verify=False)
    strict = smoke_test.tls_context(verify=True)

    assert (lenient.check_hostname, lenient.verify_mode) == (False, ssl.CERT_NONE)
    assert (strict.check_hostname, strict.verify_mode) == (True, ssl.CERT_REQUIRED)


@pytest.mark.parametrize(
    ("text", "codes"),
    [("200", {200}), ("200, 204", {200, 204}), ("200-202,404", {200, 201, 202, 404})],
)
def test_parse_statuses(text: str, codes: set[int]) -> None:
    assert parse_statuses(text) == codes


def test_parse_statuses_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="EXPECTED_STATUS must list status codes or ranges, got 'ok'"):
        parse_statuses("ok")
