"""The built-in smoke test against real local servers, with CodeDeploy and EC2 stubbed.

It runs under CodeDeploy (reporting through the stub) and under Amazon ECS (returning the hook status, with a
CodeDeploy stub that answers nothing, so that any CodeDeploy call would fail the test).

Loopback addresses (all of 127.0.0.0/8 on Linux) stand in for the private IP addresses of the load balancer's
nodes, and a TARGET_URL host under .invalid, which never resolves, proves that the requests do not depend on it.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from blue_green_ecs.handlers import smoke_test
from blue_green_ecs.handlers.smoke_test import (
    SmokeTestConfig,
    load_balancer_addresses,
    make_handler,
    parse_statuses,
    run_smoke_test,
)

from .fakes import no_codedeploy_calls

EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "hook-exec-1"}
FULL_NAME = "app/BlueG-WebLo-ABC/0123456789abcdef"
DESCRIBE = {"Filters": [{"Name": "description", "Values": [f"ELB {FULL_NAME}"]}]}
LB_HOST = "blueg-weblo-abc-123.eu-west-1.elb.invalid"


class Backend(BaseHTTPRequestHandler):
    """/health answers 200, /broken 503, /slow stalls, /moved redirects; it records Host headers.

    ``seen`` also records the local address each request arrived on, to tell apart servers on one port.
    """

    hosts: list[str] = []  # noqa: RUF012 - shared with the test through the class
    seen: list[tuple[str, str]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        Backend.hosts.append(self.headers.get("Host", ""))
        Backend.seen.append((self.connection.getsockname()[0], self.headers.get("Host", "")))
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


@contextlib.contextmanager
def serving(address: str, port: int = 0) -> Iterator[int]:
    """Run Backend on address:port; yield the port."""
    httpd = ThreadingHTTPServer((address, port), Backend)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving("127.0.0.1") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def nodes() -> Iterator[int]:
    """Two load balancer "nodes", 127.0.0.1 and 127.0.0.2, on one port (as all nodes share the listener's)."""
    with serving("127.0.0.1") as port, contextlib.ExitStack() as stack:
        try:
            stack.enter_context(serving("127.0.0.2", port))
        except OSError as exc:
            pytest.skip(f"this machine cannot listen on 127.0.0.2:{port}: {exc}")
        yield port


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def codedeploy() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def ec2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def interface(address: str, status: str = "in-use") -> dict[str, str]:
    return {
        "NetworkInterfaceId": f"eni-{address.replace('.', '')}",
        "Description": f"ELB {FULL_NAME}",
        "Status": status,
        "PrivateIpAddress": address,
    }


def expect_interfaces(stub: Stubber, *interfaces: dict[str, str]) -> None:
    stub.add_response("describe_network_interfaces", {"NetworkInterfaces": list(interfaces)}, DESCRIBE)


def expect_report(stub: Stubber, status: str) -> None:
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-NEW", "lifecycleEventHookExecutionId": "hook-exec-1", "status": status},
    )


def settings(**environ: str) -> dict[str, str]:
    """The environment as the construct sets it: ``environ`` plus the load balancer's full name."""
    return {"LOAD_BALANCER_FULL_NAME": FULL_NAME, **environ}


def one_node(ec2: tuple[Any, Stubber]) -> Any:
    """The EC2 client, answering that the load balancer has one node, 127.0.0.1 (where the test server runs)."""
    client, stub = ec2
    expect_interfaces(stub, interface("127.0.0.1"))
    return client


def run_hook(
    codedeploy: tuple[Any, Stubber],
    ec2: tuple[Any, Stubber],
    environ: dict[str, str],
    status: str,
    *,
    valid: bool = True,
) -> dict[str, str]:
    """Run the hook under CodeDeploy; unless ``valid`` is False, EC2 answers with one node."""
    client, stub = codedeploy
    expect_report(stub, status)
    ec2_client = one_node(ec2) if valid else ec2[0]
    result = make_handler(client=client, ec2_client=ec2_client, environ=environ, sleep=lambda _: None)(EVENT, None)
    assert result["Status"] == status
    return result


def test_passing_endpoint_reports_succeeded(
    server: str, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    client, stub = codedeploy
    expect_report(stub, "Succeeded")
    sleeps: list[float] = []
    environ = settings(TARGET_URL=server, REQUEST_PATH="/health", REQUESTS="3", INTERVAL_SECONDS="2")

    result = make_handler(client=client, ec2_client=one_node(ec2), environ=environ, sleep=sleeps.append)(EVENT, None)

    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}
    assert sleeps == [2.0, 2.0]


def test_wrong_status_reports_failed(server: str, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    result = run_hook(codedeploy, ec2, settings(TARGET_URL=f"{server}/broken", REQUESTS="2"), "Failed")

    assert result["Reason"] == (
        f"0 of 2 requests to {server}/broken passed (2 failed, at most 0 allowed): "
        "#1 (127.0.0.1): HTTP 503, expected 200; #2 (127.0.0.1): HTTP 503, expected 200"
    )


def test_redirect_is_a_status_not_followed(
    server: str, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    result = run_hook(codedeploy, ec2, settings(TARGET_URL=server, REQUEST_PATH="moved", REQUESTS="1"), "Failed")

    assert result["Reason"].endswith("#1 (127.0.0.1): HTTP 302, expected 200")


def test_connection_refused_reports_failed(
    closed_port: int, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    url = f"http://{LB_HOST}:{closed_port}/health"

    result = run_hook(codedeploy, ec2, settings(TARGET_URL=url, REQUESTS="1"), "Failed")

    assert result["Reason"] == (
        f"0 of 1 requests to {url} passed (1 failed, at most 0 allowed): #1 (127.0.0.1): connection refused"
    )


def test_timeout_reports_failed(server: str, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    environ = settings(TARGET_URL=server, REQUEST_PATH="/slow", REQUESTS="1", TIMEOUT_SECONDS="0.2")

    result = run_hook(codedeploy, ec2, environ, "Failed")

    assert result["Reason"].endswith("#1 (127.0.0.1): timed out after 0.2s")


def test_allowed_failures_and_status_ranges(server: str) -> None:
    config = SmokeTestConfig.from_env(
        settings(TARGET_URL=f"{server}/broken", EXPECTED_STATUS="200-299", REQUESTS="2", MAX_FAILURES="2")
    )

    result = run_smoke_test(config, ["127.0.0.1"], sleep=lambda _: None)

    assert result.passed
    assert result.failures == 2


def test_invalid_configuration_fails_the_deployment(codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    result = run_hook(codedeploy, ec2, settings(TARGET_URL="internal-lb:8080"), "Failed", valid=False)

    assert result["Reason"] == (
        "ValueError: Environment variable TARGET_URL must be an http:// or https:// URL, got 'internal-lb:8080'"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REQUESTS", "2.5", "Environment variable REQUESTS must be an integer, got '2.5'"),
        ("REQUESTS", "0", "Environment variable REQUESTS must be at least 1, got '0'"),
        ("MAX_FAILURES", "-1", "Environment variable MAX_FAILURES must be at least 0, got '-1'"),
        ("INTERVAL_SECONDS", "soon", "Environment variable INTERVAL_SECONDS must be a number, got 'soon'"),
        ("TIMEOUT_SECONDS", "0", "Environment variable TIMEOUT_SECONDS must be at least 0.001, got '0'"),
    ],
)
def test_numeric_settings_are_checked(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        SmokeTestConfig.from_env(settings(TARGET_URL="https://lb.example.com:8443/", **{name: value}))


def test_configuration_defaults() -> None:
    config = SmokeTestConfig.from_env(settings(TARGET_URL="https://lb.example.com:8443/"))

    assert config == SmokeTestConfig(url="https://lb.example.com:8443/", load_balancer_full_name=FULL_NAME)
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


# --- requests to the private addresses of the load balancer's nodes ---


def test_requests_rotate_over_the_load_balancer_nodes_with_the_target_host(
    nodes: int, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    client, stub = ec2
    # Unsorted, and with an interface not in use, which is left out (nothing listens on 127.0.0.3).
    expect_interfaces(stub, interface("127.0.0.2"), interface("127.0.0.3", "detaching"), interface("127.0.0.1"))
    expect_report(codedeploy[1], "Succeeded")
    Backend.seen.clear()
    environ = {
        "TARGET_URL": f"http://{LB_HOST}:{nodes}",
        "REQUEST_PATH": "/health",
        "REQUESTS": "3",
        "LOAD_BALANCER_FULL_NAME": FULL_NAME,
    }

    result = make_handler(client=codedeploy[0], ec2_client=client, environ=environ, sleep=lambda _: None)(EVENT, None)

    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}
    host = f"{LB_HOST}:{nodes}"
    assert Backend.seen == [("127.0.0.1", host), ("127.0.0.2", host), ("127.0.0.1", host)]


def test_failed_request_names_the_node(nodes: int) -> None:
    config = SmokeTestConfig.from_env(settings(TARGET_URL=f"http://{LB_HOST}:{nodes}/health", REQUESTS="2"))

    result = run_smoke_test(config, ["127.0.0.1", "127.0.0.3"], sleep=lambda _: None)

    assert result.summary() == (
        f"1 of 2 requests to http://{LB_HOST}:{nodes}/health passed (1 failed, at most 0 allowed): "
        "#2 (127.0.0.3): connection refused"
    )


def test_interfaces_are_read_page_by_page(ec2: tuple[Any, Stubber]) -> None:
    client, stub = ec2
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [interface("10.0.2.15"), interface("10.0.1.7")], "NextToken": "page-2"},
        DESCRIBE,
    )
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [interface("10.0.3.200"), interface("10.0.1.9", "available")]},
        {**DESCRIBE, "NextToken": "page-2"},
    )

    assert load_balancer_addresses(client, FULL_NAME) == ("10.0.1.7", "10.0.2.15", "10.0.3.200")


def test_no_interfaces_in_use_reports_failed(codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    client, stub = ec2
    expect_interfaces(stub, interface("10.0.1.9", "available"))
    expect_report(codedeploy[1], "Failed")
    environ = {"TARGET_URL": f"http://{LB_HOST}", "LOAD_BALANCER_FULL_NAME": FULL_NAME}

    result = make_handler(client=codedeploy[0], ec2_client=client, environ=environ)(EVENT, None)

    assert result["Status"] == "Failed"
    assert result["Reason"] == (
        "no in-use network interfaces found for load balancer app/BlueG-WebLo-ABC/0123456789abcdef; "
        "is LOAD_BALANCER_FULL_NAME the full name of a load balancer in this account and region?"
    )


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("UnauthorizedOperation", '; the function\'s role needs ec2:DescribeNetworkInterfaces on Resource "*"'),
        ("AccessDenied", '; the function\'s role needs ec2:DescribeNetworkInterfaces on Resource "*"'),
        ("RequestLimitExceeded", ""),
    ],
)
def test_ec2_error_reports_failed(
    codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber], code: str, hint: str
) -> None:
    client, stub = ec2
    stub.add_client_error(
        "describe_network_interfaces",
        service_error_code=code,
        service_message="You are not authorized to perform this operation.",
        expected_params=DESCRIBE,
    )
    expect_report(codedeploy[1], "Failed")
    environ = {"TARGET_URL": f"http://{LB_HOST}", "LOAD_BALANCER_FULL_NAME": FULL_NAME}

    result = make_handler(client=codedeploy[0], ec2_client=client, environ=environ)(EVENT, None)

    assert result["Status"] == "Failed"
    assert result["Reason"] == (
        "cannot list the network interfaces of load balancer app/BlueG-WebLo-ABC/0123456789abcdef: "
        f"{code}: You are not authorized to perform this operation.{hint}"
    )


def test_unreachable_ec2_api_reports_failed(closed_port: int, codedeploy: tuple[Any, Stubber]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    client = boto3.client(
        "ec2",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    expect_report(codedeploy[1], "Failed")
    environ = {"TARGET_URL": f"http://{LB_HOST}", "LOAD_BALANCER_FULL_NAME": FULL_NAME}

    result = make_handler(client=codedeploy[0], ec2_client=client, environ=environ)(EVENT, None)

    assert result["Reason"] == (
        "cannot list the network interfaces of load balancer app/BlueG-WebLo-ABC/0123456789abcdef: "
        f'Could not connect to the endpoint URL: "{endpoint}/"; '
        "a function in a VPC without NAT needs an interface VPC endpoint com.amazonaws.<region>.ec2"
    )


def test_without_full_name_the_hook_fails_before_any_request(
    server: str, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    Backend.hosts.clear()

    # The ec2 stub has no responses: any call would fail differently, and the fixture checks none is left.
    result = run_hook(codedeploy, ec2, {"TARGET_URL": f"{server}/health"}, "Failed", valid=False)

    assert result["Reason"] == (
        "ValueError: Environment variable LOAD_BALANCER_FULL_NAME must be a load balancer's full name, "
        "app/<name>/<id> (its LoadBalancerFullName attribute, not its ARN), got ''"
    )
    assert Backend.hosts == []


def test_network_load_balancer_names_are_rejected() -> None:
    message = (
        "Environment variable LOAD_BALANCER_FULL_NAME must be a load balancer's full name, app/<name>/<id> "
        "(its LoadBalancerFullName attribute, not its ARN), got 'net/shop/0123'"
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        SmokeTestConfig.from_env(settings(TARGET_URL=f"http://{LB_HOST}", LOAD_BALANCER_FULL_NAME="net/shop/0123"))


NO_ADDRESS = "run_smoke_test needs at least one address of the load balancer's nodes"


def test_run_smoke_test_needs_an_address() -> None:
    config = SmokeTestConfig.from_env(settings(TARGET_URL=f"http://{LB_HOST}"))

    with pytest.raises(ValueError, match=f"^{re.escape(NO_ADDRESS)}$"):
        run_smoke_test(config, [])


def test_default_ec2_client_is_created_once_with_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    smoke_test._default_ec2_client.cache_clear()
    try:
        client = smoke_test._default_ec2_client()

        assert smoke_test._default_ec2_client() is client
        assert client.meta.service_model.service_name == "ec2"
        # botocore stores max_attempts=8 (retries) as 9 attempts in all.
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
        assert client.meta.config.connect_timeout == 5
    finally:
        smoke_test._default_ec2_client.cache_clear()


def test_full_name_must_not_be_an_arn(codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    arn = f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/{FULL_NAME}"

    result = run_hook(
        codedeploy, ec2, settings(TARGET_URL=f"http://{LB_HOST}", LOAD_BALANCER_FULL_NAME=arn), "Failed", valid=False
    )

    assert result["Reason"] == (
        "ValueError: Environment variable LOAD_BALANCER_FULL_NAME must be a load balancer's full name, "
        f"app/<name>/<id> (its LoadBalancerFullName attribute, not its ARN), got '{arn}'"
    )


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"TARGET_URL": "https://BlueG-WebLo.elb.invalid:8443/health"}, "blueg-weblo.elb.invalid"),
        ({"TARGET_URL": "https://[fd00::1]:8443"}, "fd00::1"),
    ],
)
def test_server_name(environ: dict[str, str], name: str) -> None:
    assert SmokeTestConfig.from_env(settings(**environ)).server_name == name


def server_name_indication(hello: bytes) -> str | None:
    """The host name in the server_name extension (RFC 6066) of a TLS ClientHello record."""
    # Record header (5), handshake header (4), client version (2) and random (32) have fixed sizes.
    pos = 5 + 4 + 2 + 32
    pos += 1 + hello[pos]  # session id
    pos += 2 + int.from_bytes(hello[pos : pos + 2], "big")  # cipher suites
    pos += 1 + hello[pos]  # compression methods
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    while pos < end:
        kind, size = int.from_bytes(hello[pos : pos + 2], "big"), int.from_bytes(hello[pos + 2 : pos + 4], "big")
        if kind == 0:
            # List length (2), name type (1), name length (2), name.
            body = hello[pos + 4 : pos + 4 + size]
            return body[5 : 5 + int.from_bytes(body[3:5], "big")].decode("ascii")
        pos += 4 + size
    return None


@pytest.fixture
def tls_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server that keeps the first TLS record a client sends (its ClientHello), then hangs up.

    No certificate is needed for that, so the SNI of an HTTPS request is checked without one.
    """
    hellos: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(5)
            record = b""
            while len(record) < 5 or len(record) < 5 + int.from_bytes(record[3:5], "big"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                record += chunk
            hellos.append(record)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], hellos
    finally:
        thread.join(5)
        listener.close()


def test_https_to_a_node_sends_the_host_name_as_sni(tls_listener: tuple[int, list[bytes]]) -> None:
    port, hellos = tls_listener
    environ = settings(TARGET_URL=f"https://{LB_HOST}:{port}/health", REQUESTS="1")

    result = run_smoke_test(SmokeTestConfig.from_env(environ), ["127.0.0.1"])

    assert not result.passed  # the listener hangs up after the ClientHello
    assert result.probes[0].address == "127.0.0.1"
    assert len(hellos) == 1
    assert server_name_indication(hellos[0]) == LB_HOST


def test_importable_as_top_level_module() -> None:
    handlers = pathlib.Path(smoke_test.__file__).parent
    code = "import smoke_test; print(smoke_test.lifecycle_hook.__name__, callable(smoke_test.handler))"

    # -B: no __pycache__ in the handlers directory, which is the Lambda asset.
    output = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=handlers, capture_output=True, text=True, check=True
    ).stdout

    assert output.split() == ["lifecycle_hook", "True"]


# --- Amazon ECS native blue/green deployments: the same handler, answering with its return value ---

ECS_EVENT = {
    "executionId": "3a0345ba-b029-404b-890d-7da2a4b266aa",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "resourceArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/shop/web/EZe5RNVLH6PPzHXINuP28",
    "executionDetails": {
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/shop/web",
        "targetServiceRevisionArn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/shop/web/9313423515462893900",
        "testTrafficWeights": {},
        "productionTrafficWeights": {},
    },
}


@pytest.fixture
def no_codedeploy(codedeploy: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stubbed CodeDeploy client with no response queued; creating a default client fails too."""
    client, _ = codedeploy
    with no_codedeploy_calls(client, monkeypatch):
        yield client


def logged(capsys: pytest.CaptureFixture[str], action: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if line["action"] == action]


@pytest.mark.parametrize("with_client", [True, False])
def test_ecs_passing_endpoint_returns_succeeded(
    server: str, no_codedeploy: Any, ec2: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str], with_client: bool
) -> None:
    Backend.hosts.clear()
    sleeps: list[float] = []
    environ = settings(TARGET_URL=server, REQUEST_PATH="/health", REQUESTS="3", INTERVAL_SECONDS="2")
    hook = make_handler(
        client=no_codedeploy if with_client else None, ec2_client=one_node(ec2), environ=environ, sleep=sleeps.append
    )

    assert hook(ECS_EVENT, None) == {"hookStatus": "SUCCEEDED"}
    assert len(Backend.hosts) == 3
    assert sleeps == [2.0, 2.0]
    [report] = logged(capsys, "reported")
    assert (report["engine"], report["lifecycle_stage"], report["status"]) == (
        "ecs",
        "POST_TEST_TRAFFIC_SHIFT",
        "SUCCEEDED",
    )


def test_ecs_wrong_status_returns_failed_with_the_reason_logged(
    server: str, no_codedeploy: Any, ec2: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    environ = settings(TARGET_URL=f"{server}/broken", REQUESTS="2")
    hook = make_handler(client=no_codedeploy, ec2_client=one_node(ec2), environ=environ, sleep=lambda _: None)

    assert hook(ECS_EVENT, None) == {"hookStatus": "FAILED"}
    [report] = logged(capsys, "reported")
    assert report["reason"] == (
        f"0 of 2 requests to {server}/broken passed (2 failed, at most 0 allowed): "
        "#1 (127.0.0.1): HTTP 503, expected 200; #2 (127.0.0.1): HTTP 503, expected 200"
    )


def test_ecs_invalid_configuration_returns_failed(no_codedeploy: Any, ec2: tuple[Any, Stubber]) -> None:
    hook = make_handler(client=no_codedeploy, ec2_client=ec2[0], environ=settings(TARGET_URL="internal-lb:8080"))

    assert hook(ECS_EVENT, None) == {"hookStatus": "FAILED"}


def test_ecs_requests_go_to_the_load_balancer_nodes(nodes: int, no_codedeploy: Any, ec2: tuple[Any, Stubber]) -> None:
    client, stub = ec2
    expect_interfaces(stub, interface("127.0.0.2"), interface("127.0.0.1"))
    Backend.seen.clear()
    environ = {
        "TARGET_URL": f"http://{LB_HOST}:{nodes}",
        "REQUEST_PATH": "/health",
        "REQUESTS": "2",
        "LOAD_BALANCER_FULL_NAME": FULL_NAME,
    }

    hook = make_handler(client=no_codedeploy, ec2_client=client, environ=environ, sleep=lambda _: None)

    assert hook(ECS_EVENT, None) == {"hookStatus": "SUCCEEDED"}
    host = f"{LB_HOST}:{nodes}"
    assert Backend.seen == [("127.0.0.1", host), ("127.0.0.2", host)]


def test_ecs_ec2_error_returns_failed(no_codedeploy: Any, ec2: tuple[Any, Stubber]) -> None:
    client, stub = ec2
    stub.add_client_error(
        "describe_network_interfaces",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        expected_params=DESCRIBE,
    )
    environ = {"TARGET_URL": f"http://{LB_HOST}", "LOAD_BALANCER_FULL_NAME": FULL_NAME}

    assert make_handler(client=no_codedeploy, ec2_client=client, environ=environ)(ECS_EVENT, None) == {
        "hookStatus": "FAILED"
    }


def test_unknown_event_is_rejected_before_any_request(server: str, no_codedeploy: Any) -> None:
    Backend.hosts.clear()
    hook = make_handler(client=no_codedeploy, environ=settings(TARGET_URL=f"{server}/health", REQUESTS="1"))

    with pytest.raises(ValueError, match="or executionDetails when Amazon ECS does"):
        hook({"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"}, None)
    assert Backend.hosts == []
