"""auto_scaling=: target tracking of the task count, requests counted over both target groups (issue #14 item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import AutoScaling, BlueGreenFargateService, DeploymentEngine

from ..configurations import IMAGE
from ..support import logical_id, new_stack, only, raises_message, resources_of_type, synth


def _service(stack: Stack, **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **props)


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, DeploymentEngine.ECS_NATIVE])
def test_requests_per_task_are_counted_over_both_target_groups(engine: DeploymentEngine) -> None:
    # Given a service that scales on requests
    stack = new_stack()
    web = _service(
        stack,
        engine=engine,
        auto_scaling=AutoScaling(min_capacity=2, max_capacity=20, requests_per_target=500),
    )

    # When it is synthesized
    template = synth(stack)

    # Then the task count is a scalable target of 2-20, tracked on both target groups' requests per target
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (2, 20)
    assert target["Properties"]["ScalableDimension"] == "ecs:service:DesiredCount"
    _, policy = only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    configuration = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert configuration["TargetValue"] == 500

    def per_target(query_id: str, target_group: Any) -> dict[str, Any]:
        full_name = {"Fn::GetAtt": [logical_id(stack, target_group), "TargetGroupFullName"]}
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApplicationELB",
                    "MetricName": "RequestCountPerTarget",
                    "Dimensions": [{"Name": "TargetGroup", "Value": full_name}],
                },
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    assert configuration["CustomizedMetricSpecification"] == {
        "Metrics": [
            per_target("blue", web.blue_target_group),
            per_target("green", web.green_target_group),
            {
                "Id": "requests_per_task",
                "Expression": "FILL(blue, 0) + FILL(green, 0)",
                "Label": "Requests per task, both target groups",
                "ReturnData": True,
            },
        ]
    }
    # And stack updates keep the running count: DesiredCount still renders from the live-state lookup
    _, service = only(template, "AWS::ECS::Service")
    lookup_id, _ = only(template, "Custom::BlueGreenEcsLiveState")
    assert service["Properties"]["DesiredCount"] == {"Fn::GetAtt": [lookup_id, "DesiredCount"]}


def test_cpu_and_memory_targets_are_predefined_ecs_metrics() -> None:
    stack = new_stack()
    web = _service(
        stack, auto_scaling=AutoScaling(min_capacity=1, max_capacity=4, cpu_target_percent=60, memory_target_percent=75)
    )
    template = synth(stack)
    tracked = sorted(
        (
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
                "PredefinedMetricType"
            ],
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        )
        for policy in resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    )
    assert tracked == [("ECSServiceAverageCPUUtilization", 60), ("ECSServiceAverageMemoryUtilization", 75)]
    assert web.scalable_task_count is not None


def test_without_auto_scaling_there_is_no_scalable_target() -> None:
    stack = new_stack()
    web = _service(stack)
    synth(stack).resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    assert web.scalable_task_count is None


@pytest.mark.parametrize(
    ("auto_scaling", "desired_count", "message"),
    [
        (
            AutoScaling(min_capacity=5, max_capacity=2, cpu_target_percent=50),
            2,
            "Invalid auto_scaling.min_capacity=5: it is greater than max_capacity=2; swap them or raise max_capacity.",
        ),
        (
            AutoScaling(min_capacity=1, max_capacity=6000, cpu_target_percent=50),
            2,
            "Invalid auto_scaling.max_capacity=6000: use 0-5000 tasks (ECS's limit per service).",
        ),
        (
            AutoScaling(min_capacity=1, max_capacity=4, cpu_target_percent=0),
            2,
            "Invalid auto_scaling.cpu_target_percent=0: use a utilization percent of 1-100.",
        ),
        (
            AutoScaling(min_capacity=1, max_capacity=4, memory_target_percent=120),
            2,
            "Invalid auto_scaling.memory_target_percent=120: use a utilization percent of 1-100.",
        ),
        (
            AutoScaling(min_capacity=1, max_capacity=4, requests_per_target=-1),
            2,
            "Invalid auto_scaling.requests_per_target=-1: use a positive number.",
        ),
        (
            AutoScaling(min_capacity=1, max_capacity=4),
            2,
            "Invalid auto_scaling=AutoScaling(min_capacity=1, max_capacity=4, cpu_target_percent=None, "
            "memory_target_percent=None, requests_per_target=None): nothing to track; give cpu_target_percent, "
            "memory_target_percent or requests_per_target.",
        ),
        (
            AutoScaling(min_capacity=3, max_capacity=4, cpu_target_percent=50),
            2,
            "Invalid desired_count=2: with auto_scaling it is the count a new service starts with, so it must be "
            "within min_capacity=3 and max_capacity=4.",
        ),
    ],
)
def test_rejects_bad_auto_scaling(auto_scaling: AutoScaling, desired_count: int, message: str) -> None:
    with raises_message(message):
        _service(new_stack(), auto_scaling=auto_scaling, desired_count=desired_count)
