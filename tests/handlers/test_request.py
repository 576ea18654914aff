"""The deployment custom resource's properties and how a request names itself."""

from __future__ import annotations

import re
from typing import Any

import pytest

from blue_green_ecs.handlers.request import DeploymentRequest, marker

PROPS: dict[str, Any] = {
    "ApplicationName": "shop-web",
    "DeploymentGroupName": "shop-web-dg",
    "ClusterName": "shop",
    "ServiceName": "web",
    "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42",
    "ContainerName": "app",
    "ContainerPort": "8080",
    "TimeoutMinutes": "30",
}
EVENT = {
    "RequestId": "r-1",
    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/0a1b",
    "LogicalResourceId": "WebDeployment",
}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"TimeoutMinutes": None}, "Missing required property 'TimeoutMinutes' (got None)"),
        ({"TimeoutMinutes": ""}, "Missing required property 'TimeoutMinutes' (got '')"),
        ({"TimeoutMinutes": "soon"}, "Property 'TimeoutMinutes' must be an integer, got 'soon'"),
        ({"TimeoutMinutes": "0"}, "Property 'TimeoutMinutes' must be at least 1, got 0"),
    ],
)
def test_timeout_minutes_is_required_and_positive(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        DeploymentRequest.from_properties({**PROPS, **override})


def test_timeout_minutes_accepts_a_number() -> None:
    assert DeploymentRequest.from_properties({**PROPS, "TimeoutMinutes": 25}).timeout_minutes == 25


def test_description_ends_with_the_request_marker() -> None:
    request = DeploymentRequest.from_properties(PROPS)

    assert marker(EVENT) == "[cfn-request:r-1]"
    assert request.deployment_description(EVENT) == "CloudFormation shop/WebDeployment: web:42 [cfn-request:r-1]"


def test_long_description_is_cut_before_the_marker() -> None:
    request = DeploymentRequest.from_properties({**PROPS, "Description": "x" * 500})

    assert request.deployment_description(EVENT) == "x" * 397 + "... [cfn-request:r-1]"
