"""What CloudFormation's resource handlers do to the AWS model, per resource type.

Create-only properties ("Update requires: Replacement") follow the CloudFormation resource reference of each
type (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html).
Types the simulator does not model (VPC routes, IAM, logs, alarms...) are kept as properties only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .aws import ACCOUNT, REGION, Aws, Group, Listener, Rule, Service, TaskSet, forward
from .codedeploy import camel

CREATE_ONLY = {
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html
    "AWS::ECS::Service": {"ServiceName", "Cluster", "LaunchType", "Role", "SchedulingStrategy"},
    # every property of a task definition: a change registers a new revision
    "AWS::ECS::TaskDefinition": {"*"},
    "AWS::ElasticLoadBalancingV2::Listener": {"LoadBalancerArn"},
    "AWS::ElasticLoadBalancingV2::ListenerRule": {"ListenerArn"},
    "AWS::ElasticLoadBalancingV2::TargetGroup": {"Name", "Port", "Protocol", "TargetType", "VpcId", "ProtocolVersion"},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name", "Scheme", "Type"},
    "AWS::ECS::Cluster": {"ClusterName"},
    "AWS::EC2::Subnet": {"VpcId", "CidrBlock", "AvailabilityZone"},
    "AWS::EC2::SecurityGroup": {"GroupDescription", "VpcId", "GroupName"},
}

# The modelled types and the suffix of their handler methods (``_create_<suffix>``, ``_update_<suffix>``).
_NAMES = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load_balancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "target_group",
    "AWS::ElasticLoadBalancingV2::Listener": "listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "listener_rule",
    "AWS::ECS::Cluster": "cluster",
    "AWS::ECS::TaskDefinition": "task_definition",
    "AWS::ECS::Service": "service",
    "AWS::CodeDeploy::Application": "application",
    "AWS::CodeDeploy::DeploymentGroup": "deployment_group",
}


class ResourceFailedError(Exception):
    """A resource handler failed: the message is the status reason CloudFormation shows."""


@dataclass
class Resource:
    logical_id: str
    type: str
    physical_id: str
    properties: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)


def requires_replacement(resource_type: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the change from ``old`` to ``new`` changes a create-only property."""
    keys = CREATE_ONLY.get(resource_type, set())
    if "*" in keys:
        return dict(old) != dict(new)
    return any(old.get(key) != new.get(key) for key in keys)


def _arn(service: str, kind: str, name: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}/{name}"


def _actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Template actions as ELBv2 stores them (a plain forward gains its ForwardConfig of weight 1)."""
    stored = []
    for action in actions:
        if action.get("Type") == "forward" and "TargetGroupArn" in action and "ForwardConfig" not in action:
            stored.append(forward(action["TargetGroupArn"]))
        else:
            stored.append({k: v for k, v in action.items() if k != "Order"})
    return stored


def _named(logical: str, kind: str, props: Mapping[str, Any], n: int) -> tuple[str, dict[str, Any]] | None:
    """(physical id, attributes) of the unmodelled types a role's policy can name, in AWS's formats (each type's
    Ref and Fn::GetAtt return values in the CloudFormation resource reference), so the authorization model
    compares the ARNs IAM would see. None for any other type."""
    generated = f"Simulated-{logical[:40]}-{n}"

    def regional(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"

    if kind == "AWS::IAM::Role":
        name = props.get("RoleName") or generated
        return name, {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "RoleId": f"AROA{n:017d}"}
    if kind == "AWS::Lambda::Function":
        name = props.get("FunctionName") or generated
        return name, {"Arn": regional("lambda", f"function:{name}")}
    if kind == "AWS::StepFunctions::StateMachine":
        name = props.get("StateMachineName") or generated
        arn = regional("states", f"stateMachine:{name}")
        return arn, {"Arn": arn, "Name": name}
    if kind == "AWS::Logs::LogGroup":
        name = props.get("LogGroupName") or generated
        return name, {"Arn": regional("logs", f"log-group:{name}:*")}
    if kind == "AWS::CloudWatch::Alarm":
        name = props.get("AlarmName") or generated
        return name, {"Arn": regional("cloudwatch", f"alarm:{name}")}
    if kind == "AWS::CloudWatch::CompositeAlarm":
        name = props.get("AlarmName") or generated
        return name, {"Arn": regional("cloudwatch", f"alarm:{name}")}
    if kind == "AWS::SNS::Topic":
        name = props.get("TopicName") or generated
        arn = regional("sns", name)
        return arn, {"TopicArn": arn, "TopicName": name}
    if kind == "AWS::SQS::Queue":
        name = props.get("QueueName") or generated
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return url, {"Arn": regional("sqs", name), "QueueName": name, "QueueUrl": url}
    if kind == "AWS::S3::Bucket":
        name = props.get("BucketName") or generated.lower()
        return name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
    if kind == "AWS::KMS::Key":
        key = f"{n:08d}-0000-4000-8000-000000000000"
        return key, {"Arn": regional("kms", f"key/{key}"), "KeyId": key}
    return None


class Handlers:
    """Create/update/delete per type against the model (``ecs`` is the validated fake client)."""

    def __init__(self, aws: Aws, ecs: Any) -> None:
        """The model and the ECS client CloudFormation's service handler calls UpdateService through."""
        self.aws = aws
        self.ecs = ecs
        self.task_definitions: dict[str, str] = {}  # family -> latest revision ARN

    def create(self, logical: str, kind: str, props: dict[str, Any]) -> Resource:
        """Create ``logical`` and return it with its physical id and attributes."""
        n = self.aws.next_id()
        method = getattr(self, "_create_" + _NAMES.get(kind, "-"), None)
        if method is not None:
            return method(logical, kind, props, n)  # type: ignore[no-any-return]
        if kind == "Test::Fails":
            raise ResourceFailedError(props.get("Reason", "failed on purpose"))
        named = _named(logical, kind, props, n)
        if named is not None:
            if kind == "AWS::Logs::LogGroup":
                self.aws.log_groups.add(named[0])  # what FilterLogEvents reads (hook_clients.logs)
            return Resource(logical, kind, named[0], props, named[1])
        prefix = {"AWS::EC2::Subnet": "subnet-", "AWS::EC2::SecurityGroup": "sg-", "AWS::EC2::VPC": "vpc-"}
        physical = f"{prefix.get(kind, '')}{logical.lower()}-{n}"
        attributes = {"GroupId": physical, "CidrBlock": "10.0.0.0/16", "Arn": _arn("sim", kind, physical)}
        return Resource(logical, kind, physical, props, attributes)

    def update(self, resource: Resource, props: dict[str, Any]) -> None:
        """Update ``resource`` in place to ``props`` (the caller checked it needs no replacement)."""
        method = getattr(self, "_update_" + _NAMES.get(resource.type, "-"), None)
        if method is not None:
            method(resource, props)
        resource.properties = props

    def delete(self, resource: Resource) -> None:
        """Delete ``resource``."""
        aws = self.aws
        if resource.type == "AWS::ECS::Service":
            for service in aws.services.values():
                if service.arn == resource.physical_id:
                    # CloudFormation scales the service to zero and deletes it; its tasks stop.
                    service.status, service.task_sets = "INACTIVE", []
        elif resource.type == "AWS::ElasticLoadBalancingV2::Listener":
            aws.listeners.pop(resource.physical_id, None)
            for arn in [a for a, r in aws.rules.items() if r.listener_arn == resource.physical_id]:
                del aws.rules[arn]
        elif resource.type == "AWS::ElasticLoadBalancingV2::ListenerRule":
            aws.rules.pop(resource.physical_id, None)
        elif resource.type == "AWS::Logs::LogGroup":
            aws.log_groups.discard(resource.physical_id)
            aws.log_events.pop(resource.physical_id, None)

    # ---- ELBv2 -------------------------------------------------------------------------------------

    def _create_load_balancer(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        name = props.get("Name") or f"Sim-{logical[:20]}-{n}"
        arn = _arn("elasticloadbalancing", "loadbalancer/app", f"{name}/{n:016x}")
        self.aws.load_balancers[arn] = name
        attributes = {
            "LoadBalancerFullName": f"app/{name}/{n:016x}",
            "LoadBalancerName": name,
            "DNSName": f"{name}.{REGION}.elb.amazonaws.com",
            "CanonicalHostedZoneID": "Z35SXDOTRQ7X7K",
            "SecurityGroups": props.get("SecurityGroups", []),
            "LoadBalancerArn": arn,
        }
        return Resource(logical, kind, arn, props, attributes)

    def _create_target_group(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        name = props.get("Name") or f"Sim-{logical[:16]}-{n}"
        arn = _arn("elasticloadbalancing", "targetgroup", f"{name}/{n:016x}")
        self.aws.target_groups[arn] = name
        attributes = {"TargetGroupName": name, "TargetGroupFullName": f"targetgroup/{name}/{n:016x}"}
        return Resource(logical, kind, arn, props, {**attributes, "TargetGroupArn": arn, "LoadBalancerArns": []})

    def _create_listener(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        # listener/app/<load balancer name>/<load balancer id>/<listener id>
        load_balancer = str(props["LoadBalancerArn"]).split(":loadbalancer/", 1)[1]
        arn = _arn("elasticloadbalancing", "listener", f"{load_balancer}/{n:016x}")
        self.aws.listeners[arn] = Listener(arn, props["LoadBalancerArn"], 0, "", [])
        resource = Resource(logical, kind, arn, props, {"ListenerArn": arn})
        self._update_listener(resource, props)
        return resource

    def _update_listener(self, resource: Resource, props: Any) -> None:
        # ModifyListener with the template's values: after a CodeDeploy deployment this writes the template's
        # default action over the one CodeDeploy set (aws/aws-cdk #36649).
        listener = self.aws.listeners[resource.physical_id]
        listener.port, listener.protocol = int(props["Port"]), props.get("Protocol", "HTTP")
        listener.actions = _actions(props["DefaultActions"])
        listener.certificates = [c["CertificateArn"] for c in props.get("Certificates", [])]
        listener.ssl_policy = props.get("SslPolicy")
        taken = [x for x in self.aws.listeners.values() if x.load_balancer_arn == listener.load_balancer_arn]
        if sum(1 for x in taken if x.port == listener.port) > 1:
            raise ResourceFailedError(
                f"A listener already exists on this port for this load balancer ({listener.port})"
            )

    def _create_listener_rule(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        # listener-rule/app/<load balancer name>/<load balancer id>/<listener id>/<rule id>
        listener = str(props["ListenerArn"]).split(":listener/", 1)[1]
        arn = _arn("elasticloadbalancing", "listener-rule", f"{listener}/{n:016x}")
        self.aws.rules[arn] = Rule(arn, props["ListenerArn"], "", [], [])
        resource = Resource(logical, kind, arn, props, {"RuleArn": arn})
        try:
            self._update_listener_rule(resource, props)
        except ResourceFailedError:
            del self.aws.rules[arn]
            raise
        return resource

    def _update_listener_rule(self, resource: Resource, props: Any) -> None:
        # ModifyRule + SetRulePriorities with the template's values (the weights ECS moved are overwritten).
        rule = self.aws.rules[resource.physical_id]
        priority = str(props["Priority"])
        if any(
            x is not rule and x.listener_arn == rule.listener_arn and x.priority == priority
            for x in self.aws.rules.values()
        ):
            # ELBv2 CreateRule / SetRulePriorities: one rule per priority and listener.
            raise ResourceFailedError(f"Priority '{priority}' is currently in use (Error Code: PriorityInUse)")
        rule.priority, rule.actions, rule.conditions = (
            str(props["Priority"]),
            _actions(props["Actions"]),
            props["Conditions"],
        )

    # ---- ECS ---------------------------------------------------------------------------------------

    def _create_cluster(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        name = props.get("ClusterName") or f"Simulated-{logical}-{n}"
        self.aws.clusters.add(name)
        return Resource(logical, kind, name, props, {"Arn": _arn("ecs", "cluster", name)})

    def _create_task_definition(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        family = props.get("Family") or logical
        arn = _arn("ecs", "task-definition", f"{family}:{n}")
        self.task_definitions[family] = arn
        roles = [str(props[key]) for key in ("TaskRoleArn", "ExecutionRoleArn") if props.get(key)]
        self.aws.task_definition_roles[arn] = roles
        containers = props.get("ContainerDefinitions") or [{}]
        self.aws.images[arn] = str(containers[0].get("Image", ""))
        self.aws.task_definitions[arn] = camel(props)  # what DescribeTaskDefinition answers
        return Resource(logical, kind, arn, props, {"TaskDefinitionArn": arn})

    def _create_service(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        cluster = str(props["Cluster"]).rsplit("/", 1)[-1]
        name = props.get("ServiceName") or f"Simulated-{logical}-{n}"
        if any(s.cluster == cluster and s.name == name and s.status == "ACTIVE" for s in self.aws.services.values()):
            raise ResourceFailedError(f"Creation of service was not idempotent. ({name} exists in {cluster})")
        task_definition = self.task_definitions.get(props["TaskDefinition"], props["TaskDefinition"])
        [entry] = camel(props["LoadBalancers"])
        network = camel(props.get("NetworkConfiguration", {}))
        service = Service(
            arn=_arn("ecs", "service", f"{cluster}/{name}"),
            name=name,
            cluster=cluster,
            controller=props.get("DeploymentController", {}).get("Type", "ECS"),
            desired_count=int(props.get("DesiredCount", 1)),
            task_definition=task_definition,
            network=network,
            platform_version=props.get("PlatformVersion", "LATEST"),
            load_balancers=[entry],
            task_sets=[],
            capacity_provider_strategy=camel(props.get("CapacityProviderStrategy", [])),
            deployment_configuration=camel(props.get("DeploymentConfiguration", {})),
            managed_tags=bool(props.get("EnableECSManagedTags", False)),
            service_registries=camel(props.get("ServiceRegistries", [])),
        )
        # A new service starts its tasks in the target group of its load balancer entry (for CODE_DEPLOY as its
        # first, PRIMARY task set: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html).
        service.task_sets.append(
            TaskSet(
                id=f"ecs-svc/{n:019d}",
                status="PRIMARY",
                task_definition=task_definition,
                target_group=entry["targetGroupArn"],
                network=network,
                platform_version=service.platform_version,
                container=(entry["containerName"], int(entry["containerPort"])),
            )
        )
        self.aws.services[service.arn] = service
        return Resource(logical, kind, service.arn, props, {"Name": name, "ServiceArn": service.arn})

    def _update_service(self, resource: Resource, props: Any) -> None:
        # Assumption (AWS documents no list): CloudFormation's handler sends the changed properties, and always
        # DesiredCount, which is what resets a scaled service (aws-cdk's removeDefaultDesiredCount flag exists
        # for it: https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ecs_patterns-readme.html).
        old = resource.properties
        params: dict[str, Any] = {"desiredCount": int(props.get("DesiredCount", 1))}
        names = {
            "NetworkConfiguration": "networkConfiguration",
            "PlatformVersion": "platformVersion",
            "LoadBalancers": "loadBalancers",
            "CapacityProviderStrategy": "capacityProviderStrategy",
            "DeploymentController": "deploymentController",
            "HealthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
            "DeploymentConfiguration": "deploymentConfiguration",
            "EnableECSManagedTags": "enableECSManagedTags",
            "ServiceRegistries": "serviceRegistries",
        }
        for key, name in names.items():
            if old.get(key) != props.get(key) and key in props:
                params[name] = camel(props[key])
        if old.get("TaskDefinition") != props.get("TaskDefinition"):
            params["taskDefinition"] = self.task_definitions.get(props["TaskDefinition"], props["TaskDefinition"])
        if "loadBalancers" in params:
            for entry in params["loadBalancers"]:
                entry["containerPort"] = int(entry["containerPort"])
        service = self.aws.services[resource.physical_id]
        try:
            self.ecs.update_service(cluster=service.cluster, service=service.name, **params)
        except Exception as exc:  # botocore's ClientError: CloudFormation shows the API's message
            error = getattr(exc, "response", {}).get("Error", {})
            raise ResourceFailedError(
                f"{error.get('Message', exc)} (Service: Ecs, Status Code: 400, Error Code: {error.get('Code')})"
            ) from exc
        if "deploymentConfiguration" in params:
            service.deployment_configuration = params["deploymentConfiguration"]
        if service.controller == "ECS" and self.aws.revisions:
            # CloudFormation waits for the service to be stable: the ECS-native deployment runs to its end.
            self.aws.settle()
            finished = self.aws.finished_revisions[-1]
            if finished.outcome != "SUCCESSFUL":
                raise ResourceFailedError(f"ECS Deployment was rolled back ({finished.outcome}): {finished.reason}")

    # ---- CodeDeploy ------------------------------------------------------------------------------------

    def _create_application(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        return Resource(logical, kind, props.get("ApplicationName") or f"Simulated-{logical}-{n}", props)

    def _create_deployment_group(self, logical: str, kind: str, props: Any, n: int) -> Resource:
        name = props.get("DeploymentGroupName") or f"Simulated-{logical}-{n}"
        resource = Resource(logical, kind, name, props)
        self._update_deployment_group(resource, props)
        return resource

    def _update_deployment_group(self, resource: Resource, props: Any) -> None:
        [pair] = props["LoadBalancerInfo"]["TargetGroupPairInfoList"]
        [service] = props["ECSServices"]
        blue_green = props.get("BlueGreenDeploymentConfiguration", {})
        wait = blue_green.get("TerminateBlueInstancesOnDeploymentSuccess", {}).get("TerminationWaitTimeInMinutes", 0)
        group = Group(
            application=props["ApplicationName"],
            name=resource.physical_id,
            cluster=str(service["ClusterName"]),
            service=str(service["ServiceName"]),
            prod_listeners=list(pair["ProdTrafficRoute"]["ListenerArns"]),
            test_listeners=list(pair.get("TestTrafficRoute", {}).get("ListenerArns", [])),
            target_group_names=[g["Name"] for g in pair["TargetGroups"]],
            config_name=props.get("DeploymentConfigName", "CodeDeployDefault.ECSAllAtOnce"),
            termination_wait=int(wait),
            alarms=[a["Name"] for a in props.get("AlarmConfiguration", {}).get("Alarms", [])],
            service_role=str(props.get("ServiceRoleArn", "")),
            ready_wait=int(blue_green.get("DeploymentReadyOption", {}).get("WaitTimeInMinutes", 0)),
            ready_action=str(blue_green.get("DeploymentReadyOption", {}).get("ActionOnTimeout", "CONTINUE_DEPLOYMENT")),
        )
        self.aws.groups[(group.application, group.name)] = group
        for deployment in self.aws.deployments.values():
            if deployment.group.application == group.application and deployment.group.name == group.name:
                deployment.group = group
