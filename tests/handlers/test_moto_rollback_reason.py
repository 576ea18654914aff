"""Why a deployment rolled back, read from moto's CloudWatch (tests/moto_worlds.py).

What moto decides here, and the Stubber tests (test_rollback_reason.py) wrote themselves: what DescribeAlarms
answers with AlarmTypes for the alarms CodeDeploy names (one since deleted), their state reasons and the
StateReasonData SetAlarmState stored. CodeDeploy's side (the stopped deployment's ``errorInformation``) cannot
come from moto, whose deployments never stop; it is the message CodeDeploy documents.

moto gap, kept on the Stubber tests: GetMetricData evaluates no metric math (moto's
cloudwatch/metric_data_expression_parser.py answers an expression only when it is a bare query id), so the
target groups' 5xx shares (``100 * FILL(blueErrors, 0) / blueRequests``) are not computed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from blue_green_ecs.handlers.rollback_reason import explain

from ..moto_worlds import Account, moto_account

FIRING_REASON = "Threshold Crossed: 2 out of the last 2 datapoints were greater than the threshold (2.0)."
QUIET_REASON = "Threshold Crossed: no datapoints were received for 2 periods."


@dataclass(frozen=True)
class World:
    account: Account
    firing: str  # in ALARM, with its datapoints
    quiet: str  # back to OK by now, no datapoints in its state reason data


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        data = {"version": "1.0", "recentDatapoints": [6.5, 7.25], "threshold": 2.0}
        # Names in creation and alphabetical order alike: DescribeAlarms' order is the explanation's.
        firing = account.alarm("ALARM", FIRING_REASON, data, name="web-1-compare")
        quiet = account.alarm("OK", QUIET_REASON, name="web-2-5xx")
        yield World(account, firing, quiet)


def stopped_by(*alarms: str) -> dict[str, object]:
    """A deployment CodeDeploy stopped for ``alarms`` (CodeDeploy's ALARM_ACTIVE message)."""
    activated = ", ".join(f"<{name}>" for name in alarms)
    return {
        "deploymentId": "d-NEW",
        "status": "Stopped",
        "errorInformation": {
            "code": "ALARM_ACTIVE",
            "message": "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
            f"selected, and the affected deployments have been stopped. Activated alarms: {activated}",
        },
    }


def test_each_alarm_that_still_exists_is_explained_by_its_datapoints_or_its_reason(world: World) -> None:
    info = stopped_by(world.firing, "web-0-deleted", world.quiet)

    assert explain(world.account.client("cloudwatch"), info) == (
        f"Alarm {world.firing} (ALARM): datapoints [6.5, 7.25] against threshold 2. "
        f"Alarm {world.quiet} (OK): {QUIET_REASON.rstrip('.')}."
    )
