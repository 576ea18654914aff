"""``AutoScaling``: the service's task count tracks CPU, memory or production requests, across blue/green swaps.

Target tracking on the service's ``ecs:service:DesiredCount`` (Application Auto Scaling). The request
policy cannot be the predefined ``ALBRequestCountPerTarget``: that names one target group, and production
moves between blue and green with every deployment, so the policy would watch the idle one half of the
time. It tracks a customized metric made of metric math instead (Application Auto Scaling User Guide,
"Create a target tracking scaling policy using metric math"): the ``RequestCountPerTarget`` of both target
groups, each filled with 0 where it has no data, summed. Outside a deployment one group holds every task
and serves every request, so the sum is production's requests per task; during one, green runs at full
size next to blue and the two split the requests, so the sum is still requests per task (plus the test
listener's few requests).

During deployments: "Application Auto Scaling turns off scale-in processes while Amazon ECS deployments
are in progress, and they resume once the deployment has completed. However, scale-out processes continue"
(Amazon ECS Developer Guide, "Troubleshooting service auto scaling"), so scale-in never removes tasks a
deployment is shifting to. Stack updates never reset the count: the service's ``DesiredCount`` renders
from the live-state lookup (docs/day-two.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource, Token
from aws_cdk import aws_cloudwatch as cloudwatch

from ..configuration.validation import invalid

if TYPE_CHECKING:
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

# ECS's quota of tasks per service.
MAX_TASKS = 5000


@dataclass(frozen=True)
class AutoScaling:
    """Target tracking of the service's task count, between ``min_capacity`` and ``max_capacity``.

    :param min_capacity: the fewest tasks, 0-5000. Required.
    :param max_capacity: the most tasks, ``min_capacity``-5000 and at least 1. Required.
    :param cpu_target_percent: keep the service's average CPU utilization at this percent, 1-100.
        Default: CPU is not tracked.
    :param memory_target_percent: keep the service's average memory utilization at this percent,
        1-100. Default: memory is not tracked.
    :param requests_per_target: keep production's requests per task per minute at this number,
        counted over both target groups, so it holds whichever one production is on. Default:
        requests are not tracked.

    At least one of the three targets is required. With several, Application Auto Scaling scales
    out when any asks for it and in only when all allow it.
    """

    min_capacity: int
    max_capacity: int
    cpu_target_percent: float | None = None
    memory_target_percent: float | None = None
    requests_per_target: float | None = None

    def validate(self, desired_count: int) -> None:
        """Capacities within ECS's limits, ``desired_count`` (the starting count) between them, targets given."""
        for name, value in (("min_capacity", self.min_capacity), ("max_capacity", self.max_capacity)):
            if not Token.is_unresolved(value) and not 0 <= value <= MAX_TASKS:
                raise invalid(f"auto_scaling.{name}", value, f"use 0-{MAX_TASKS} tasks (ECS's limit per service).")
        if self.min_capacity > self.max_capacity:
            raise invalid(
                "auto_scaling.min_capacity",
                self.min_capacity,
                f"it is greater than max_capacity={self.max_capacity}; swap them or raise max_capacity.",
            )
        if self.max_capacity < 1:
            raise invalid("auto_scaling.max_capacity", self.max_capacity, "use at least 1 task.")
        for name, percent in (
            ("cpu_target_percent", self.cpu_target_percent),
            ("memory_target_percent", self.memory_target_percent),
        ):
            if percent is not None and not Token.is_unresolved(percent) and not 1 <= percent <= 100:
                raise invalid(f"auto_scaling.{name}", percent, "use a utilization percent of 1-100.")
        if self.requests_per_target is not None and self.requests_per_target <= 0:
            raise invalid("auto_scaling.requests_per_target", self.requests_per_target, "use a positive number.")
        if self.cpu_target_percent is None and self.memory_target_percent is None and self.requests_per_target is None:
            raise invalid(
                "auto_scaling",
                self,
                "nothing to track; give cpu_target_percent, memory_target_percent or requests_per_target.",
            )
        if not self.min_capacity <= desired_count <= self.max_capacity:
            raise invalid(
                "desired_count",
                desired_count,
                f"with auto_scaling it is the count a new service starts with, so it must be within "
                f"min_capacity={self.min_capacity} and max_capacity={self.max_capacity}.",
            )

    def apply(
        self,
        service: ecs.FargateService,
        blue: elbv2.ApplicationTargetGroup,
        green: elbv2.ApplicationTargetGroup,
    ) -> ecs.ScalableTaskCount:
        """The scalable target and one target tracking policy per target given."""
        scaling = service.auto_scale_task_count(min_capacity=self.min_capacity, max_capacity=self.max_capacity)
        if self.cpu_target_percent is not None:
            scaling.scale_on_cpu_utilization("CpuScaling", target_utilization_percent=self.cpu_target_percent)
        if self.memory_target_percent is not None:
            scaling.scale_on_memory_utilization("MemoryScaling", target_utilization_percent=self.memory_target_percent)
        if self.requests_per_target is not None:
            # A placeholder metric for the L2 (it takes no metric math), replaced by the math below.
            placeholder = cloudwatch.Metric(namespace="AWS/ApplicationELB", metric_name="RequestCountPerTarget")
            scaling.scale_to_track_custom_metric(
                "RequestScaling", metric=placeholder, target_value=self.requests_per_target
            )
            # The L2 returns nothing; its policy is a child of the scalable target it wraps.
            policy = scaling.node.find_child("Target").node.find_child("RequestScaling").node.default_child
            assert isinstance(policy, CfnResource)
            spec = "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification"
            for key in ("MetricName", "Namespace", "Statistic"):  # a single metric's fields: Metrics replaces them
                policy.add_property_deletion_override(f"{spec}.{key}")
            policy.add_property_override(f"{spec}.Metrics", request_metrics(blue, green))
        return scaling


def request_metrics(blue: elbv2.ApplicationTargetGroup, green: elbv2.ApplicationTargetGroup) -> list[dict[str, Any]]:
    """Requests per task over both target groups: ``FILL(blue, 0) + FILL(green, 0)``.

    ``RequestCountPerTarget`` (dimension ``TargetGroup``) is already per target, and its only valid
    statistic is ``Sum`` (Elastic Load Balancing User Guide, CloudWatch metrics for your Application
    Load Balancer); a target group without tasks has no data, which ``FILL`` makes 0.
    """

    def per_target(query_id: str, target_group: elbv2.ApplicationTargetGroup) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApplicationELB",
                    "MetricName": "RequestCountPerTarget",
                    "Dimensions": [{"Name": "TargetGroup", "Value": target_group.target_group_full_name}],
                },
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    return [
        per_target("blue", blue),
        per_target("green", green),
        {
            "Id": "requests_per_task",
            "Expression": "FILL(blue, 0) + FILL(green, 0)",
            "Label": "Requests per task, both target groups",
            "ReturnData": True,
        },
    ]
