"""The `blue-green-ecs` command: plan (against hand-computed timelines), export, fill, and its errors."""

from __future__ import annotations

import itertools
import json
import re
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from blue_green_ecs.cli import export as export_module
from blue_green_ecs.cli.export import (
    Asset,
    ExportError,
    export,
    fill,
    inline_library_functions,
    make_standalone,
    recorded_pipeline_files,
    referenced_assets,
    stack_metadata,
)
from blue_green_ecs.cli.main import main
from blue_green_ecs.cli.parameters import parameterize
from blue_green_ecs.configuration.limits import ShiftKind
from blue_green_ecs.deployment.timeline import PlanInputs, format_time, plan
from blue_green_ecs.engines import pipeline
from blue_green_ecs.functions.lambda_code import BUNDLES, HANDLERS_DIR, inline_code_for

from ..support import ROOT, cfn_lint_findings


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
        "The linear step interval (3 minutes) is not longer than the rollback alarms' detection time (3 minutes, "
        "CloudWatch's ingestion delay included): a fault in one step can only roll back after the next step has "
        "shifted more traffic. Lengthen the interval or shorten rollback_alarm_options.",
    )


def test_all_at_once_without_termination_wait_on_ecs() -> None:
    timeline = plan(PlanInputs(shift="all-at-once", termination_wait_minutes=0, trigger_poll_seconds=0))
    assert [(s.at, s.green_percent) for s in timeline.steps] == [(80, 100)]
    assert (timeline.blue_terminated, timeline.drained, timeline.total) == (80, 110, 110)


def test_plan_shows_from_which_traffic_green_is_judged_against_blue() -> None:
    # given the default canary and a linear 30% shift, 100 requests a period needed in each target group
    canary = plan(PlanInputs())
    linear = plan(PlanInputs(shift="linear", percent=30, interval_minutes=5))
    # then a 10% canary needs 1,000 requests a minute, the smaller side of a split decides, 100% is never judged
    assert [s.compare_from for s in canary.steps] == [1000, None]
    assert [s.compare_from for s in linear.steps] == [334, 250, 1000, None]
    assert canary.rows()[3] == (
        80,
        "production traffic 10% on green (an alarm for a fault from here fires by 4:20); "
        "green vs blue judged from 1000 requests a minute to the service",
    )
    assert canary.rows()[4][1].endswith("; green vs blue: not judged (one target group serves all production traffic)")


def test_plan_without_the_comparison_says_nothing_of_it() -> None:
    timeline = plan(PlanInputs(compare_min_requests=0, alarm_period_seconds=120))
    assert [s.compare_from for s in timeline.steps] == [None, None]
    assert timeline.rows()[3] == (80, "production traffic 10% on green (an alarm for a fault from here fires by 6:20)")


def test_uneven_linear_steps_end_at_100() -> None:
    timeline = plan(PlanInputs(shift="linear", percent=30, interval_minutes=2))
    assert [s.green_percent for s in timeline.steps] == [30, 60, 90, 100]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            PlanInputs(shift="canary", percent=0),
            "Invalid percent=0: CodeDeploy takes percentages from 1 to 99, in steps of 1 (whole numbers).",
        ),
        (PlanInputs(interval_minutes=0), "Invalid interval_minutes=0: use a whole number of minutes from 1 to 2880."),
        (PlanInputs(task_start_seconds=-1), "Invalid task_start_seconds=-1: use zero or more."),
        (PlanInputs(compare_min_requests=-1), "Invalid compare_min_requests=-1: use zero or more."),
    ],
)
def test_plan_rejects_impossible_inputs(inputs: PlanInputs, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
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


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--percent", "150"], "CodeDeploy takes percentages from 1 to 99, in steps of 1 (whole numbers)."),
        (
            ["--percent", "12.5", "--shift", "linear"],
            "CodeDeploy takes percentages from 1 to 99, in steps of 1 (whole numbers); the ECS-native engine "
            "(DeploymentEngine.ECS_NATIVE) takes steps of 0.1.",
        ),
        (["--percent", "150", "--engine", "ecs"], "ECS takes percentages from 0.1 to 99.9, in steps of 0.1."),
        (["--percent", "0.05", "--engine", "ecs"], "ECS takes percentages from 0.1 to 99.9, in steps of 0.1."),
        (
            ["--percent", "100", "--engine", "ecs"],
            "ECS takes percentages from 0.1 to 99.9, in steps of 0.1; all traffic in one step is an all-at-once shift.",
        ),
        (
            ["--percent", "2.5", "--engine", "ecs", "--shift", "linear"],
            "ECS takes linear steps from 3 to 99.9 percent, in steps of 0.1.",
        ),
    ],
)
def test_plan_states_the_percentages_its_engine_takes_in_one_message(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *options]) == 1
    percent = options[options.index("--percent") + 1]
    assert capsys.readouterr().err == f"blue-green-ecs: error: Invalid --percent={percent}: {message}\n"


@pytest.mark.parametrize(
    ("inputs", "accepted"),
    [
        (PlanInputs(percent=12), True),
        (PlanInputs(percent=12.5), False),
        (PlanInputs(percent=12.5, engine="ecs"), True),
        (PlanInputs(percent=12.55, engine="ecs"), False),
        (PlanInputs(percent=3, engine="ecs", shift="linear", interval_minutes=1), True),
        (PlanInputs(percent=2.9, engine="ecs", shift="linear", interval_minutes=1), False),
        (PlanInputs(percent=99.9, engine="ecs"), True),
        (PlanInputs(percent=99, interval_minutes=1), True),
        (PlanInputs(percent=100), False),
    ],
)
def test_plan_accepts_the_percentages_synthesis_accepts(inputs: PlanInputs, accepted: bool) -> None:
    try:
        plan(inputs)
    except ValueError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize(
    "options",
    [[], ["--shift", "linear", "--percent", "10", "--interval", "3"], ["--shift", "all-at-once"]],
)
def test_plan_svg_ticks_the_time_axis_where_traffic_moves(options: list[str], tmp_path: Path) -> None:
    # given
    svg = tmp_path / "plan.svg"
    shifts: dict[str, ShiftKind] = {"canary": "canary", "linear": "linear", "all-at-once": "all-at-once"}
    shift = shifts[options[options.index("--shift") + 1] if "--shift" in options else "canary"]
    timeline = plan(PlanInputs(shift=shift, percent=10, interval_minutes=3 if shift == "linear" else 5))
    # when
    assert main(["plan", *options, "--svg", str(svg)]) == 0
    # then: the axis spans 0 to the total; each tick mark and its label sits at a time traffic moves
    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg.read_text())
    [axis] = root.findall("svg:line[@class='x-axis']", ns)
    start, end = float(axis.get("x1", "nan")), float(axis.get("x2", "nan"))

    def seconds(x: str | None) -> int:
        return round((float(x or "nan") - start) / (end - start) * timeline.total)

    ticks = [seconds(line.get("x1")) for line in root.findall("svg:line[@class='tick']", ns)]
    labels = [(seconds(text.get("x")), text.text) for text in root.findall("svg:text[@class='tick-label']", ns)]
    steps = [step.at for step in timeline.steps]
    assert ticks == steps
    assert labels == [(at, format_time(at)) for at in steps]


def test_plan_svg_ticks_every_step_of_a_long_linear_shift_and_labels_those_with_room(tmp_path: Path) -> None:
    # given: ECS linear 3% a minute, 34 steps about 17 px apart
    svg = tmp_path / "plan.svg"
    assert (
        main(["plan", "--engine", "ecs", "--shift", "linear", "--percent", "3", "--interval", "1", "--svg", str(svg)])
        == 0
    )
    timeline = plan(PlanInputs(engine="ecs", shift="linear", percent=3, interval_minutes=1, trigger_poll_seconds=0))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg.read_text())
    ticks = [float(line.get("x1", "nan")) for line in root.findall("svg:line[@class='tick']", ns)]
    labels = root.findall("svg:text[@class='tick-label']", ns)
    # then: a tick on each step; each label at its step's tick, saying its time; labels of one line 48 px apart
    assert len(ticks) == len(timeline.steps) == 34
    by_x = {f"{x:.1f}": format_time(step.at) for x, step in zip(ticks, timeline.steps, strict=True)}
    assert [(text.get("x"), text.text) for text in labels] == [
        (text.get("x"), by_x[text.get("x", "")]) for text in labels
    ]
    assert 10 < len(labels) < 34
    for line in {text.get("y") for text in labels}:
        xs = [float(text.get("x", "nan")) for text in labels if text.get("y") == line]
        assert min(b - a for a, b in itertools.pairwise(xs)) >= 48


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["status", "Web"],
            "not understood: Web (status takes no positional argument: name the service with --stack STACK --path "
            "Web, or --cluster CLUSTER --service Web)",
        ),
        (
            ["watch", "--stak", "Shop"],
            "not understood: --stak Shop (--stak is no option of watch; did you mean --stack?)",
        ),
        (["plan", "canary"], "not understood: canary (plan takes no positional argument)"),
        (
            ["fill", "--outputs", "o.json", "out", "more"],
            "not understood: more (fill takes one positional argument: DIR)",
        ),
    ],
)
def test_an_argument_a_command_does_not_take_prints_that_commands_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: blue-green-ecs {argv[0]} [-h]")
    assert err.endswith(f"\nblue-green-ecs {argv[0]}: error: {message}\n")


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
    assert {f["Properties"]["Code"]["ZipFile"] for f in functions.values()} == {
        inline_code_for("custom_resource.handler"),
        inline_code_for("smoke_test.handler"),
    }
    assert "aws:asset:" not in text
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
        ("runs the CodeDeploy deployment", BUNDLES["custom_resource"]),  # the deployment trigger
        ("smoke test", BUNDLES["smoke_test"]),
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
    module = _import_inline(function["Properties"]["Code"]["ZipFile"], BUNDLES["custom_resource"])
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


def test_export_help_says_the_standalone_export_keeps_the_trigger(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "no asset references (the library's Lambda functions, the deployment trigger included, become inline "
        "code);" in help_text
    )
    assert "left out" not in help_text


def test_export_reads_the_same_metadata_type_the_construct_records() -> None:
    # The command keeps its own copy so that it does not start the jsii runtime to read it.
    assert export_module.PIPELINE_FILES_METADATA == pipeline.PIPELINE_FILES_METADATA


def test_pipeline_files_are_read_from_inline_and_additional_stack_metadata(tmp_path: Path) -> None:
    files = {"appspec.yaml": {"version": 0}, "taskdef.json": {"family": "f"}}
    (tmp_path / "S.metadata.json").write_text(
        json.dumps({"/S/Web": [{"type": "blue-green-ecs:pipeline-files", "data": files}]})
    )
    artifact = {
        # Older aws-cdk-lib versions put the metadata in the manifest, newer ones in a file of its own.
        "metadata": {
            "/S/Group/Api": [
                {"type": "aws:cdk:logicalId", "data": "Api"},
                {"type": "blue-green-ecs:pipeline-files", "data": files},
            ],
        },
        "additionalMetadataFile": "S.metadata.json",
    }
    assert recorded_pipeline_files(stack_metadata(tmp_path, artifact)) == {"S/Group/Api": files, "S/Web": files}


def _function(handler: str, code: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Code": code, "Handler": handler, "Runtime": "python3.14"},
    }
    if metadata is not None:
        resource["Metadata"] = metadata
    return resource


def _s3(key: str) -> dict[str, Any]:
    return {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}, "S3Key": key}


def test_inline_library_functions_replaces_only_the_library_bundle(tmp_path: Path) -> None:
    # given: the library's handlers asset, a user's asset with a module of the same name, and a bundle
    # whose trigger module is not this package's (another library version)
    ids = {"lib": "1" * 64, "mine": "2" * 64, "other": "3" * 64}  # asset ids are content hashes
    library = tmp_path / f"asset.{ids['lib']}"
    library.mkdir()
    for module in HANDLERS_DIR.glob("*.py"):
        (library / module.name).write_bytes(module.read_bytes())
    mine = tmp_path / f"asset.{ids['mine']}"
    mine.mkdir()
    (mine / "smoke_test.py").write_text("def handler(event, context):\n    return None\n")
    other = tmp_path / f"asset.{ids['other']}"
    other.mkdir()
    for module in HANDLERS_DIR.glob("*.py"):
        (other / module.name).write_bytes(module.read_bytes())
    (other / "custom_resource.py").write_text("# another version\n")
    manifest = tmp_path / "S.assets.json"
    manifest.write_text(
        json.dumps(
            {
                "files": {
                    asset_id: {
                        "source": {"path": f"asset.{asset_id}", "packaging": "zip"},
                        "destinations": {"d": {"bucketName": "b", "objectKey": f"{asset_id}.zip"}},
                    }
                    for asset_id in ids.values()
                }
            }
        )
    )
    asset_metadata = {
        "aws:asset:path": f"asset.{ids['lib']}",
        "aws:asset:is-bundled": False,
        "aws:asset:property": "Code",
    }
    nag: dict[str, Any] = {"cdk_nag": {"rules_to_suppress": []}}
    template: dict[str, Any] = {
        "Resources": {
            "Trigger": _function("custom_resource.handler", _s3(ids["lib"] + ".zip"), dict(asset_metadata)),
            "Smoke": _function("smoke_test.handler", _s3(ids["lib"] + ".zip"), {**asset_metadata, **nag}),
            "Mine": _function("smoke_test.handler", _s3(ids["mine"] + ".zip")),
            "Other": _function("custom_resource.handler", _s3(ids["other"] + ".zip")),
            "Unknown": _function("smoke_test.handler", _s3("4" * 64 + ".zip")),
            "NotOurs": _function("helper.handler", _s3(ids["lib"] + ".zip")),
            "Inline": _function("index.handler", {"ZipFile": "def handler(e, c): pass"}),
        }
    }
    untouched = json.loads(json.dumps({k: template["Resources"][k] for k in ("Mine", "Other", "Unknown", "NotOurs")}))

    # when
    changed = inline_library_functions(template, manifest)

    # then
    resources = template["Resources"]
    assert changed == ["Trigger", "Smoke"]
    assert resources["Trigger"] == _function("index.handler", {"ZipFile": inline_code_for("custom_resource.handler")})
    assert resources["Smoke"] == _function("index.handler", {"ZipFile": inline_code_for("smoke_test.handler")}, nag)
    assert {k: resources[k] for k in untouched} == untouched
    assert referenced_assets(template, manifest, tmp_path / "S.template.json") == [
        Asset(ids["lib"], f"asset.{ids['lib']}", ("NotOurs",)),
        Asset(ids["mine"], f"asset.{ids['mine']}", ("Mine",)),
        Asset(ids["other"], f"asset.{ids['other']}", ("Other",)),
    ]


def test_inline_code_is_only_for_the_library_handlers() -> None:
    assert inline_code_for("smoke_test.handler") is not None
    assert [inline_code_for(h) for h in ("index.handler", "smoke_test.main", "smoke_test", "check.handler")] == [
        None,
        None,
        None,
        None,
    ]


MIXED_APP = """
from aws_cdk import App, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_

from blue_green_ecs import BlueGreenFargateService, SmokeTest

app = App()
stack = Stack(app, "Mixed")
BlueGreenFargateService(
    stack, "Web", image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27"), smoke_test=SmokeTest()
)
lambda_.Function(
    stack, "Mine", runtime=lambda_.Runtime.PYTHON_3_14, handler="smoke_test.handler", code=lambda_.Code.from_asset("mine")
)
app.synth()
"""


def test_standalone_export_keeps_a_users_function_of_the_same_handler_name(tmp_path: Path) -> None:
    # given: an app with the library's smoke test and a user's own `smoke_test.handler` in its own asset
    (tmp_path / "app.py").write_text(MIXED_APP)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "smoke_test.py").write_text("def handler(event, context):\n    return None\n")

    # when / then: the library's functions become inline code, the user's asset blocks the export
    with pytest.raises(ExportError) as error:
        export(
            app=f"{sys.executable} app.py",
            directory=tmp_path,
            out=tmp_path / "out",
            output_format="json",
            standalone=True,
            progress=lambda _: None,
        )
    assert re.fullmatch(
        r"Cannot make these templates standalone: they use assets that only a CDK-bootstrapped account can serve\.\n"
        r"  - Mixed: asset asset\.[0-9a-f]{64} \(used by Mine[0-9A-F]{8}\)",
        str(error.value),
    ), str(error.value)


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """A tiny resolver: Refs to the template's parameters become their values (everything else stays)."""
    if isinstance(value, list):
        return [_resolve(item, parameters) for item in value]
    if isinstance(value, dict):
        if list(value) == ["Ref"] and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {key: _resolve(item, parameters) for key, item in value.items()}
    return value


def test_standalone_template_takes_the_image_and_task_count_as_parameters(
    standalone: tuple[Path, list[Path]],
) -> None:
    # given: the sample, exported standalone
    template = _template(standalone)

    # then: WebImageUri and WebDesiredCount default to what the app synthesized, and the template uses them
    parameters = template["Parameters"]
    assert parameters["WebImageUri"] == {
        "Type": "String",
        "Default": "public.ecr.aws/nginx/nginx:1.27",
        "MinLength": 1,
        "Description": "Image of container web of BlueGreenSample/Web. Another value registers a new task "
        "definition revision and deploys it blue/green.",
    }
    assert parameters["WebDesiredCount"] == {
        "Type": "Number",
        "Default": 2,
        "MinValue": 0,
        "MaxValue": 5000,
        "Description": "Number of tasks BlueGreenSample/Web starts with, 0 to 5000; a running service keeps its "
        "own count.",
    }
    assert sorted(parameters) == ["WebDesiredCount", "WebImageUri"]  # no certificate: the sample is HTTP
    [task_definition] = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    [lookup] = [r for r in template["Resources"].values() if r["Type"] == "Custom::BlueGreenEcsLiveState"]
    assert task_definition["Properties"]["ContainerDefinitions"][0]["Image"] == {"Ref": "WebImageUri"}
    # The count a new service starts with; a running one keeps its own (docs/day-two.md).
    assert lookup["Properties"]["Configured"]["DesiredCount"] == {"Ref": "WebDesiredCount"}
    assert cfn_lint_findings(template) == []


def test_another_image_uri_changes_the_task_definition_the_trigger_deploys(
    standalone: tuple[Path, list[Path]],
) -> None:
    # given: the standalone template deployed with its defaults, then with another WebImageUri
    template = _template(standalone)
    defaults = {name: p["Default"] for name, p in template["Parameters"].items()}
    [(task_id, task_definition)] = [
        (k, r) for k, r in template["Resources"].items() if r["Type"] == "AWS::ECS::TaskDefinition"
    ]

    # when: `aws cloudformation deploy --parameter-overrides WebImageUri=...nginx:1.28`
    before = _resolve(task_definition["Properties"], defaults)
    after = _resolve(task_definition["Properties"], {**defaults, "WebImageUri": "public.ecr.aws/nginx/nginx:1.28"})

    # then: only the app container's image differs, so CloudFormation registers a new revision (a new
    # ARN), which the deployment trigger names and deploys
    assert before["ContainerDefinitions"][0]["Image"] == "public.ecr.aws/nginx/nginx:1.27"
    assert after["ContainerDefinitions"][0]["Image"] == "public.ecr.aws/nginx/nginx:1.28"
    assert {**after, "ContainerDefinitions": before["ContainerDefinitions"]} == before
    [trigger] = [r for r in template["Resources"].values() if r["Type"] == "Custom::BlueGreenEcsDeployment"]
    assert trigger["Properties"]["TaskDefinitionArn"] == {"Ref": task_id}


def _listener(certificate_arn: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {"Certificates": [{"CertificateArn": certificate_arn}], "Port": 443},
    }


def _service_template(image: Any, certificate_arn: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A template and stack metadata as aws-cdk-lib writes them for a service at S/Group/Api."""
    template = {
        "Resources": {
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": [{"Name": "app", "Image": image}, {"Name": "side"}]},
            },
            "Live": {
                "Type": "Custom::BlueGreenEcsLiveState",
                "Properties": {"Configured": {"DesiredCount": "3"}},
            },
            "Prod": _listener(certificate_arn),
            "Test": _listener(certificate_arn),
        }
    }
    paths = {"TaskDefinition/Resource": "Task", "LiveState/Resource/Default": "Live"}
    paths |= {"ProdListener/Resource": "Prod", "TestListener/Resource": "Test"}
    metadata = {f"/S/Group/Api/{path}": [{"type": "aws:cdk:logicalId", "data": lid}] for path, lid in paths.items()}
    return template, metadata


PIPELINE_FILES = {
    "taskdef.json": {"containerDefinitions": [{"name": "side"}, {"name": "app", "image": "<IMAGE1_NAME>"}]}
}


def test_parameterize_names_parameters_after_the_service_path_and_a_literal_certificate() -> None:
    # given: a nested service with an HTTPS certificate given by ARN
    arn = "arn:aws:acm:eu-west-1:111122223333:certificate/abc"
    template, metadata = _service_template("repo/app:1", arn)

    # when
    added = parameterize(template, metadata, {"S/Group/Api": PIPELINE_FILES})

    # then
    assert added == ["GroupApiImageUri", "GroupApiDesiredCount", "GroupApiCertificateArn"]
    assert template["Parameters"]["GroupApiCertificateArn"]["Default"] == arn
    listeners = [template["Resources"][k]["Properties"]["Certificates"] for k in ("Prod", "Test")]
    assert listeners == [[{"CertificateArn": {"Ref": "GroupApiCertificateArn"}}]] * 2


def test_parameterize_keeps_a_computed_image_as_the_default_through_a_condition() -> None:
    # given: an image CloudFormation computes (an ECR repository of the stack), a certificate of the stack
    image = {"Fn::Join": ["", [{"Fn::GetAtt": ["Repo", "Arn"]}, ":1"]]}
    template, metadata = _service_template(image, {"Ref": "Cert"})

    # when
    added = parameterize(template, metadata, {"S/Group/Api": PIPELINE_FILES})

    # then: empty keeps the computed image; no certificate parameter
    assert added == ["GroupApiImageUri", "GroupApiDesiredCount"]
    assert template["Parameters"]["GroupApiImageUri"]["Default"] == ""
    assert template["Conditions"] == {
        "GroupApiImageUriGiven": {"Fn::Not": [{"Fn::Equals": [{"Ref": "GroupApiImageUri"}, ""]}]}
    }
    container = template["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]
    assert container["Image"] == {"Fn::If": ["GroupApiImageUriGiven", {"Ref": "GroupApiImageUri"}, image]}


def test_parameterize_refuses_to_overwrite_a_parameter_of_the_app() -> None:
    template, metadata = _service_template("repo/app:1", {"Ref": "Cert"})
    template["Parameters"] = {"GroupApiImageUri": {"Type": "String"}}
    with pytest.raises(ExportError) as error:
        parameterize(template, metadata, {"S/Group/Api": PIPELINE_FILES})
    assert str(error.value) == (
        "The template already has a parameter GroupApiImageUri, the name the standalone export gives "
        "S/Group/Api's parameter: rename yours (CfnParameter's id)."
    )
