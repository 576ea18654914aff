"""AWS worlds in moto (issue #21): the live state the handlers and the CLI read, built with AWS's own API calls.

The handler tests' other fakes (botocore Stubber answers, the lifecycle simulator) were written with the code, so
a misunderstanding of a response field, a pagination rule, an error code or what a call accepts is shared by
both. moto is written by others, from AWS's documentation and observed behaviour: the tests that run the real
handler code against these worlds trust moto for what each call answers, and nothing else. Everything here is
made through the public API, as an account owner would make it (never through moto's models), so a world holds
only what AWS itself could hold, with the exceptions below, each a moto behaviour (moto 5.2.5) worked around
with calls AWS would also accept, or named where it does not:

- moto's CreateLoadBalancer creates no network interfaces for the load balancer's nodes; AWS creates them, in
  use and described ``ELB app/<name>/<id>`` (AWS re:Post knowledge center, "elb-find-load-balancer-ip", whose
  CLI answer filters DescribeNetworkInterfaces by that description): :meth:`Account.load_balancer_node` creates
  one with that description and attaches it.
- moto creates a metric alarm in OK ("Unchecked: Initial alarm creation"); AWS "immediately" in
  INSUFFICIENT_DATA (CloudWatch API Reference, PutMetricAlarm): :meth:`Account.alarm` sets the state it is given.
- moto lets a subnet's network interfaces outnumber its addresses (AvailableIpAddressCount goes below 0), which
  AWS cannot do (each interface takes a private address of the subnet): :meth:`Account.occupy` never asks for
  more than the subnet has.
- moto's CreateService of a CODE_DEPLOY service creates no task set; in AWS "service creation results in the
  creation of a (blue) task set" (ECS Developer Guide, "Migrate CodeDeploy blue/green deployments to Amazon ECS
  blue/green deployments"). moto accepts CreateTaskSet and UpdateServicePrimaryTaskSet on such a service, calls
  the ECS API Reference documents for the EXTERNAL deployment controller ("This is used when a service uses the
  EXTERNAL deployment controller type"), so :meth:`Account.primary_task_set` makes CodeDeploy's task set that
  way: the state is one AWS has, the route to it one only moto takes.

Use one world per test module (``moto_account`` in a module-scoped fixture): starting moto and building is cheap
after the first time, but the handler tests' IAM check (tests/handlers/conftest.py) sees every call a test
makes, so the world must exist before the test's function-scoped fixtures start; and a test that changes the
world (ModifyRule, CreateDeployment) changes only resources of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
# What boto3 would otherwise read: a profile's real credentials, a role, the shared config files.
_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE")


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region that can reach no AWS account, whatever the machine's configuration."""
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    # moto's 1,300 default AMIs cost 0.12 s on every start and stop; RunInstances does not check its ImageId.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@contextmanager
def moto_account() -> Iterator[Account]:
    """An empty moto account (region us-east-1, moto's default account), fake credentials in the environment."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        fake_credentials(monkeypatch)
        with mock_aws():
            yield Account()


# ---- actions, as the ELBv2 API takes them ------------------------------------------------------------


def forward(target_group: str) -> list[dict[str, Any]]:
    """A forward to one target group, the form CloudFormation writes for the template's listeners."""
    return [{"Type": "forward", "TargetGroupArn": target_group}]


def weighted(*weights: tuple[str, int]) -> list[dict[str, Any]]:
    """A weighted forward, the form CodeDeploy's canary and ECS's rule weights write."""
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def not_found() -> list[dict[str, Any]]:
    """The 404 an ECS-native production listener answers when no rule matches."""
    return [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}]


# ---- what the builders return -------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """A VPC, its subnets (one per Availability Zone, in order) and a security group."""

    vpc: str
    subnets: tuple[str, ...]
    security_group: str


@dataclass(frozen=True)
class LoadBalancer:
    """An Application Load Balancer: its ARN and its full name ``app/<name>/<id>``."""

    arn: str
    network: Network

    @property
    def full_name(self) -> str:
        """``app/<name>/<id>``, as CloudWatch dimensions and ENI descriptions name it."""
        return self.arn.split(":loadbalancer/", 1)[1]


# Clients outlive their account: creating an EC2 client takes 0.25 s (botocore builds a method per operation), and
# moto serves a client whichever mock_aws is active. Only an Account hands them out, so only inside moto_account.
_CLIENTS: dict[str, Any] = {}


@dataclass
class Account:
    """A moto account: its clients, and the builders of its resources."""

    _count: int = 0

    def client(self, service: str) -> Any:
        """The client of ``service`` (region us-east-1, the fake credentials of ``fake_credentials``)."""
        if service not in _CLIENTS:
            _CLIENTS[service] = boto3.client(service, region_name=REGION)
        return _CLIENTS[service]

    def _name(self, prefix: str) -> str:
        """A name not used before in this account (target group and load balancer names are the account's)."""
        self._count += 1
        return f"{prefix}-{self._count}"

    # ---- EC2 ------------------------------------------------------------------------------------------

    def network(self, cidr: str = "10.0.0.0/16", subnets: Sequence[str] = ("10.0.0.0/24", "10.0.1.0/24")) -> Network:
        """A VPC with ``subnets`` (CIDR blocks), each in its own Availability Zone, and a security group."""
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        zones = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"]]
        ids = tuple(
            ec2.create_subnet(VpcId=vpc, CidrBlock=block, AvailabilityZone=zones[index])["Subnet"]["SubnetId"]
            for index, block in enumerate(subnets)
        )
        group = ec2.create_security_group(GroupName=self._name("tasks"), Description="tasks", VpcId=vpc)["GroupId"]
        return Network(vpc, ids, group)

    def free_addresses(self, subnet: str) -> int:
        """The subnet's AvailableIpAddressCount."""
        [found] = self.client("ec2").describe_subnets(SubnetIds=[subnet])["Subnets"]
        return int(found["AvailableIpAddressCount"])

    def occupy(self, subnet: str, leave_free: int) -> None:
        """Create network interfaces (one address each, as another service's tasks would) until ``leave_free``."""
        surplus = self.free_addresses(subnet) - leave_free
        if surplus < 0:
            raise ValueError(f"subnet {subnet} has fewer than {leave_free} free addresses")
        for _ in range(surplus):
            self.client("ec2").create_network_interface(SubnetId=subnet, Description="another service's task")

    def load_balancer_node(self, load_balancer: LoadBalancer, subnet: str, *, in_use: bool = True) -> str:
        """A network interface of one of the load balancer's nodes, as ELB describes it; its private IP address.

        ``in_use=False``: a node being added or removed, its interface not attached.
        """
        ec2 = self.client("ec2")
        interface = ec2.create_network_interface(SubnetId=subnet, Description=f"ELB {load_balancer.full_name}")
        if in_use:
            instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet)
            ec2.attach_network_interface(
                NetworkInterfaceId=interface["NetworkInterface"]["NetworkInterfaceId"],
                InstanceId=instance["Instances"][0]["InstanceId"],
                DeviceIndex=1,
            )
        return str(interface["NetworkInterface"]["PrivateIpAddress"])

    # ---- ELBv2 ----------------------------------------------------------------------------------------

    def load_balancer(self, network: Network) -> LoadBalancer:
        """An internet-facing Application Load Balancer in the network's first two subnets."""
        created = self.client("elbv2").create_load_balancer(
            Name=self._name("shop"), Subnets=list(network.subnets[:2]), SecurityGroups=[network.security_group]
        )
        return LoadBalancer(created["LoadBalancers"][0]["LoadBalancerArn"], network)

    def target_group(self, network: Network, prefix: str) -> str:
        """An IP target group (Fargate's awsvpc tasks) on port 80."""
        created = self.client("elbv2").create_target_group(
            Name=self._name(prefix), Protocol="HTTP", Port=80, VpcId=network.vpc, TargetType="ip"
        )
        return str(created["TargetGroups"][0]["TargetGroupArn"])

    def listener(self, load_balancer: LoadBalancer, port: int, actions: list[dict[str, Any]]) -> str:
        """An HTTP listener on ``port`` with the default ``actions``."""
        created = self.client("elbv2").create_listener(
            LoadBalancerArn=load_balancer.arn, Protocol="HTTP", Port=port, DefaultActions=actions
        )
        return str(created["Listeners"][0]["ListenerArn"])

    def rule(self, listener: str, priority: int, actions: list[dict[str, Any]], *, header: str = "") -> str:
        """A rule at ``priority``: on the test header ``header`` when given, else on a path of its own."""
        condition: dict[str, Any] = (
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": header, "Values": ["test"]}}
            if header
            else {"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/service-{priority}/*"]}}
        )
        created = self.client("elbv2").create_rule(
            ListenerArn=listener, Priority=priority, Conditions=[condition], Actions=actions
        )
        return str(created["Rules"][0]["RuleArn"])

    def rule_actions(self, rule: str) -> list[dict[str, Any]]:
        """The rule's actions, as DescribeRules answers."""
        [found] = self.client("elbv2").describe_rules(RuleArns=[rule])["Rules"]
        return list(found["Actions"])

    # ---- ECS ------------------------------------------------------------------------------------------

    def cluster(self) -> str:
        """A cluster; its name."""
        return str(self.client("ecs").create_cluster(clusterName=self._name("cluster"))["cluster"]["clusterName"])

    def task_definition(self, family: str = "web", *, container_memory: int | None = None) -> str:
        """A new Fargate revision of ``family`` (container ``web`` on port 80); its ARN. moto's RunTask needs the
        container's own ``memory`` (``container_memory``), which AWS leaves to the task's."""
        container: dict[str, Any] = {"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}
        if container_memory is not None:
            container["memory"] = container_memory
        created = self.client("ecs").register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[container],
        )
        return str(created["taskDefinition"]["taskDefinitionArn"])

    def service(
        self,
        cluster: str,
        task_definition: str,
        target_group: str,
        network: Network,
        *,
        controller: str = "CODE_DEPLOY",
        desired: int = 2,
        public_ip: str = "DISABLED",
        platform_version: str = "LATEST",
    ) -> str:
        """A Fargate service of ``cluster`` registered in ``target_group`` (container ``web``, port 80); its name."""
        name = self._name("web")
        self.client("ecs").create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=task_definition,
            desiredCount=desired,
            launchType="FARGATE",
            platformVersion=platform_version,
            deploymentController={"type": controller},
            loadBalancers=[{"targetGroupArn": target_group, "containerName": "web", "containerPort": 80}],
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(network.subnets),
                    "securityGroups": [network.security_group],
                    "assignPublicIp": public_ip,
                }
            },
        )
        return name

    def primary_task_set(
        self, cluster: str, service: str, task_definition: str, target_group: str, network: Network
    ) -> str:
        """The PRIMARY task set CodeDeploy leaves after a deployment (see the module docstring); its id."""
        ecs = self.client("ecs")
        created = ecs.create_task_set(
            cluster=cluster,
            service=service,
            taskDefinition=task_definition,
            launchType="FARGATE",
            loadBalancers=[{"targetGroupArn": target_group, "containerName": "web", "containerPort": 80}],
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(network.subnets),
                    "securityGroups": [network.security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
        )["taskSet"]
        ecs.update_service_primary_task_set(cluster=cluster, service=service, primaryTaskSet=created["taskSetArn"])
        return str(created["id"])

    # ---- CloudWatch -----------------------------------------------------------------------------------

    def alarm(self, state: str, reason: str, data: dict[str, Any] | None = None, *, name: str = "") -> str:
        """A metric alarm on a target group's 5xx count, in ``state`` for ``reason``; its name."""
        name = name or self._name(f"alarm-{state.lower()}")
        cloudwatch = self.client("cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[{"Name": "TargetGroup", "Value": "targetgroup/web/73e2d6bc24d8a067"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        extra = {"StateReasonData": json.dumps(data)} if data is not None else {}
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason, **extra)
        return name

    def describe_alarm(self, name: str) -> dict[str, Any]:
        """The metric alarm as DescribeAlarms answers."""
        [found] = self.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return dict(found)

    # ---- CodeDeploy -----------------------------------------------------------------------------------

    def deployment_group(self, cluster: str, service: str) -> tuple[str, str]:
        """An ECS application with one blue/green deployment group of ``service``: (application, group)."""
        codedeploy = self.client("codedeploy")
        application = self._name("app")
        codedeploy.create_application(applicationName=application, computePlatform="ECS")
        group = self._name("group")
        codedeploy.create_deployment_group(
            applicationName=application,
            deploymentGroupName=group,
            serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy",
            deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            ecsServices=[{"serviceName": service, "clusterName": cluster}],
        )
        return application, group

    def deployment(self, application: str, group: str, description: str = "by hand") -> str:
        """A deployment of the group (moto keeps every deployment in status Created); its id."""
        created = self.client("codedeploy").create_deployment(
            applicationName=application,
            deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": '{"version":0.0}'}},
            description=description,
        )
        return str(created["deploymentId"])
