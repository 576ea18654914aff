"""Every default number the construct uses, in one place, with the reason for it.

Changing a value here changes every service synthesized with the library: each one is
covered by a test that names it.

The numbers are plain Python, so ``blue-green-ecs plan`` (blue_green_ecs/deployment/timeline.py) models the
same defaults without starting aws-cdk-lib's jsii runtime; the CDK-typed values the construct uses
(``HEALTH_CHECK_INTERVAL`` as a ``Duration``, ``LOG_RETENTION``, ...) are derived from them on first
use, at the end of this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_cdk import Duration
    from aws_cdk import aws_logs as logs

    LOG_RETENTION: logs.RetentionDays
    ACCESS_LOGS_RETENTION: Duration
    HEALTH_CHECK_INTERVAL: Duration
    HEALTH_CHECK_TIMEOUT: Duration
    DEREGISTRATION_DELAY: Duration
    HEALTH_CHECK_GRACE_PERIOD: Duration
    CANARY_INTERVAL: Duration
    TERMINATION_WAIT: Duration
    ALARM_PERIOD: Duration
    TRIGGER_QUERY_INTERVAL: Duration

CONTAINER_NAME = "web"
CONTAINER_PORT = 80
CPU = 256
MEMORY_LIMIT_MIB = 512
# Two tasks so that one Availability Zone or one task failing never takes the service down.
DESIRED_COUNT = 2
# LOG_RETENTION: one month (RetentionDays.ONE_MONTH) for every log group the library creates.

# Long enough to investigate an incident a quarter later, short enough that logs do not pile up.
ACCESS_LOGS_RETENTION_DAYS = 90

HTTP_PORT = 80
HTTPS_PORT = 443
TEST_LISTENER_PORT_HTTP = 8080
TEST_LISTENER_PORT_HTTPS = 8443

# ECS_NATIVE on the service's own load balancer: the rules ECS shifts. The production rule leaves
# priorities 1-9 free, so a rule that must be evaluated first (test_traffic_header's, or the team's
# own) can be added or removed without moving it; it was at 1 before 0.x (see CHANGELOG.md).
OWN_PROD_RULE_PRIORITY = 10
OWN_TEST_RULE_PRIORITY = 1
# The built-in hooks that call AWS (pre-flight check, test traffic router): a few calls of at most ~75 s each
# (lifecycle_hook.HOOK_CLIENT_CONFIG) and the report to CodeDeploy. Under CodeDeploy a function that times out
# never reports, leaving the deployment waiting for an hour.
BUILT_IN_HOOK_TIMEOUT_MINUTES = 5
# test_traffic_header: a header that sends a request to green through the production listener.
TEST_TRAFFIC_HEADER_NAME = "x-blue-green"
TEST_TRAFFIC_RULE_PRIORITY = 1

HEALTH_CHECK_PATH = "/"
# A new task is healthy after HEALTHY_THRESHOLD consecutive passes, INTERVAL apart: 2 x 10 s = 20 s,
# against 5 x 30 s = 150 s with the ALB defaults. That is the floor of every deployment's
# "replacement task set ready" step, so it is kept low; 2 is the smallest value ELB accepts.
HEALTH_CHECK_INTERVAL_SECONDS = 10
HEALTH_CHECK_TIMEOUT_SECONDS = 5
HEALTHY_THRESHOLD_COUNT = 2
# Three failures (30 s) before a target is marked unhealthy: one slow response (GC pause, cold
# cache) does not pull a task out of rotation, a dead one is out within half a minute.
UNHEALTHY_THRESHOLD_COUNT = 3
HEALTHY_HTTP_CODES = "200-399"
# protocol_version=GRPC: ELB's own defaults for a gRPC target group (its health check method, and status 12,
# UNIMPLEMENTED, which a gRPC server without that method answers: it is up). ELB API Reference, CreateTargetGroup.
GRPC_HEALTH_CHECK_PATH = "/AWS.ALB/healthcheck"
HEALTHY_GRPC_CODES = "12"
# ELB's default is 300 s, paid at the end of every deployment when the old task set deregisters.
# 30 s lets requests already in flight finish (typical web/API requests take well under a second;
# anything longer than 30 s is a job, not a request) and turns five minutes of draining into half
# a minute.
DEREGISTRATION_DELAY_SECONDS = 30
# Time a new task gets before failing ELB health checks counts against it: enough for a JVM or a
# cold framework start, and it does not lengthen a deployment (CodeDeploy waits on target health).
HEALTH_CHECK_GRACE_PERIOD_SECONDS = 60

# CodeDeployDefault.ECSCanary10Percent5Minutes: a tenth of the users meet the new version for five
# minutes, long enough for the two-minute rollback alarms to fire before everyone does.
CANARY_PERCENT = 10
CANARY_INTERVAL_MINUTES = 5

# Blue tasks stay up this long after all traffic is on green, so a rollback is a listener switch
# (seconds) rather than a new deployment (minutes). Rollback alarms are still watched meanwhile.
TERMINATION_WAIT_MINUTES = 5

# CodeDeploy limits, from the CodeDeploy API reference and quotas page.
MAX_ALARMS_PER_DEPLOYMENT_GROUP = 10
MAX_TERMINATION_WAIT_MINUTES = 2880

# Built-in rollback alarms: one-minute periods, two of two breaching. The alarm can fire two
# minutes after the fault starts (plus CloudWatch's ingestion delay of about a minute), inside the
# default five-minute canary interval.
ALARM_PERIOD_SECONDS = 60
ALARM_EVALUATION_PERIODS = 2
# 5xx share of requests, per target group, that rolls a deployment back.
MAX_5XX_PERCENT = 5.0
# Below this many requests in a period the 5xx share is not judged: one failed request out of two
# is noise, not a trend.
MIN_REQUESTS_FOR_5XX_RATE = 10
# Any target failing health checks for two consecutive minutes rolls back.
MAX_UNHEALTHY_HOSTS = 0
# Green against blue: the comparison alarm fires when one target group's 5xx share exceeds the
# other's by more than MAX_ERROR_RATE_INCREASE percentage points, judged only in periods where each
# target group answers at least COMPARE_MIN_REQUESTS requests. At 100 requests one failed request is
# one point, so 2 points means at least 3 more failures than the other target group, in each of two
# consecutive periods. Noise: at a 0.5% baseline the difference of two target groups' shares has a
# standard deviation of sqrt(2 x 0.005 x 0.995 / 100) = 1.0 point, so random noise crosses 2 points
# in about 4.6% of periods (either direction) and in two consecutive periods in about 0.2% of them.
# It catches a release that takes 0.5% to 2.5% (five times worse) which the absolute 5% alarm lets
# through. At a 10% canary both groups reach 100 requests once the service serves 1,000 a minute
# (about 17 a second); below that the comparison abstains and the absolute alarms still guard.
MAX_ERROR_RATE_INCREASE = 2.0
COMPARE_MIN_REQUESTS = 100

# How often the deployment trigger's waiter asks CodeDeploy; also the most `cdk deploy` waits
# after a deployment ends. 15 s instead of 30 s: up to 15 s less per deploy for cents a month more
# of Step Functions transitions.
TRIGGER_QUERY_INTERVAL_SECONDS = 15

_DURATIONS: dict[str, tuple[str, int]] = {
    "ACCESS_LOGS_RETENTION": ("days", ACCESS_LOGS_RETENTION_DAYS),
    "HEALTH_CHECK_INTERVAL": ("seconds", HEALTH_CHECK_INTERVAL_SECONDS),
    "HEALTH_CHECK_TIMEOUT": ("seconds", HEALTH_CHECK_TIMEOUT_SECONDS),
    "DEREGISTRATION_DELAY": ("seconds", DEREGISTRATION_DELAY_SECONDS),
    "HEALTH_CHECK_GRACE_PERIOD": ("seconds", HEALTH_CHECK_GRACE_PERIOD_SECONDS),
    "CANARY_INTERVAL": ("minutes", CANARY_INTERVAL_MINUTES),
    "TERMINATION_WAIT": ("minutes", TERMINATION_WAIT_MINUTES),
    "ALARM_PERIOD": ("seconds", ALARM_PERIOD_SECONDS),
    "TRIGGER_QUERY_INTERVAL": ("seconds", TRIGGER_QUERY_INTERVAL_SECONDS),
}


def __getattr__(name: str) -> Any:
    """The CDK-typed defaults, built from the numbers above when the construct first asks."""
    if name == "LOG_RETENTION":
        from aws_cdk import aws_logs

        return aws_logs.RetentionDays.ONE_MONTH
    if name in _DURATIONS:
        from aws_cdk import Duration

        unit, amount = _DURATIONS[name]
        return getattr(Duration, unit)(amount)
    raise AttributeError(f"module 'blue_green_ecs.configuration.defaults' has no attribute {name!r}")
