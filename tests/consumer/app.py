"""A team's CDK app using blue-green-ecs as installed from the wheel: two services in one stack.

`tests/consumer/run.sh` synthesizes it in a fresh virtual environment and type-checks it with
`mypy --strict`, so the public types (py.typed) are checked the way a consumer's CI would.
"""

from __future__ import annotations

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, TrafficShift, pipeline_files


class ShopStack(Stack):
    """A web front end on the CodeDeploy engine and an API on the ECS-native engine, one cluster."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)

        self.web = BlueGreenFargateService(
            self,
            "Web",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27"),
            cluster=cluster,
            traffic_shift=TrafficShift.canary(percent=10, interval=Duration.minutes(5)),
        )
        self.api = BlueGreenFargateService(
            self,
            "Api",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27"),
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            traffic_shift=TrafficShift.linear(percent=20, interval=Duration.minutes(2)),
        )

        # The attributes are typed as what they hold: no Optional to narrow for the engine in use.
        group: codedeploy.EcsDeploymentGroup = self.web.deployment_group
        rule: elbv2.ApplicationListenerRule = self.api.prod_listener_rule
        latency = cloudwatch.Alarm(
            self,
            "ApiLatency",
            metric=self.api.load_balancer.metrics.target_response_time(),
            threshold=1,
            evaluation_periods=3,
        )
        self.api.add_rollback_alarm(latency)
        self.names: list[str] = [group.node.id, rule.node.id]
        self.files: dict[str, str] = pipeline_files(self.web)


app = App()
stack = ShopStack(app, "Shop")
assert sorted(stack.files) == ["appspec.yaml", "taskdef.json"], sorted(stack.files)
app.synth()
