"""The built-in step analysis as the construct wires it: its event under each engine, its role, its checks."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template

from blue_green_ecs import (
    AnalysisMetric,
    AnalysisQuery,
    BlueGreenFargateService,
    DeploymentEngine,
    DeploymentHooks,
    StepAnalysis,
)

from .. import configurations
from ..conftest import Synthesized
from ..support import hook_function, logical_id, new_stack, raises_message, resources_of_type


def _statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    [policy] = [
        r
        for k, r in resources_of_type(template, "AWS::IAM::Policy").items()
        if k.startswith(f"{prefix}RoleDefaultPolicy")
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_codedeploy_runs_it_as_the_before_allow_traffic_hook_within_lambdas_limit(https: Synthesized) -> None:
    stack, service = https.stack, https.service
    assert service.step_analysis_function is not None
    assert service.hooks == {"BeforeAllowTraffic": service.step_analysis_function}
    [function] = [
        r
        for k, r in resources_of_type(https.template, "AWS::Lambda::Function").items()
        if k == logical_id(stack, service.step_analysis_function)
    ]
    # a 3-minute window, CloudWatch's 2 minutes of delay and 3 for the calls: one invocation waits for all of it
    assert function["Properties"]["Timeout"] == 480
    assert function["Properties"]["Environment"]["Variables"]["TEST_RULE_PRIORITY"] == ""


def test_its_role_reads_metrics_and_the_listeners_and_reports_to_its_deployment_group(https: Synthesized) -> None:
    statements = _statements(https.template, "ApiStepAnalysis")
    actions = [s["Action"] for s in statements]
    assert [
        "cloudwatch:GetMetricData",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
    ] in actions
    assert "codedeploy:PutLifecycleEventHookExecutionStatus" in actions


def test_ecs_runs_it_before_every_production_step(handler_roles: Template) -> None:
    services = resources_of_type(handler_roles, "AWS::ECS::Service")
    [native] = [s for k, s in services.items() if k.startswith("Native")]
    hooks = native["Properties"]["DeploymentConfiguration"]["LifecycleHooks"]
    [analysis] = [h for h in hooks if h["HookTargetArn"]["Fn::GetAtt"][0].startswith("NativeStepAnalysisFunction")]
    assert analysis["LifecycleStages"] == ["PRE_PRODUCTION_TRAFFIC_SHIFT"]
    [function] = [
        r
        for k, r in resources_of_type(handler_roles, "AWS::Lambda::Function").items()
        if k.startswith("NativeStepAnalysis")
    ]
    # one read per invocation: ECS invokes it again while the window fills
    assert function["Properties"]["Timeout"] == 300
    assert function["Properties"]["Environment"]["Variables"]["TEST_RULE_PRIORITY"] == "1"


def test_refuses_a_before_allow_traffic_hook_too() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid step_analysis='StepAnalysis(...)': hooks.before_allow_traffic is also set and a deployment runs one "
        "function per lifecycle event (CodeDeploy's AppSpec names one per event); add your check as a query "
        "(queries=[AnalysisQuery(...)]), move it to hooks.after_allow_test_traffic, or drop one of the two."
    ):
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(configurations.IMAGE),
            hooks=DeploymentHooks(before_allow_traffic=hook_function(stack, "Mine")),
            step_analysis=StepAnalysis(),
        )


@pytest.mark.parametrize(
    ("engine", "analysis", "message"),
    [
        (
            DeploymentEngine.CODE_DEPLOY,
            StepAnalysis(window=Duration.minutes(11)),
            "Invalid step_analysis.window=11 minutes: use a whole number of minutes from 1 to 10 (Duration.minutes(n)).",
        ),
        (
            DeploymentEngine.ECS_NATIVE,
            StepAnalysis(window=Duration.seconds(90)),
            "Invalid step_analysis.window=90 seconds: use a whole number of minutes from 1 to 60 (Duration.minutes(n)).",
        ),
        (
            DeploymentEngine.ECS_NATIVE,
            StepAnalysis(max_error_rate_increase=None, max_latency_ratio=None),
            "Invalid step_analysis='StepAnalysis(max_error_rate_increase=None, max_latency_ratio=None)': it would check "
            "nothing; keep a comparison with blue, give queries=, or drop step_analysis.",
        ),
        (
            DeploymentEngine.ECS_NATIVE,
            StepAnalysis(max_latency_ratio=1),
            "Invalid step_analysis.max_latency_ratio=1: use a number above 1, or None.",
        ),
        (
            DeploymentEngine.ECS_NATIVE,
            StepAnalysis(
                queries=[
                    AnalysisQuery(name="x", expression="m", metrics={"M": AnalysisMetric("RequestCount")}, maximum=1)
                ]
            ),
            "Invalid step_analysis.queries[0].metrics='M': an id starts with a lowercase letter, then letters, digits "
            "or '_' (GetMetricData's Id), and is not 'analysis'.",
        ),
        (
            DeploymentEngine.ECS_NATIVE,
            StepAnalysis(
                queries=[AnalysisQuery(name="x", expression="m", metrics={"m": AnalysisMetric("RequestCount")})]
            ),
            "Invalid step_analysis.queries[0]='x': give maximum=, minimum= or both: the condition the value must meet.",
        ),
    ],
)
def test_rejects_options_the_handler_could_not_run_with(
    engine: DeploymentEngine, analysis: StepAnalysis, message: str
) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(),
            "Web",
            image=ecs.ContainerImage.from_registry(configurations.IMAGE),
            engine=engine,
            step_analysis=analysis,
        )
