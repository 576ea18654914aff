"""Lifecycles beyond a stack's updates (issue #20, item 4), replayed by the lifecycle simulator on both engines.

1. The stack is deleted after deployments and created again: a new stack id, the retained resources kept, and
   production served by the new service (and what a physical name that ignores the stack id would do).
2. The first create while IAM does not show the provider role's new policies yet: AccessDenied, ridden out on a
   Create only.
3. The stack-level tags change (``cdk deploy --tags``) after an odd number of deployments, and tags set in the app.
4. A live-state lookup that cannot answer: CloudFormation's ServiceTimeout (15 minutes) fails it, the stack rolls
   back.

Each step is checked as in ``test_day_two.py``: after every resource operation and poll of an update or rollback,
production reaches the running tasks of its own service (``World.check_all``). What each modelled rule follows is
cited where it is modelled (``tests/simulator/cloudformation.py``, ``world.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from .simulator.cloudformation import timed_out_reason
from .simulator.templates import TAG_VALUE, template
from .simulator.world import World, world
from .test_day_two import IMAGE, apply, created, production_colour

ENGINES = ["CODE_DEPLOY", "ECS_NATIVE"]
# The waiter's log group name before the stack id's UUID was added to it (blue_green_ecs/deployment/provider.py)
FIXED_WAITER_LOG_GROUP = {
    "Fn::Join": ["", ["/aws/vendedlogs/states/", {"Ref": "AWS::StackName"}, "-blue-green-ecs-waiter"]]
}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with world(monkeypatch) as simulated:
        yield simulated


def resource_id(sim: World, prefix: str) -> str:
    logical = sim.logical(prefix)
    assert logical is not None, prefix
    return logical


def running(sim: World) -> dict[str, str]:
    """ECS service ARN -> the task definition it runs, for the stack's active services."""
    return {arn: s.task_definition for arn, s in sim.aws.services.items() if s.status == "ACTIVE"}


# ---- 1. delete the stack, create it again ------------------------------------------------------------------


def waiter_logs(template_: dict[str, Any]) -> str:
    [logical] = [str(x) for x in template_["Resources"] if x.startswith("BlueGreenEcsDeploymentTriggerWaiterLogs")]
    return logical


@pytest.mark.parametrize("engine", ENGINES)
def test_a_stack_deleted_after_deployments_and_created_again_serves_production(sim: World, engine: str) -> None:
    # given a stack after one deployment (production on green)
    created(sim, engine, deployments=1)
    first_id = sim.stack.stack_id
    # when it is deleted
    assert sim.stack.delete() == "DELETE_COMPLETE"
    # then nothing of it serves or runs any more, and what a DeletionPolicy retains stays in the account
    assert (sim.stack.resources, sim.aws.listeners, sim.aws.rules, running(sim)) == ({}, {}, {}, {})
    retained = sorted({r.type for r in sim.stack.retained})
    assert retained == ["AWS::Logs::LogGroup", "AWS::S3::Bucket"]
    assert {r["RequestType"] for r in sim.requests if r["StackId"] == first_id} == {"Create", "Update", "Delete"}
    # when it is created again from the same template
    before = len(sim.requests)
    apply(sim, template(engine, image=f"{IMAGE}:1"), "CREATE_COMPLETE")
    # then it is a new stack, whose id (and so AWS::StackId) ends with a new UUID, the id its custom resources get;
    # production goes to the new service's tasks (on blue)
    assert sim.stack.stack_id.rsplit("/", 1)[0] == first_id.rsplit("/", 1)[0]
    assert sim.stack.stack_id.rsplit("/", 1)[-1] != first_id.rsplit("/", 1)[-1]
    assert {r["StackId"] for r in sim.requests[before:]} == {sim.stack.stack_id}
    assert production_colour(sim) == "Blue"
    assert sim.aws.running_tasks(sim.target_group("Web", "Blue")) == 2
    # and the next image deploys as on the first stack
    apply(sim, template(engine, image=f"{IMAGE}:2"))
    assert production_colour(sim) == "Green"
    assert len(running(sim)) == 1


def test_each_create_names_the_waiters_retained_log_group_after_its_own_stack_id(sim: World) -> None:
    # given a CODE_DEPLOY stack (the only engine with a waiter) created, deleted and created again
    apply(sim, template("CODE_DEPLOY"), "CREATE_COMPLETE")
    logs = waiter_logs(sim.stack.template)
    first = sim.stack.resources[logs].physical_id
    assert sim.stack.delete() == "DELETE_COMPLETE"
    apply(sim, template("CODE_DEPLOY"), "CREATE_COMPLETE")
    second = sim.stack.resources[logs].physical_id
    # then each log group carries its own stack's UUID, and the first one is still in the account
    assert second == f"/aws/vendedlogs/states/Simulated-{sim.stack.stack_id.rsplit('/', 1)[-1]}-blue-green-ecs-waiter"
    assert first.startswith("/aws/vendedlogs/states/Simulated-")
    assert first != second
    assert first in [r.physical_id for r in sim.stack.retained]


def test_a_fixed_waiter_log_group_name_fails_the_second_create_on_the_retained_one(sim: World) -> None:
    # given the waiter's log group named as before the stack id's UUID was added to it
    fixed = template("CODE_DEPLOY")
    fixed["Resources"][waiter_logs(fixed)]["Properties"]["LogGroupName"] = FIXED_WAITER_LOG_GROUP
    apply(sim, fixed, "CREATE_COMPLETE")
    assert sim.stack.delete() == "DELETE_COMPLETE"
    # when the stack is created again, then the retained log group holds the name: the create fails and rolls back
    assert sim.stack.deploy(fixed) == "ROLLBACK_COMPLETE"
    logs = waiter_logs(fixed)
    assert sim.stack.reason == (
        f"{logs}: Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier "
        '\'{"/properties/LogGroupName":"/aws/vendedlogs/states/Simulated-blue-green-ecs-waiter"}\' already exists." '
        "(HandlerErrorCode: AlreadyExists)"
    )
    assert sim.stack.resources == {}


# ---- 2. the first create while IAM does not show the role's new policies yet -----------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_the_first_create_rides_out_iam_propagation(sim: World, engine: str) -> None:
    # given IAM showing each policy of the provider's role 100 s after CloudFormation created it
    sim.propagate_iam(100)
    start = sim.aws.now
    # when the stack is created
    apply(sim, template(engine), "CREATE_COMPLETE")
    # then the first calls of each resource's Create were denied, and called again until IAM showed the policy
    # (the lookup's: the function's own policy; the trigger's, CODE_DEPLOY: the StartWaiter policy, created later)
    denied = {x.split("perform: ")[1].split(" ")[0] for x in sim.refused}
    first_calls = {"elasticloadbalancing:DescribeListeners", "codedeploy:ListDeployments"}
    assert denied == (first_calls if engine == "CODE_DEPLOY" else {"elasticloadbalancing:DescribeListeners"})
    assert all("because no identity-based policy allows" in x for x in sim.refused)
    assert timedelta(seconds=100) <= sim.aws.now - start < timedelta(minutes=5)
    assert production_colour(sim) == "Blue"
    # and the next image deploys
    apply(sim, template(engine, image=f"{IMAGE}:1"))
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_first_create_denied_for_longer_than_the_grace_fails_with_the_permission(sim: World, engine: str) -> None:
    # given IAM showing the role's new policies only after ten minutes
    sim.propagate_iam(600)
    # when the stack is created, then the lookup fails after its two minutes and the create rolls back
    start = sim.aws.now
    assert sim.stack.deploy(template(engine)) == "ROLLBACK_COMPLETE"
    lookup = resource_id_in(sim.stack.template, "WebLiveState")
    assert sim.stack.reason.startswith(
        f"{lookup}: Received response status [FAILED] from custom resource. The live-state lookup's call "
        "elasticloadbalancing:DescribeListeners failed: AccessDenied: "
    )
    assert sim.aws.now - start == timedelta(minutes=2)
    assert sim.stack.reason.endswith(
        "Still denied 2 minutes after the request arrived, longer than a Create waits for IAM to show the role's new "
        "policies."
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_an_update_denied_fails_at_once_with_the_reason_and_rolls_back(sim: World, engine: str) -> None:
    # given a stack after one deployment, and a service control policy that now denies the lookup's first call
    created(sim, engine, deployments=1)
    sim.deny("elasticloadbalancing:DescribeListeners")
    start = sim.aws.now
    # when an update asks the lookup (a certificate: the listeners change)
    status = sim.stack.deploy(template(engine, "certificate", image=f"{IMAGE}:1"))
    # then the lookup fails at once with the permission and AWS's words, the stack rolls back, production stays
    lookup = resource_id(sim, "WebLiveState")
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert sim.stack.reason.startswith(
        f"{lookup}: Received response status [FAILED] from custom resource. The live-state lookup's call "
        "elasticloadbalancing:DescribeListeners failed: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/"
    )
    assert (
        "is not authorized to perform: elasticloadbalancing:DescribeListeners with an explicit deny in a service "
        "control policy"
    ) in sim.stack.reason
    assert "Still denied" not in sim.stack.reason
    assert sim.aws.now == start
    assert production_colour(sim) == "Green"


# ---- 3. stack-level tags after an odd number of deployments ---------------------------------------------------


TAGGED_TYPES = (
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
)


@pytest.mark.parametrize("engine", ENGINES)
def test_stack_tags_changed_after_an_odd_number_of_deployments_keep_production(sim: World, engine: str) -> None:
    # given a stack after one deployment (production on green, the lookup's last answer blue)
    created(sim, engine, deployments=1)
    before = running(sim)
    deployments = (len(sim.aws.deployments), len(sim.aws.finished_revisions))
    # when `cdk deploy --tags team=shop` changes the stack's tags alone, then again
    for value in ("shop", "shop-2"):
        status = sim.stack.deploy(template(engine, image=f"{IMAGE}:1"), tags={"team": value})
        assert (status, sim.stack.reason) == ("UPDATE_COMPLETE", "")
        sim.check_all()
        # then every taggable resource has the tag, by a tags-only update (no new task definition, no deployment)
        for logical, resource in sim.stack.resources.items():
            if resource.type in TAGGED_TYPES:
                assert sim.stack.resource_tags[logical] == {"team": value}, logical
    assert running(sim) == before
    assert (len(sim.aws.deployments), len(sim.aws.finished_revisions)) == deployments
    assert production_colour(sim) == "Green"
    # and the next image deploys, keeping the tags
    status = sim.stack.deploy(template(engine, image=f"{IMAGE}:2"))
    assert (status, production_colour(sim)) == ("UPDATE_COMPLETE", "Blue")
    assert sim.stack.tags == {"team": "shop-2"}


# The design's limit: stack-level tags are not in the template, so no change of them asks the lookup again, whose
# last answer (before the last deployment) says blue. If a tags-only update re-sent the listener's or rule's actions
# (undocumented; the listener's update handler may call ModifyListener), production would go to blue's target group,
# where no task runs. docs/day-two.md says what to do instead: set tags in the app.
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="design: stack tags alone do not re-run the lookup")
@pytest.mark.parametrize("engine", ENGINES)
def test_stack_tags_with_updates_that_write_the_actions_again_keep_production(sim: World, engine: str) -> None:
    # given a stack after one deployment, whose tags-only updates write every property again (the worse case)
    sim.stack.retag_rewrites = True
    created(sim, engine, deployments=1)
    # when the stack's tags change, then production stays on green
    sim.stack.deploy(template(engine, image=f"{IMAGE}:1"), tags={"team": "shop"})
    assert production_colour(sim) == "Green"


def retagged(template_: dict[str, Any], value: str) -> dict[str, Any]:
    """The "tagged" variant with the tag's value ``value``: what synthesis renders for another value."""
    changed: dict[str, Any] = json.loads(json.dumps(template_).replace(f'"{TAG_VALUE}"', f'"{value}"'))
    return changed


# Tags set in the app (Tags.of) are in the template: aws-cdk-lib renders them among each resource's properties, which
# the lookup's fingerprint carries ("tags"), so a change of them asks the lookup first, as any listener change does.
@pytest.mark.parametrize("engine", ENGINES)
def test_tags_changed_in_the_app_ask_the_lookup_first_and_keep_production(sim: World, engine: str) -> None:
    # given a stack whose app tags every resource, after one deployment; updates write every property again, even a
    # tags-only one (the worse case)
    sim.stack.retag_rewrites = True
    sim.stack.rewrite_unchanged_rules = engine == "ECS_NATIVE"
    tagged = template(engine, "tagged")
    fingerprint = tagged["Resources"][resource_id_in(tagged, "WebLiveState")]["Properties"]["Fingerprint"]
    assert fingerprint["ProdListener"]["tags"] == [{"key": "team", "value": TAG_VALUE}]
    apply(sim, tagged, "CREATE_COMPLETE")
    apply(sim, template(engine, "tagged", image=f"{IMAGE}:1"))
    lookups = len([x for x in sim.requests if x["ResourceType"] == "Custom::BlueGreenEcsLiveState"])
    # when the app's tag changes
    apply(sim, retagged(template(engine, "tagged", image=f"{IMAGE}:1"), "simulated-tag-value-1"))
    # then the lookup was asked first, and production stays on green
    assert len([x for x in sim.requests if x["ResourceType"] == "Custom::BlueGreenEcsLiveState"]) == lookups + 1
    assert production_colour(sim) == "Green"
    listener = resource_id(sim, "WebProdListener")
    assert sim.stack.resource_tags[listener] == {"team": "simulated-tag-value-1"}


def resource_id_in(template_: dict[str, Any], prefix: str) -> str:
    [logical] = [str(x) for x in template_["Resources"] if x.startswith(prefix) and len(x) == len(prefix) + 8]
    return logical


# ---- 4. a lookup that cannot answer: CloudFormation's ServiceTimeout -----------------------------------------


def test_the_lookup_and_the_trigger_set_their_service_timeouts() -> None:
    resources = template("CODE_DEPLOY")["Resources"]
    timeouts = {
        resource["Type"]: resource["Properties"].get("ServiceTimeout")
        for resource in resources.values()
        if resource["Type"].startswith("Custom::BlueGreenEcs")
    }
    assert timeouts == {
        "Custom::BlueGreenEcsLiveState": "900",
        "Custom::BlueGreenEcsPinnedService": "900",
        "Custom::BlueGreenEcsDeployment": "3600",
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("failure", ["function_times_out", "response_url_unreachable"])
def test_a_lookup_that_cannot_answer_fails_the_update_after_its_service_timeout(
    sim: World, engine: str, failure: str
) -> None:
    # given a stack after one deployment, and a provider function that cannot answer: every invocation runs out of
    # its 5 minutes (a call that never returns), or every answer's PUT to the presigned S3 URL times out
    created(sim, engine, deployments=1)
    if failure == "function_times_out":
        sim.hang("elasticloadbalancing:DescribeListeners", past_the_function_timeout=True)
    else:
        sim.unreachable_response_url()
    start = sim.aws.now
    # when an update asks the lookup
    status = sim.stack.deploy(template(engine, "certificate", image=f"{IMAGE}:1"))
    # then Lambda tried three times, CloudFormation failed the lookup after its 15 minutes and rolled the stack back;
    # production never left green
    lookup = resource_id(sim, "WebLiveState")
    [request] = [x for x in sim.requests if x["LogicalResourceId"] == lookup][-1:]
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert sim.stack.reason == f"{lookup}: {timed_out_reason(request['RequestId'])}"
    assert sim.aws.now - start == timedelta(minutes=15)
    assert len([x for x in sim.function_errors if x.startswith(f"Update {lookup}")]) == 3
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_lookup_whose_calls_never_answer_fails_the_update_itself_before_its_service_timeout(
    sim: World, engine: str
) -> None:
    # given a stack after one deployment, and an ELB API that never answers (botocore gives up after its timeouts)
    created(sim, engine, deployments=1)
    sim.hang("elasticloadbalancing:DescribeListeners", past_the_function_timeout=False)
    start = sim.aws.now
    # when an update asks the lookup, then the lookup answers FAILED itself, in its first invocation, and the stack
    # rolls back well before the ServiceTimeout
    status = sim.stack.deploy(template(engine, "certificate", image=f"{IMAGE}:1"))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "The live-state lookup could not read the live state: elasticloadbalancing:DescribeListeners still " in (
        sim.stack.reason
    )
    assert "ReadTimeoutError" in sim.stack.reason
    assert sim.stack.reason.endswith("update the stack again.")
    assert sim.aws.now - start < timedelta(minutes=3)
    assert sim.function_errors == []
    assert production_colour(sim) == "Green"
