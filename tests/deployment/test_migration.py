"""The built-in migration task as the construct wires it: its event under each engine, its role, its checks."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, DeploymentHooks, MigrationTask, PreflightCheck

from .. import configurations
from ..conftest import TwoServices
from ..support import hook_function, logical_id, new_stack, resources_of_type

IMAGE = ecs.ContainerImage.from_registry(configurations.IMAGE)


@pytest.fixture
def built(migration: TwoServices) -> tuple[Any, BlueGreenFargateService, BlueGreenFargateService, Template]:
    """The session's ``configurations.migration`` (tests/conftest.py: cfn-lint and cdk-nag pass on it)."""
    return migration.stack, migration.first, migration.second, migration.template


def _statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    [policy] = [
        r
        for k, r in resources_of_type(template, "AWS::IAM::Policy").items()
        if k.startswith(f"{prefix}RoleDefaultPolicy")
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _actions(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


def test_codedeploy_runs_it_as_the_before_install_hook(built: Any) -> None:
    stack, api, _, template = built
    assert api.migration_function is not None
    assert api.hooks == {"BeforeInstall": api.migration_function}
    [function] = [
        r
        for k, r in resources_of_type(template, "AWS::Lambda::Function").items()
        if k == logical_id(stack, api.migration_function)
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert function["Properties"]["Timeout"] == 900
    assert variables["COMMAND"] == '["python","manage.py","migrate"]'
    assert variables["ENVIRONMENT"] == '{"DJANGO_SETTINGS_MODULE":"shop.migrate"}'
    assert (variables["CONTAINER_NAME"], variables["TIMEOUT_SECONDS"], variables["ASSIGN_PUBLIC_IP"]) == (
        "web",
        "900",
        "DISABLED",
    )
    assert "VpcConfig" not in function["Properties"]
    template.has_resource_properties(
        "Custom::BlueGreenEcsDeployment",
        {"Hooks": {"BeforeInstall": {"Fn::GetAtt": [logical_id(stack, api.migration_function), "Arn"]}}},
    )


def test_ecs_native_runs_it_at_pre_scale_up_with_the_services_capacity_providers(built: Any) -> None:
    stack, _, native, template = built
    assert native.migration_function is not None
    arn = {"Fn::GetAtt": [logical_id(stack, native.migration_function), "Arn"]}
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": Match.object_like(
                {
                    "LifecycleHooks": Match.array_with(
                        [Match.object_like({"HookTargetArn": arn, "LifecycleStages": ["PRE_SCALE_UP"]})]
                    )
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Timeout": 300,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "TIMEOUT_SECONDS": "1800",
                        "CAPACITY_PROVIDER_STRATEGY": '[{"capacityProvider":"FARGATE_SPOT","weight":1}]',
                    }
                )
            },
        },
    )


def test_its_role_runs_the_familys_revisions_in_the_cluster_and_passes_the_task_roles(built: Any) -> None:
    _, _, _, template = built
    statements = _statements(template, "ApiMigration")
    in_cluster = {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["ClusterEB0386A7", "Arn"]}}}
    [run] = [s for s in statements if s["Action"] == "ecs:RunTask"]
    assert run["Condition"] == in_cluster
    assert run["Resource"]["Fn::Join"][1][-1] == ":task-definition/shop-api:*"
    [passed] = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert passed["Resource"] == [
        {"Fn::GetAtt": ["ApiTaskDefinitionExecutionRoleAC97F158", "Arn"]},
        {"Fn::GetAtt": ["ApiTaskDefinitionTaskRole2B3A5965", "Arn"]},
    ]
    [tasks] = [s for s in statements if s["Action"] == ["ecs:DescribeTasks", "ecs:StopTask"]]
    assert tasks["Condition"] == in_cluster
    [listed] = [s for s in statements if s["Action"] == "ecs:ListTasks"]
    assert (listed["Resource"], listed["Condition"]) == ("*", in_cluster)
    assert _actions(statements) == [
        "codedeploy:GetDeployment",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "ecs:DescribeTaskDefinition",
        "ecs:DescribeTasks",
        "ecs:ListTasks",
        "ecs:RunTask",
        "ecs:StopTask",
        "iam:PassRole",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    # CODE_DEPLOY: it invokes itself again, in a policy of its own (its default policy cannot name it: a cycle)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "lambda:InvokeFunction",
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^ApiMigrationFunction"), "Arn"]},
                    }
                ],
                "Version": "2012-10-17",
            },
            "Roles": [{"Ref": Match.string_like_regexp("^ApiMigrationRole")}],
        },
    )


def test_under_ecs_native_its_role_reads_the_clusters_service_revisions_and_no_codedeploy(built: Any) -> None:
    _, _, _, template = built
    statements = _statements(template, "NativeMigration")
    actions = _actions(statements)
    assert "ecs:DescribeServiceRevisions" in actions
    assert not [a for a in actions if a.startswith("codedeploy:") or a.startswith("lambda:")]
    [revisions] = [s for s in statements if s["Action"] == "ecs:DescribeServiceRevisions"]
    assert revisions["Resource"]["Fn::Join"][1][-3:] == [":service-revision/", {"Ref": "ClusterEB0386A7"}, "/*"]


@pytest.mark.parametrize("engine", [DeploymentEngine.CODE_DEPLOY, DeploymentEngine.ECS_NATIVE])
def test_rejects_it_next_to_the_pre_flight_check(engine: DeploymentEngine) -> None:
    stack = new_stack("Both")
    with pytest.raises(
        ValueError, match=r"^Invalid migration_task=.MigrationTask\(\.\.\.\).: preflight_check is also set"
    ):
        BlueGreenFargateService(
            stack,
            "Web",
            image=IMAGE,
            engine=engine,
            preflight_check=PreflightCheck(),
            migration_task=MigrationTask(command=["./migrate"]),
        )


def test_rejects_it_next_to_a_before_install_hook() -> None:
    stack = new_stack("Both")
    with pytest.raises(ValueError, match=r"hooks\.before_install is also set"):
        BlueGreenFargateService(
            stack,
            "Web",
            image=IMAGE,
            hooks=DeploymentHooks(before_install=hook_function(stack, "Mine")),
            migration_task=MigrationTask(command=["./migrate"]),
        )


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (MigrationTask(command=[]), 'Invalid migration_task.command=[]: give the command, e.g. ["./migrate"].'),
        (MigrationTask(command=["./migrate"], timeout=Duration.hours(1)), "Invalid migration_task.timeout=1 hour: "),
        (MigrationTask(command=["./migrate"], timeout=Duration.seconds(30)), "Invalid migration_task.timeout="),
        (
            MigrationTask(command=["x" * 3000]),
            "Invalid migration_task.command='<command and environment: 3010 characters as JSON>'",
        ),
    ],
)
def test_rejects_what_the_handler_could_not_run(task: MigrationTask, message: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid migration_task") as raised:
        BlueGreenFargateService(new_stack("Bad"), "Web", image=IMAGE, migration_task=task)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (MigrationTask(command="./migrate"), "Invalid migration_task.command='./migrate': give a list of strings"),
        (MigrationTask(command=["./migrate"], timeout=15), "Invalid migration_task.timeout=15: use a Duration"),  # type: ignore[arg-type]
        ("migrate", "Invalid migration_task='migrate': use MigrationTask(command=[...])"),
    ],
)
def test_rejects_values_of_the_wrong_kind(task: Any, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        BlueGreenFargateService(new_stack("Bad"), "Web", image=IMAGE, migration_task=task)
    assert str(raised.value).startswith(message)


def test_migration_task_is_keyword_only_and_has_documented_defaults() -> None:
    task = MigrationTask(command=["./migrate"])
    assert (task.environment, task.timeout.to_minutes(), task.container_name) == (None, 15, None)
    with pytest.raises(TypeError):
        MigrationTask(["./migrate"])  # type: ignore[call-arg]


def test_codedeploy_waits_for_the_migration_too(built: Any) -> None:
    # the default canary (5 minutes), termination wait (5), the migration's 15 minutes and the 15-minute margin
    _, api, _, _ = built
    assert api.deployment_trigger is not None
    assert api.deployment_trigger.timeout.to_minutes() == 40


def test_rejects_a_migration_timeout_past_what_cdk_deploy_can_wait_for() -> None:
    with pytest.raises(ValueError, match=r"^Invalid migration_task\.timeout=50 minutes: with the traffic shift"):
        BlueGreenFargateService(
            new_stack("Long"),
            "Web",
            image=IMAGE,
            migration_task=MigrationTask(command=["./migrate"], timeout=Duration.minutes(50)),
        )
    # without the trigger (a pipeline deploys) nothing waits in cdk deploy
    BlueGreenFargateService(
        new_stack("Piped"),
        "Web",
        image=IMAGE,
        deploy_on_update=False,
        migration_task=MigrationTask(command=["./migrate"], timeout=Duration.minutes(50)),
    )
