"""boto3 clients that answer from the model instead of AWS.

Each is a real botocore client: every request is validated against botocore's service model
(``ParamValidator`` on the operation's input shape, as botocore itself does before sending), and errors come
back as botocore's ClientError subclasses (``InvalidParameterException`` and so on) with the model's code and
message. The answer is injected at botocore's ``before-call`` event, so nothing is sent or signed. An
operation the model does not implement fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator

from . import codedeploy
from .aws import ACCOUNT, REGION, Aws, AwsError

Operation = Callable[[Mapping[str, Any]], dict[str, Any]]


class Client:
    """Attaches the model's operations to one botocore client."""

    def __init__(self, aws: Aws, service: str, operations: Mapping[str, Operation]) -> None:
        """``operations`` maps API names (``DescribeListeners``) to what answers them."""
        self.aws = aws
        self.service = service
        self.operations = dict(operations)
        self.client = boto3.client(
            service, region_name=REGION, aws_access_key_id="simulated", aws_secret_access_key="simulated"
        )
        self._pending: dict[str, Any] = {}
        self.client.meta.events.register_first("before-parameter-build.*.*", self._answer)
        self.client.meta.events.register_first("before-call.*.*", self._respond)

    def _answer(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        report = ParamValidator().validate(params, model.input_shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
        self.aws.calls.append((self.aws.caller, f"{self.client.meta.service_model.signing_name}:{model.name}"))
        operation = self.operations.get(model.name)
        assert operation is not None, f"the simulator does not model {self.service}:{model.name}"
        try:
            self.aws.authorize_call(self.client.meta.service_model, model.name, params)
            self._pending[model.name] = (200, operation(params))
        except AwsError as exc:
            error = {"Error": {"Code": exc.code, "Message": exc.message}}
            self._pending[model.name] = (400, {**error, "ResponseMetadata": {"HTTPStatusCode": 400}})

    def _respond(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        status, parsed = self._pending.pop(model.name)
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status, "RetryAttempts": 0})
        return AWSResponse("https://simulated", status, {}, None), parsed


def cluster_named(aws: Aws, params: Mapping[str, Any]) -> str:
    """The cluster an ECS call names (name or ARN; "default" when none); ClusterNotFoundException if none such."""
    cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]
    if cluster not in aws.clusters:
        raise AwsError("ClusterNotFoundException", "Cluster not found.")
    return cluster


def elbv2(aws: Aws) -> Any:
    """DescribeListeners and DescribeRules (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/)."""

    def describe_listeners(params: Mapping[str, Any]) -> dict[str, Any]:
        listeners = [
            x
            for x in aws.listeners.values()
            if x.load_balancer_arn == params.get("LoadBalancerArn") or x.arn in (params.get("ListenerArns") or [])
        ]
        if "LoadBalancerArn" in params and params["LoadBalancerArn"] not in aws.load_balancers:
            raise AwsError("LoadBalancerNotFound", "One or more load balancers not found")
        return {
            "Listeners": [
                {
                    "ListenerArn": x.arn,
                    "LoadBalancerArn": x.load_balancer_arn,
                    "Port": x.port,
                    "Protocol": x.protocol,
                    "DefaultActions": json.loads(json.dumps(x.actions)),
                    **({"Certificates": [{"CertificateArn": c} for c in x.certificates]} if x.certificates else {}),
                    **({"SslPolicy": x.ssl_policy} if x.ssl_policy else {}),
                }
                for x in listeners
            ]
        }

    def describe_rules(params: Mapping[str, Any]) -> dict[str, Any]:
        if "ListenerArn" in params and params["ListenerArn"] not in aws.listeners:
            raise AwsError("ListenerNotFound", "One or more listeners not found")
        rules = [x for x in aws.rules.values() if x.listener_arn == params.get("ListenerArn")]
        described = [
            {
                "RuleArn": x.arn,
                "Priority": x.priority,
                "Conditions": x.conditions,
                "Actions": json.loads(json.dumps(x.actions)),
                "IsDefault": False,
            }
            for x in rules
        ]
        if "ListenerArn" in params:
            listener = aws.listeners[params["ListenerArn"]]
            default_rule = {"RuleArn": f"{listener.arn}/default", "Priority": "default", "IsDefault": True}
            described.append({**default_rule, "Conditions": [], "Actions": listener.actions})
        return {"Rules": described}

    def modify_rule(params: Mapping[str, Any]) -> dict[str, Any]:
        rule = aws.rules.get(params["RuleArn"])
        if rule is None:
            raise AwsError("RuleNotFound", "One or more rules not found")
        if "Actions" in params:
            from .resources import _actions  # as ELBv2 stores them

            rule.actions = _actions(json.loads(json.dumps(params["Actions"])))
        if "Conditions" in params:
            rule.conditions = json.loads(json.dumps(params["Conditions"]))
        return {"Rules": [{"RuleArn": rule.arn, "Priority": rule.priority, "Actions": rule.actions}]}

    operations = {"DescribeListeners": describe_listeners, "DescribeRules": describe_rules, "ModifyRule": modify_rule}
    return Client(aws, "elbv2", operations).client


def ecs(aws: Aws) -> Any:
    """ListServices, DescribeServices, UpdateService (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/)."""

    def cluster_of(params: Mapping[str, Any]) -> str:
        return cluster_named(aws, params)

    def list_services(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster = cluster_of(params)
        arns = [s.arn for s in aws.services.values() if s.cluster == cluster and s.status == "ACTIVE"]
        # ListServices pages at maxResults (default 10, at most 100).
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 10)
        page = {"serviceArns": arns[start : start + size]}
        return {**page, "nextToken": str(start + size)} if start + size < len(arns) else page

    def describe_services(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster = cluster_of(params)
        if len(params["services"]) > 10:
            # "You may specify up to 10 services to describe."
            raise AwsError("InvalidParameterException", "Services cannot be empty and can have at most 10 items.")
        found, failures = [], []
        for name in params["services"]:
            matches = [s for s in aws.services.values() if s.cluster == cluster and name in (s.name, s.arn)]
            if matches:
                found.append(matches[-1].describe())
            else:
                failures.append(
                    {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}", "reason": "MISSING"}
                )
        return {"services": found, "failures": failures}

    def update_service(params: Mapping[str, Any]) -> dict[str, Any]:
        service = aws.service(cluster_of(params), params["service"])
        changes = {k: v for k, v in params.items() if k not in ("cluster", "service")}
        aws.update_service(service, changes)
        return {"service": service.describe()}

    from . import ecs_native  # the service deployments API reads the ECS-native engine's state

    def revisions() -> list[Any]:
        return [*aws.revisions, *aws.finished_revisions]

    def list_service_deployments(params: Mapping[str, Any]) -> dict[str, Any]:
        service = aws.service(cluster_of(params), params["service"])
        wanted = params.get("status") or []
        found = [ecs_native.describe(r, aws) for r in revisions() if r.service is service]
        found = [d for d in found if not wanted or d["status"] in wanted]
        found.sort(key=lambda d: d["createdAt"], reverse=True)  # newest first, as ECS lists them
        keys = ("serviceDeploymentArn", "serviceArn", "clusterArn", "createdAt", "startedAt", "status")
        return {"serviceDeployments": [{k: d[k] for k in keys if k in d} for d in found]}

    def describe_service_deployments(params: Mapping[str, Any]) -> dict[str, Any]:
        by_arn = {r.arn: r for r in revisions()}
        arns = params["serviceDeploymentArns"]
        found = [ecs_native.describe(by_arn[arn], aws) for arn in arns if arn in by_arn]
        failures = [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in by_arn]
        return {"serviceDeployments": found, "failures": failures}

    def continue_service_deployment(params: Mapping[str, Any]) -> dict[str, Any]:
        ecs_native.continue_deployment(aws, params["serviceDeploymentArn"], params["hookId"], params["action"])
        return {"serviceDeploymentArn": params["serviceDeploymentArn"]}

    def stop_service_deployment(params: Mapping[str, Any]) -> dict[str, Any]:
        ecs_native.stop(aws, params["serviceDeploymentArn"], params.get("stopType", "ROLLBACK"))
        return {"serviceDeploymentArn": params["serviceDeploymentArn"]}

    operations = {
        "ListServices": list_services,
        "DescribeServices": describe_services,
        "UpdateService": update_service,
        "ListServiceDeployments": list_service_deployments,
        "DescribeServiceDeployments": describe_service_deployments,
        "ContinueServiceDeployment": continue_service_deployment,
        "StopServiceDeployment": stop_service_deployment,
    }
    from .tasks import add_operations  # one-off tasks, for the migration hook

    add_operations(aws, operations, aws.task_definitions)
    return Client(aws, "ecs", operations).client


def codedeploy_client(aws: Aws) -> Any:
    """The deployment calls (https://docs.aws.amazon.com/codedeploy/latest/APIReference/)."""

    def deployment(deployment_id: str) -> Any:
        if deployment_id not in aws.deployments:
            raise AwsError("DeploymentDoesNotExistException", f"The deployment {deployment_id} could not be found.")
        return aws.deployments[deployment_id]

    def group(params: Mapping[str, Any]) -> Any:
        key = (params["applicationName"], params["deploymentGroupName"])
        if key not in aws.groups:
            raise AwsError("DeploymentGroupDoesNotExistException", f"No deployment group named {key[1]}")
        return aws.groups[key]

    def list_deployments(params: Mapping[str, Any]) -> dict[str, Any]:
        wanted = group(params)
        statuses = params.get("includeOnlyStatuses")
        start = (params.get("createTimeRange") or {}).get("start")
        ids = [
            d.id
            for d in aws.deployments.values()
            if d.group is wanted
            and (not statuses or d.status in statuses)
            and (start is None or d.create_time >= start)
        ]
        return {"deployments": list(reversed(ids))}

    def create_deployment(params: Mapping[str, Any]) -> dict[str, Any]:
        content = params["revision"]["appSpecContent"]["content"]
        created = codedeploy.create(aws, group(params), content, params.get("description", ""))
        return {"deploymentId": created.id}

    def stop_deployment(params: Mapping[str, Any]) -> dict[str, Any]:
        codedeploy.stop(aws, deployment(params["deploymentId"]), bool(params.get("autoRollbackEnabled")))
        return {"status": "Succeeded", "statusMessage": "Stopped"}

    def put_hook_status(params: Mapping[str, Any]) -> dict[str, Any]:
        execution = codedeploy.put_hook_status(
            aws, deployment(params["deploymentId"]), params["lifecycleEventHookExecutionId"], params["status"]
        )
        return {"lifecycleEventHookExecutionId": execution}

    def continue_deployment(params: Mapping[str, Any]) -> dict[str, Any]:
        codedeploy.continue_deployment(aws, deployment(params["deploymentId"]), params.get("deploymentWaitType", ""))
        return {}

    operations = {
        "PutLifecycleEventHookExecutionStatus": put_hook_status,
        "ContinueDeployment": continue_deployment,
        "ListDeployments": list_deployments,
        "GetDeployment": lambda p: {"deploymentInfo": deployment(p["deploymentId"]).info()},
        "BatchGetDeployments": lambda p: {"deploymentsInfo": [deployment(i).info() for i in p["deploymentIds"]]},
        "CreateDeployment": create_deployment,
        "StopDeployment": stop_deployment,
    }
    return Client(aws, "codedeploy", operations).client


def stepfunctions(aws: Aws, started: list[dict[str, Any]]) -> Any:
    """StartExecution: recorded in ``started``; a name used before is ExecutionAlreadyExists
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html)."""

    def start_execution(params: Mapping[str, Any]) -> dict[str, Any]:
        if any(x["name"] == params["name"] for x in started):
            raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{params['name']}'")
        started.append(dict(params))
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Waiter:{params['name']}"
        return {"executionArn": arn, "startDate": aws.now}

    return Client(aws, "stepfunctions", {"StartExecution": start_execution}).client
