"""What BlueGreenFargateService provisions: service, load balancer, target groups, CodeDeploy."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Annotations, Match, Template

from blue_green_ecs import BlueGreenFargateService, TrafficShift

from .configurations import CERTIFICATE_ARN, IMAGE
from .conftest import Synthesized
from .support import as_first_created, logical_id, new_stack, only, raises_message, resources_of_type, synth


def _listener(synthesized: Synthesized, listener: elbv2.ApplicationListener) -> dict[str, Any]:
    listeners = resources_of_type(synthesized.template, "AWS::ElasticLoadBalancingV2::Listener")
    return dict(listeners[logical_id(synthesized.stack, listener)])


# --- The service -------------------------------------------------------------------------------


def test_service_uses_code_deploy_controller_and_blue_target_group(sample: Synthesized) -> None:
    blue = logical_id(sample.stack, sample.service.blue_target_group)
    _, service = only(sample.template, "AWS::ECS::Service")
    first = as_first_created(sample.template, service["Properties"])
    assert first["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert (first["LaunchType"], first["DesiredCount"], first["HealthCheckGracePeriodSeconds"]) == ("FARGATE", 2, 60)
    assert first["LoadBalancers"] == [{"ContainerName": "web", "ContainerPort": 80, "TargetGroupArn": {"Ref": blue}}]


def test_service_names_task_definition_by_family_so_updates_do_not_replace_it(sample: Synthesized) -> None:
    _, service = only(sample.template, "AWS::ECS::Service")
    assert isinstance(service["Properties"]["TaskDefinition"], str)


def test_container_logs_to_cloudwatch_with_one_month_retention(sample: Synthesized) -> None:
    logs_id = logical_id(sample.stack, sample.service.log_group)
    sample.template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    sample.template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Cpu": "256",
            "Memory": "512",
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": "web",
                        "Image": "public.ecr.aws/nginx/nginx:1.27",
                        "Essential": True,
                        "Privileged": False,
                        "ReadonlyRootFilesystem": False,
                        "PortMappings": [{"ContainerPort": 80, "Protocol": "tcp"}],
                        "LogConfiguration": {
                            "LogDriver": "awslogs",
                            "Options": Match.object_like(
                                {"awslogs-group": {"Ref": logs_id}, "awslogs-stream-prefix": "web"}
                            ),
                        },
                    }
                )
            ],
        },
    )


def test_new_cluster_has_container_insights(minimal: Synthesized) -> None:
    minimal.template.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_tasks_run_in_private_subnets_without_public_ip_when_vpc_has_them(minimal: Synthesized) -> None:
    _, service = only(minimal.template, "AWS::ECS::Service")
    network = as_first_created(minimal.template, service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"])
    assert network["AssignPublicIp"] == "DISABLED"
    subnet_ids = {ref["Ref"] for ref in network["Subnets"]}
    assert len(subnet_ids) == 2
    assert all("Private" in subnet_id for subnet_id in subnet_ids)


def test_tasks_get_public_ips_in_a_vpc_with_only_public_subnets(sample: Synthesized) -> None:
    _, service = only(sample.template, "AWS::ECS::Service")
    network = as_first_created(sample.template, service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"])
    assert network["AssignPublicIp"] == "ENABLED"
    assert {ref["Ref"] for ref in network["Subnets"]} == {
        "VpcPublicSubnet1Subnet5C2D37C4",
        "VpcPublicSubnet2Subnet691E08A3",
    }


def test_default_vpc_has_two_zones_with_a_nat_gateway_each(minimal: Synthesized) -> None:
    minimal.template.resource_count_is("AWS::EC2::VPC", 1)
    minimal.template.resource_count_is("AWS::EC2::NatGateway", 2)


# --- Target groups -----------------------------------------------------------------------------


def test_target_groups_are_ip_with_one_shared_fast_health_check(sample: Synthesized) -> None:
    groups = resources_of_type(sample.template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert len(groups) == 2
    expected = {
        "TargetType": "ip",
        "Port": 80,
        "Protocol": "HTTP",
        "HealthCheckEnabled": True,
        "HealthCheckPath": "/",
        "HealthCheckIntervalSeconds": 10,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 3,
        "Matcher": {"HttpCode": "200-399"},
        "TargetGroupAttributes": [
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"},
            {"Key": "stickiness.enabled", "Value": "false"},
        ],
    }
    for group in groups.values():
        properties = group["Properties"]
        assert {key: properties.get(key) for key in expected} == expected
        assert "Name" not in properties


def test_health_check_path_and_port_follow_the_container(https: Synthesized) -> None:
    groups = resources_of_type(https.template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    for group in groups.values():
        assert group["Properties"]["HealthCheckPath"] == "/health"
        assert group["Properties"]["Port"] == 8080


def test_partial_health_check_keeps_library_defaults_for_the_rest() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        health_check=elbv2.HealthCheck(path="/ping", interval=Duration.seconds(30)),
        deregistration_delay=Duration.seconds(5),
    )
    template = synth(stack)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": "/ping",
            "HealthCheckIntervalSeconds": 30,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 2,
            "TargetGroupAttributes": Match.array_with([{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]),
        },
    )


# --- Listeners and access ----------------------------------------------------------------------


def test_http_listeners_forward_prod_to_blue_and_test_to_green(sample: Synthesized) -> None:
    service = sample.service
    # As first created: after that, wherever CodeDeploy moved them (the live-state lookup, test_day_two).
    prod = as_first_created(sample.template, _listener(sample, service.prod_listener)["Properties"])
    test = as_first_created(sample.template, _listener(sample, service.test_listener)["Properties"])
    assert (prod["Port"], prod["Protocol"]) == (80, "HTTP")
    assert (test["Port"], test["Protocol"]) == (8080, "HTTP")
    assert prod["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": logical_id(sample.stack, service.blue_target_group)}}
    ]
    assert test["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": logical_id(sample.stack, service.green_target_group)}}
    ]
    assert service.redirect_listener is None
    assert (service.listener_port, service.test_listener_port) == (80, 8080)


def test_https_listeners_use_certificate_and_tls13_policy_and_port_80_redirects(https: Synthesized) -> None:
    service = https.service
    for listener, port in ((service.prod_listener, 443), (service.test_listener, 9443)):
        properties = _listener(https, listener)["Properties"]
        assert properties["Port"] == port
        assert properties["Protocol"] == "HTTPS"
        assert properties["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
        assert "TLS13" in properties["SslPolicy"]
    assert service.redirect_listener is not None
    redirect = _listener(https, service.redirect_listener)["Properties"]
    assert redirect["Port"] == 80
    assert redirect["DefaultActions"] == [
        {
            "Type": "redirect",
            "RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"},
        }
    ]


def _load_balancer_ingress(synthesized: Synthesized) -> list[dict[str, Any]]:
    sg_id = logical_id(synthesized.stack, synthesized.service.load_balancer.connections.security_groups[0])
    group = resources_of_type(synthesized.template, "AWS::EC2::SecurityGroup")[sg_id]
    rules: list[dict[str, Any]] = group["Properties"]["SecurityGroupIngress"]
    return rules


def test_test_listener_is_reachable_only_from_inside_the_vpc_by_default(sample: Synthesized) -> None:
    rules = {(rule["FromPort"], str(rule["CidrIp"])) for rule in _load_balancer_ingress(sample)}
    assert rules == {
        (80, "0.0.0.0/0"),
        (8080, str({"Fn::GetAtt": ["Vpc8378EB38", "CidrBlock"]})),
    }


def test_test_listener_admits_only_the_named_peers(https: Synthesized) -> None:
    rules = {(rule["FromPort"], rule["CidrIp"]) for rule in _load_balancer_ingress(https)}
    assert rules == {(443, "0.0.0.0/0"), (80, "0.0.0.0/0"), (9443, "10.99.0.0/16")}


def test_opening_the_test_listener_to_the_internet_warns() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        test_listener_allowed_peers=[ec2.Peer.any_ipv4()],
    )
    Annotations.from_stack(stack).has_warning(
        "/Test/Web", Match.string_like_regexp("test_listener_allowed_peers includes 0.0.0.0/0")
    )


def test_closed_production_listener_and_internal_load_balancer(existing_cluster: Synthesized) -> None:
    existing_cluster.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"}
    )


def test_load_balancer_drops_invalid_header_fields(sample: Synthesized) -> None:
    sample.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}]
            ),
        },
    )


def test_service_security_group_admits_only_the_load_balancer_on_the_container_port(
    https: Synthesized,
) -> None:
    service_sg = logical_id(https.stack, https.service.service.connections.security_groups[0])
    lb_sg = logical_id(https.stack, https.service.load_balancer.connections.security_groups[0])
    ingress = [
        rule["Properties"]
        for rule in resources_of_type(https.template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [service_sg, "GroupId"]}
    ]
    assert ingress == [
        {
            "IpProtocol": "tcp",
            "Description": "Load balancer to target",
            "FromPort": 8080,
            "ToPort": 8080,
            "GroupId": {"Fn::GetAtt": [service_sg, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [lb_sg, "GroupId"]},
        }
    ]
    inline = resources_of_type(https.template, "AWS::EC2::SecurityGroup")[service_sg]["Properties"]
    assert "SecurityGroupIngress" not in inline


# --- CodeDeploy ----------------------------------------------------------------------------------


def test_deployment_group_is_blue_green_with_both_routes_and_full_rollback(sample: Synthesized) -> None:
    service = sample.service
    sample.template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "DeploymentStyle": {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
            "DeploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
            "AutoRollbackConfiguration": {
                "Enabled": True,
                "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"],
            },
            "BlueGreenDeploymentConfiguration": {
                "DeploymentReadyOption": {"ActionOnTimeout": "CONTINUE_DEPLOYMENT", "WaitTimeInMinutes": 0},
                "TerminateBlueInstancesOnDeploymentSuccess": {
                    "Action": "TERMINATE",
                    "TerminationWaitTimeInMinutes": 5,
                },
            },
            "LoadBalancerInfo": {
                "TargetGroupPairInfoList": [
                    {
                        "TargetGroups": [
                            {
                                "Name": {
                                    "Fn::GetAtt": [
                                        logical_id(sample.stack, service.blue_target_group),
                                        "TargetGroupName",
                                    ]
                                }
                            },
                            {
                                "Name": {
                                    "Fn::GetAtt": [
                                        logical_id(sample.stack, service.green_target_group),
                                        "TargetGroupName",
                                    ]
                                }
                            },
                        ],
                        "ProdTrafficRoute": {
                            "ListenerArns": [{"Ref": logical_id(sample.stack, service.prod_listener)}]
                        },
                        "TestTrafficRoute": {
                            "ListenerArns": [{"Ref": logical_id(sample.stack, service.test_listener)}]
                        },
                    }
                ]
            },
        },
    )
    sample.template.resource_count_is("AWS::CodeDeploy::Application", 1)
    sample.template.has_resource_properties("AWS::CodeDeploy::Application", {"ComputePlatform": "ECS"})


def test_approval_wait_stops_an_unapproved_deployment() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        deployment_approval_wait_time=Duration.minutes(30),
    )
    synth(stack).has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "BlueGreenDeploymentConfiguration": Match.object_like(
                {"DeploymentReadyOption": {"ActionOnTimeout": "STOP_DEPLOYMENT", "WaitTimeInMinutes": 30}}
            )
        },
    )


def test_existing_cluster_is_reused_and_settings_pass_through(existing_cluster: Synthesized) -> None:
    template = existing_cluster.template
    template.resource_count_is("AWS::ECS::Cluster", 1)
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]},
    )
    template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "DeploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "BlueGreenDeploymentConfiguration": Match.object_like(
                {
                    "TerminateBlueInstancesOnDeploymentSuccess": {
                        "Action": "TERMINATE",
                        "TerminationWaitTimeInMinutes": 0,
                    }
                }
            ),
        },
    )
    assert existing_cluster.service.vpc is existing_cluster.service.cluster.vpc


# --- Clean deletion and names ------------------------------------------------------------------


def test_listeners_depend_on_the_target_group_codedeploy_may_swap_in(sample: Synthesized) -> None:
    service = sample.service
    prod = _listener(sample, service.prod_listener)
    test = _listener(sample, service.test_listener)
    assert logical_id(sample.stack, service.green_target_group) in prod["DependsOn"]
    assert logical_id(sample.stack, service.blue_target_group) in test["DependsOn"]


def test_service_depends_on_both_listeners(sample: Synthesized) -> None:
    _, service = only(sample.template, "AWS::ECS::Service")
    assert logical_id(sample.stack, sample.service.prod_listener) in service["DependsOn"]
    assert logical_id(sample.stack, sample.service.test_listener) in service["DependsOn"]


NAME_PROPERTIES = {
    "AWS::ECS::Service": "ServiceName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::CodeDeploy::Application": "ApplicationName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
    "AWS::CodeDeploy::DeploymentConfig": "DeploymentConfigName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Logs::LogGroup": "LogGroupName",
}
# A task definition always has a family (CDK derives one from the path); a family is not a name that
# blocks replacement, since every change registers a new revision in it.


def test_no_physical_names_by_default(https: Synthesized) -> None:
    for resource_type, name_property in NAME_PROPERTIES.items():
        for resource_id, resource in resources_of_type(https.template, resource_type).items():
            if resource_id.startswith("BlueGreenEcsDeploymentTriggerWaiterLogs"):
                continue  # test_the_waiter_logs_under_vendedlogs: named so Logs' resource policy stays small
            assert name_property not in resource.get("Properties", {}), f"{resource_id} sets {name_property}"


def test_physical_names_pass_through_when_given() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        service_name="web",
        load_balancer_name="web-lb",
        deployment_group_name="web-dg",
        family="web",
    )
    template = synth(stack)
    template.has_resource_properties("AWS::ECS::Service", {"ServiceName": "web"})
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Name": "web-lb"})
    template.has_resource_properties("AWS::CodeDeploy::DeploymentGroup", {"DeploymentGroupName": "web-dg"})
    template.has_resource_properties("AWS::ECS::TaskDefinition", {"Family": "web"})


def test_synthesis_is_deterministic() -> None:
    def build() -> dict[str, Any]:
        stack = new_stack()
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            traffic_shift=TrafficShift.canary(percent=25, interval=Duration.minutes(10)),
        )
        return dict(Template.from_stack(stack).to_json())

    assert build() == build()


def test_children_are_exposed_as_attributes(sample: Synthesized) -> None:
    service = sample.service
    assert isinstance(service.service, ecs.FargateService)
    assert isinstance(service.task_definition, ecs.FargateTaskDefinition)
    assert isinstance(service.load_balancer, elbv2.ApplicationLoadBalancer)
    for attribute in (
        "cluster",
        "prod_listener",
        "test_listener",
        "blue_target_group",
        "green_target_group",
        "application",
        "deployment_group",
        "deployment_config",
        "container",
    ):
        assert getattr(service, attribute) is not None, attribute
    assert service.traffic_shift.describe() == "canary 10% for 5 minutes"
    assert service.termination_wait.to_minutes() == 5


def test_domain_name_points_an_alias_record_at_the_load_balancer() -> None:
    stack = new_stack()
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )
    web = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), domain_name="shop.example.com", domain_zone=zone
    )
    template = synth(stack)
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "shop.example.com.",
            "Type": "A",
            "HostedZoneId": "Z0123456789ABCDEFGHIJ",
            "AliasTarget": Match.object_like(
                {
                    "DNSName": {
                        "Fn::Join": [
                            "",
                            ["dualstack.", {"Fn::GetAtt": [logical_id(stack, web.load_balancer), "DNSName"]}],
                        ]
                    }
                }
            ),
        },
    )


def test_domain_name_needs_its_zone() -> None:
    with raises_message(
        "Invalid domain_name='shop.example.com': domain_name and domain_zone go together; pass both, or neither."
    ):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), domain_name="shop.example.com"
        )


# --- Formerly asserted only by the minimal and existing-cluster snapshots ----------------------------


def test_default_vpc_logs_all_traffic_to_a_log_group_kept_a_month(minimal: Synthesized) -> None:
    flow_logs = logical_id(minimal.stack, minimal.service.node.find_child("FlowLogs"))
    minimal.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "ResourceId": {"Ref": logical_id(minimal.stack, minimal.service.vpc)},
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": flow_logs},
        },
    )
    assert resources_of_type(minimal.template, "AWS::Logs::LogGroup")[flow_logs]["Properties"] == {
        "RetentionInDays": 30
    }


def test_load_balancer_sits_in_public_subnets_unless_internal(
    minimal: Synthesized, existing_cluster: Synthesized
) -> None:
    cases = (
        (minimal, "internet-facing", minimal.service.vpc.public_subnets),
        (existing_cluster, "internal", existing_cluster.service.vpc.private_subnets),
    )
    for synthesized, scheme, subnets in cases:
        synthesized.template.has_resource_properties(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            {"Scheme": scheme, "Subnets": [{"Ref": logical_id(synthesized.stack, subnet)} for subnet in subnets]},
        )


def test_capacity_provider_strategy_replaces_the_launch_type(existing_cluster: Synthesized) -> None:
    # ECS refuses a service with both a launch type and a capacity provider strategy.
    existing_cluster.template.has_resource_properties(
        "AWS::ECS::Service",
        {"CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}], "LaunchType": Match.absent()},
    )
