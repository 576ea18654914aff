"""How production traffic moves from blue to green: canary, linear or all at once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from aws_cdk import Duration
from aws_cdk import aws_codedeploy as codedeploy
from constructs import Construct

from ..configuration import limits
from ..configuration.validation import check_duration, unresolved


class TrafficShiftKind(Enum):
    """The three ways CodeDeploy shifts ECS traffic."""

    CANARY = "canary"
    LINEAR = "linear"
    ALL_AT_ONCE = "all_at_once"


@dataclass(frozen=True)
class TrafficShift:
    """How CodeDeploy moves production traffic from the blue to the green task set.

    Build one with :meth:`canary`, :meth:`linear` or :meth:`all_at_once`. A shift that matches one
    of CodeDeploy's predefined ``CodeDeployDefault.ECS*`` configurations uses it; any other creates
    an ``AWS::CodeDeploy::DeploymentConfig``.
    """

    kind: TrafficShiftKind
    percent: float | None = None
    interval: Duration | None = None

    @classmethod
    def canary(cls, *, percent: float, interval: Duration) -> TrafficShift:
        """Shift ``percent`` of traffic, wait ``interval``, then shift the rest.

        :param percent: share of traffic in the first step, 0.1 to 99.9 in steps of 0.1 (whole
            numbers from 1 to 99 with CodeDeploy).
        :param interval: wait before the rest shifts, whole minutes from 1 to 2880 (1440 with ECS).
        """
        cls._check(percent, interval)
        return cls(TrafficShiftKind.CANARY, percent, interval)

    @classmethod
    def linear(cls, *, percent: float, interval: Duration) -> TrafficShift:
        """Shift ``percent`` of traffic every ``interval`` until all of it is on green.

        :param percent: share of traffic per step, 0.1 to 99.9 in steps of 0.1 (whole numbers from 1
            to 99 with CodeDeploy, at least 3 with ECS).
        :param interval: wait between steps, whole minutes from 1 to 2880 (1440 with ECS).
        """
        cls._check(percent, interval)
        return cls(TrafficShiftKind.LINEAR, percent, interval)

    @classmethod
    def all_at_once(cls) -> TrafficShift:
        """Shift all traffic in one step, once the green tasks are healthy."""
        return cls(TrafficShiftKind.ALL_AT_ONCE)

    @staticmethod
    def _check(percent: float, interval: Duration) -> None:
        if not unresolved(percent):
            limits.check_percent("traffic_shift.percent", percent)
        check_duration(
            "traffic_shift.interval",
            interval,
            minimum_seconds=60,
            maximum_seconds=limits.MAX_INTERVAL_MINUTES * 60,
            whole_minutes=True,
        )

    def _step(self) -> tuple[float, Duration]:
        """Percent and interval of a canary or linear shift."""
        if self.percent is None or self.interval is None:
            raise ValueError(f"TrafficShift.{self.kind.value} has no steps")
        return self.percent, self.interval

    @property
    def shift_duration(self) -> Duration | None:
        """Time from the first traffic step to all traffic on green; ``None`` if a token is involved.

        Canary: one interval. Linear: one interval per step after the first (10% steps: 9 intervals).
        """
        if self.kind is TrafficShiftKind.ALL_AT_ONCE:
            return Duration.minutes(0)
        percent, interval = self._step()
        if unresolved(percent) or unresolved(interval):
            return None
        minutes = interval.to_minutes()
        if self.kind is TrafficShiftKind.CANARY:
            return Duration.minutes(minutes)
        return Duration.minutes(minutes * (math.ceil(100 / percent) - 1))

    def _predefined(self) -> codedeploy.IEcsDeploymentConfig | None:
        if self.kind is TrafficShiftKind.ALL_AT_ONCE:
            return codedeploy.EcsDeploymentConfig.ALL_AT_ONCE
        percent, interval = self._step()
        if unresolved(percent) or unresolved(interval) or percent != 10:
            return None
        predefined = {
            (TrafficShiftKind.CANARY, 5): codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
            (TrafficShiftKind.CANARY, 15): codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_15_MINUTES,
            (TrafficShiftKind.LINEAR, 1): codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTES,
            (TrafficShiftKind.LINEAR, 3): codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_3_MINUTES,
        }
        return predefined.get((self.kind, int(interval.to_minutes())))

    def bind(self, scope: Construct, construct_id: str) -> codedeploy.IEcsDeploymentConfig:
        """The deployment configuration for this shift: predefined if one matches, else a new one."""
        predefined = self._predefined()
        if predefined is not None:
            return predefined
        percent, interval = self._step()
        routing: codedeploy.TrafficRouting
        if self.kind is TrafficShiftKind.CANARY:
            routing = codedeploy.TimeBasedCanaryTrafficRouting(interval=interval, percentage=percent)
        else:
            routing = codedeploy.TimeBasedLinearTrafficRouting(interval=interval, percentage=percent)
        return codedeploy.EcsDeploymentConfig(scope, construct_id, traffic_routing=routing)

    def describe(self) -> str:
        """A short human description, e.g. ``canary 10% for 5 minutes``."""
        if self.kind is TrafficShiftKind.ALL_AT_ONCE:
            return "all at once"
        percent, interval = self._step()
        if self.kind is TrafficShiftKind.CANARY:
            return f"canary {percent:g}% for {interval.to_human_string()}"
        return f"linear {percent:g}% every {interval.to_human_string()}"
