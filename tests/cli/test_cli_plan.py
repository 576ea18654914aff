"""`blue-green-ecs plan --stack`: the inputs of a synthesized service, read from its cloud assembly.

Each configuration is synthesized once per module into a folder of its own (``app.synth()``, as ``cdk synth``
writes ``cdk.out``); what the template gives is checked against the construct's own attributes (its
``traffic_shift``, ``termination_wait``, task definition and target group), not against copies of the numbers.
The migration task is read from ``configurations.migration`` (both engines) as synthesized; the edge cases (a
migration function of another construct) edit a synthesized template in the shape ``migration_task`` writes it
(construct ``<service>/Migration/Function``, handler ``migration.handler``, env ``TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, TrafficShift
from blue_green_ecs.cli import assembly
from blue_green_ecs.cli.errors import CliError
from blue_green_ecs.cli.main import main
from blue_green_ecs.configuration import defaults
from blue_green_ecs.deployment.migration import DEFAULT_TIMEOUT
from blue_green_ecs.deployment.template_inputs import TemplateInputs, read_service
from blue_green_ecs.deployment.traffic_shift import TrafficShiftKind
from sample.app import STACK_NAME

from .. import conftest
from ..configurations import IMAGE, cluster_with_insights
from ..support import new_app


@dataclass(frozen=True)
class Synthesized:
    """A cloud assembly on disk and the services it was synthesized from, by construct path."""

    directory: Path
    stack: str
    services: dict[str, BlueGreenFargateService]


def _synthesize(stack: Stack, directory: Path, **services: BlueGreenFargateService) -> Synthesized:
    written = stack.node.root.synth()  # type: ignore[attr-defined]  # the App
    shutil.copytree(written.directory, directory)
    return Synthesized(directory, stack.stack_name, services)


# The session's configurations (tests/conftest.py), synthesized there once: their Apps hand back that assembly.


@pytest.fixture(scope="module")
def sample(sample: conftest.Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize(sample.stack, tmp_path_factory.mktemp("sample") / "cdk.out", Web=sample.service)


@pytest.fixture(scope="module")
def https(https: conftest.Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A custom linear deployment configuration (20% every 2 minutes), 3 tasks of 0.5 vCPU and 1 GB."""
    return _synthesize(https.stack, tmp_path_factory.mktemp("https") / "cdk.out", Api=https.service)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Two services in one stack, both with an approval wait: a CODE_DEPLOY canary 15% / 10 min that a pipeline
    deploys, and an ECS-native linear 25% / 3 min of 4 tasks of 1 vCPU and 2 GB."""
    stack = Stack(new_app(), "Mixed")
    cluster = cluster_with_insights(stack)
    web = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        traffic_shift=TrafficShift.canary(percent=15, interval=Duration.minutes(10)),
        termination_wait=Duration.minutes(3),
        deployment_approval_wait_time=Duration.minutes(30),
        deploy_on_update=False,
    )
    native = BlueGreenFargateService(
        stack,
        "Native",
        image=ecs.ContainerImage.from_registry(IMAGE),
        cluster=cluster,
        container_port=8080,
        engine=DeploymentEngine.ECS_NATIVE,
        traffic_shift=TrafficShift.linear(percent=25, interval=Duration.minutes(3)),
        termination_wait=Duration.minutes(7),
        deployment_approval_wait_time=Duration.minutes(20),
        desired_count=4,
        cpu=1024,
        memory_limit_mib=2048,
    )
    return _synthesize(stack, tmp_path_factory.mktemp("mixed") / "cdk.out", Web=web, Native=native)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's error line (aws-cdk-lib's node process may still be writing a synthesis's warnings to stderr)."""
    return capsys.readouterr().err.splitlines(keepends=True)[-1]


def _read(synthesized: Synthesized, path: str) -> TemplateInputs:
    found = assembly.service_template(synthesized.directory, "cdk.out", synthesized.stack, path)
    return read_service(found.resources, found.service.logical_id, found.owned)


def _as_configured(service: BlueGreenFargateService) -> dict[str, Any]:
    """What the construct says of itself, as plan's inputs."""
    shift = service.traffic_shift
    configured: dict[str, Any] = {
        "engine": "ecs" if service.engine is DeploymentEngine.ECS_NATIVE else "codedeploy",
        "shift": "all-at-once" if shift.kind is TrafficShiftKind.ALL_AT_ONCE else shift.kind.value,
        "termination_wait_minutes": service.termination_wait.to_minutes(),
        "task_cpu": int(service.task_definition.cpu),
        "task_memory_mib": int(service.task_definition.memory_mib),
        "healthy_threshold": service.blue_target_group.health_check.healthy_threshold_count,
        "migration_minutes": 0,
    }
    interval = service.blue_target_group.health_check.interval
    assert interval is not None
    configured["health_check_interval_seconds"] = interval.to_seconds()
    if shift.percent is not None and shift.interval is not None:
        configured.update(percent=shift.percent, interval_minutes=shift.interval.to_minutes())
    if service.engine is DeploymentEngine.CODE_DEPLOY:
        configured["deploy_on_update"] = service.deployment_trigger is not None
    return configured


def _subset(values: Any, keys: Any) -> dict[str, Any]:
    return {key: values[key] for key in keys}


def test_reads_the_sample_as_the_construct_configures_it(sample: Synthesized) -> None:
    read = _read(sample, "Web")
    configured = _as_configured(sample.services["Web"])
    assert read.unread == {}
    assert _subset(read.values, configured) == configured
    # the library's defaults, where the construct has no attribute: 2 tasks, 30 s draining, no approval wait
    assert _subset(read.values, ["tasks", "deregistration_delay_seconds", "approval_wait_minutes"]) == {
        "tasks": defaults.DESIRED_COUNT,
        "deregistration_delay_seconds": defaults.DEREGISTRATION_DELAY_SECONDS,
        "approval_wait_minutes": 0,
    }
    assert _subset(read.values, ["alarm_period_seconds", "alarm_evaluation_periods"]) == {
        "alarm_period_seconds": defaults.ALARM_PERIOD_SECONDS,
        "alarm_evaluation_periods": defaults.ALARM_EVALUATION_PERIODS,
    }


def test_reads_a_custom_codedeploy_configuration(https: Synthesized) -> None:
    # given: linear 20% every 2 minutes, which no predefined configuration is (an AWS::CodeDeploy::DeploymentConfig)
    read = _read(https, "Api")
    configured = _as_configured(https.services["Api"])
    assert configured["shift"] == "linear"
    assert read.unread == {}
    assert _subset(read.values, configured) == configured
    assert read.values["tasks"] == 3  # desired_count=3 (the construct keeps no attribute of it)


def test_reads_both_engines_approval_waits_in_one_stack(mixed: Synthesized) -> None:
    web, native = _read(mixed, "Web"), _read(mixed, "Mixed/Native")
    for read, path in ((web, "Web"), (native, "Native")):
        configured = _as_configured(mixed.services[path])
        assert read.unread == {}
        assert _subset(read.values, configured) == configured
    # CodeDeploy's DeploymentReadyOption (STOP_DEPLOYMENT) and ECS's PAUSE hook: the waits the test gave
    assert (web.values["approval_wait_minutes"], native.values["approval_wait_minutes"]) == (30, 20)
    assert web.values["deploy_on_update"] is False
    assert _subset(native.values, ["tasks", "task_cpu", "task_memory_mib"]) == {
        "tasks": 4,
        "task_cpu": 1024,
        "task_memory_mib": 2048,
    }


def test_several_services_need_service_and_the_error_lists_them(
    mixed: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--stack", "Mixed", "--assembly", str(mixed.directory)]) == 1
    assert _error(capsys) == (
        "blue-green-ecs: error: Name the service with --service PATH: stack 'Mixed' has 2: 'Web' (CodeDeploy), "
        "'Native' (ECS-native).\n"
    )
    assert main(["plan", "--stack", "Mixed", "--assembly", str(mixed.directory), "--service", "Api"]) == 1
    assert _error(capsys) == (
        "blue-green-ecs: error: Invalid --service 'Api': stack 'Mixed' has no blue/green service at that construct "
        "path; its services are 'Web' (CodeDeploy), 'Native' (ECS-native).\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--stack", "Nope"],
            "Invalid --stack 'Nope': the cloud assembly {dir} has no such stack; its stacks are 'BlueGreenSample'. "
            "Use one of them, or --assembly DIR of the app that defines it.",
        ),
        (
            ["--service", "Web"],
            "--service and --assembly name a synthesized service: give its stack with --stack STACK.",
        ),
    ],
)
def test_a_stack_or_service_that_is_not_there_is_named(
    sample: Synthesized, options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--assembly", str(sample.directory), *options]) == 1
    assert _error(capsys) == f"blue-green-ecs: error: {message.format(dir=sample.directory)}\n"


def test_an_assembly_folder_without_a_manifest_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", STACK_NAME, "--assembly", str(tmp_path)]) == 1
    assert _error(capsys) == (
        f"blue-green-ecs: error: Invalid --assembly {str(tmp_path)!r}: it holds no manifest.json; synthesize the app "
        "first (`npx cdk synth`, or `make synth` for the bundled sample) or pass --assembly DIR of the folder `cdk "
        "synth` writes.\n"
    )


def _plan(synthesized: Synthesized, *options: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["plan", "--stack", synthesized.stack, "--assembly", str(synthesized.directory), *options]) == 0
    return capsys.readouterr().out


def test_plan_of_the_sample_prints_its_canary(sample: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    shift = sample.services["Web"].traffic_shift
    assert shift.percent is not None
    assert shift.interval is not None
    out = _plan(sample, capsys=capsys)
    lines = out.splitlines()
    wait = sample.services["Web"].termination_wait.to_minutes()
    assert lines[0] == (
        f"canary {shift.percent:g}% / {shift.interval.to_minutes()} min, termination wait {wait} min (codedeploy), "
        f"from {sample.directory}/{STACK_NAME}.template.json, service Web"
    )
    # green healthy at 1:20 takes the canary's share; the rest follows one interval later
    first, rest = 80, 80 + shift.interval.to_minutes() * 60
    assert f"  {first // 60}:{first % 60:02d}  production traffic {shift.percent:g}% on green" in out
    assert f"  {rest // 60}:{rest % 60:02d}  production traffic 100% on green" in out
    assert "`cdk deploy` returns (trigger's next poll)" in out  # the sample's deployment trigger
    assert "  blue and green side by side for 11:50 (0.1972 h): 2 extra task(s) of 0.25 vCPU and 0.5 GB\n" in out
    assert "note:" not in out


def test_plan_of_an_ecs_service_prints_its_linear_steps_and_approval(
    mixed: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _plan(mixed, "--service", "Native", capsys=capsys)
    assert out.splitlines()[0] == (
        f"linear 25% / 3 min, termination wait 7 min (ecs), from {mixed.directory}/Mixed.template.json, service Native"
    )
    steps = [line for line in out.splitlines() if " on green (an alarm" in line]
    assert [line.split()[0] for line in steps] == ["1:20", "4:20", "7:20", "10:20"]
    assert [line.split()[3] for line in steps] == ["25%", "50%", "75%", "100%"]
    assert "trigger's next poll" not in out
    # 17:50 until blue is drained, plus the 20-minute approval wait: 37:50 side by side, 4 tasks of 1 vCPU and 2 GB
    assert "  blue and green side by side for 37:50 (0.6306 h): 4 extra task(s) of 1 vCPU and 2 GB\n" in out
    assert (
        "  note: the approval wait (20 min, before production traffic moves) is not in the timeline: a deployment "
        "approved at its end finishes that much later than shown\n"
    ) in out


def test_options_typed_override_the_template(mixed: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    out = _plan(
        mixed, "--service", "Web", "--percent", "20", "--termination-wait", "1", "--desired-count", "5", capsys=capsys
    )
    # the canary's interval (10 min) and the approval wait (30 min) still come from the template
    assert out.splitlines()[0].startswith("canary 20% / 10 min, termination wait 1 min (codedeploy), from ")
    assert "  blue and green side by side for 42:50 (0.7139 h): 5 extra task(s) of 0.25 vCPU and 0.5 GB\n" in out
    assert "trigger's next poll" not in out  # deploy_on_update=False in the template
    out = _plan(mixed, "--service", "Web", "--deploy-on-update", "true", "--engine", "codedeploy", capsys=capsys)
    assert "trigger's next poll" in out


def _edited(synthesized: Synthesized, target: Path, edit: Callable[[dict[str, Any], dict[str, Any]], None]) -> Path:
    """A copy of the assembly whose stack template and manifest ``edit`` changed."""
    shutil.copytree(synthesized.directory, target)
    template_file = target / f"{synthesized.stack}.template.json"
    template, manifest = json.loads(template_file.read_text()), json.loads((target / "manifest.json").read_text())
    edit(template, manifest["artifacts"][synthesized.stack])
    template_file.write_text(json.dumps(template))
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def _task_definition_id(template: dict[str, Any]) -> str:
    [found] = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::ECS::TaskDefinition"]
    return str(found)


def test_a_token_falls_back_to_the_option_or_default_with_a_note(
    sample: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the task's CPU is a parameter's (known only when CloudFormation deploys the stack)
    def cpu_from_a_parameter(template: dict[str, Any], _: dict[str, Any]) -> None:
        template["Resources"][_task_definition_id(template)]["Properties"]["Cpu"] = {"Ref": "TaskCpu"}

    directory = _edited(sample, tmp_path / "cdk.out", cpu_from_a_parameter)
    task_definition = _task_definition_id(json.loads((directory / f"{STACK_NAME}.template.json").read_text()))
    options = ["plan", "--stack", STACK_NAME, "--assembly", str(directory)]
    # when / then: the default, with a note naming the property and the option
    assert main(options) == 0
    out = capsys.readouterr().out
    assert (
        f'  note: {task_definition}.Cpu is {{"Ref": "TaskCpu"}} (known only when CloudFormation deploys it): '
        "--task-cpu 256 (the default) is used; type --task-cpu to set it\n"
    ) in out
    assert "2 extra task(s) of 0.25 vCPU and 0.5 GB" in out
    # typed, the option is used and needs no note
    assert main([*options, "--task-cpu", "1024"]) == 0
    out = capsys.readouterr().out
    assert "2 extra task(s) of 1 vCPU and 0.5 GB" in out
    assert "note:" not in out


def _with_migration(timeout_seconds: str, path: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Add the migration function as ``migration_task`` writes it, at construct ``path`` below the stack."""

    def edit(template: dict[str, Any], artifact: dict[str, Any]) -> None:
        logical_id = assembly.logical_prefix(path) + "0A1B2C3D"
        template["Resources"][logical_id] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "migration.handler",
                "Environment": {"Variables": {"TIMEOUT_SECONDS": timeout_seconds, "POLL_SECONDS": "15"}},
                "Timeout": 900,
            },
        }
        resource = f"/{STACK_NAME}/{path}/Resource"
        artifact.setdefault("metadata", {})[resource] = [{"type": "aws:cdk:logicalId", "data": logical_id}]

    return edit


def test_the_migration_task_delays_green_and_costs_a_task_of_its_own(
    sample: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the sample's service with a 15-minute migration task (900 s)
    directory = _edited(sample, tmp_path / "cdk.out", _with_migration("900", "Web/Migration/Function"))
    read = _read(Synthesized(directory, STACK_NAME, {}), "Web")
    assert read.values["migration_minutes"] == 15
    # when
    assert main(["plan", "--stack", STACK_NAME, "--assembly", str(directory)]) == 0
    out = capsys.readouterr().out
    # then: the migration row first, green 15 minutes later, the total and the cost line with it
    assert "      0:00  deployment starts: migration task runs (worst case 15 min); blue serves alone\n" in out
    assert "     15:00  migration task done: green task set launching\n" in out
    assert "     21:20  production traffic 100% on green" in out
    assert "  worst case: 27:05 until `cdk deploy` returns\n" in out
    assert "  blue and green side by side for 11:50 (0.1972 h): 2 extra task(s) of 0.25 vCPU and 0.5 GB\n" in out
    assert (
        "  migration task: 1 task of 0.25 vCPU and 0.5 GB for up to 15:00 (blue serves alone meanwhile): 0.0625 "
        "vCPU-hours and 0.125 GB-hours per deployment\n"
    ) in out
    # --migration typed overrides it; 0 turns it off
    assert main(["plan", "--stack", STACK_NAME, "--assembly", str(directory), "--migration", "0"]) == 0
    assert "migration task" not in capsys.readouterr().out


@pytest.fixture(scope="module")
def migration(migration: conftest.TwoServices, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    directory = tmp_path_factory.mktemp("migration") / "cdk.out"
    return _synthesize(migration.stack, directory, Api=migration.first, Native=migration.second)


# configurations.migration: Api keeps MigrationTask's default timeout, Native sets 30 minutes.
MIGRATION_MINUTES = {"Api": int(DEFAULT_TIMEOUT.to_minutes()), "Native": 30}


@pytest.mark.parametrize("path", ["Api", "Native"])
def test_reads_the_migration_tasks_timeout_of_each_engine(migration: Synthesized, path: str) -> None:
    service = migration.services[path]
    read = _read(migration, path)
    assert service.migration_function is not None
    assert read.values["migration_minutes"] == MIGRATION_MINUTES[path]
    configured = _as_configured(service)
    keys = configured.keys() - {"migration_minutes"}
    assert _subset(read.values, keys) == _subset(configured, keys)


def test_a_migration_function_of_another_construct_is_not_the_services(sample: Synthesized, tmp_path: Path) -> None:
    directory = _edited(sample, tmp_path / "cdk.out", _with_migration("900", "Other/Migration/Function"))
    assert _read(Synthesized(directory, STACK_NAME, {}), "Web").values["migration_minutes"] == 0


def test_the_stack_alone_needs_no_service_when_it_has_one(sample: Synthesized) -> None:
    found = assembly.service_template(sample.directory, "cdk.out", STACK_NAME, None)
    assert (found.service.path, found.template) == ("Web", f"cdk.out/{STACK_NAME}.template.json")
    with pytest.raises(CliError, match=r"^Invalid --service 'Api'"):
        assembly.service_template(sample.directory, "cdk.out", STACK_NAME, "Api")
