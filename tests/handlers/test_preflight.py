"""The pre-flight check fails a deployment before green starts: a rollback alarm in ALARM, too few free IPs.

The AWS calls are stubbed with botocore's Stubber against the real service models, so a wrong parameter
name or shape fails here as it would in Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from blue_green_ecs.handlers import preflight
from blue_green_ecs.handlers.preflight import ALARM_BATCH, PreflightConfig, make_handler

from ..configurations import CHANGE_CALENDAR, SHARED_CHANGE_CALENDAR
from .fakes import no_codedeploy_calls

CODEDEPLOY_EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "hook-exec-1"}
CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
SERVICE = "arn:aws:ecs:eu-west-1:123456789012:service/shop/web"
ECS_EVENT: dict[str, Any] = {
    "executionId": "3a0345ba-b029-404b-890d-7da2a4b266aa",
    "lifecycleStage": "PRE_SCALE_UP",
    "resourceArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/shop/web/EZe5RNVLH6PPzHXINuP28",
    "executionDetails": {
        "serviceArn": SERVICE,
        "targetServiceRevisionArn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/shop/web/93134235154",
        "testTrafficWeights": {},
        "productionTrafficWeights": {},
    },
}
ALARMS = ["Web-Target5xx-ABC", "Web-UnhealthyHosts-DEF"]
SUBNETS = ["subnet-aaa", "subnet-bbb"]
SINCE = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _client(service: str) -> Any:
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubs() -> Iterator[dict[str, Stubber]]:
    """A stubbed client per service the hook calls (CodeDeploy only for its report)."""
    clients = {name: _client(name) for name in ("codedeploy", "cloudwatch", "ecs", "ec2", "ssm")}
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubbers.values():
        stub.activate()
    yield stubbers
    for stub in stubbers.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def environment(**overrides: str) -> dict[str, str]:
    """The environment as the construct sets it under CodeDeploy (both checks on)."""
    return {
        "ALARM_NAMES": json.dumps(ALARMS),
        "SUBNET_IDS": ",".join(SUBNETS),
        "CLUSTER_ARN": CLUSTER,
        "SERVICE_ARN": SERVICE,
        "IP_ADDRESS_HEADROOM": "0",
        **overrides,
    }


def run(stubs: dict[str, Stubber], environ: dict[str, str], event: dict[str, Any] = CODEDEPLOY_EVENT) -> Any:
    clients = {name: stub.client for name, stub in stubs.items()}
    handler = make_handler(
        client=clients["codedeploy"],
        cloudwatch_client=clients["cloudwatch"],
        ecs_client=clients["ecs"],
        ec2_client=clients["ec2"],
        ssm_client=clients["ssm"],
        environ=environ,
    )
    return handler(event, None)


def alarm(
    name: str, state: str, reason: str = "Threshold Crossed: 2 datapoints were greater than 5.0"
) -> dict[str, Any]:
    return {"AlarmName": name, "StateValue": state, "StateReason": reason, "StateUpdatedTimestamp": SINCE}


def expect_alarms(stub: Stubber, *metric: dict[str, Any], names: list[str] = ALARMS, composite: Any = ()) -> None:
    stub.add_response(
        "describe_alarms",
        {"MetricAlarms": list(metric), "CompositeAlarms": list(composite)},
        {"AlarmNames": names, "AlarmTypes": ["CompositeAlarm", "MetricAlarm"]},
    )


def expect_service(stub: Stubber, desired: int, alarms: dict[str, Any] | None = None) -> None:
    described: dict[str, Any] = {"serviceArn": SERVICE, "desiredCount": desired}
    if alarms is not None:
        described["deploymentConfiguration"] = {"alarms": alarms}
    stub.add_response(
        "describe_services", {"services": [described], "failures": []}, {"cluster": CLUSTER, "services": [SERVICE]}
    )


def expect_subnets(stub: Stubber, *free: int) -> None:
    stub.add_response(
        "describe_subnets",
        {"Subnets": [{"SubnetId": s, "AvailableIpAddressCount": n} for s, n in zip(SUBNETS, free, strict=True)]},
        {"SubnetIds": SUBNETS},
    )


def expect_report(stub: Stubber, status: str) -> None:
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-NEW", "lifecycleEventHookExecutionId": "hook-exec-1", "status": status},
    )


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_alarms_not_in_alarm_and_enough_addresses_pass(stubs: dict[str, Stubber], state: str) -> None:
    # given: no alarm firing (no data is not a reason to stop), 4 tasks and 2 + 3 free addresses
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], state), alarm(ALARMS[1], "OK"))
    expect_service(stubs["ecs"], 4)
    expect_subnets(stubs["ec2"], 2, 3)
    expect_report(stubs["codedeploy"], "Succeeded")

    # when
    result = run(stubs, environment())

    # then
    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}


def test_an_alarm_in_alarm_fails_naming_it_with_its_reason(stubs: dict[str, Stubber]) -> None:
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "ALARM"), alarm(ALARMS[1], "OK"))
    expect_service(stubs["ecs"], 2)
    expect_subnets(stubs["ec2"], 10, 10)
    expect_report(stubs["codedeploy"], "Failed")

    result = run(stubs, environment())

    assert result["Status"] == "Failed"
    assert result["Reason"] == (
        "pre-flight check failed: 1 rollback alarm(s) already in ALARM, so the deployment could only roll back: "
        "'Web-Target5xx-ABC' (since 2025-05-01 12:00:00+00:00: Threshold Crossed: 2 datapoints were greater than "
        "5.0). Fix what the alarm reports, or wait until it is OK, then deploy again."
    )


def test_a_composite_alarm_in_alarm_counts_too(stubs: dict[str, Stubber]) -> None:
    names = ["Web-Target5xx-ABC", "AppHealth"]
    composite = alarm("AppHealth", "ALARM", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Queue transitioned")
    expect_alarms(stubs["cloudwatch"], alarm(names[0], "OK"), names=names, composite=[composite])
    expect_report(stubs["codedeploy"], "Failed")

    result = run(stubs, {"ALARM_NAMES": json.dumps(names)})

    assert "'AppHealth' (since" in result["Reason"]
    assert "Web-Target5xx-ABC" not in result["Reason"]


def test_alarm_names_are_read_in_batches_of_100(stubs: dict[str, Stubber]) -> None:
    names = [f"alarm-{n:03}" for n in range(ALARM_BATCH + 1)]
    expect_alarms(stubs["cloudwatch"], *[alarm(n, "OK") for n in names[:ALARM_BATCH]], names=names[:ALARM_BATCH])
    expect_alarms(stubs["cloudwatch"], alarm(names[-1], "ALARM"), names=names[ALARM_BATCH:])
    expect_report(stubs["codedeploy"], "Failed")

    result = run(stubs, {"ALARM_NAMES": json.dumps(names)})

    assert "'alarm-100'" in result["Reason"]


def test_a_missing_alarm_is_logged_not_failed(stubs: dict[str, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "OK"))
    expect_report(stubs["codedeploy"], "Succeeded")

    assert run(stubs, {"ALARM_NAMES": json.dumps(ALARMS)})["Status"] == "Succeeded"
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"action": "alarms"' in x]
    assert line["not_found"] == [ALARMS[1]]


def test_too_few_free_addresses_fail_with_the_counts_and_the_fix(stubs: dict[str, Stubber]) -> None:
    # given: 4 tasks, a headroom of 2, and 3 + 2 free addresses
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "OK"), alarm(ALARMS[1], "OK"))
    expect_service(stubs["ecs"], 4)
    expect_subnets(stubs["ec2"], 3, 2)
    expect_report(stubs["codedeploy"], "Failed")

    result = run(stubs, environment(IP_ADDRESS_HEADROOM="2"))

    assert result["Reason"] == (
        "pre-flight check failed: the task subnets have 5 free IP address(es) (subnet-aaa: 3, subnet-bbb: 2) and "
        "green needs 6: 4 task(s) at the service's desired count, one address each plus a headroom of 2. Free "
        "addresses in these subnets (unused network interfaces, other services), give the service more or larger "
        "subnets (task_subnets), or lower its desired count, then deploy again."
    )


def test_exactly_enough_addresses_pass(stubs: dict[str, Stubber]) -> None:
    expect_service(stubs["ecs"], 5)
    expect_subnets(stubs["ec2"], 5, 0)
    expect_report(stubs["codedeploy"], "Succeeded")

    assert run(stubs, environment(ALARM_NAMES="[]"))["Status"] == "Succeeded"


def test_both_problems_are_reported_together(stubs: dict[str, Stubber]) -> None:
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "OK"), alarm(ALARMS[1], "ALARM", "3 unhealthy hosts"))
    expect_service(stubs["ecs"], 2)
    expect_subnets(stubs["ec2"], 0, 1)
    expect_report(stubs["codedeploy"], "Failed")

    reason = run(stubs, environment())["Reason"]

    assert "'Web-UnhealthyHosts-DEF' (since 2025-05-01 12:00:00+00:00: 3 unhealthy hosts)" in reason
    assert "the task subnets have 1 free IP address(es) (subnet-aaa: 0, subnet-bbb: 1) and green needs 2" in reason


def ecs_environment() -> dict[str, str]:
    """The environment as the construct sets it under ECS_NATIVE: the service names the function, so the
    function names neither the service nor its alarms; the event names the service, the service its alarms."""
    environ = environment(ALARM_NAMES_FROM_SERVICE="true")
    del environ["SERVICE_ARN"], environ["ALARM_NAMES"]
    return environ


SERVICE_ALARMS = {"alarmNames": ALARMS, "enable": True, "rollback": True}


def test_under_ecs_the_service_and_its_alarms_come_from_the_event_and_the_return_value_is_the_report(
    stubs: dict[str, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the service is described once for both checks; too few addresses the first time
    expect_service(stubs["ecs"], 3, SERVICE_ALARMS)
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "OK"), alarm(ALARMS[1], "INSUFFICIENT_DATA"))
    expect_subnets(stubs["ec2"], 1, 1)

    # when: ECS invokes it at PRE_SCALE_UP, and then with enough addresses
    with no_codedeploy_calls(stubs["codedeploy"].client, monkeypatch):
        failed = run(stubs, ecs_environment(), ECS_EVENT)
        expect_service(stubs["ecs"], 3, SERVICE_ALARMS)
        expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "OK"), alarm(ALARMS[1], "OK"))
        expect_subnets(stubs["ec2"], 2, 1)
        passed = run(stubs, ecs_environment(), ECS_EVENT)

    # then
    assert (failed, passed) == ({"hookStatus": "FAILED"}, {"hookStatus": "SUCCEEDED"})


def test_under_ecs_an_alarm_of_the_service_in_alarm_fails_the_hook(
    stubs: dict[str, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    expect_service(stubs["ecs"], 2, SERVICE_ALARMS)
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "ALARM"), alarm(ALARMS[1], "OK"))
    expect_subnets(stubs["ec2"], 5, 5)

    result = run(stubs, ecs_environment(), ECS_EVENT)

    assert result == {"hookStatus": "FAILED"}
    [reported] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"action": "reported"' in x]
    assert reported["lifecycle_stage"] == "PRE_SCALE_UP"
    assert reported["reason"].startswith(
        "pre-flight check failed: 1 rollback alarm(s) already in ALARM, so the deployment could only roll back: "
        "'Web-Target5xx-ABC' (since"
    )


@pytest.mark.parametrize("alarms", [{"alarmNames": ALARMS, "enable": False, "rollback": True}, None])
def test_under_ecs_alarms_that_do_not_roll_back_are_not_checked(
    stubs: dict[str, Stubber], alarms: dict[str, Any] | None
) -> None:
    expect_service(stubs["ecs"], 2, alarms)
    expect_subnets(stubs["ec2"], 5, 5)

    assert run(stubs, ecs_environment(), ECS_EVENT) == {"hookStatus": "SUCCEEDED"}


def test_a_failed_service_read_is_one_call_and_one_reason(
    stubs: dict[str, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    stubs["ecs"].add_client_error("describe_services", "AccessDeniedException", "not authorized")

    assert run(stubs, ecs_environment(), ECS_EVENT) == {"hookStatus": "FAILED"}
    [result] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"action": "result"' in x]
    assert result["problems"] == [
        f"cannot read service {SERVICE} (ecs:DescribeServices): AccessDeniedException: not authorized; the "
        "function's role needs ecs:DescribeServices"
    ]


def test_an_api_error_fails_with_the_call_and_what_the_role_needs(stubs: dict[str, Stubber]) -> None:
    stubs["cloudwatch"].add_client_error(
        "describe_alarms", "AccessDenied", "User is not authorized to perform: cloudwatch:DescribeAlarms"
    )
    expect_service(stubs["ecs"], 2)
    stubs["ec2"].add_client_error(
        "describe_subnets", "InvalidSubnetID.NotFound", "The subnet ID 'subnet-bbb' does not exist"
    )
    expect_report(stubs["codedeploy"], "Failed")

    reason = run(stubs, environment())["Reason"]

    assert reason == (
        "pre-flight check failed: cannot read the rollback alarms' states (cloudwatch:DescribeAlarms): AccessDenied: "
        "User is not authorized to perform: cloudwatch:DescribeAlarms; the function's role needs "
        "cloudwatch:DescribeAlarms | cannot read the free IP addresses of subnets subnet-aaa, subnet-bbb "
        "(ec2:DescribeSubnets): InvalidSubnetID.NotFound: The subnet ID 'subnet-bbb' does not exist"
    )


def test_a_missing_service_fails_with_ecs_reason(stubs: dict[str, Stubber]) -> None:
    stubs["ecs"].add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": SERVICE, "reason": "MISSING"}]},
        {"cluster": CLUSTER, "services": [SERVICE]},
    )
    expect_report(stubs["codedeploy"], "Failed")

    reason = run(stubs, environment(ALARM_NAMES="[]"))["Reason"]

    assert reason == f"pre-flight check failed: cannot read service {SERVICE} in cluster {CLUSTER}: MISSING"


def test_an_unreachable_endpoint_fails_instead_of_hanging(stubs: dict[str, Stubber]) -> None:
    # given: a real client (no stub) whose endpoint refuses connections, retried as configured
    cloudwatch = boto3.client(
        "cloudwatch",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=preflight.CLIENT_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 0})),
    )
    expect_report(stubs["codedeploy"], "Failed")
    handler = make_handler(
        client=stubs["codedeploy"].client, cloudwatch_client=cloudwatch, environ={"ALARM_NAMES": '["a"]'}
    )

    reason = handler(CODEDEPLOY_EVENT, None)["Reason"]

    assert reason.startswith(
        "pre-flight check failed: cannot read the rollback alarms' states (cloudwatch:DescribeAlarms): "
        "EndpointConnectionError: Could not connect to the endpoint URL"
    )


def test_without_a_service_to_size_the_check_fails(stubs: dict[str, Stubber]) -> None:
    expect_report(stubs["codedeploy"], "Failed")

    reason = run(stubs, {"SUBNET_IDS": "subnet-aaa", "CLUSTER_ARN": CLUSTER})["Reason"]

    assert reason == (
        "pre-flight check failed: cannot tell which service to size green from: SERVICE_ARN is not set and the "
        "event has no executionDetails.serviceArn"
    )


def test_the_clients_retry_with_botocore_standard_mode() -> None:
    assert preflight.CLIENT_CONFIG.retries == {"mode": "standard", "max_attempts": preflight.MAX_RETRIES}
    assert (preflight.CLIENT_CONFIG.connect_timeout, preflight.CLIENT_CONFIG.read_timeout) == (5, 10)


def test_configuration_is_read_from_the_environment() -> None:
    config = PreflightConfig.from_env(
        {"ALARM_NAMES": '["a,b", "c", "c"]', "SUBNET_IDS": " subnet-1, subnet-2 ,", "IP_ADDRESS_HEADROOM": "3"}
    )
    assert (config.alarm_names, config.subnet_ids, config.headroom) == (("a,b", "c"), ("subnet-1", "subnet-2"), 3)
    assert PreflightConfig.from_env({}) == PreflightConfig(None, False, None, "", "", 0)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ALARM_NAMES": "a,b"}, "ALARM_NAMES must be a JSON array of alarm names, got 'a,b'"),
        ({"ALARM_NAMES": "[1]"}, "ALARM_NAMES must be a JSON array of alarm names, got '[1]'"),
        ({"SUBNET_IDS": " , "}, "SUBNET_IDS must list the task subnets, comma-separated, got ' , '"),
        ({"IP_ADDRESS_HEADROOM": "-1"}, "IP_ADDRESS_HEADROOM must be a whole number of addresses, got '-1'"),
    ],
)
def test_a_malformed_environment_fails_the_hook_with_its_reason(
    stubs: dict[str, Stubber], environ: dict[str, str], message: str
) -> None:
    expect_report(stubs["codedeploy"], "Failed")

    assert run(stubs, environ)["Reason"] == f"ValueError: {message}"


# ---- change calendars (freeze windows) --------------------------------------------------------------------------
# The answers are GetCalendarState's documented response (State OPEN|CLOSED, AtTime, NextTransitionTime as ISO 8601
# strings: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCalendarState.html), checked
# against botocore's ssm model by the Stubber; moto 5 has no GetCalendarState. The calendars are the handler_roles
# configuration's (tests/configurations.py), so their calls are authorized against the roles it synthesizes.
CALENDARS = [CHANGE_CALENDAR, SHARED_CHANGE_CALENDAR]
NOW = "2026-12-24T09:00:00Z"


def expect_calendar(stub: Stubber, calendar: str, state: str, next_transition: str | None) -> None:
    answer = {"State": state, "AtTime": NOW}
    if next_transition is not None:
        answer["NextTransitionTime"] = next_transition
    stub.add_response("get_calendar_state", answer, {"CalendarNames": [calendar]})


def calendars_only(*calendars: str) -> dict[str, str]:
    return {"CHANGE_CALENDARS": json.dumps(list(calendars)), "SERVICE_ARN": SERVICE, "CLUSTER_ARN": CLUSTER}


def test_open_change_calendars_pass_each_asked_on_its_own(stubs: dict[str, Stubber]) -> None:
    # given: both calendars open (a default-open calendar outside its events), one by name, one shared by ARN
    expect_calendar(stubs["ssm"], CHANGE_CALENDAR, "OPEN", "2026-12-24T18:00:00Z")
    expect_calendar(stubs["ssm"], SHARED_CHANGE_CALENDAR, "OPEN", None)
    expect_report(stubs["codedeploy"], "Succeeded")

    # when / then
    assert run(stubs, calendars_only(*CALENDARS))["Status"] == "Succeeded"


def test_a_closed_change_calendar_fails_naming_it_and_when_it_opens(
    stubs: dict[str, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the shared calendar is in an event (a freeze) until 2027-01-04 08:00 UTC; the other is open
    expect_calendar(stubs["ssm"], CHANGE_CALENDAR, "OPEN", "2026-12-24T18:00:00Z")
    expect_calendar(stubs["ssm"], SHARED_CHANGE_CALENDAR, "CLOSED", "2027-01-04T08:00:00Z")
    expect_report(stubs["codedeploy"], "Failed")

    # when
    result = run(stubs, calendars_only(*CALENDARS))

    # then: the reason names the closed calendar, its state and when it next opens, not the open one
    assert result["Reason"] == (
        "pre-flight check failed: 1 change calendar(s) closed, a freeze window: "
        f"'{SHARED_CHANGE_CALENDAR}' is CLOSED (at {NOW}), next open at 2027-01-04T08:00:00Z. Deploy again once "
        "the calendar is open, or end the event in AWS Systems Manager Change Calendar."
    )
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"action": "change-calendars"' in x]
    assert line["states"] == {CHANGE_CALENDAR: "OPEN", SHARED_CHANGE_CALENDAR: "CLOSED"}


def test_a_calendar_closed_with_no_transition_says_so_and_the_other_checks_still_run(stubs: dict[str, Stubber]) -> None:
    # given: a default-closed calendar with no event ahead (closed for good), and an alarm firing
    expect_calendar(stubs["ssm"], CHANGE_CALENDAR, "CLOSED", None)
    expect_alarms(stubs["cloudwatch"], alarm(ALARMS[0], "ALARM"), alarm(ALARMS[1], "OK"))
    expect_report(stubs["codedeploy"], "Failed")

    result = run(stubs, {**calendars_only(CHANGE_CALENDAR), "ALARM_NAMES": json.dumps(ALARMS)})

    assert f"'{CHANGE_CALENDAR}' is CLOSED (at {NOW}), with no change of state scheduled." in result["Reason"]
    assert " | 1 rollback alarm(s) already in ALARM" in result["Reason"]


def test_under_ecs_a_closed_calendar_fails_the_hook(stubs: dict[str, Stubber]) -> None:
    expect_calendar(stubs["ssm"], CHANGE_CALENDAR, "CLOSED", "2027-01-04T08:00:00Z")

    assert run(stubs, {"CHANGE_CALENDARS": json.dumps([CHANGE_CALENDAR])}, ECS_EVENT) == {"hookStatus": "FAILED"}


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        ("InvalidDocument", "Document release-freeze does not exist", ""),
        ("AccessDeniedException", "not authorized", "; the function's role needs ssm:GetCalendarState"),
    ],
)
def test_a_calendar_that_cannot_be_read_closes_the_gate(
    stubs: dict[str, Stubber], capsys: pytest.CaptureFixture[str], code: str, message: str, hint: str
) -> None:
    # given: the calendar was deleted, or the role may not read it (a shared calendar no longer shared)
    stubs["ssm"].add_client_error(
        "get_calendar_state", code, message, expected_params={"CalendarNames": [CHANGE_CALENDAR]}
    )
    expect_report(stubs["codedeploy"], "Failed")

    assert run(stubs, calendars_only(CHANGE_CALENDAR))["Status"] == "Failed"
    [result] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"action": "result"' in x]
    assert result["problems"] == [
        f"cannot read the state of change calendar {CHANGE_CALENDAR} (ssm:GetCalendarState): {code}: {message}{hint}"
    ]


@pytest.mark.parametrize("value", ["release-freeze", '{"a": 1}', '[""]', "[1]"])
def test_change_calendars_must_be_a_json_array_of_names(value: str) -> None:
    with pytest.raises(ValueError, match=r"^CHANGE_CALENDARS must be a JSON array of change calendar names or ARNs"):
        PreflightConfig.from_env({"CHANGE_CALENDARS": value})
