"""CloudFormation custom resource that runs an ECS blue/green deployment through CodeDeploy.

ECS services that use the CODE_DEPLOY deployment controller are not redeployed by CloudFormation when
their task definition changes. This module is the onEvent/isComplete pair behind
the trigger's provider (``custom_resource.py``): a Create or Update starts a CodeDeploy deployment when the live
service differs from the request, and the resource completes when the deployment succeeds, or fails with
CodeDeploy's own reason. One provider serves every service of a stack, so everything about a service
comes from the resource properties (see ``DeploymentRequest.from_properties``).

Decisions
---------
* The live state is read from ECS, never remembered: the PRIMARY task set of the service (or the service
  itself when it has no task sets) is compared with the request (task definition, network
  configuration, platform version unless LATEST, container name/port, capacity provider strategy). Equal
  means no deployment: the first Create (CloudFormation created the service with this task definition),
  an Update that only changes hooks or the description, and the Update CloudFormation sends during a
  stack rollback after CodeDeploy already rolled the service back.
* While any deployment of the group is active (Created, Queued, InProgress, Baking, Ready), nothing is
  started: the resource waits and decides again against ECS once it has finished. A
  DeploymentLimitExceededException from CreateDeployment means the same.
* Delete makes no AWS call: removing the resource must neither start nor stop a deployment.

Recognising its own deployment across polls
-------------------------------------------
isComplete receives the same event on every poll and cannot store anything. Two channels carry state:

1. When onEvent starts the deployment, its id is returned in ``Data.DeploymentId``; the provider merges
   the onEvent result into every isComplete event, so each poll calls GetDeployment on that id.
2. When onEvent could not start it (another deployment was active, or AWS kept throttling), a later poll
   starts it. Its description then ends with the marker ``[cfn-request:<RequestId>]``: the CloudFormation
   RequestId is unique per request and is in every event. Each later poll lists the group's deployments
   created since onEvent ran (``RequestedAt`` in the state onEvent returns, minus a clock-skew margin,
   all statuses so that a finished one is found too), reads them with BatchGetDeployments and picks the one
   whose description holds the marker. Only when none holds it does the poll decide again, so a poll never
   starts a second deployment for the same request. A new request (for instance the Update of a stack
   rollback) has a new RequestId and so never mistakes an older deployment for its own.
3. Lambda retries an invocation that failed and may deliver an event twice, so onEvent too looks for the
   marker first, over CloudFormation's whole hour: a repeat follows (or reports) the deployment an
   earlier delivery started, even one that has finished or rolled back since, instead of deciding again.

onEvent also returns ``BlueGreenEcsState = {"Decision": ..., "RequestedAt": ...}`` next to ``Data`` (the
provider passes every key of the onEvent result to isComplete, but sends only ``Data`` to CloudFormation).

Time budget, approval, throttling
---------------------------------
``TimeoutMinutes`` counts from the deployment's createTime. When it is exceeded the deployment is stopped
with automatic rollback and the resource fails, saying so; a deployment in status Ready (waiting for
``aws deploy continue-deployment``) is polled like any other and its timeout message says it was waiting
for approval. AWS calls are retried by botocore only (see ``aws.py``); when it gives up on a throttling,
5xx or connection error, a poll returns ``IsComplete: False`` and onEvent leaves the decision to
isComplete instead of failing the stack. A Create's calls also wait out AccessDenied for two minutes from
onEvent (``aws.Patience``): CloudFormation has just created the role's policies, which IAM may not show
yet. When the trigger gives up on its own account, ``stop`` stops this request's deployment with rollback
before the FAILED answer.

Modules: ``request.py`` parses the properties, ``live_state.py`` reads and compares ECS and CodeDeploy,
``aws.py`` makes the calls, ``messages.py`` words the reasons; this module only decides.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import aws, hook_reason, live_state, messages, rollback_reason
    from .aws import Aws
    from .request import DeploymentRequest, marker
else:
    # Top-level modules inside the Lambda asset, blue_green_ecs.handlers.* in the library.
    def _sibling(name: str) -> Any:
        return importlib.import_module(f"{__package__}.{name}" if __package__ else name)

    aws, hook_reason, live_state, messages, _request, rollback_reason = (
        _sibling(name) for name in ("aws", "hook_reason", "live_state", "messages", "request", "rollback_reason")
    )
    Aws, DeploymentRequest, marker = aws.Aws, _request.DeploymentRequest, _request.marker

STATE_KEY = "BlueGreenEcsState"
# A request's deployment is at most this old: CloudFormation waits an hour for a custom resource.
CLOUDFORMATION_WINDOW = timedelta(hours=1)
# How long after a deployment ended the trigger waits for a failed hook's log line (two of the waiter's polls).
HOOK_LOG_GRACE = timedelta(seconds=30)
DeploymentError = messages.DeploymentError
DeploymentEndedError = messages.DeploymentEndedError
log = messages.log


@dataclass(frozen=True)
class _Outcome:
    decision: str  # "deploying", "unchanged" or "waiting"
    deployment_id: str = ""


class DeploymentHandler:
    """onEvent/isComplete logic with injectable clients and clock (tests pass stubbed clients)."""

    def __init__(
        self,
        codedeploy: Any = None,
        ecs: Any = None,
        *,
        clock: Callable[[], datetime] | None = None,
        cloudwatch: Any = None,
        logs: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Clients default to real boto3 clients created on first use (Delete never creates them); ``sleep``
        waits between a Create's calls denied while IAM shows the role's new policies."""
        self._codedeploy = codedeploy
        self._ecs = ecs
        self._cloudwatch = cloudwatch
        self._logs = logs
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep

    @property
    def codedeploy(self) -> Any:
        """The CodeDeploy client."""
        if self._codedeploy is None:
            self._codedeploy = aws.client("codedeploy")
        return self._codedeploy

    @property
    def ecs(self) -> Any:
        """The ECS client."""
        if self._ecs is None:
            self._ecs = aws.client("ecs")
        return self._ecs

    # ---- entry points -------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Handle Create/Update/Delete: decide against ECS and start a deployment when needed."""
        request_type = event.get("RequestType")
        if request_type == "Delete":
            physical_id = str(event.get("PhysicalResourceId", ""))
            log("delete", decision="no-op", physical_resource_id=physical_id)
            return {"PhysicalResourceId": physical_id}
        if request_type not in ("Create", "Update"):
            raise DeploymentError(f"Unsupported RequestType {request_type!r}")
        request = self._request(event)
        requested_at = self.clock()
        try:
            calls = self._aws(request, aws.Patience.of_request(event, requested_at, self.clock, self.sleep))
            outcome = self._resume(calls, request, event, requested_at) or self._decide(calls, request, event)
        except aws.TransientAwsError as exc:
            log("decision", decision="deferred", request_id=event.get("RequestId"), reason=str(exc))
            outcome = _Outcome("waiting")
        return {
            "PhysicalResourceId": request.physical_resource_id,
            "Data": {"DeploymentId": outcome.deployment_id},
            STATE_KEY: {"Decision": outcome.decision, "RequestedAt": requested_at.isoformat()},
        }

    def is_complete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Poll: follow this request's deployment, or keep deciding until one is started or none is needed."""
        if event.get("RequestType") == "Delete":
            return {"IsComplete": True}
        request = self._request(event)
        state = event.get(STATE_KEY) or {}
        if state.get("Decision") == "unchanged":
            return {"IsComplete": True, "Data": {"DeploymentId": ""}}
        patience = aws.Patience.of_request(event, _since(state), self.clock, self.sleep)
        try:
            return self._poll(self._aws(request, patience), request, event, state)
        except aws.TransientAwsError as exc:
            log("poll", decision="poll-again", request_id=event.get("RequestId"), reason=str(exc))
            return {"IsComplete": False}

    def stop(self, event: Mapping[str, Any]) -> str:
        """Stop this request's deployment with rollback, best effort; a sentence for the Reason ("": none).

        ``custom_resource.py`` calls it before answering FAILED on the trigger's own account (the waiter
        cannot start or failed, the deadline passed): CloudFormation then rolls back, and a deployment left
        running would go on replacing the service under it.
        """
        if event.get("RequestType") not in ("Create", "Update"):
            return ""
        deployment_id = str((event.get("Data") or {}).get("DeploymentId") or "")
        try:
            request = self._request(event)
            calls = self._aws(request)
            if not deployment_id:
                since = _since(event.get(STATE_KEY) or {}) or self.clock() - CLOUDFORMATION_WINDOW
                own = live_state.find_own(calls, request, marker(event), since)
                if own is None:
                    return ""
                deployment_id = str(own.get("deploymentId"))
                if own.get("status") not in live_state.ACTIVE_STATUSES:
                    return messages.not_stopped(deployment_id, own.get("status"))
            calls.codedeploy("stop_deployment", deploymentId=deployment_id, autoRollbackEnabled=True)
        except aws.AwsCallError as exc:
            if exc.code == "DeploymentAlreadyCompletedException":
                return messages.not_stopped(deployment_id)
            return messages.could_not_stop(deployment_id, str(exc))
        except Exception as exc:  # best effort: the FAILED answer must go out whatever happens here
            return messages.could_not_stop(deployment_id, str(exc))
        log("outcome", decision="stopped", request_id=event.get("RequestId"), deployment_id=deployment_id)
        return messages.stopped(deployment_id)

    # ---- steps --------------------------------------------------------------------------------------

    def _aws(self, request: DeploymentRequest, patience: aws.Patience | None = None) -> Aws:
        return Aws(self.codedeploy, self.ecs, request, patience)

    @staticmethod
    def _request(event: Mapping[str, Any]) -> DeploymentRequest:
        try:
            return DeploymentRequest.from_properties(event.get("ResourceProperties") or {})
        except ValueError as exc:
            raise DeploymentError(f"Invalid blue/green deployment properties: {exc}") from exc

    def _poll(
        self, calls: Aws, request: DeploymentRequest, event: Mapping[str, Any], state: Mapping[str, Any]
    ) -> dict[str, Any]:
        deployment_id = (event.get("Data") or {}).get("DeploymentId")
        if deployment_id:
            info = calls.codedeploy("get_deployment", deploymentId=deployment_id)["deploymentInfo"]
            return self._track(calls, request, info)
        own = live_state.find_own(calls, request, marker(event), _since(state))
        if own is not None:
            return self._track(calls, request, own)
        outcome = self._decide(calls, request, event)
        if outcome.decision == "unchanged":
            return {"IsComplete": True, "Data": {"DeploymentId": ""}}
        return {"IsComplete": False}

    def _resume(
        self, calls: Aws, request: DeploymentRequest, event: Mapping[str, Any], now: datetime
    ) -> _Outcome | None:
        """The deployment an earlier delivery of this request started, if any, to follow instead of deciding.

        Lambda retries an invocation that failed and may deliver an event twice; by then the deployment may
        have finished or rolled back, so ECS and the active deployments alone would start another one.
        """
        own = live_state.find_own(calls, request, marker(event), now - CLOUDFORMATION_WINDOW)
        if own is None:
            return None
        deployment_id = str(own.get("deploymentId"))
        log(
            "decision",
            decision="resume",
            reason="an earlier delivery of this request started the deployment",
            request_id=event.get("RequestId"),
            deployment_id=deployment_id,
            status=own.get("status"),
        )
        return _Outcome("deploying", deployment_id)

    def _decide(self, calls: Aws, request: DeploymentRequest, event: Mapping[str, Any]) -> _Outcome:
        active = live_state.list_deployments(calls, request, includeOnlyStatuses=list(live_state.ACTIVE_STATUSES))
        if active:
            blocking = calls.codedeploy("get_deployment", deploymentId=active[0])["deploymentInfo"]
            log(
                "decision",
                decision="wait",
                reason="another deployment of the group is active; deciding again once it has finished",
                request_id=event.get("RequestId"),
                active_deployments=active,
                blocking_deployment=active[0],
                blocking_status=blocking.get("status"),
            )
            return _Outcome("waiting")
        source, live = live_state.live_configuration(live_state.describe_service(calls, request))
        changes = live_state.differences(request.target, live)
        if not changes:
            log(
                "decision",
                decision="no-deployment",
                reason=f"the service's {source} already runs the requested configuration",
                request_id=event.get("RequestId"),
                service=request.service,
                task_definition=request.target.task_definition,
            )
            return _Outcome("unchanged")
        deployment_id = self._create(calls, request, event)
        if deployment_id is None:
            log(
                "decision",
                decision="wait",
                reason="DeploymentLimitExceededException: another deployment of the group is active",
                request_id=event.get("RequestId"),
            )
            return _Outcome("waiting")
        log(
            "decision",
            decision="deploy",
            request_id=event.get("RequestId"),
            deployment_id=deployment_id,
            compared_with=source,
            changes=changes,
        )
        return _Outcome("deploying", deployment_id)

    def _create(self, calls: Aws, request: DeploymentRequest, event: Mapping[str, Any]) -> str | None:
        content = json.dumps(request.target.appspec(), separators=(",", ":"))
        try:
            response = calls.codedeploy(
                "create_deployment",
                applicationName=request.application_name,
                deploymentGroupName=request.deployment_group_name,
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {
                        "content": content,
                        "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
                    },
                },
                description=request.deployment_description(event),
            )
        except aws.AwsCallError as exc:
            if exc.code == "DeploymentLimitExceededException":
                return None
            raise
        return str(response["deploymentId"])

    def _track(self, calls: Aws, request: DeploymentRequest, info: Mapping[str, Any]) -> dict[str, Any]:
        deployment_id = str(info.get("deploymentId"))
        status = info.get("status")
        if status == "Succeeded":
            log("outcome", decision="succeeded", deployment_id=deployment_id, service=request.service)
            return {"IsComplete": True, "Data": {"DeploymentId": deployment_id}}
        if status in ("Failed", "Stopped"):
            hook = self._hook_reason(request, info)
            if not hook and self._hook_line_may_be_on_its_way(request, info):
                log("poll", decision="waiting-for-hook-reason", deployment_id=deployment_id, status=status)
                return {"IsComplete": False}
            message = messages.failure_message(info, self._rollback(calls, info))
            message = " ".join(part for part in (message, self._why(info), hook) if part)
            log("outcome", decision="failed", deployment_id=deployment_id, status=status, reason=message)
            raise DeploymentEndedError(message)
        created = live_state.as_utc(info.get("createTime"))
        elapsed = self.clock() - created if created else timedelta(0)
        if elapsed > timedelta(minutes=request.timeout_minutes):
            return self._stop(calls, request, info, elapsed)
        waiting = status == "Ready"
        log(
            "poll",
            decision="waiting-for-approval" if waiting else "in-progress",
            **({"level": "WARNING"} if waiting else {}),
            deployment_id=deployment_id,
            status=status,
            elapsed_seconds=int(elapsed.total_seconds()),
            timeout_minutes=request.timeout_minutes,
            **({"reason": messages.approval_hint(deployment_id)} if waiting else {}),
        )
        return {"IsComplete": False}

    def _why(self, info: Mapping[str, Any]) -> str:
        """The alarms' datapoints and both target groups' 5xx share (``rollback_reason``), best effort."""
        try:
            if self._cloudwatch is None:
                self._cloudwatch = aws.client("cloudwatch")
            return str(rollback_reason.explain(self._cloudwatch, info))
        except Exception as exc:  # the failure itself is what CloudFormation must show
            log("rollback-reason-unavailable", deployment_id=info.get("deploymentId"), error=str(exc))
            return ""

    def _hook_reason(self, request: DeploymentRequest, info: Mapping[str, Any]) -> str:
        """What the library's hooks logged as their reason for failing the deployment (``hook_reason``), best
        effort: CodeDeploy's error cannot carry it."""
        if not request.hook_log_groups:
            return ""
        try:
            if self._logs is None:
                self._logs = aws.client("logs")
            return str(hook_reason.explain(self._logs, request.hook_log_groups, info))
        except Exception as exc:  # the failure itself is what CloudFormation must show
            log("hook-reason-unavailable", deployment_id=info.get("deploymentId"), error=str(exc))
            return ""

    def _hook_line_may_be_on_its_way(self, request: DeploymentRequest, info: Mapping[str, Any]) -> bool:
        """A hook's line may not have reached CloudWatch Logs when CodeDeploy reports the end (Lambda delivers
        its output asynchronously): the trigger looks again for ``HOOK_LOG_GRACE`` after ``completeTime``."""
        ended = live_state.as_utc(info.get("completeTime"))
        return bool(request.hook_log_groups) and ended is not None and self.clock() - ended < HOOK_LOG_GRACE

    def _rollback(self, calls: Aws, info: Mapping[str, Any]) -> Mapping[str, Any] | None:
        rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if not rollback_id:
            return None
        try:
            rollback: Mapping[str, Any] = calls.codedeploy("get_deployment", deploymentId=rollback_id)["deploymentInfo"]
        except aws.AwsCallError as exc:
            # The failure itself is what CloudFormation must show; the rollback status is a detail.
            log("rollback-status-unavailable", deployment_id=rollback_id, error=str(exc))
            return None
        return rollback

    def _stop(
        self, calls: Aws, request: DeploymentRequest, info: Mapping[str, Any], elapsed: timedelta
    ) -> dict[str, Any]:
        deployment_id = str(info.get("deploymentId"))
        status = info.get("status")
        try:
            stopped = calls.codedeploy("stop_deployment", deploymentId=deployment_id, autoRollbackEnabled=True)
        except aws.AwsCallError as exc:
            if exc.code == "DeploymentAlreadyCompletedException":
                # It finished between GetDeployment and StopDeployment: the next poll reports how.
                log("poll", decision="poll-again", deployment_id=deployment_id, reason=str(exc))
                return {"IsComplete": False}
            raise
        log(
            "outcome",
            decision="timed-out",
            deployment_id=deployment_id,
            status=status,
            elapsed_seconds=int(elapsed.total_seconds()),
            stop_status=stopped.get("status"),
            stop_message=stopped.get("statusMessage"),
        )
        raise DeploymentEndedError(messages.timeout_message(deployment_id, status, request.timeout_minutes))


def _since(state: Mapping[str, Any]) -> datetime | None:
    try:
        return live_state.as_utc(datetime.fromisoformat(str(state["RequestedAt"])))
    except (KeyError, ValueError):
        return None


@functools.cache
def _default_handler() -> DeploymentHandler:
    return DeploymentHandler()


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point as aws-cdk-lib's Provider framework onEvent (benchmarks/l2_stack.py uses it so);
    the library's own provider calls ``DeploymentHandler`` from ``custom_resource.py``."""
    return _default_handler().on_event(event)


def is_complete(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point as aws-cdk-lib's Provider framework isComplete (see ``on_event``)."""
    return _default_handler().is_complete(event)
