"""Every default number the construct uses, in one place, with the reason for it.

Changing a value here changes every service synthesized with the library: each one is
covered by a test that names it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_logs as logs

CONTAINER_NAME = "web"
CONTAINER_PORT = 80
CPU = 256
MEMORY_LIMIT_MIB = 512
# Two tasks so that one Availability Zone or one task failing never takes the service down.
DESIRED_COUNT = 2
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Long enough to investigate an incident a quarter later, short enough that logs do not pile up.
ACCESS_LOGS_RETENTION = Duration.days(90)

HTTP_PORT = 80
HTTPS_PORT = 443
TEST_LISTENER_PORT_HTTP = 8080
TEST_LISTENER_PORT_HTTPS = 8443

HEALTH_CHECK_PATH = "/"
# A new task is healthy after HEALTHY_THRESHOLD consecutive passes, INTERVAL apart: 2 x 10 s = 20 s,
# against 5 x 30 s = 150 s with the ALB defaults. That is the floor of every deployment's
# "replacement task set ready" step, so it is kept low; 2 is the smallest value ELB accepts.
HEALTH_CHECK_INTERVAL = Duration.seconds(10)
HEALTH_CHECK_TIMEOUT = Duration.seconds(5)
HEALTHY_THRESHOLD_COUNT = 2
# Three failures (30 s) before a target is marked unhealthy: one slow response (GC pause, cold
# cache) does not pull a task out of rotation, a dead one is out within half a minute.
UNHEALTHY_THRESHOLD_COUNT = 3
HEALTHY_HTTP_CODES = "200-399"
# ELB's default is 300 s, paid at the end of every deployment when the old task set deregisters.
# 30 s lets requests already in flight finish (typical web/API requests take well under a second;
# anything longer than 30 s is a job, not a request) and turns five minutes of draining into half
# a minute.
DEREGISTRATION_DELAY = Duration.seconds(30)
# Time a new task gets before failing ELB health checks counts against it: enough for a JVM or a
# cold framework start, and it does not lengthen a deployment (CodeDeploy waits on target health).
HEALTH_CHECK_GRACE_PERIOD = Duration.seconds(60)

# CodeDeployDefault.ECSCanary10Percent5Minutes: a tenth of the users meet the new version for five
# minutes, long enough for the two-minute rollback alarms to fire before everyone does.
CANARY_PERCENT = 10
CANARY_INTERVAL = Duration.minutes(5)

# Blue tasks stay up this long after all traffic is on green, so a rollback is a listener switch
# (seconds) rather than a new deployment (minutes). Rollback alarms are still watched meanwhile.
TERMINATION_WAIT = Duration.minutes(5)

# CodeDeploy limits, from the CodeDeploy API reference and quotas page.
MAX_ALARMS_PER_DEPLOYMENT_GROUP = 10
MAX_TERMINATION_WAIT_MINUTES = 2880

# Built-in rollback alarms: one-minute periods, two of two breaching. The alarm can fire two
# minutes after the fault starts (plus CloudWatch's ingestion delay of about a minute), inside the
# default five-minute canary interval.
ALARM_PERIOD = Duration.minutes(1)
ALARM_EVALUATION_PERIODS = 2
# 5xx share of requests, per target group, that rolls a deployment back.
MAX_5XX_PERCENT = 5.0
# Below this many requests in a period the 5xx share is not judged: one failed request out of two
# is noise, not a trend.
MIN_REQUESTS_FOR_5XX_RATE = 10
# Any target failing health checks for two consecutive minutes rolls back.
MAX_UNHEALTHY_HOSTS = 0
