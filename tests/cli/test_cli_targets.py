"""status, approve, rollback and watch up to their first AWS call: naming the service, the cloud assembly check,
the region and the credentials (issue #22).

Whom each test trusts: the cloud assembly is what aws-cdk-lib synthesizes here (a real app, written with
``app.synth()``); the region, profile and credential lookups are botocore's own (its config files and environment
variables, pointed at empty files in a temporary folder, the instance metadata turned off), so a message is tested
against the error botocore really raises. No test reaches AWS: each one stops before the first request is sent,
or answers it with botocore's Stubber. That the assembly check accepts exactly the services ``resolve`` finds in
the deployed stack is tested by answering DescribeStackResources with the synthesized template's resources.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import boto3
import pytest
from aws_cdk import App, Environment, Stack, Stage
from aws_cdk import aws_ecs as ecs
from botocore.stub import Stubber

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine
from blue_green_ecs.cli import deployments
from blue_green_ecs.cli.assembly import Service, read
from blue_green_ecs.cli.errors import CliError
from blue_green_ecs.cli.main import main

IMAGE = "public.ecr.aws/nginx/nginx:1.27"
NO_CREDENTIALS = (
    "botocore found none in the environment, the shared credentials and config files or the instance metadata. "
    "Give them with --profile NAME (or AWS_PROFILE=NAME) naming a profile of ~/.aws/config (IAM Identity Center: "
    "`aws configure sso` once, then `aws sso login --profile NAME`), or with the environment variables "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)."
)


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cloud assembly as `cdk synth` writes it: stack Shop (a CodeDeploy service Web, an ECS-native service Api)
    and, in stage Prod with region eu-west-1, stack Prod-Shop (construct path Prod/Shop) with a service Web."""
    out = tmp_path_factory.mktemp("assembly") / "cdk.out"
    image = ecs.ContainerImage.from_registry(IMAGE)
    app = App(outdir=str(out))
    shop = Stack(app, "Shop")
    cluster = ecs.Cluster(shop, "Cluster")
    BlueGreenFargateService(shop, "Web", image=image, cluster=cluster)
    BlueGreenFargateService(
        shop, "Api", image=image, cluster=cluster, engine=DeploymentEngine.ECS_NATIVE, container_port=8080
    )
    prod = Stage(app, "Prod", env=Environment(region="eu-west-1"))
    BlueGreenFargateService(Stack(prod, "Shop"), "Web", image=image)
    app.synth()
    return out


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No region, profile or credentials anywhere botocore looks; the current folder has no cdk.out.

    Returns the (empty) AWS config file, for a test to write profiles to.
    """
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return config


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


# Naming the service: checked before a region or credentials are looked for.


def test_status_without_a_service_names_the_options_not_a_region(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status"]) == (
        "blue-green-ecs: error: Name the service: --stack STACK --path CONSTRUCT_PATH, or --cluster CLUSTER --service "
        "SERVICE.\n"
    )


def test_status_with_a_stack_and_no_path_says_the_path_is_missing(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status", "--stack", "Shop"]) == (
        "blue-green-ecs: error: Name the service: --stack 'Shop' needs --path CONSTRUCT_PATH (e.g. --path Shop/Web), or "
        "use --cluster CLUSTER --service SERVICE.\n"
    )


# The region.


def test_status_without_a_region_says_which_region_is_missing_and_how_to_give_it(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Web"]) == (
        "blue-green-ecs: error: No AWS region to look for stack 'Shop' in: give --region REGION, or set AWS_REGION "
        "(or AWS_DEFAULT_REGION), or a region in the default profile (`aws configure set region REGION`).\n"
    )


def test_without_a_region_an_ecs_native_service_is_named_by_its_cluster(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_aws.write_text("[profile ops]\noutput = json\n")
    assert _error(capsys, ["rollback", "--cluster", "shop", "--service", "web", "--profile", "ops"]) == (
        "blue-green-ecs: error: No AWS region to look for cluster 'shop' in: give --region REGION, or set AWS_REGION "
        "(or AWS_DEFAULT_REGION), or a region in profile 'ops' (`aws configure set region REGION --profile ops`).\n"
    )


@pytest.mark.parametrize(
    ("environment", "profile_region", "options", "region"),
    [
        ({"AWS_REGION": "eu-west-1"}, None, [], "eu-west-1, from AWS_REGION"),
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, None, [], "eu-west-2, from AWS_DEFAULT_REGION"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, None, [], "eu-west-1, from AWS_REGION"),
        ({}, "eu-central-1", [], "eu-central-1, from the default profile"),
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, "eu-central-1", [], "eu-west-2, from AWS_DEFAULT_REGION"),
        ({"AWS_REGION": "eu-west-1"}, None, ["--region", "ap-south-1"], "ap-south-1, from --region"),
    ],
)
def test_the_region_comes_from_region_then_aws_region_then_aws_default_region_then_the_profile(
    no_aws: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    profile_region: str | None,
    options: list[str],
    region: str,
) -> None:
    # given: no credentials, so the command stops at its first request and says where it was going
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if profile_region:
        no_aws.write_text(f"[default]\nregion = {profile_region}\n")
    # when / then
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Web", *options]) == (
        f"blue-green-ecs: error: No AWS credentials for the default profile (region {region}): {NO_CREDENTIALS}\n"
    )


# The credentials.


def test_an_expired_identity_center_sign_in_says_to_sign_in_again(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_aws.write_text(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\nregion = eu-west-1\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
    )
    assert _error(capsys, ["watch", "--stack", "Shop", "--path", "Web", "--profile", "dev"]) == (
        "blue-green-ecs: error: The IAM Identity Center (SSO) sign-in of profile 'dev' (--profile) is missing or has "
        "expired (Token for corp does not exist): run `aws sso login --profile dev`, then this command again.\n"
    )


def test_an_unknown_profile_lists_the_profiles_there_are(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_aws.write_text("[profile dev]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_PROFILE", "staging")
    assert _error(capsys, ["approve", "--stack", "Shop", "--path", "Web"]) == (
        "blue-green-ecs: error: Invalid profile 'staging' (AWS_PROFILE): no such profile in the AWS config and "
        "credentials files; the profiles there are 'dev', 'prod'. Use --profile NAME with one of them, or add it "
        "(`aws configure --profile staging`, or `aws configure sso --profile staging`).\n"
    )


def test_half_of_an_access_key_says_which_half_is_missing(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Web", "--region", "eu-west-1"]) == (
        "blue-green-ecs: error: Incomplete AWS credentials in env: AWS_SECRET_ACCESS_KEY is missing. Set it along "
        "with AWS_ACCESS_KEY_ID, or unset both and use --profile NAME.\n"
    )


def test_a_region_that_is_no_region_code_says_where_it_came_from(
    no_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status", "--cluster", "shop", "--service", "web", "--region", "eu west 1"]) == (
        "blue-green-ecs: error: Invalid region 'eu west 1' (from --region): Provided region_name 'eu west 1' doesn't "
        "match a supported format. Use a region code, such as eu-west-1.\n"
    )


@pytest.mark.parametrize(
    ("code", "message", "shown"),
    [
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "The AWS credentials of the default profile have expired (ExpiredToken: The security token included in "
            "the request is expired): get new ones (IAM Identity Center: `aws sso login`; temporary keys: a new "
            "AWS_SESSION_TOKEN), then run this command again.",
        ),
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "AWS rejected the credentials of the default profile in region eu-west-1 (InvalidClientTokenId: The "
            "security token included in the request is invalid.). Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "or the profile's keys, or use another (--profile NAME).",
        ),
        (
            "ValidationError",
            "Stack with id Shop does not exist",
            "Invalid --stack 'Shop': CloudFormation has no such stack in region eu-west-1 (Stack with id Shop does not "
            "exist). Check --stack and the region (--region, AWS_REGION), or deploy the stack first.",
        ),
        (
            "AccessDenied",
            "User: arn:aws:iam::111111111111:user/dev is not authorized to perform: cloudformation:DescribeStackResources",
            "An error occurred (AccessDenied) when calling the DescribeStackResources operation: User: "
            "arn:aws:iam::111111111111:user/dev is not authorized to perform: cloudformation:DescribeStackResources",
        ),
    ],
)
def test_what_aws_answers_about_credentials_or_the_stack_is_explained(
    code: str, message: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: CloudFormation's answer (botocore's Stubber, the real API model)
    clients = {
        name: boto3.client(name, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
        for name in ("cloudformation", "codedeploy", "ecs", "cloudwatch")
    }
    with Stubber(clients["cloudformation"]) as stub:
        stub.add_client_error(
            "describe_stack_resources",
            service_error_code=code,
            service_message=message,
            http_status_code=400 if code != "AccessDenied" else 403,
            expected_params={"StackName": "Shop"},
        )
        args = argparse.Namespace(
            command="status", stack="Shop", path="Web", cluster="", service="", assembly=None, no_assembly=True
        )
        # when
        assert deployments.run(args, clients) == 1
    # then
    assert capsys.readouterr().err == f"blue-green-ecs: error: {shown}\n"


# The cloud assembly: names are checked there first.


@pytest.fixture
def in_the_app(no_aws: Path, assembly: Path) -> Path:
    """The current folder is the app's: its cdk.out is the assembly."""
    shutil.copytree(assembly, Path.cwd() / "cdk.out")
    return Path.cwd() / "cdk.out"


def test_an_unknown_stack_is_refused_from_cdk_out_listing_the_stacks(
    in_the_app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: a region and no credentials (what a wrong name met before: "Unable to locate credentials")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # when / then: the name is refused first
    assert _error(capsys, ["status", "--stack", "Shpo", "--path", "Web"]) == (
        "blue-green-ecs: error: Invalid --stack 'Shpo': the cloud assembly cdk.out has no such stack; its stacks are "
        "'Shop', 'Prod-Shop'. Use one of them, pass --assembly DIR of the app that deploys it, or --no-assembly to "
        "skip this check.\n"
    )


def test_an_unknown_construct_path_is_refused_listing_the_services_of_the_stack(
    in_the_app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert _error(capsys, ["rollback", "--stack", "Shop", "--path", "Shop/Wbe"]) == (
        "blue-green-ecs: error: Invalid --path 'Shop/Wbe': stack 'Shop' in the cloud assembly cdk.out has no "
        "blue/green service there; its services are 'Web' (CodeDeploy), 'Api' (ECS-native). Use --path with one of "
        "them.\n"
    )


def test_the_construct_path_of_a_stack_in_a_stage_points_at_its_stack_name(
    in_the_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status", "--stack", "Prod/Shop", "--path", "Web"]) == (
        "blue-green-ecs: error: Invalid --stack 'Prod/Shop': that is the construct path of stack 'Prod-Shop'; "
        "CloudFormation knows it as --stack Prod-Shop.\n"
    )


def test_a_known_service_goes_on_to_aws_in_the_region_of_its_stack(
    in_the_app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the shell's region is another one; the stack's environment (Stage env) says where it is deployed
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert _error(capsys, ["status", "--stack", "Prod-Shop", "--path", "Prod-Shop/Web"]) == (
        "blue-green-ecs: error: No AWS credentials for the default profile (region eu-west-1, from stack "
        f"'Prod-Shop' in the cloud assembly cdk.out): {NO_CREDENTIALS}\n"
    )


def test_another_assembly_is_read_with_assembly_and_none_with_no_assembly(
    no_aws: Path, assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Api", "--assembly", str(assembly)]).startswith(
        "blue-green-ecs: error: No AWS region to look for stack 'Shop' in"
    )
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Wbe", "--assembly", str(assembly)]).startswith(
        f"blue-green-ecs: error: Invalid --path 'Wbe': stack 'Shop' in the cloud assembly {assembly} has no"
    )
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Wbe", "--no-assembly"]).startswith(
        "blue-green-ecs: error: No AWS region to look for stack 'Shop' in"
    )


def test_an_assembly_folder_without_a_manifest_is_refused(no_aws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _error(capsys, ["status", "--stack", "Shop", "--path", "Web", "--assembly", "build"]) == (
        "blue-green-ecs: error: Invalid --assembly 'build': it holds no manifest.json; pass the folder `cdk synth` "
        "writes (cdk.out, or cdk.json's output), or --no-assembly.\n"
    )


def test_the_services_the_assembly_names_are_those_resolve_finds_in_the_deployed_stack(assembly: Path) -> None:
    # given: the stack as DescribeStackResources lists it once deployed (its template's resources; physical ids
    # made up, an ECS service's is its ARN), answered through botocore's Stubber
    [shop] = [stack for stack in read(assembly) if stack.name == "Shop"]
    resources = json.loads((assembly / "Shop.template.json").read_text())["Resources"]
    listed = [
        {
            "LogicalResourceId": logical_id,
            "ResourceType": resource["Type"],
            "PhysicalResourceId": f"arn:aws:ecs:eu-west-1:111111111111:service/shop/{logical_id}"
            if resource["Type"] == "AWS::ECS::Service"
            else logical_id,
            "Timestamp": "2025-01-01T00:00:00Z",
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical_id, resource in resources.items()
    ]
    cloudformation = boto3.client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    found: dict[str, tuple[str, bool] | None] = {}
    with Stubber(cloudformation) as stub:
        for service in [*shop.services, Service("Cluster", "-")]:
            stub.add_response("describe_stack_resources", {"StackResources": listed}, {"StackName": "Shop"})
            try:
                target = deployments.resolve(
                    {"cloudformation": cloudformation}, stack="Shop", path=f"Shop/{service.path}"
                )
            except CliError:
                found[service.path] = None
            else:
                found[service.path] = (target.engine, shop.has_service(service.path))
    # then: each service the assembly lists resolves, with its engine; what it does not list does not
    assert shop.services == (Service("Web", "CodeDeploy"), Service("Api", "ECS-native"))
    assert found == {"Web": ("codedeploy", True), "Api": ("ecs", True), "Cluster": None}
    assert not shop.has_service("Cluster")
