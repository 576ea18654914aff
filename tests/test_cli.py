"""The `blue-green-ecs` command: plan (against hand-computed timelines), export, fill, and its errors."""

from __future__ import annotations

import json
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from blue_green_ecs.cli.export import Asset, ExportError, export, fill, make_standalone, referenced_assets
from blue_green_ecs.cli.main import main
from blue_green_ecs.timeline import PlanInputs, plan

from .support import ROOT, cfn_lint_findings


def test_default_canary_timeline() -> None:
    timeline = plan(PlanInputs())
    # 60 s task start + 2 x 10 s health checks; 10% at once, 100% one 5-minute interval later;
    # alarms fire 2 x 60 s + 60 s ingestion after a fault; 5 minutes of blue; 30 s drain; one 15 s poll.
    assert timeline.green_healthy == 80
    assert [(s.at, s.green_percent, s.alarm_fires_by) for s in timeline.steps] == [(80, 10, 260), (380, 100, 560)]
    assert (timeline.blue_terminated, timeline.drained, timeline.total) == (680, 710, 725)
    assert timeline.notes == ()


def test_linear_timeline_and_its_alarm_warning() -> None:
    timeline = plan(PlanInputs(shift="linear", percent=10, interval_minutes=3))
    assert [s.at for s in timeline.steps] == [80 + 180 * k for k in range(10)]
    assert [s.green_percent for s in timeline.steps] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert (timeline.all_on_green, timeline.blue_terminated, timeline.drained, timeline.total) == (
        1700,
        2000,
        2030,
        2045,
    )
    assert timeline.notes == (
        "alarms need 180 s to fire, not less than the 180 s step: a fault in one step rolls back only after the "
        "next step has shifted more traffic",
    )


def test_all_at_once_without_termination_wait_on_ecs() -> None:
    timeline = plan(PlanInputs(shift="all-at-once", termination_wait_minutes=0, trigger_poll_seconds=0))
    assert [(s.at, s.green_percent) for s in timeline.steps] == [(80, 100)]
    assert (timeline.blue_terminated, timeline.drained, timeline.total) == (80, 110, 110)


def test_uneven_linear_steps_end_at_100() -> None:
    timeline = plan(PlanInputs(shift="linear", percent=30, interval_minutes=2))
    assert [s.green_percent for s in timeline.steps] == [30, 60, 90, 100]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (PlanInputs(shift="canary", percent=0), "Invalid percent=0: use a percentage above 0 and below 100."),
        (PlanInputs(interval_minutes=0), "Invalid interval_minutes=0: use at least 1 minute."),
        (PlanInputs(task_start_seconds=-1), "Invalid task_start_seconds=-1: use zero or more."),
    ],
)
def test_plan_rejects_impossible_inputs(inputs: PlanInputs, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        plan(inputs)


def test_plan_command_prints_the_timeline_and_draws_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "canary.svg"
    assert main(["plan", "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    assert "canary 10% / 5 min, termination wait 5 min (codedeploy)" in out
    assert "     6:20  production traffic 100% on green" in out
    assert "worst case: 12:05 until `cdk deploy` returns" in out
    root = ET.fromstring(svg.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall("{http://www.w3.org/2000/svg}path")) == 1


@pytest.mark.parametrize("command", [[], ["export"], ["plan"], ["fill"]])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: blue-green-ecs" in capsys.readouterr().out


def test_export_without_an_app_says_how_to_give_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (
        "blue-green-ecs: error: No app to synthesize: pass --app 'python app.py', or run in a directory with a "
        f"cdk.json (looked in {tmp_path}).\n"
    )


def test_export_reports_a_failing_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = f"{sys.executable} -c \"import sys; print('boom: bad prop', file=sys.stderr); sys.exit(3)\""
    assert main(["export", "--dir", str(tmp_path), "--app", app, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"Synthesis failed: {app!r} exited with 3.\nboom: bad prop" in err


def test_export_rejects_an_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "xml", "--dir", str(ROOT), "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "blue-green-ecs: error: Unknown format 'xml': use json or yaml.\n"


def test_make_standalone_drops_the_bootstrap_check() -> None:
    template = {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
        "Resources": {},
    }
    assert make_standalone(template) == {"Resources": {}}


def test_referenced_assets_names_each_asset_and_its_users(tmp_path: Path) -> None:
    manifest = tmp_path / "S.assets.json"
    template_file = tmp_path / "S.template.json"
    manifest.write_text(
        json.dumps(
            {
                "files": {
                    "abc123": {"source": {"path": "asset.abc123", "packaging": "zip"}},
                    "tpl456": {"source": {"path": "S.template.json", "packaging": "file"}},
                }
            }
        )
    )
    template = {"Resources": {"Fn": {"Properties": {"Code": {"S3Key": "abc123.zip"}}}, "Other": {}}}
    assert referenced_assets(template, manifest, template_file) == [Asset("abc123", "asset.abc123", ("Fn",))]


def test_fill_puts_stack_outputs_into_the_pipeline_files(tmp_path: Path) -> None:
    service = tmp_path / "Stack" / "Web"
    service.mkdir(parents=True)
    (service / "taskdef.json").write_text('{"executionRoleArn": "${RoleArn}", "image": "<IMAGE1_NAME>"}')
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"Stacks": [{"Outputs": [{"OutputKey": "BlueGreenEcsRoleArn", "OutputValue": "arn:aws:iam::1:role/r"}]}]}
        )
    )
    assert main(["fill", "--outputs", str(outputs), str(tmp_path)]) == 0
    assert json.loads((service / "taskdef.json").read_text()) == {
        "executionRoleArn": "arn:aws:iam::1:role/r",
        "image": "<IMAGE1_NAME>",
    }
    (service / "appspec.yaml").write_text("Subnets: [${Missing}]\n")
    with pytest.raises(ExportError, match="no stack output for BlueGreenEcsMissing"):
        fill(tmp_path, {})


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("standalone")
    written = export(
        app=None,
        directory=ROOT,
        out=out,
        output_format="json",
        standalone=True,
        extra_context={"smoke_test": "true"},
        progress=lambda _: None,
    )
    return out, written


def _template(standalone: tuple[Path, list[Path]]) -> dict[str, Any]:
    out, _ = standalone
    template: dict[str, Any] = json.loads((out / "BlueGreenSample.template.json").read_text())
    return template


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def test_standalone_export_needs_no_bootstrap_and_no_assets(standalone: tuple[Path, list[Path]]) -> None:
    template = _template(standalone)
    text = json.dumps(template)
    assert "BootstrapVersion" not in text
    assert "cdk-hnb659fds" not in text
    assert '"S3Key"' not in text
    # The deployment trigger stays: its handler is inline code too, so a plain CloudFormation update
    # with another image runs the blue/green deployment as `cdk deploy` does.
    [trigger] = [r for r in template["Resources"].values() if r["Type"] == "Custom::BlueGreenEcsDeployment"]
    functions = _functions(template)
    assert trigger["Properties"]["ServiceToken"]["Fn::GetAtt"][0] in functions
    assert [f["Properties"]["Handler"] for f in functions.values()] == ["index.handler", "index.handler"]
    assert all(len(f["Properties"]["Code"]["ZipFile"]) > 4096 for f in functions.values())
    assert cfn_lint_findings(template) == []


def _import_inline(code: str, helpers: tuple[str, ...]) -> types.ModuleType:
    """Import ``code`` as Lambda imports a ZipFile's index.py; its helpers must come from the code itself."""
    module = types.ModuleType("index")
    # As Lambda's import does: the module is registered while it runs (its dataclasses look it up).
    added = [name for name in ("index", *helpers) if name not in sys.modules]
    sys.modules["index"] = module
    try:
        exec(compile(code, "index.py", "exec", dont_inherit=True), module.__dict__)
        for name in helpers:
            # The embedded copy, registered under its bare name, not the library's module.
            assert sys.modules[name].__name__ == name
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return module


@pytest.mark.parametrize(
    ("described_as", "helpers"),
    [
        ("runs the CodeDeploy deployment", ("appspec", "deployment")),  # the deployment trigger
        ("smoke test", ("lifecycle_hook",)),
    ],
)
def test_standalone_inline_code_is_a_module_lambda_can_import(
    standalone: tuple[Path, list[Path]], described_as: str, helpers: tuple[str, ...]
) -> None:
    """Lambda writes ZipFile to index.py and imports it: it must compile, load its helpers and define the handler."""
    functions = _functions(_template(standalone)).values()
    [function] = [f for f in functions if described_as in f["Properties"]["Description"]]
    module = _import_inline(function["Properties"]["Code"]["ZipFile"], helpers)
    assert callable(module.handler)


def test_standalone_trigger_code_answers_cloudformation(standalone: tuple[Path, list[Path]]) -> None:
    """The embedded modules work together: a Delete is answered with no AWS call, in one invocation."""
    [function] = [f for f in _functions(_template(standalone)).values() if "runs the CodeDeploy" in json.dumps(f)]
    module = _import_inline(function["Properties"]["Code"]["ZipFile"], ("appspec", "deployment"))
    sent: list[dict[str, Any]] = []

    def put(url: str, body: bytes, headers: Any) -> int:
        sent.append(json.loads(body))
        return 200

    event = {
        "RequestType": "Delete",
        "ResponseURL": "https://example.invalid/response",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/BlueGreenSample/x",
        "RequestId": "r-1",
        "LogicalResourceId": "WebDeploymentTrigger",
        "PhysicalResourceId": "blue-green-ecs/cluster/service",
        "ResourceProperties": {},
    }
    assert module.CustomResourceHandler(put=put).handle(event) == {"Status": "SUCCESS"}
    assert [(r["Status"], r["PhysicalResourceId"]) for r in sent] == [("SUCCESS", "blue-green-ecs/cluster/service")]


def test_export_writes_pipeline_files_and_the_outputs_they_name(standalone: tuple[Path, list[Path]]) -> None:
    out, written = standalone
    assert sorted(p.relative_to(out).as_posix() for p in written) == [
        "BlueGreenSample.template.json",
        "BlueGreenSample/Web/appspec.yaml",
        "BlueGreenSample/Web/taskdef.json",
    ]
    appspec = (out / "BlueGreenSample/Web/appspec.yaml").read_text()
    assert appspec.startswith("version: 0.0\n")
    assert "TaskDefinition: <TASK_DEFINITION>" in appspec
    assert "AfterAllowTestTraffic: ${WebSmokeTestFunction35D26256Arn}" in appspec
    taskdef = json.loads((out / "BlueGreenSample/Web/taskdef.json").read_text())
    assert taskdef["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"
    assert taskdef["executionRoleArn"] == "${WebTaskDefinitionExecutionRole9B66D88DArn}"
    outputs = _template(standalone)["Outputs"]
    assert outputs["BlueGreenEcsWebTaskDefinitionExecutionRole9B66D88DArn"]["Value"] == {
        "Fn::GetAtt": ["WebTaskDefinitionExecutionRole9B66D88D", "Arn"]
    }
    assert "blue-green-ecs:pipeline-files" not in json.dumps(_template(standalone))
