"""Stack ``BlueGreenSample``: the construct with a public image, in a VPC without NAT gateways."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, SmokeTest
from blue_green_ecs.configuration.acknowledgements import LOGS_DEFAULT_ENCRYPTION, skip_checkov

IMAGE_REPOSITORY = "public.ecr.aws/nginx/nginx"


class BlueGreenSampleStack(Stack):
    """nginx from ECR Public, two tasks, canary 10% for 5 minutes.

    Network layout: two public subnets and no NAT gateway. Tasks run in the public subnets with
    public IPs (to pull from ECR Public, which has no VPC endpoint) and a security group that admits
    only the load balancer. That saves the NAT gateways' ~32 USD a month each; see docs/sample-app.md
    for the whole bill.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image_tag: str,
        smoke_test: bool = False,
        engine: DeploymentEngine = DeploymentEngine.CODE_DEPLOY,
        deploy_on_update: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ],
        )
        flow_logs = logs.LogGroup(self, "FlowLogsGroup", retention=logs.RetentionDays.ONE_MONTH)
        vpc.add_flow_log("FlowLogs", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        skip_checkov(flow_logs, LOGS_DEFAULT_ENCRYPTION)
        endpoints: list[ec2.InterfaceVpcEndpoint] = []
        if smoke_test:
            # The smoke test runs in the VPC, which has no NAT gateway: it reaches the EC2 and
            # CodeDeploy APIs through interface endpoints (about 7.30 USD a month each per AZ).
            for name, service in (
                ("Ec2Endpoint", ec2.InterfaceVpcEndpointAwsService.EC2),
                ("CodeDeployEndpoint", ec2.InterfaceVpcEndpointAwsService.CODEDEPLOY),
            ):
                endpoints.append(
                    vpc.add_interface_endpoint(name, service=service, private_dns_enabled=True, open=False)
                )
        self.web = BlueGreenFargateService(
            self,
            "Web",
            image=ecs.ContainerImage.from_registry(f"{IMAGE_REPOSITORY}:{image_tag}"),
            vpc=vpc,
            engine=engine,
            smoke_test=SmokeTest(path="/", expected_status="200") if smoke_test else None,
            deploy_on_update=deploy_on_update,
        )
        for endpoint in endpoints:
            # Only the smoke test calls AWS APIs from inside this VPC.
            assert self.web.smoke_test_function is not None
            endpoint.connections.allow_default_port_from(self.web.smoke_test_function, "Smoke test to AWS APIs")
        lb_dns = self.web.load_balancer.load_balancer_dns_name
        CfnOutput(self, "ServiceUrl", value=f"http://{lb_dns}/", description="Production traffic")
        CfnOutput(
            self,
            "TestPort",
            value=str(self.web.test_listener_port),
            description="Test listener port (green during a deployment). Closed to the internet: from inside "
            "the VPC, connect to the load balancer's private addresses (see TestAddresses), since its DNS name "
            "resolves to public ones",
        )
        CfnOutput(
            self,
            "TestAddresses",
            value=f"aws ec2 describe-network-interfaces --filters Name=description,Values='ELB "
            f"{self.web.load_balancer.load_balancer_full_name}' --query NetworkInterfaces[].PrivateIpAddress",
            description="Lists the load balancer's private addresses; from inside the VPC, "
            "curl http://<address>:<TestPort>/ reaches the test listener",
        )
        CfnOutput(self, "ImageTag", value=image_tag, description="Image tag this stack deploys")
        if engine is DeploymentEngine.CODE_DEPLOY:
            CfnOutput(self, "DeploymentGroup", value=self.web.deployment_group.deployment_group_name)
            CfnOutput(self, "CodeDeployApplication", value=self.web.application.application_name)
