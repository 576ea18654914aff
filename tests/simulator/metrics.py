"""The CloudWatch metrics ELB publishes for the model's traffic, and GetMetricData over them.

What is measured: while the clock moves, each listener's default action and each rule of the model receives
``Aws.requests_per_minute`` requests, spread over its forward action's weights (a model choice: production and test
routes alike, so a green that only test traffic reaches still serves requests). A target group with running tasks
answers them with the image of its tasks: ``Aws.error_rates[image]`` of them with a 5XX, each in
``Aws.latencies[image]`` seconds. A target group without tasks gets none (ELB itself answers 503; that is
``HTTPCode_ELB_5XX_Count``, not a target's metric).

What is published, per "CloudWatch metrics for your Application Load Balancer"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
``RequestCount``, ``HTTPCode_Target_5XX_Count`` (Sum) and ``TargetResponseTime`` (any statistic: every request of
a target group takes the same time here; a count of zero is published as no data, the worse case for a reader)
with the dimensions ``TargetGroup`` and ``LoadBalancer``, in one-minute
buckets. GetMetricData answers one data point per period that holds data and leaves out the empty ones
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html); metric math
expressions are not modelled (a query with one fails the test).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aws import Aws

COUNTS = ("RequestCount", "HTTPCode_Target_5XX_Count")


def _full_name(arn: str, marker: str) -> str:
    """CloudWatch's dimension value of a target group (``targetgroup/...``) or load balancer (``app/...``)."""
    return arn[arn.index(marker) :] if marker == "targetgroup/" else arn[arn.index("loadbalancer/") + 13 :]


class Metrics:
    """Per (target group, load balancer) dimension values: metric name -> minute -> value."""

    def __init__(self) -> None:
        """No data yet."""
        self.sums: dict[tuple[str, str], dict[str, dict[datetime, float]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(float))
        )
        self.latency: dict[tuple[str, str], dict[datetime, float]] = defaultdict(dict)

    def record(self, aws: Aws, start: datetime, seconds: float) -> None:
        """The requests of [start, start + seconds), with the routes and tasks as they are at ``start``."""
        shares: dict[tuple[str, str], float] = defaultdict(float)  # (target group, load balancer) -> share of a route
        routes = [(x.load_balancer_arn, x.actions) for x in aws.listeners.values()]
        routes += [(aws.listeners[r.listener_arn].load_balancer_arn, r.actions) for r in aws.rules.values()]
        from .aws import weights_of

        for load_balancer, actions in routes:
            weights = weights_of(actions)
            total = sum(weights.values())
            for target_group, weight in weights.items():
                if total and weight:
                    shares[(target_group, load_balancer)] += weight / total
        moment, end = start, start + timedelta(seconds=seconds)
        while moment < end:
            minute = moment.replace(second=0, microsecond=0)
            upto = min(end, minute + timedelta(minutes=1))
            fraction = (upto - moment).total_seconds() / 60
            for (target_group, load_balancer), share in shares.items():
                image = self._image(aws, target_group)
                if image is None:
                    continue
                key = (_full_name(target_group, "targetgroup/"), _full_name(load_balancer, "loadbalancer/"))
                requests = aws.requests_per_minute * share * fraction
                self.sums[key]["RequestCount"][minute] += requests
                self.sums[key]["HTTPCode_Target_5XX_Count"][minute] += requests * aws.error_rates.get(image, 0.0)
                self.latency[key][minute] = aws.latencies.get(image, 0.05)
            moment = upto

    @staticmethod
    def _image(aws: Aws, target_group: str) -> str | None:
        """The image the running tasks registered in ``target_group`` serve (None: no running task)."""
        for service in aws.services.values():
            if service.status != "ACTIVE":
                continue
            for task_set in service.task_sets:
                if task_set.target_group == target_group and service.tasks(task_set) > 0:
                    return aws.images.get(task_set.task_definition, "")
        return None

    def get_metric_data(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """GetMetricData of MetricStat queries over these metrics."""
        start, end = params["StartTime"], params["EndTime"]
        results = []
        for query in params["MetricDataQueries"]:
            assert "Expression" not in query, f"the simulator does not model metric math ({query['Expression']})"
            stat = query["MetricStat"]
            metric, period, statistic = stat["Metric"], int(stat["Period"]), str(stat["Stat"])
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            known = metric.get("Namespace") == "AWS/ApplicationELB" and set(dimensions) == {
                "TargetGroup",
                "LoadBalancer",
            }
            key = (dimensions.get("TargetGroup", ""), dimensions.get("LoadBalancer", ""))
            timestamps: list[datetime] = []
            values: list[float] = []
            bucket = start
            while known and bucket < end:
                upto = min(end, bucket + timedelta(seconds=period))
                minutes = [m for m in self._minutes(key, metric["MetricName"]) if bucket <= m < upto]
                if minutes:
                    timestamps.append(bucket)
                    values.append(self._value(key, metric["MetricName"], statistic, minutes))
                bucket = upto
            if query.get("ReturnData", True):
                results.append(
                    {"Id": query["Id"], "Timestamps": timestamps, "Values": values, "StatusCode": "Complete"}
                )
        return {"MetricDataResults": results, "Messages": []}

    def _minutes(self, key: tuple[str, str], name: str) -> list[datetime]:
        if name in COUNTS:
            # A count with nothing to count has no data point (the worse case for a reader: zero is "no data").
            return sorted(m for m, v in self.sums[key][name].items() if v > 0) if key in self.sums else []
        assert name == "TargetResponseTime", f"the simulator publishes no metric {name}"
        return sorted(self.latency.get(key, {}))

    def _value(self, key: tuple[str, str], name: str, statistic: str, minutes: list[datetime]) -> float:
        if name in COUNTS:
            assert statistic == "Sum", f"the simulator answers {name} with Sum only, not {statistic}"
            return sum(self.sums[key][name][m] for m in minutes)
        return max(self.latency[key][m] for m in minutes)
