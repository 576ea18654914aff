"""The translation of handler calls into IAM requests (calls.py), and proof that the handler tests' fixture fails.

(a) The live-state lookup's ListServices, granted on the cluster ARN as the library did before 089fb2d, is denied:
    ecs:ListServices lists no resource type, so IAM evaluates "*", and only ecs:cluster narrows it.
(b) tests/handlers/conftest.py turns a call IAM would deny into a failed test, even when the code swallows the
    call's error; an operation outside the role's list fails too.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ..configurations import CHANGE_CALENDAR, SHARED_CHANGE_CALENDAR
from ..handlers.conftest import CallChecker, RolePolicies
from ..simulator.aws import ACCOUNT
from .calls import (
    CODE_DEPLOY,
    ECS_NATIVE,
    ENGINES,
    OPERATIONS,
    ROLE_OPERATIONS,
    Call,
    NotModelledError,
    denials,
    operations_of,
    requirements,
)
from .policy import Request
from .roles import resolver_for, role_documents

pytest_plugins = ["pytester"]

REGION = "us-east-1"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"
RULE = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"


def model(service: str) -> Any:
    """botocore's model of ``service``, as a handler's client has it."""
    client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client.meta.service_model


def call(service: str, operation: str, **params: Any) -> Call:
    return Call.of(model(service), operation, params, REGION, ACCOUNT)


def requests(c: Call) -> list[tuple[Request, ...]]:
    return [r.any_of for r in requirements(c)]


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trigger_template(*statements: dict[str, Any]) -> dict[str, Any]:
    """A cluster and the provider's role, with ``statements`` attached as its default policy."""
    return {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TriggerRole": {"Type": "AWS::IAM::Role"},
            "TriggerPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "TriggerRole"}], "PolicyDocument": doc(*statements)},
            },
        }
    }


ON_CLUSTER = {"Fn::GetAtt": ["Cluster", "Arn"]}
# blue_green_ecs/live_lookup.py (now engines/live_lookup.py) before 089fb2d (`git show 089fb2d -- blue_green_ecs/live_lookup.py`).
OLD_GRANTS = (
    {"Effect": "Allow", "Action": "ecs:ListServices", "Resource": ON_CLUSTER},
    {
        "Effect": "Allow",
        "Action": "ecs:DescribeServices",
        "Resource": "*",
        "Condition": {"ArnEquals": {"ecs:cluster": ON_CLUSTER}},
    },
)
NEW_GRANT = {
    "Effect": "Allow",
    "Action": ["ecs:ListServices", "ecs:DescribeServices"],
    "Resource": "*",
    "Condition": {"ArnEquals": {"ecs:cluster": ON_CLUSTER}},
}


def wildcard_documents(template: dict[str, Any]) -> list[dict[str, Any]]:
    return role_documents(template, "TriggerRole", resolver_for(template, names="wildcard"))


# --- (a) the defect of the old grant --------------------------------------------------------------------------


def test_list_services_granted_on_the_cluster_arn_is_denied() -> None:
    # given: the lookup's call, and the role as the old code granted it (names wildcarded: any cluster)
    lookup = call("ecs", "ListServices", cluster="shop")
    old = wildcard_documents(trigger_template(*OLD_GRANTS))

    # when
    [denied] = denials(old, lookup)

    # then: IAM evaluates "*", which the statement on the cluster ARN does not match
    assert denied.startswith(
        f"ecs:ListServices on '*' with context {{'ecs:cluster': '{CLUSTER}'}} is implicitly denied"
    )
    assert (
        "document[0].Statement[0] (Allow): resource mismatch: Resource ['arn:aws:ecs:*:*:cluster/*'] vs '*'" in denied
    )
    assert denials(wildcard_documents(trigger_template(NEW_GRANT)), lookup) == []


def test_the_old_describe_services_grant_was_right() -> None:
    describe = call("ecs", "DescribeServices", cluster="shop", services=["web"])

    assert denials(wildcard_documents(trigger_template(*OLD_GRANTS)), describe) == []


# --- the translation ------------------------------------------------------------------------------------------


def test_actions_take_iam_prefixes_not_client_names() -> None:
    assert call("elbv2", "DescribeRules", ListenerArn=LISTENER).action == "elasticloadbalancing:DescribeRules"
    assert call("stepfunctions", "StartExecution", stateMachineArn="x").action == "states:StartExecution"
    # CloudWatch signs as "monitoring"; IAM's prefix is cloudwatch.
    assert call("cloudwatch", "GetMetricData").action == "cloudwatch:GetMetricData"


def test_describe_services_names_each_service_with_its_cluster() -> None:
    other = f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/api"
    described = call("ecs", "DescribeServices", cluster="shop", services=["web", other])

    assert requests(described) == [
        (
            Request(
                "ecs:DescribeServices", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/web", {"ecs:cluster": CLUSTER}
            ),
        ),
        (Request("ecs:DescribeServices", other, {"ecs:cluster": CLUSTER}),),
    ]
    # A cluster named by ARN keeps its region and account; no cluster is the default cluster.
    by_arn = call("ecs", "DescribeServices", cluster=CLUSTER.replace(REGION, "eu-west-1"), services=["web"])
    assert requests(by_arn)[0][0].resource == f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/web"
    assert requests(call("ecs", "ListServices")) == [
        (Request("ecs:ListServices", "*", {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default"}),)
    ]


def test_calls_on_a_deployment_are_authorized_on_its_deployment_group() -> None:
    got = call("codedeploy", "GetDeployment", deploymentId="d-1")
    known = Call.of(
        model("codedeploy"), "GetDeployment", {"deploymentId": "d-1"}, REGION, ACCOUNT,
        deployment_groups={"d-1": ("shop-web", "shop-web-dg")},
    )  # fmt: skip
    group = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup"

    assert requests(got) == [(Request("codedeploy:GetDeployment", f"{group}:application-of-d-1/group-of-d-1"),)]
    assert requests(known) == [(Request("codedeploy:GetDeployment", f"{group}:shop-web/shop-web-dg"),)]
    # exceptions.py: the report is authorized on the group too, though the reference lists no resource type.
    report = call("codedeploy", "PutLifecycleEventHookExecutionStatus", deploymentId="d-1")
    assert requests(report)[0][0].resource == f"{group}:application-of-d-1/group-of-d-1"


def test_create_deployment_needs_the_configuration_and_the_revision_too() -> None:
    created = Call.of(
        model("codedeploy"), "CreateDeployment", {"applicationName": "shop", "deploymentGroupName": "dg"},
        REGION, ACCOUNT, deployment_config="CodeDeployDefault.ECSAllAtOnce",
    )  # fmt: skip
    base = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}"

    assert requests(created) == [
        (Request("codedeploy:CreateDeployment", f"{base}:deploymentgroup:shop/dg"),),
        (Request("codedeploy:GetDeploymentConfig", f"{base}:deploymentconfig:CodeDeployDefault.ECSAllAtOnce"),),
        (
            Request("codedeploy:GetApplicationRevision", f"{base}:application:shop"),
            Request("codedeploy:RegisterApplicationRevision", f"{base}:application:shop"),
        ),
    ]


def test_run_task_is_authorized_on_the_revision_in_its_cluster_and_passes_the_task_roles() -> None:
    revision = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:8"
    roles = (f"arn:aws:iam::{ACCOUNT}:role/web-task", f"arn:aws:iam::{ACCOUNT}:role/web-execution")
    run = Call.of(
        model("ecs"), "RunTask",
        {"cluster": "shop", "taskDefinition": "web:8", "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]},
        REGION, ACCOUNT, task_roles={revision: roles},
    )  # fmt: skip
    passed = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}

    assert requests(run) == [
        (Request("ecs:RunTask", revision, {"ecs:cluster": CLUSTER, "ecs:capacity-provider": ["FARGATE"]}),),
        (Request("iam:PassRole", roles[0], passed),),
        (Request("iam:PassRole", roles[1], passed),),
    ]
    # A revision not described names roles no real policy names; a bare family is its latest revision.
    unknown = requests(call("ecs", "RunTask", cluster=CLUSTER, taskDefinition="web"))
    assert unknown[0][0].resource == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:latest-of-web"
    assert [r[0].resource for r in unknown[1:]] == [
        f"arn:aws:iam::{ACCOUNT}:role/task-role-of-web",
        f"arn:aws:iam::{ACCOUNT}:role/execution-role-of-web",
    ]


def test_the_task_calls_name_the_clusters_tasks() -> None:
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/shop/0123"
    in_cluster = {"ecs:cluster": CLUSTER}

    assert requests(call("ecs", "DescribeTasks", cluster="shop", tasks=["0123"])) == [
        (Request("ecs:DescribeTasks", task, in_cluster),)
    ]
    assert requests(call("ecs", "StopTask", cluster=CLUSTER, task=task)) == [
        (Request("ecs:StopTask", task, in_cluster),)
    ]
    # ListTasks lists only the container-instance type: a Fargate listing is authorized on "*".
    assert requests(call("ecs", "ListTasks", cluster="shop", startedBy="x")) == [
        (Request("ecs:ListTasks", "*", in_cluster),)
    ]
    with pytest.raises(NotModelledError, match="container instance"):
        requirements(call("ecs", "ListTasks", cluster="shop", containerInstance="ci"))
    assert requests(call("ecs", "DescribeTaskDefinition", taskDefinition="web:8")) == [
        (Request("ecs:DescribeTaskDefinition", "*"),)
    ]
    revision = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/shop/web/1"
    assert requests(call("ecs", "DescribeServiceRevisions", serviceRevisionArns=[revision])) == [
        (Request("ecs:DescribeServiceRevisions", revision),)
    ]


def test_filter_log_events_is_authorized_on_the_log_group_without_its_suffix() -> None:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/shop/migration"

    assert requests(call("logs", "FilterLogEvents", logGroupName="/shop/migration")) == [
        (Request("logs:FilterLogEvents", group),)
    ]
    assert requests(call("logs", "FilterLogEvents", logGroupIdentifier=f"{group}:*")) == [
        (Request("logs:FilterLogEvents", group),)
    ]


def test_lambda_invoke_is_invoke_function_on_the_function() -> None:
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:migrate"

    for named in ("migrate", f"{ACCOUNT}:function:migrate", function):
        invoked = call("lambda", "Invoke", FunctionName=named, InvocationType="Event")
        assert requests(invoked) == [(Request("lambda:InvokeFunction", function),)], named
    qualified = call("lambda", "Invoke", FunctionName="migrate", Qualifier="live")
    assert requests(qualified)[0][0].resource == f"{function}:live"


def test_modify_rule_is_authorized_on_the_rule_and_a_rule_grant_covers_no_listener() -> None:
    template = {
        "Resources": {
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {"LoadBalancerArn": {"Ref": "Lb"}},
            },
            "Rule": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {"ListenerArn": {"Ref": "Listener"}},
            },
            "TriggerRole": {"Type": "AWS::IAM::Role"},
            "TriggerPolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "TriggerRole"}],
                    "PolicyDocument": doc(
                        {"Effect": "Allow", "Action": "elasticloadbalancing:ModifyRule", "Resource": {"Ref": "Rule"}}
                    ),
                },
            },
        }
    }
    documents = wildcard_documents(template)

    assert documents[0]["Statement"][0]["Resource"] == "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*"
    assert denials(documents, call("elbv2", "ModifyRule", RuleArn=RULE, Actions=[])) == []
    with pytest.raises(ValueError, match="listener-rule"):
        requirements(call("elbv2", "ModifyRule", RuleArn=LISTENER, Actions=[]))


def test_an_operation_not_modelled_raises() -> None:
    with pytest.raises(NotModelledError, match=r"^ecs:UpdateService is not modelled in tests/authorization/calls\.py"):
        requirements(call("ecs", "UpdateService", cluster="shop"))


def test_every_listed_operation_is_modelled() -> None:
    listed = {o.action.lower() for operations in ROLE_OPERATIONS.values() for o in operations}

    assert listed <= set(OPERATIONS)
    assert all(set(o.engines) <= set(ENGINES) for ops in ROLE_OPERATIONS.values() for o in ops)
    assert operations_of("lifecycle_hook", ECS_NATIVE) == []
    assert "codedeploy:CreateDeployment" not in operations_of("deployment_trigger", ECS_NATIVE)


# --- (b) the fixture fails the test ---------------------------------------------------------------------------


def old_trigger_role(kind: str, engine: str) -> RolePolicies:
    return RolePolicies("OldTriggerRole", wildcard_documents(trigger_template(*OLD_GRANTS)))


def test_a_call_outside_the_roles_list_is_a_problem() -> None:
    checker = CallChecker("smoke_test", old_trigger_role)

    assert checker.check(call("ecs", "ListServices", cluster="shop")) == [
        "ecs:ListServices is not in ROLE_OPERATIONS['smoke_test'] under any engine (tests/authorization/calls.py)"
    ]
    with checker.running_under(ECS_NATIVE):
        [problem] = checker.check(call("codedeploy", "PutLifecycleEventHookExecutionStatus", deploymentId="d-1"))
    assert problem.endswith("not in ROLE_OPERATIONS['smoke_test'] under ECS_NATIVE (tests/authorization/calls.py)")


def test_a_denied_call_is_a_problem_naming_the_role_and_the_statement() -> None:
    checker = CallChecker("deployment_trigger", old_trigger_role)

    with checker.running_under(CODE_DEPLOY):
        [problem] = checker.check(call("ecs", "ListServices", cluster="shop"))

    assert problem.startswith(
        "ecs:ListServices by OldTriggerRole (deployment_trigger, CODE_DEPLOY): ecs:ListServices on"
    )
    assert "resource mismatch" in problem


HANDLER_TESTS = """
import boto3
from botocore.stub import Stubber


def ecs():
    return boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_list_services():
    client = ecs()
    with Stubber(client) as stub:
        stub.add_response("list_services", {"serviceArns": []}, {"cluster": "shop"})
        assert client.list_services(cluster="shop") == {"serviceArns": []}


def test_list_services_whose_error_the_code_swallows():
    client = ecs()
    with Stubber(client):  # nothing queued: the Stubber raises, and the code below hides it
        try:
            client.list_services(cluster="shop")
        except Exception:
            pass


def test_describe_services():
    client = ecs()
    with Stubber(client) as stub:
        stub.add_response("describe_services", {"services": []}, {"cluster": "shop", "services": ["web"]})
        client.describe_services(cluster="shop", services=["web"])
"""

CONFTEST = """
import pytest

from tests.authorization.test_handler_calls import old_trigger_role
from tests.handlers.conftest import authorized_aws_calls, pytest_runtest_call  # the fixture and hook under test


@pytest.fixture
def handler_role_kind():
    return "deployment_trigger"


@pytest.fixture
def handler_role_policies():
    return old_trigger_role
"""


def test_the_handler_fixture_fails_a_test_whose_call_iam_denies(pytester: pytest.Pytester) -> None:
    # given: handler tests run with tests/handlers/conftest.py's fixture, the role granting ListServices on the
    # cluster ARN (the old code)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_handler=HANDLER_TESTS)

    # when
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")

    # then: both ListServices tests fail with IAM's reason, the swallowed one too; DescribeServices passes
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_list_services*",
            "IAM would not authorize this test's AWS calls:",
            "- ecs:ListServices by OldTriggerRole (deployment_trigger, CODE_DEPLOY): ecs:ListServices on '*' with "
            "context {'ecs:cluster': 'arn:aws:ecs:us-east-1:123456789012:cluster/shop'} is implicitly denied: no "
            "Allow statement matches.",
            "Statements that mention ecs:ListServices but do not match:",
            "  - document[0].Statement[0] (Allow): resource mismatch: Resource ['arn:aws:ecs:*:*:cluster/*'] vs '*'",
            "*test_list_services_whose_error_the_code_swallows*",
            "- ecs:ListServices by OldTriggerRole*",
        ]
    )
    assert "FAILED test_handler.py::test_describe_services" not in result.stdout.str()


# --- freeze windows: GetCalendarState on exactly the configured calendars --------------------------------------


def test_get_calendar_state_is_authorized_on_each_calendars_document() -> None:
    shared = "arn:aws:ssm:eu-west-1:111122223333:document/org-change-freeze"
    asked = call("ssm", "GetCalendarState", CalendarNames=["release-freeze", shared])

    # A name is the caller's account and Region's document; an ARN (shared from another account) is itself.
    assert requests(asked) == [
        (Request("ssm:GetCalendarState", f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/release-freeze"),),
        (Request("ssm:GetCalendarState", shared),),
    ]


def test_the_pre_flight_role_reads_its_calendars_and_no_other(handler_roles: Any) -> None:
    # given: the handler_roles configuration's CODE_DEPLOY service, checking a calendar of its own and a shared one
    template = handler_roles.to_json()
    [role] = [
        logical
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and logical.startswith("DeployedPreflightRole")
    ]
    documents = role_documents(template, role, resolver_for(template, names="wildcard"))

    # when / then: both configured calendars may be read; another calendar of the account, or the same name
    # shared from another account, may not
    assert denials(documents, call("ssm", "GetCalendarState", CalendarNames=[CHANGE_CALENDAR])) == []
    assert denials(documents, call("ssm", "GetCalendarState", CalendarNames=[SHARED_CHANGE_CALENDAR])) == []
    [other] = denials(documents, call("ssm", "GetCalendarState", CalendarNames=["maintenance"]))
    assert other.startswith(
        f"ssm:GetCalendarState on 'arn:aws:ssm:{REGION}:{ACCOUNT}:document/maintenance' with context {{}} is "
        "implicitly denied"
    )
    elsewhere = SHARED_CHANGE_CALENDAR.replace("111122223333", "444455556666")
    assert len(denials(documents, call("ssm", "GetCalendarState", CalendarNames=[elsewhere]))) == 1
