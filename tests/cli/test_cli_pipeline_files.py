"""`blue-green-ecs export` pipeline files end to end, and `fill`: every deploy-time value as a placeholder,
and every way `fill` can be given the wrong input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from blue_green_ecs.cli.errors import ExportError
from blue_green_ecs.cli.export import export
from blue_green_ecs.cli.main import main
from blue_green_ecs.cli.pipeline_files import fill, placeholders, read_stack_outputs

SECRETS_APP = """
from aws_cdk import App, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from blue_green_ecs import BlueGreenFargateService

app = App()
stack = Stack(app, "Secrets")
secret = secretsmanager.Secret(stack, "Db")
parameter = ssm.StringParameter.from_string_parameter_name(stack, "Flag", "/app/flag")
web = BlueGreenFargateService(
    stack,
    "Web",
    image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx:1.27"),
    secrets={
        "DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password"),
        "FLAG": ecs.Secret.from_ssm_parameter(parameter),
    },
)
# Added after the service was constructed: the exported taskdef.json must have it too.
web.task_definition.add_container(
    "Sidecar", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/sidecar:1"), memory_limit_mib=64
)
app.synth()
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("app")
    (app / "app.py").write_text(SECRETS_APP)
    out = app / "out"
    export(
        app=f"{sys.executable} app.py",
        directory=app,
        out=out,
        output_format="json",
        standalone=False,
        progress=lambda _: None,
    )
    return out


def _taskdef(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "Secrets/Web/taskdef.json").read_text())
    return document


def test_export_turns_secret_arns_into_placeholders_and_outputs(exported: Path) -> None:
    # given: secrets from Secrets Manager and SSM, whose ARNs are Fn::Join expressions in the template
    # when: exported
    [web, sidecar] = _taskdef(exported)["containerDefinitions"]

    # then: each is one placeholder whose stack output holds the whole expression
    template = json.loads((exported / "Secrets.template.json").read_text())
    outputs = template["Outputs"]
    values = {}
    for secret in web["secrets"]:
        name = secret["valueFrom"].removeprefix("${").removesuffix("}")
        assert secret["valueFrom"] == f"${{{name}}}"
        values[secret["name"]] = outputs[f"BlueGreenEcs{name}"]["Value"]
    assert values["DB_PASSWORD"] == {"Fn::Join": ["", [{"Ref": "Db5D02A0A9"}, ":password::"]]}
    assert list(values["FLAG"]) == ["Fn::Join"]
    assert "Fn::" not in json.dumps(_taskdef(exported))
    [db_output] = [k for k, v in outputs.items() if v["Value"] == values["DB_PASSWORD"]]
    assert db_output.startswith("BlueGreenEcsJoinDb5D02A0A9")
    assert outputs[db_output]["Description"] == (
        "Fn::Join (for the pipeline files: taskdef.json.containerDefinitions[0].secrets[0].valueFrom)"
    )
    # and the container added after construction is in the file, with its own image
    assert (sidecar["name"], sidecar["image"], sidecar["memory"]) == ("Sidecar", "public.ecr.aws/x/sidecar:1", 64)
    assert web["image"] == "<IMAGE1_NAME>"


def test_fill_of_the_export_leaves_a_valid_task_definition(exported: Path, tmp_path: Path) -> None:
    # given: the deployed stack's outputs, one value per exported output
    template = json.loads((exported / "Secrets.template.json").read_text())
    described = {
        "Stacks": [{"Outputs": [{"OutputKey": key, "OutputValue": f"value-of-{key}"} for key in template["Outputs"]]}]
    }
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(described))
    folder = tmp_path / "files"
    (folder / "Web").mkdir(parents=True)
    for name in ("taskdef.json", "appspec.yaml"):
        (folder / "Web" / name).write_text((exported / "Secrets/Web" / name).read_text())

    # when
    assert main(["fill", "--outputs", str(outputs), str(folder)]) == 0

    # then: no placeholder and no CloudFormation value is left
    taskdef = json.loads((folder / "Web/taskdef.json").read_text())
    assert "${" not in json.dumps(taskdef)
    assert "Fn::" not in json.dumps(taskdef)
    assert taskdef["containerDefinitions"][0]["secrets"][0]["valueFrom"].startswith("value-of-BlueGreenEcsJoinDb")


def test_fill_fails_on_a_cloudformation_value_left_in_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: a taskdef.json written by an older export, with the secret's Fn::Join in it
    service = tmp_path / "Stack" / "Web"
    service.mkdir(parents=True)
    taskdef = {"containerDefinitions": [{"secrets": [{"name": "DB", "valueFrom": {"Fn::Join": ["", ["a", "b"]]}}]}]}
    (service / "taskdef.json").write_text(json.dumps(taskdef))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"Stacks": [{"Outputs": []}]}))

    # when / then
    assert main(["fill", "--outputs", str(outputs), str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"blue-green-ecs: error: {service / 'taskdef.json'}: containerDefinitions[0].secrets[0].valueFrom is still a "
        "CloudFormation value (Fn::Join), not a valid task definition. Export again: `blue-green-ecs export` turns "
        "every such value into a ${Name} placeholder and a stack output, which fill puts in.\n"
    )
    assert json.loads((service / "taskdef.json").read_text()) == taskdef


def test_fill_writes_no_file_when_one_cannot_be_filled(tmp_path: Path) -> None:
    # given: one file that can be filled and one that names an output the stack does not have
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    (tmp_path / "A/taskdef.json").write_text('{"taskRoleArn": "${Role}"}')
    (tmp_path / "B/taskdef.json").write_text('{"taskRoleArn": "${Missing}"}')

    # when / then
    with pytest.raises(ExportError, match=r"B/taskdef.json: no stack output for BlueGreenEcsMissing$"):
        fill(tmp_path, {"BlueGreenEcsRole": "arn:aws:iam::1:role/r"})
    assert (tmp_path / "A/taskdef.json").read_text() == '{"taskRoleArn": "${Role}"}'


def test_fill_puts_quotes_in_json_as_escapes(tmp_path: Path) -> None:
    (tmp_path / "taskdef.json").write_text('{"family": "${Name}"}')
    fill(tmp_path, {"BlueGreenEcsName": 'a"b\\c'})
    assert json.loads((tmp_path / "taskdef.json").read_text()) == {"family": 'a"b\\c'}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "{d}/missing is not a folder: pass the folder `blue-green-ecs export --out` wrote."),
        (
            lambda d: d,
            "{d} holds no appspec.yaml or taskdef.json: pass the folder `blue-green-ecs export --out` wrote.",
        ),
    ],
)
def test_fill_needs_the_folder_export_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"Stacks": [{"Outputs": []}]}')
    folder = tmp_path / "files"
    folder.mkdir()
    assert main(["fill", "--outputs", str(outputs), str(make(folder))]) == 1
    assert capsys.readouterr().err == f"blue-green-ecs: error: {message.format(d=folder)}\n"


EXPECTED = (
    "expected the JSON that `aws cloudformation describe-stacks --stack-name <Stack> --output json` prints "
    '({"Stacks": [{"Outputs": [{"OutputKey": ..., "OutputValue": ...}]}]})'
)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("StackName: x\n", "is not JSON (Expecting value: line 1 column 1 (char 0)): " + EXPECTED + "."),
        ('{"Stacks": []}', "describes 0 stacks: " + EXPECTED + ", for one stack."),
        ('{"Stacks": [{"Outputs": {"a": 1}}]}', "has no stack outputs list: " + EXPECTED + "."),
        ("[1, 2]", "has no stack outputs list: " + EXPECTED + "."),
    ],
)
def test_outputs_that_are_not_describe_stacks_json_say_what_was_expected(
    tmp_path: Path, content: str, problem: str
) -> None:
    outputs = tmp_path / "outputs.yaml"
    outputs.write_text(content)
    with pytest.raises(ExportError) as error:
        read_stack_outputs(outputs)
    assert str(error.value) == f"--outputs {outputs} {problem}"


def test_list_valued_expressions_cannot_be_outputs() -> None:
    with pytest.raises(ExportError) as error:
        placeholders({"command": {"Fn::Split": [",", "a,b"]}}, {}, "taskdef.json")
    assert str(error.value) == (
        "taskdef.json.command is a list CloudFormation computes at deploy time (Fn::Split); a stack output holds "
        "one string, so the pipeline files cannot name it. Give that value as a plain list."
    )


def test_the_same_expression_in_two_places_is_one_output() -> None:
    join = {"Fn::Join": ["", [{"Ref": "AWS::Partition"}, ":x"]]}
    outputs: dict[str, Any] = {}
    replaced = placeholders([join, {"a": join}], outputs)
    [name] = outputs
    assert replaced == [f"${{{name}}}", {"a": f"${{{name}}}"}]
    assert name.startswith("Join")
    assert len(name) == len("Join") + 8
    assert outputs[name]["Value"] == join


def test_a_failed_synthesis_keeps_its_validation_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given: an app whose validation fails, writing its report into the (temporary) cloud assembly
    # and naming it, as aws-cdk-lib does
    app = tmp_path / "app.py"
    app.write_text(
        "import os, pathlib, sys\n"
        "report = pathlib.Path(os.environ['CDK_OUTDIR']) / 'validation-report.json'\n"
        "report.write_text('{\"pluginReports\": []}')\n"
        "print(f'Validation failed. A copy of this report can be found in: {report}', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    out = tmp_path / "out"

    # when
    assert main(["export", "--dir", str(tmp_path), "--app", f"{sys.executable} app.py", "--out", str(out)]) == 1

    # then: the report is next to the export, and the message points there
    err = capsys.readouterr().err
    assert err.endswith(
        f"exited with 1.\nValidation failed. A copy of this report can be found in: {out / 'validation-report.json'}\n"
    ), err
    assert json.loads((out / "validation-report.json").read_text()) == {"pluginReports": []}
