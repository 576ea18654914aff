"""The scenario both integration apps run in an AWS account: six integ-runner test cases over one stack.

integ-runner (npm ``@aws-cdk/integ-runner``, pinned in package.json) runs the test cases of an app in the order of
its ``integ.json``. For each it deploys the case's stacks with the case's context
(``cdkCommandOptions.deploy.args.context``), then the case's assertion stack, whose custom resources call AWS
(integ-tests-alpha's ``aws_api_call`` and ``http_api_call``) and report each ``expect`` as a stack output; then it
destroys every stack of the app (``all: true``) in a ``finally``, unless the case turns that off. The six cases
of this scenario share the stack ``BlueGreenInteg<Engine>``, so the first four leave it standing for the next:

=====  ================  ==========================================================  =========================
case   deploys           asserts                                                     afterwards
=====  ================  ==========================================================  =========================
1      nginx 1.27        production answers 200 from nginx/1.27 through the load     kept
                         balancer; listener (CODE_DEPLOY) / rule (ECS_NATIVE) on
                         blue, test listener port 8080; one task set / deployment
                         of the task definition, its tasks in blue
2      nginx 1.28        the same with nginx/1.28, production on green, and only     kept
                         the 1.28 task set / deployment left (old tasks gone)
3      an image failing  ``expectError``: the deploy fails, the stack rolls back,    kept
       its health check  with CodeDeploy's reason (CODE_DEPLOY); should the deploy
                         succeed, assertions that production did not move fail it
4      nginx 1.28 again  what the rollback left: still 1.28 on green, only its       kept
       (no change)       task set / deployment (the failed one is gone)
5      health check      a stack update after the deployments keeps production on    every stack destroyed
       path and test     green with 1.28; the test listener moved to 9080
       listener port
6      nginx 1.27        after the destroy a new stack starts as the first did       every stack destroyed
                         (retained log groups and buckets do not collide)
=====  ================  ==========================================================  =========================

Why cases and context instead of integ-runner's update workflow (which deploys the committed snapshot, then the
app): a deployment needs the same stack updated with a new image, and a case's context is the one input
integ-runner varies between deployments of an app. The update workflow would deploy the committed snapshot
(nginx 1.27) again before each case, and it needs the snapshot's asset directories (integ-tests-alpha's 6 MB
handler bundle among them), which are not committed; every case sets ``stack_update_workflow=False``.

Only ``make integ`` deploys; offline, ``tests/test_integ_snapshots.py`` checks that each app still synthesizes its
committed snapshot (docs/integration-tests.md says what is verified where).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import cloud_assembly_schema as cas
from aws_cdk import integ_tests_alpha as integ
from constructs import Construct

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, TrafficShift

ROOT = Path(__file__).resolve().parents[2]
IMAGE_REPOSITORY = "public.ecr.aws/nginx/nginx"
OLD_IMAGE = f"{IMAGE_REPOSITORY}:1.27"
NEW_IMAGE = f"{IMAGE_REPOSITORY}:1.28"
# NGINX's own image that runs as a non-root user and therefore listens on 8080: the target group's health
# check on the container port, 80, is refused, so the new tasks never become healthy.
BROKEN_IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28"
# nginx names its version in the Server header (server_tokens is on by default), and the ALB passes the
# target's header through (its own responses say awselb/2.0): the header tells which tasks answered.
OLD_SERVER = r"^nginx/1\.27\."
NEW_SERVER = r"^nginx/1\.28\."
WELCOME = "Welcome to nginx!"
DESIRED_COUNT = 2
PROD_PORT = 80
TEST_PORT = 8080
MOVED_TEST_PORT = 9080
# How long an assertion retries before it reports its last mismatch: the ALB's new DNS name, an old task set
# still stopping.
ASSERTION_TIMEOUT = Duration.minutes(5)
ASSERTION_INTERVAL = Duration.seconds(15)
# The newest cloud assembly schema integ-runner 2.197.10 reads, and the newest whose additions since are known
# (label_for_integ_runner).
INTEG_RUNNER_SCHEMA = "53.0.0"
LATEST_KNOWN_SCHEMA = 55
# The AWS SDK for JavaScript v3 package names: integ-tests-alpha derives the IAM action of each call from the
# service name, and from "ElasticLoadBalancingV2" it derives "elasticloadbalancingv2:", a prefix IAM does not know.
ELBV2 = "@aws-sdk/client-elastic-load-balancing-v2"
ECS = "@aws-sdk/client-ecs"
STACK_NAMES = {
    DeploymentEngine.CODE_DEPLOY: "BlueGreenIntegCodeDeploy",
    DeploymentEngine.ECS_NATIVE: "BlueGreenIntegEcsNative",
}
# The deploy error of case 3, a JavaScript regular expression integ-runner matches against the CLI's message
# ("The stack named X failed to deploy: UPDATE_ROLLBACK_COMPLETE (...): <each failed resource's reason>").
# CODE_DEPLOY: the deployment trigger's reason (handlers/messages.py failure_message). ECS_NATIVE: ECS documents
# no message for an alarm rollback through CloudFormation, so only the rollback itself is required; case 4
# asserts what the rollback left.
BROKEN_IMAGE_ERRORS = {
    DeploymentEngine.CODE_DEPLOY: r"UPDATE_ROLLBACK_COMPLETE[\s\S]*CodeDeploy deployment d-[A-Z0-9]+ (was stopped|failed)",
    DeploymentEngine.ECS_NATIVE: r"failed to deploy: UPDATE_ROLLBACK_COMPLETE",
}


@dataclass(frozen=True)
class Step:
    """One test case: what the service stack is deployed with, and what must hold afterwards.

    Attributes:
        name: the test case's name (after its number).
        image: the container image.
        health_check_path: the target groups' health check path; ``None``: the library's default.
        test_listener_port: the test listener's port; ``None``: the library's default (8080).
        production: the target group production forwards to afterwards, ``"blue"`` or ``"green"``.
        server: the Server header production answers with afterwards (a regular expression).
        fails: the deploy must fail and roll back (case 3). integ-runner deploys a case's assertion stack only
            after its deploy succeeded, so the assertions of such a case, that nothing changed, run only when the
            deploy did not fail, and then fail: the deployment moved production.
        destroy: integ-runner destroys every stack of the app after the case.
    """

    name: str
    image: str = OLD_IMAGE
    health_check_path: str | None = None
    test_listener_port: int | None = None
    production: Literal["blue", "green"] = "blue"
    server: str = OLD_SERVER
    fails: bool = False
    destroy: bool = False

    def context(self) -> dict[str, str]:
        """The context integ-runner deploys the case with (context values are strings)."""
        context = {"image": self.image}
        if self.health_check_path is not None:
            context["health_check_path"] = self.health_check_path
        if self.test_listener_port is not None:
            context["test_listener_port"] = str(self.test_listener_port)
        return context


STEPS: tuple[Step, ...] = (
    Step("Create"),
    Step("NewImage", image=NEW_IMAGE, production="green", server=NEW_SERVER),
    Step("BrokenImage", image=BROKEN_IMAGE, production="green", server=NEW_SERVER, fails=True),
    Step("AfterRollback", image=NEW_IMAGE, production="green", server=NEW_SERVER),
    Step(
        "StackUpdate",
        image=NEW_IMAGE,
        health_check_path="/index.html",
        test_listener_port=MOVED_TEST_PORT,
        production="green",
        server=NEW_SERVER,
        destroy=True,
    ),
    Step("Recreate", destroy=True),
)


class ServiceUnderTest(Stack):
    """The construct as a platform team would run it, in a VPC without NAT gateways (tasks in public subnets with
    public IPs pull from ECR Public), shifting all at once without a termination wait to keep the run short."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        engine: DeploymentEngine,
        image: str,
        health_check_path: str | None,
        test_listener_port: int | None,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ],
        )
        self.web = BlueGreenFargateService(
            self,
            "Web",
            image=ecs.ContainerImage.from_registry(image),
            vpc=vpc,
            engine=engine,
            desired_count=DESIRED_COUNT,
            traffic_shift=TrafficShift.all_at_once(),
            termination_wait=Duration.minutes(0),
            health_check_path=health_check_path,
            test_listener_port=test_listener_port,
        )


@dataclass
class Suite:
    """The app's test cases in order, and the ``integ.json`` integ-runner reads from the cloud assembly.

    integ-tests-alpha's ``IntegTest`` writes ``integ.json`` for one default case (plus one case per
    ``IntegTestCaseStack``, each a stack of its own); cases that deploy the same stack with different context are
    ``IntegTestCase`` constructs, and this writes their manifest as ``IntegTest`` does for its own.
    """

    cases: list[integ.IntegTestCase] = field(default_factory=list)

    def manifest(self) -> cas.IntegManifest:
        test_cases: dict[str, cas.TestCase] = {}
        for case in self.cases:
            test_cases.update(case.manifest.test_cases)
        return cas.IntegManifest(version=cas.Manifest.version(), enable_lookups=False, test_cases=test_cases)

    def write_manifest(self, assembly_directory: str) -> None:
        cas.Manifest.save_integ_manifest(self.manifest(), str(Path(assembly_directory) / "integ.json"))


def feature_flags() -> dict[str, Any]:
    """cdk.json's feature flags, which the apps pin over integ-runner's context.

    integ-runner passes its own recommended flags as context; the apps pin the project's instead (AppProps'
    ``post_cli_context`` wins over the CLI's), so the integration stacks are those the sample and the tests build,
    and an integ-runner upgrade does not change them. One of them matters here: with
    ``@aws-cdk/core:defaultCrossStackReferences`` "weak" the assertion stacks read the service stack's values
    (``Fn::GetStackOutput``) without exports, which CloudFormation would forbid to change while an earlier case's
    assertion stack imports them (the task definition's ARN changes with every image).
    """
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {key: value for key, value in context.items() if key.startswith("@")}


def _optional_int(app: App, key: str) -> int | None:
    value = app.node.try_get_context(key)
    return None if value is None else int(value)


def service_under_test(app: App, engine: DeploymentEngine) -> ServiceUnderTest:
    """The service stack, as the context of the case integ-runner deploys says (``Step.context``)."""
    return ServiceUnderTest(
        app,
        STACK_NAMES[engine],
        engine=engine,
        image=str(app.node.try_get_context("image") or OLD_IMAGE),
        health_check_path=app.node.try_get_context("health_check_path"),
        test_listener_port=_optional_int(app, "test_listener_port"),
    )


def build(app: App, engine: DeploymentEngine) -> Suite:
    """The service stack and the six test cases."""
    stack_name = STACK_NAMES[engine]
    stack = service_under_test(app, engine)
    suite = Suite()
    for number, step in enumerate(STEPS, start=1):
        assertion_stack = Stack(app, f"{stack_name}-{number}-{step.name}")
        case = integ.IntegTestCase(
            app,
            f"{number}-{step.name}",
            stacks=[stack],
            assertion_stack=assertion_stack,
            stack_update_workflow=False,
            cdk_command_options=cas.CdkCommands(
                deploy=cas.DeployCommand(
                    args=cas.DeployOptions(context=step.context()),
                    expect_error=step.fails or None,
                    expected_message=BROKEN_IMAGE_ERRORS[engine] if step.fails else None,
                ),
                destroy=cas.DestroyCommand(enabled=step.destroy),
            ),
        )
        _assert_step(case.assertions, stack.web, step)
        suite.cases.append(case)
    return suite


def _assert_step(assertions: integ.IDeployAssert, web: BlueGreenFargateService, step: Step) -> None:
    """Production answers with the step's version, and the engine's routing and the service are as expected."""
    production, other = (
        (web.blue_target_group, web.green_target_group)
        if step.production == "blue"
        else (web.green_target_group, web.blue_target_group)
    )
    _answers(assertions, web, step)
    ENGINE_CHECKS[web.engine](
        assertions, web, step.test_listener_port or TEST_PORT, production.target_group_arn, other.target_group_arn
    )


def _answers(assertions: integ.IDeployAssert, web: BlueGreenFargateService, step: Step) -> None:
    """Production answers through the load balancer, from the tasks of the expected version."""
    assertions.http_api_call(f"http://{web.load_balancer.load_balancer_dns_name}/").expect(
        integ.ExpectedResult.object_like(
            {
                "status": 200,
                "headers": integ.Match.object_like(
                    {"server": integ.Match.array_with([integ.Match.string_like_regexp(step.server)])}
                ),
                "body": integ.Match.string_like_regexp(WELCOME),
            }
        )
    ).wait_for_assertions(total_timeout=ASSERTION_TIMEOUT, interval=ASSERTION_INTERVAL)


def _listener(assertions: integ.IDeployAssert, listener_arn: str, port: int, forwards_to: str | None) -> None:
    """The listener's port and, unless ``None``, the target group its default action forwards to."""
    listener: dict[str, Any] = {"Port": port}
    if forwards_to is not None:
        listener["DefaultActions"] = [integ.Match.object_like({"Type": "forward", "TargetGroupArn": forwards_to})]
    assertions.aws_api_call(ELBV2, "describeListeners", {"ListenerArns": [listener_arn]}).expect(
        integ.ExpectedResult.object_like({"Listeners": [integ.Match.object_like(listener)]})
    )


def _rule(assertions: integ.IDeployAssert, rule_arn: str, forwards_to: str) -> None:
    """The listener rule forwards all its traffic (weight 100) to the target group."""
    forward = {
        "Type": "forward",
        "ForwardConfig": integ.Match.object_like(
            {
                "TargetGroups": integ.Match.array_with(
                    [integ.Match.object_like({"TargetGroupArn": forwards_to, "Weight": 100})]
                )
            }
        ),
    }
    assertions.aws_api_call(ELBV2, "describeRules", {"RuleArns": [rule_arn]}).expect(
        integ.ExpectedResult.object_like(
            {"Rules": [integ.Match.object_like({"Actions": [integ.Match.object_like(forward)]})]}
        )
    )


def _describe_service(
    assertions: integ.IDeployAssert, web: BlueGreenFargateService, expected: Mapping[str, Any]
) -> None:
    """ECS's view of the service, retried while a replaced task set or deployment still drains."""
    assertions.aws_api_call(
        ECS,
        "describeServices",
        {"cluster": web.cluster.cluster_name, "services": [web.service.service_name]},
    ).expect(
        integ.ExpectedResult.object_like(
            {
                "services": [
                    integ.Match.object_like(
                        {
                            "status": "ACTIVE",
                            "desiredCount": DESIRED_COUNT,
                            "runningCount": DESIRED_COUNT,
                            "pendingCount": 0,
                            **expected,
                        }
                    )
                ]
            }
        )
    ).wait_for_assertions(total_timeout=ASSERTION_TIMEOUT, interval=ASSERTION_INTERVAL)


def _code_deploy_checks(
    assertions: integ.IDeployAssert, web: BlueGreenFargateService, test_port: int, production: str, other: str
) -> None:
    """CODE_DEPLOY: the production listener forwards to ``production``, the test listener to the other target group
    (CodeDeploy swaps their default actions); one task set, the primary, runs the stack's task definition with all
    tasks, registered in ``production``: a second one (the old version's, a failed deployment's) is gone."""
    _listener(assertions, web.prod_listener.listener_arn, PROD_PORT, production)
    _listener(assertions, web.test_listener.listener_arn, test_port, other)
    task_set = {
        "status": "PRIMARY",
        "taskDefinition": web.task_definition.task_definition_arn,
        "runningCount": DESIRED_COUNT,
        "loadBalancers": [integ.Match.object_like({"targetGroupArn": production})],
    }
    _describe_service(
        assertions,
        web,
        {"deploymentController": {"type": "CODE_DEPLOY"}, "taskSets": [integ.Match.object_like(task_set)]},
    )


def _ecs_native_checks(
    assertions: integ.IDeployAssert, web: BlueGreenFargateService, test_port: int, production: str, other: str
) -> None:
    """ECS_NATIVE: both listener rules forward to ``production`` (ECS moves their weights during a deployment, the
    listeners' default actions stay a fixed response); one deployment, completed, runs the stack's task definition
    with all tasks; the service's target group is ``production`` and its alternate the other (ECS swaps them with
    each deployment)."""
    _listener(assertions, web.prod_listener.listener_arn, PROD_PORT, None)
    _listener(assertions, web.test_listener.listener_arn, test_port, None)
    _rule(assertions, web.prod_listener_rule.listener_rule_arn, production)
    _rule(assertions, web.test_listener_rule.listener_rule_arn, production)
    deployment = {
        "status": "PRIMARY",
        "taskDefinition": web.task_definition.task_definition_arn,
        "runningCount": DESIRED_COUNT,
        "rolloutState": "COMPLETED",
    }
    load_balancer = {
        "targetGroupArn": production,
        "advancedConfiguration": integ.Match.object_like({"alternateTargetGroupArn": other}),
    }
    _describe_service(
        assertions,
        web,
        {
            "deploymentController": {"type": "ECS"},
            "taskDefinition": web.task_definition.task_definition_arn,
            "deployments": [integ.Match.object_like(deployment)],
            "loadBalancers": [integ.Match.object_like(load_balancer)],
        },
    )


ENGINE_CHECKS: dict[DeploymentEngine, Callable[[integ.IDeployAssert, BlueGreenFargateService, int, str, str], None]] = {
    DeploymentEngine.CODE_DEPLOY: _code_deploy_checks,
    DeploymentEngine.ECS_NATIVE: _ecs_native_checks,
}


def label_for_integ_runner(assembly_directory: str) -> None:
    """Label the cloud assembly with the schema version integ-runner reads, after checking that it is.

    integ-runner 2.197.10, the newest on npm, reads cloud assembly schema 53 at most and refuses a newer label
    ("AssemblyVersionMismatch: Maximum schema version supported is 53.x.x, but found 55.0.0"), while aws-cdk-lib
    2.275 labels its output 55 (2.269: 54). The revisions since 53 leave the assembly manifest's and the asset
    manifests' schema unchanged and add three things (@aws-cdk/cloud-assembly-schema 53.28.0, 54.0.0, 55.0.0):
    an integ.json test case's ``allowDeleteFailures`` (54), the validation report's ``suppressedViolations`` (54)
    and ``requireApproval: "destructive"`` among the deploy options (55). An assembly without them is a schema-53
    assembly; this checks that, then writes 53 where aws-cdk-lib wrote 54 or 55. A later revision is refused, since
    what it added is unknown here.
    """
    directory = Path(assembly_directory)
    integ_json = json.loads((directory / "integ.json").read_text())
    for name, case in integ_json["testCases"].items():
        deploy_args = case.get("cdkCommandOptions", {}).get("deploy", {}).get("args", {})
        if "allowDeleteFailures" in case or deploy_args.get("requireApproval") == "destructive":
            raise ValueError(f"Test case {name} uses a schema 54/55 option, which integ-runner 2.197.10 cannot read.")
    report = directory / "validation-report.json"
    if report.exists() and "suppressedViolations" in report.read_text():
        raise ValueError(f"{report} has suppressedViolations (schema 54), which integ-runner 2.197.10 cannot read.")
    labelled = ["cdk.out", "manifest.json", "integ.json", "validation-report.json"]
    for path in [*(directory / name for name in labelled), *directory.glob("*.assets.json")]:
        if not path.exists():
            continue
        document = json.loads(path.read_text())
        major = int(str(document["version"]).split(".")[0])
        if major > LATEST_KNOWN_SCHEMA:
            raise ValueError(
                f"{path} has cloud assembly schema {document['version']}: check what it added since "
                f"{LATEST_KNOWN_SCHEMA} before labelling it {INTEG_RUNNER_SCHEMA} (label_for_integ_runner)."
            )
        if major > int(INTEG_RUNNER_SCHEMA.split(".")[0]):
            document["version"] = INTEG_RUNNER_SCHEMA
            path.write_text(json.dumps(document, indent=2))


def synthesize(app: App, engine: DeploymentEngine) -> Path:
    """The integration app's cloud assembly, with the ``integ.json`` integ-runner reads; its directory."""
    suite = build(app, engine)
    directory = app.synth().directory
    suite.write_manifest(directory)
    label_for_integ_runner(directory)
    return Path(directory)


def main(engine: DeploymentEngine) -> None:
    """The integration app as integ-runner runs it (``python3 tests/integ/integ_<engine>.py``): the CDK CLI's
    context and output directory come from the environment, as for any CDK app."""
    synthesize(App(post_cli_context=feature_flags()), engine)
