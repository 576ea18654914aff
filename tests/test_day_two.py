"""Day two (issue #12): stack updates after any number of deployments, replayed by the lifecycle simulator.

Each scenario synthesizes the real construct (``tests/simulator/templates.py``), deploys it with the
simulated CloudFormation (``tests/simulator/cloudformation.py``) over the AWS model, with the real custom
resource handler answering, and asserts after every step that production traffic reaches running tasks
(``World.check``) and that the stack is where CloudFormation would report it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from .configurations import CERTIFICATE_ARN
from .simulator.aws import weights_of
from .simulator.templates import failing_after, listeners_after_lookup, shared_template, template
from .simulator.world import World, world

ENGINES = ["CODE_DEPLOY", "ECS_NATIVE"]
IMAGE = "public.ecr.aws/nginx/nginx"
RENEWED_CERTIFICATE_ARN = CERTIFICATE_ARN.replace("0b7e0a3c", "1c8f1b4d")
# Found by the simulator on day-two-construct 48d7071 and fixed since: under ECS_NATIVE the listeners did not wait
# for the lookup, so CloudFormation could move a listener (port, certificate) before the lookup read the rules
# through it. The listeners DependsOn the lookup now; the rollback alarms (which wait for the production listener)
# are named, not referred to, in the lookup's fingerprint.


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with world(monkeypatch) as simulated:
        # world() fails the test on any call IAM would deny (the provider function's, and AWS's on the roles)
        yield simulated


def apply(sim: World, new_template: dict[str, object], status: str = "UPDATE_COMPLETE") -> None:
    """A stack operation that must end in ``status``, production on running tasks afterwards."""
    result = sim.stack.deploy(new_template)
    assert (result, sim.stack.reason if result != status else "") == (status, "")
    sim.check_all()


def deploy(sim: World, engine: str, revision: int, variant: str = "base") -> None:
    """`cdk deploy` of image tag ``revision``: a blue/green deployment by the engine, run to its end."""
    apply(sim, template(engine, variant, image=f"{IMAGE}:{revision}"))


def production_colour(sim: World, service: str = "Web") -> str:
    """Blue or Green: the one target group production forwards all its traffic to."""
    live = [arn for arn, weight in sim.production(service).items() if weight > 0]
    assert len(live) == 1, sim.production(service)
    return "Blue" if live[0] == sim.target_group(service, "Blue") else "Green"


def assert_roles(sim: World, engine: str, service: str = "Web") -> None:
    """Production on the target group with the running tasks; test traffic on the other one of the pair
    (CODE_DEPLOY: where the next deployment starts) or, ECS-native, where production goes until a deployment
    moves the test rule (both rules render [prod 100, test 0])."""
    prod = production_colour(sim, service)
    other = sim.target_group(service, "Green" if prod == "Blue" else "Blue")
    test = other if engine == "CODE_DEPLOY" else sim.target_group(service, prod)
    assert {arn for arn, weight in sim.test_traffic(service).items() if weight > 0} == {test}
    assert sim.aws.running_tasks(sim.target_group(service, prod)) >= 2


def created(sim: World, engine: str, variant: str = "base", deployments: int = 0, services: int = 1) -> None:
    """A new stack of ``variant`` after ``deployments`` image deployments."""
    apply(sim, template(engine, variant, services=services), "CREATE_COMPLETE")
    for revision in range(1, deployments + 1):
        apply(sim, template(engine, variant, image=f"{IMAGE}:{revision}", services=services))


# ---- deployments and their rollbacks ------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_deployments_alternate_production_between_the_target_groups(sim: World, engine: str) -> None:
    # given a new stack
    apply(sim, template(engine), "CREATE_COMPLETE")
    assert production_colour(sim) == "Blue"
    # when three images are deployed, then production alternates and always reaches the new tasks
    for revision, colour in ((1, "Green"), (2, "Blue"), (3, "Green")):
        deploy(sim, engine, revision)
        assert production_colour(sim) == colour
        assert sim.aws.running_tasks(sim.target_group("Web", colour)) == 2


def test_alarm_rolls_the_deployment_back_and_the_stack_with_it(sim: World) -> None:
    # given a CODE_DEPLOY stack after one deployment (production on green)
    apply(sim, template("CODE_DEPLOY"), "CREATE_COMPLETE")
    deploy(sim, "CODE_DEPLOY", 1)
    # when the next deployment meets a rollback alarm in ALARM
    group = next(iter(sim.aws.groups.values()))
    sim.aws.alarming.add(group.alarms[0])
    status = sim.stack.deploy(template("CODE_DEPLOY", image="public.ecr.aws/nginx/nginx:1.2"))
    # then CodeDeploy rolls back, the trigger fails, CloudFormation rolls the stack back; production never left green
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "was stopped by an alarm (ALARM_ACTIVE)" in sim.stack.reason
    sim.check()
    assert production_colour(sim) == "Green"


def test_the_sequence_of_issue_12_ends_where_it_started(sim: World) -> None:
    # given create -> deploy -> add a certificate -> deploy (CODE_DEPLOY)
    created(sim, "CODE_DEPLOY", deployments=1)
    apply(sim, template("CODE_DEPLOY", "certificate", image=f"{IMAGE}:1"))
    apply(sim, template("CODE_DEPLOY", "certificate", image=f"{IMAGE}:2"))
    assert production_colour(sim) == "Blue"
    [service] = sim.aws.services.values()
    [before] = service.task_sets
    deployments = len(sim.aws.deployments)
    # when the subnets change and a later resource of that update fails
    trigger = sim.logical("WebDeploymentTrigger")
    assert trigger is not None
    status = sim.stack.deploy(
        failing_after(template("CODE_DEPLOY", "certificate+subnets", image=f"{IMAGE}:2"), trigger)
    )
    # then the new subnets were deployed, and the stack rollback deployed the old ones back: two more deployments,
    # production on running tasks at every step, the tasks where they were
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    [after] = service.task_sets
    assert (after.network, after.task_definition) == (before.network, before.task_definition)
    assert [d.status for d in list(sim.aws.deployments.values())[deployments:]] == ["Succeeded", "Succeeded"]
    assert production_colour(sim) == "Blue"


# ---- issue #12: what must hold for both engines -------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "deployments"),
    [
        # Today production is on the template's target group after 0 and 2 CodeDeploy deployments; ECS-native with
        # rules reset on every update already loses production in the update of the second deployment.
        pytest.param(engine, count)
        for engine in ENGINES
        for count in range(4)
    ],
)
def test_certificate_added_after_deployments_keeps_production_on_the_tasks(
    sim: World, engine: str, deployments: int
) -> None:
    # given a stack after 0-3 deployments (ECS-native: with listener rules reset on any stack update, the worse case
    # aws/aws-cdk #36649 reports; CloudFormation's documented rule would leave them alone here)
    sim.stack.rewrite_unchanged_rules = engine == "ECS_NATIVE"
    created(sim, engine, deployments=deployments)
    colour = production_colour(sim)
    # when a certificate is added (the production listener becomes HTTPS on 443, a redirect listener appears)
    apply(sim, template(engine, "certificate", image=f"{IMAGE}:{deployments}" if deployments else f"{IMAGE}:1.27"))
    # then production stays where the tasks run, and test traffic goes to the other target group
    assert production_colour(sim) == colour
    assert_roles(sim, engine)


@pytest.mark.parametrize(
    ("engine", "before", "after"),
    [
        pytest.param(
            engine,
            before,
            after,
            marks=[],
        )
        for engine in ENGINES
        for before, after in (
            ("certificate", "certificate+ssl_policy"),
            ("base", "listener_port"),
            ("base", "test_listener_port"),
        )
    ],
)
def test_listener_change_after_a_deployment_keeps_production_on_the_tasks(
    sim: World, engine: str, before: str, after: str
) -> None:
    # given a stack after one deployment (production on green)
    sim.stack.rewrite_unchanged_rules = engine == "ECS_NATIVE"
    created(sim, engine, before, deployments=1)
    # when the listeners change
    apply(sim, template(engine, after, image=f"{IMAGE}:1"))
    # then production stays on green, test traffic on blue
    assert production_colour(sim) == "Green"
    assert_roles(sim, engine)


@pytest.mark.parametrize("change", ["subnets", "security_groups", "platform_version"])
def test_network_change_of_a_code_deploy_service_completes_as_a_deployment(sim: World, change: str) -> None:
    # given a CODE_DEPLOY stack after one deployment
    created(sim, "CODE_DEPLOY", deployments=1)
    deployments = len(sim.aws.deployments)
    [service] = sim.aws.services.values()
    service_level = (service.network, service.platform_version)
    [before] = service.task_sets
    # when a property ECS refuses to update on a CODE_DEPLOY service changes
    apply(sim, template("CODE_DEPLOY", change, image=f"{IMAGE}:1"))
    # then one more CodeDeploy deployment carries the new value (the trigger's properties into the AppSpec) ...
    trigger = sim.logical("WebDeploymentTrigger")
    assert trigger is not None
    wanted = sim.stack.resources[trigger].properties
    [after] = service.task_sets
    awsvpc = after.network["awsvpcConfiguration"]
    assert len(sim.aws.deployments) == deployments + 1
    assert (awsvpc["subnets"], awsvpc["securityGroups"], awsvpc["assignPublicIp"], after.platform_version) == (
        wanted["Subnets"],
        wanted["SecurityGroups"],
        wanted["AssignPublicIp"],
        wanted["PlatformVersion"],
    )
    assert (after.network, after.platform_version) != (before.network, before.platform_version)
    # ... while the service-level values CloudFormation holds stay pinned to the live ones (no refused UpdateService)
    assert (service.network, service.platform_version) == service_level
    assert production_colour(sim) == "Blue"


# ---- issue #25: DescribeServices follows the PRIMARY task set; the template keeps what CloudFormation applied ------


def created_with(sim: World) -> tuple[object, ...]:
    """What CloudFormation created (or last updated) the ACTIVE service with: its load balancer entry, network,
    platform version (DescribeServices answers the PRIMARY task set's instead: simulator/aws.py)."""
    [service] = [s for s in sim.aws.services.values() if s.status == "ACTIVE"]
    return copy.deepcopy((service.load_balancers, service.network, service.platform_version))


@pytest.mark.parametrize("deployments", range(4))
def test_a_code_deploy_service_update_after_deployments_writes_what_cloudformation_applied(
    sim: World, deployments: int
) -> None:
    # given a CODE_DEPLOY service after 0-3 deployments: after an odd number DescribeServices names green
    created(sim, "CODE_DEPLOY", deployments=deployments)
    before = created_with(sim)
    image = f"{IMAGE}:{deployments}" if deployments else f"{IMAGE}:1.27"
    # when an update changes the service (UpdateService takes a grace period under CODE_DEPLOY) and runs the lookup
    apply(sim, template("CODE_DEPLOY", "grace_period", image=image))
    # then its load balancers, network and platform version are written as before (ECS refuses any change of them)
    assert created_with(sim) == before
    assert production_colour(sim) == ("Green" if deployments % 2 else "Blue")


def test_a_network_deployed_by_the_appspec_is_not_written_to_the_service_afterwards(sim: World) -> None:
    # given a CODE_DEPLOY service after one deployment, whose new subnets the next deployment carried (the PRIMARY
    # task set's, so DescribeServices' too)
    created(sim, "CODE_DEPLOY", deployments=1)
    before = created_with(sim)
    apply(sim, template("CODE_DEPLOY", "subnets", image=f"{IMAGE}:1"))
    [service] = sim.aws.services.values()
    assert service.describe()["networkConfiguration"] != before[1]
    # when later updates change the service, with the new subnets and back to the old ones
    apply(sim, template("CODE_DEPLOY", "subnets+grace_period", image=f"{IMAGE}:1"))
    apply(sim, template("CODE_DEPLOY", "grace_period", image=f"{IMAGE}:1"))
    # then the service keeps what it was created with; the tasks run in the subnets configured last
    assert created_with(sim) == before
    assert service.describe()["networkConfiguration"] == before[1]
    assert production_colour(sim) == "Green"


def test_a_replacement_service_keeps_its_own_creation_values_after_its_deployments(sim: World) -> None:
    # given a replacement service created after one deployment, in green (where production was)
    created(sim, "CODE_DEPLOY", deployments=1)
    apply(sim, template("CODE_DEPLOY", "service_name", image=f"{IMAGE}:1"))
    before = created_with(sim)
    # when it deploys (production, and DescribeServices, move to blue) and an update then changes it
    apply(sim, template("CODE_DEPLOY", "service_name", image=f"{IMAGE}:2"))
    apply(sim, template("CODE_DEPLOY", "service_name+grace_period", image=f"{IMAGE}:2"))
    # then it is written as it was created, in green
    assert created_with(sim) == before
    assert before[0] == [
        {"targetGroupArn": sim.target_group("Web", "Green"), "containerName": "web", "containerPort": "80"}
    ]
    assert production_colour(sim) == "Blue"


def test_a_replacement_rolled_back_leaves_the_running_service_as_it_was_created(sim: World) -> None:
    # given a service after one deployment, and an update replacing it that fails after the new service exists
    created(sim, "CODE_DEPLOY", deployments=1)
    before = created_with(sim)
    service = sim.logical("WebService")
    assert service is not None
    status = sim.stack.deploy(failing_after(template("CODE_DEPLOY", "service_name", image=f"{IMAGE}:1"), service))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    sim.check()
    # when the next update changes the old service (CloudFormation put the lookup back as it was, and deleted the
    # one the failed update answered)
    apply(sim, template("CODE_DEPLOY", "grace_period", image=f"{IMAGE}:1"))
    # then it is written as it was created
    assert created_with(sim) == before
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_stack_update_keeps_the_task_count_scaling_set(sim: World, engine: str) -> None:
    # given a stack after one deployment whose service autoscaling scaled out to 5 tasks
    created(sim, engine, deployments=1)
    [service] = sim.aws.services.values()
    service.desired_count = 5
    # when an update changes the service, then the count stays 5
    apply(sim, template(engine, "grace_period", image=f"{IMAGE}:1"))
    assert service.desired_count == 5


@pytest.mark.parametrize("engine", ENGINES)
def test_new_service_name_after_a_deployment_starts_the_new_service_where_production_goes(
    sim: World, engine: str
) -> None:
    # given a stack after one deployment (production on green)
    created(sim, engine, deployments=1)
    # when the service gets a name (a replacement: ServiceName is create-only); production is checked after every
    # resource operation, so the replacement never leaves it on an empty target group
    apply(sim, template(engine, "service_name", image=f"{IMAGE}:1"))
    # then the new service runs in green and the old one is gone
    [service] = [s for s in sim.aws.services.values() if s.status == "ACTIVE"]
    assert (service.name, service.desired_count, production_colour(sim)) == ("web-v2", 2, "Green")
    # and the next deployment deploys the new service
    running = service.task_definition
    apply(sim, template(engine, "service_name", image=f"{IMAGE}:2"))
    assert production_colour(sim) == "Blue"
    assert service.task_definition != running


@pytest.mark.parametrize(
    ("engine", "other"),
    [("CODE_DEPLOY", "ECS_NATIVE"), ("ECS_NATIVE", "CODE_DEPLOY")],
)
def test_engine_switch_after_an_odd_number_of_deployments_is_refused_before_anything_changes(
    sim: World, engine: str, other: str
) -> None:
    # given a stack after one deployment (production on green)
    created(sim, engine, deployments=1)
    listeners = {arn: copy.deepcopy(x.actions) for arn, x in sim.aws.listeners.items()}
    # when the engine is switched
    status = sim.stack.deploy(template(other, image=f"{IMAGE}:1"))
    # then the stack update is refused and rolled back, production never left green
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "docs/engines.md" in sim.stack.reason
    assert production_colour(sim) == "Green"
    assert {arn: x.actions for arn, x in sim.aws.listeners.items() if arn in listeners} == listeners


# Found by the simulator on day-two-construct 29f54dd: switching CODE_DEPLOY -> ECS_NATIVE even with production on
# blue, CloudFormation turns the production listener's default action into ECS_NATIVE's fixed 404 before it creates
# the production rule that forwards: production answers 404 in between. So the lookup refuses every in-place switch.
@pytest.mark.parametrize(("engine", "other"), [("CODE_DEPLOY", "ECS_NATIVE"), ("ECS_NATIVE", "CODE_DEPLOY")])
def test_engine_switch_after_an_even_number_of_deployments_is_refused_too(sim: World, engine: str, other: str) -> None:
    # given a stack after two deployments (production on blue)
    created(sim, engine, deployments=2)
    listeners = {arn: copy.deepcopy(x.actions) for arn, x in sim.aws.listeners.items()}
    # when the engine is switched, then the update is refused and rolled back, production never left blue
    status = sim.stack.deploy(template(other, image=f"{IMAGE}:2"))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "docs/engines.md" in sim.stack.reason
    assert production_colour(sim) == "Blue"
    assert {arn: x.actions for arn, x in sim.aws.listeners.items() if arn in listeners} == listeners


def test_ecs_native_alarm_rolls_the_deployment_back_and_the_stack_with_it(sim: World) -> None:
    # given an ECS-native stack after one deployment
    created(sim, "ECS_NATIVE", deployments=1)
    # when the next deployment meets a rollback alarm in ALARM
    [service] = sim.aws.services.values()
    sim.aws.alarming.add(service.deployment_configuration["alarms"]["alarmNames"][0])
    status = sim.stack.deploy(template("ECS_NATIVE", image=f"{IMAGE}:2"))
    # then ECS rolls back, the service update fails, the stack rolls back; production stays on green
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "rolled back (ROLLBACK_SUCCESSFUL)" in sim.stack.reason
    sim.check()
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_stack_rollback_after_a_successful_deployment_redeploys_the_previous_image(sim: World, engine: str) -> None:
    # given a stack after one deployment
    created(sim, engine, deployments=1)
    previous = next(iter(sim.aws.services.values())).task_definition
    # when the next deployment succeeds but a later resource of the same update fails
    service = "WebDeploymentTrigger" if engine == "CODE_DEPLOY" else "WebService"
    logical = sim.logical(service)
    assert logical is not None
    status = sim.stack.deploy(failing_after(template(engine, image=f"{IMAGE}:2"), logical))
    # then CloudFormation rolls back: the previous image is deployed again (by another blue/green deployment)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    [live] = [s for s in sim.aws.services.values() if s.status == "ACTIVE"]
    assert live.task_definition == previous
    sim.check()


@pytest.mark.parametrize("engine", ["CODE_DEPLOY", "ECS_NATIVE"])
def test_two_services_on_one_stack_each_keep_production_on_their_tasks(sim: World, engine: str) -> None:
    # given two services after one deployment each
    sim.stack.rewrite_unchanged_rules = engine == "ECS_NATIVE"
    created(sim, engine, deployments=1, services=2)
    # when both get a certificate
    apply(sim, template(engine, "certificate", image=f"{IMAGE}:1", services=2))
    # then each service's production stays on its green tasks
    for service in ("Web", "Web2"):
        assert production_colour(sim, service) == "Green"
        assert_roles(sim, engine, service)


# A design gap, only under the worse case of aws/aws-cdk #36649 (rules reset on ANY stack update): the lookup runs
# before the ECS service, whose update is the ECS-native deployment, so its ProdTargetGroupArn is stale from then
# until something it fingerprints changes; a rule reset in between writes the stale weights back. Under
# CloudFormation's documented behaviour (a resource is updated only when its properties change) this cannot happen.
@pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="design: lookup stale after an ECS-native deployment (worse case)"
)
def test_ecs_native_update_that_does_not_rerun_the_lookup_keeps_production_on_the_tasks(sim: World) -> None:
    # given an ECS-native stack after one deployment, with listener rules reset on any stack update (the worse case
    # of aws/aws-cdk #36649): the lookup last ran before that deployment's service update
    sim.stack.rewrite_unchanged_rules = True
    created(sim, "ECS_NATIVE", deployments=1)
    # when an update changes nothing the lookup fingerprints (an alarm's threshold)
    changed = template("ECS_NATIVE", image=f"{IMAGE}:1")
    alarm = next(x for x in changed["Resources"] if x.startswith("WebRollbackAlarmsTarget5xx"))
    changed["Resources"][alarm]["Properties"]["Threshold"] = 7
    apply(sim, changed)
    # then production stays on green
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("change", ["certificate", "listener_port"])
def test_listeners_ordered_after_the_lookup_keep_ecs_native_production_on_the_tasks(sim: World, change: str) -> None:
    # given an ECS-native stack after one deployment, its listeners made to wait for the lookup (the proposed fix
    # of LISTENERS_BEFORE_LOOKUP; rules reset on any update, the worse case)
    sim.stack.rewrite_unchanged_rules = True
    apply(sim, listeners_after_lookup(template("ECS_NATIVE")), "CREATE_COMPLETE")
    apply(sim, listeners_after_lookup(template("ECS_NATIVE", image=f"{IMAGE}:1")))
    # when the production listener changes, then production stays on green
    apply(sim, listeners_after_lookup(template("ECS_NATIVE", change, image=f"{IMAGE}:1")))
    assert production_colour(sim) == "Green"


def test_listeners_ordered_after_the_lookup_refuse_the_engine_switch_before_anything_changes(sim: World) -> None:
    # given a CODE_DEPLOY stack after one deployment, listeners made to wait for the lookup (the proposed fix)
    apply(sim, listeners_after_lookup(template("CODE_DEPLOY")), "CREATE_COMPLETE")
    apply(sim, listeners_after_lookup(template("CODE_DEPLOY", image=f"{IMAGE}:1")))
    # when the engine is switched to ECS_NATIVE, then the lookup refuses first and production never leaves green
    status = sim.stack.deploy(listeners_after_lookup(template("ECS_NATIVE", image=f"{IMAGE}:1")))
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "docs/engines.md" in sim.stack.reason
    assert production_colour(sim) == "Green"


# ---- issue #14: two ECS-native services on one shared load balancer -----------------------------------------


def shared(
    sim: World,
    *,
    certificate: str | None = None,
    priorities: dict[str, int] | None = None,
    engine: str = "ECS_NATIVE",
    pairs: bool = False,
    **images: int,
) -> None:
    """`cdk deploy` of the shared stack (Api and Web on Edge, by rules or with ``pairs`` a listener pair each) with
    each service's image tag from ``images``."""
    tags = {service: f"{IMAGE}:{tag}" for service, tag in images.items()}
    apply(
        sim,
        shared_template(certificate=certificate, images=tags, priorities=priorities, engine=engine, pairs=pairs),
    )


def running_definitions(sim: World) -> dict[str, str]:
    """Construct id -> the task definition its ECS service runs, to see which services a step deployed."""
    found = {}
    for service in sim.services():
        logical = sim.logical(f"{service}Service")
        assert logical is not None
        found[service] = sim.aws.services[sim.stack.resources[logical].physical_id].task_definition
    return found


# Under the worse case of aws/aws-cdk #36649 (rules reset on ANY stack update) the design gap of the xfail above is
# easier to reach with services sharing a stack: a stack update that deploys Web does not ask Api's lookup again,
# whose last answer predates Api's own deployment, so Api's rules are reset to the target group without tasks. (A
# certificate change on the shared load balancer does the same: its listeners are found by ARN and not in the
# services' fingerprints.) Under CloudFormation's documented behaviour the sequence holds.
@pytest.mark.parametrize(
    "rules_reset",
    [
        pytest.param(False, id="documented"),
        pytest.param(
            True,
            id="rules_reset_on_any_update",
            marks=pytest.mark.xfail(
                strict=True,
                raises=AssertionError,
                reason="design: lookup stale after an ECS-native deployment (worse case), here the other service's",
            ),
        ),
    ],
)
def test_two_services_on_a_shared_load_balancer_each_keep_production_on_their_own_tasks(
    sim: World, rules_reset: bool
) -> None:
    # given Api (host api.example.com, priority 10) and Web (path /web/*, priority 20) on one shared load balancer;
    # every step is checked after each resource operation and poll: each service's request, routed through the
    # shared listener's rules, reaches that service's own running tasks (World.check)
    sim.stack.rewrite_unchanged_rules = rules_reset
    apply(sim, shared_template(), "CREATE_COMPLETE")
    assert sim.services() == ["Api", "Web"]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")
    [prod_listener] = [x for x in sim.aws.listeners.values() if x.port == 80]
    # a request neither service's rule matches answers the shared listener's 404; Api's rule comes first
    assert weights_of(sim.aws.route(prod_listener.arn, "www.example.com", "/")) == {}
    assert set(weights_of(sim.aws.route(prod_listener.arn, "api.example.com", "/web/x"))) == {
        sim.target_group("Api", "Blue"),
        sim.target_group("Api", "Green"),
    }

    # when Api deploys a new image, then Api moves to green and Web is untouched
    before = running_definitions(sim)
    shared(sim, Api=1)
    after = running_definitions(sim)
    assert [service for service in after if after[service] != before[service]] == ["Api"]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Blue")

    # when Web deploys a new image, then Web moves to green and Api stays there
    shared(sim, Api=1, Web=1)
    assert [service for service in after if running_definitions(sim)[service] != after[service]] == ["Web"]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Green")

    # when the shared load balancer gets a certificate (production 80 -> 443, port 80 a new redirect listener)
    shared(sim, certificate=CERTIFICATE_ARN, Api=1, Web=1)
    # then both productions stay on their green tasks, now on 443
    assert sorted((x.port, x.protocol) for x in sim.aws.listeners.values()) == [
        (80, "HTTP"),
        (443, "HTTPS"),
        (8443, "HTTPS"),
    ]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Green")
    for service in ("Api", "Web"):
        assert_roles(sim, "ECS_NATIVE", service)

    # when each deploys again, then each moves back to blue
    shared(sim, certificate=CERTIFICATE_ARN, Api=2, Web=1)
    shared(sim, certificate=CERTIFICATE_ARN, Api=2, Web=2)
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")

    # when the certificate is replaced (the listeners are updated in place), then nothing moves
    shared(sim, certificate=RENEWED_CERTIFICATE_ARN, Api=2, Web=2)
    assert {tuple(x.certificates) for x in sim.aws.listeners.values() if x.protocol == "HTTPS"} == {
        (RENEWED_CERTIFICATE_ARN,)
    }
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")

    # when Api's rules move to priority 5 (the lookup reads production on the shared listener by the old priority)
    shared(sim, certificate=RENEWED_CERTIFICATE_ARN, priorities={"Api": 5}, Api=2, Web=2)
    assert {x.priority for x in sim.aws.rules.values()} == {"5", "20"}
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")
    # and Api deploys at its new priority, then production follows it to green
    shared(sim, certificate=RENEWED_CERTIFICATE_ARN, priorities={"Api": 5}, Api=3, Web=2)
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Blue")
    for service in ("Api", "Web"):
        assert_roles(sim, "ECS_NATIVE", service)


def test_the_production_check_sees_another_services_rule_taking_the_requests(sim: World) -> None:
    # given the shared stack with Api's production rule made to match every path (ahead of Web's /web/* at 20)
    misrouted = shared_template()
    rule = next(x for x in misrouted["Resources"] if x.startswith("ApiProdRule"))
    misrouted["Resources"][rule]["Properties"]["Conditions"] = [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
    ]
    assert sim.stack.deploy(misrouted) == "CREATE_COMPLETE"
    # when each service's production is checked, then Web's request is found on Api's tasks
    sim.check("Api")
    with pytest.raises(AssertionError, match="production of Web sends 100 to ApiBlueTargetGroup"):
        sim.check("Web")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_built_in_hook_added_after_an_odd_number_of_deployments_keeps_production_on_the_tasks(
    sim: World, engine: str
) -> None:
    # given a service after one deployment: production on green
    created(sim, engine, deployments=1)
    assert production_colour(sim) == "Green"
    deployments = len(sim.aws.deployments)
    # when the pre-flight check is added (a hook: under CODE_DEPLOY the trigger's AppSpec changes; under
    # ECS_NATIVE the service's lifecycle hooks)
    apply(sim, template(engine, "preflight_check", image=f"{IMAGE}:1"))
    # then nothing is deployed for a hook alone (nothing that runs changes; for ECS, as the simulator models
    # UpdateService without a new task definition, network or platform version): production stays on green
    assert len(sim.aws.deployments) == deployments
    assert production_colour(sim) == "Green"
    assert sim.aws.running_tasks(sim.target_group("Web", "Green")) == 2
    # and the next image deploys with the hook (CODE_DEPLOY: in the deployment's AppSpec)
    apply(sim, template(engine, "preflight_check", image=f"{IMAGE}:2"))
    assert production_colour(sim) == "Blue"
    if engine == "CODE_DEPLOY":
        last = list(sim.aws.deployments.values())[-1]
        assert [next(iter(hook)) for hook in last.appspec["Hooks"]] == ["BeforeInstall"]


# ---- issue #22: the props aws-ecs-patterns users look for ------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "change", "deploys"),
    [
        *((engine, change, True) for engine in ENGINES for change in ("container_cpu", "container_memory")),
        *((engine, "ecs_managed_tags", False) for engine in ENGINES),
        ("ECS_NATIVE", "cloud_map", True),
    ],
)
def test_an_aws_ecs_patterns_prop_set_after_a_deployment_keeps_production_on_the_tasks(
    sim: World, engine: str, change: str, deploys: bool
) -> None:
    # given a service after one deployment: production on green
    created(sim, engine, deployments=1)
    [service] = sim.aws.services.values()
    # when the prop is set
    apply(sim, template(engine, change, image=f"{IMAGE}:1"))
    # then a container size (a new task definition revision) and a service registry (ECS starts a deployment) deploy
    # blue/green, production moving to the new tasks; ECS managed tags are updated in place (UpdateService takes
    # them under CODE_DEPLOY too) and nothing is deployed
    assert production_colour(sim) == ("Blue" if deploys else "Green")
    assert sim.aws.running_tasks(sim.target_group("Web", production_colour(sim))) == 2
    assert (service.managed_tags, bool(service.service_registries)) == (
        change == "ecs_managed_tags",
        change == "cloud_map",
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_new_protocol_version_is_refused_before_production_moves(sim: World, engine: str) -> None:
    # given an HTTPS service after one deployment: production on green
    created(sim, engine, "certificate", deployments=1)
    # when the target groups' protocol version changes (create-only: CloudFormation creates both target groups anew)
    status = sim.stack.deploy(template(engine, "certificate+protocol_version", image=f"{IMAGE}:1"))
    # then the lookup refuses before any listener, rule or service changes, and the stack rolls back; production
    # never left green
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "The target groups are being replaced" in sim.stack.reason
    sim.check()
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_services_with_listener_pairs_on_a_shared_load_balancer_each_deploy_on_their_own(
    sim: World, engine: str
) -> None:
    # given Api and Web on one shared load balancer, each with its own production and test listener (CODE_DEPLOY
    # reroutes a listener's default action: each service's deployment reroutes its own listeners only); every step
    # is checked after each resource operation and poll (World.check)
    apply(sim, shared_template(engine=engine, pairs=True), "CREATE_COMPLETE")
    assert sorted(x.port for x in sim.aws.listeners.values()) == [80, 8080, 8081, 8082, 9081, 9082]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")

    # when Api deploys a new image, then Api moves to green and Web is untouched
    before = running_definitions(sim)
    shared(sim, engine=engine, pairs=True, Api=1)
    after = running_definitions(sim)
    assert [service for service in after if after[service] != before[service]] == ["Api"]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Blue")

    # when Web deploys, then Web moves and Api stays on its green tasks; each one's test traffic reaches its own
    shared(sim, engine=engine, pairs=True, Api=1, Web=1)
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Green")
    for service in ("Api", "Web"):
        own = {sim.target_group(service, "Blue"), sim.target_group(service, "Green")}
        assert {arn for arn, weight in sim.test_traffic(service).items() if weight > 0} <= own

    # when the load balancer and both pairs get a certificate (the listeners are updated in place), then nothing moves
    shared(sim, engine=engine, pairs=True, certificate=CERTIFICATE_ARN, Api=1, Web=1)
    assert sorted((x.port, x.protocol) for x in sim.aws.listeners.values()) == [
        (80, "HTTP"),
        (443, "HTTPS"),
        (8081, "HTTPS"),
        (8082, "HTTPS"),
        (8443, "HTTPS"),
        (9081, "HTTPS"),
        (9082, "HTTPS"),
    ]
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Green", "Green")
    for service in ("Api", "Web"):
        assert_roles(sim, engine, service)

    # when each deploys a third time, then each moves back to blue
    shared(sim, engine=engine, pairs=True, certificate=CERTIFICATE_ARN, Api=2, Web=2)
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")

    # when the stack is deleted and created again, then both start on blue
    assert sim.stack.delete() == "DELETE_COMPLETE"
    apply(sim, shared_template(engine=engine, pairs=True), "CREATE_COMPLETE")
    assert (production_colour(sim, "Api"), production_colour(sim, "Web")) == ("Blue", "Blue")
