"""The integration apps of tests/integ still synthesize their committed snapshots, compared as integ-runner does.

Without an account, integ-runner's snapshot check is the whole of what it verifies: it synthesizes each app and
compares the templates of the stacks its test cases deploy with the app's ``*.snapshot/`` directory, asset hashes
canonicalized (``IntegSnapshotRunner.canonicalizeTemplate``: each asset id of the stack's asset manifest, in
order, becomes ``Asset<n>``), assertion stacks left out. ``npx integ-runner --language python --directory
tests/integ`` does that offline in 30-50 s (two fresh jsii processes per app); these tests do it in the suite's
process, and check more than integ-runner does: the test cases themselves (``integ.json``: their order, context,
expected errors, which destroy) and the assertion stacks (their ``salt``, the time of synthesis, masked), since a
change to either changes what ``make integ`` deploys and asserts.

After an intended change: regenerate the snapshots offline with ``make integ-snapshots`` (integ-runner's
``--dry-run``) and review their diff.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "aws_cdk.integ_tests_alpha",
    reason="aws-cdk.integ-tests-alpha needs aws-cdk-lib >= 2.275; make test-min runs aws-cdk-lib 2.269 without it",
)

from aws_cdk import App
from aws_cdk.assertions import Match, Template

from blue_green_ecs import DeploymentEngine
from tests.authorization.reference import resource_types
from tests.integ import scenario

from .support import ROOT, mask_assets

INTEG = ROOT / "tests" / "integ"
# integ-runner's Python preset discovers tests by this file name pattern.
INTEG_FILE = re.compile(r"^integ_.*\.py$")
APPS = sorted(path.stem for path in INTEG.iterdir() if INTEG_FILE.match(path.name))
# What integ-runner's synthesis adds to the app's context (runner-base.ts getContext, toolkit-lib
# contextFromSettings with versionReporting, pathMetadata and assetMetadata off); its recommended feature flags
# are cdk.json's, which the app pins itself (test_integ_runner_recommends_no_flag_beyond_cdk_json).
INTEG_RUNNER_CONTEXT: dict[str, Any] = {"aws:cdk:disable-version-reporting": True, "aws:cdk:bundling-stacks": ["**"]}
RECOMMENDED_FLAGS = ROOT / "node_modules" / "@aws-cdk" / "integ-runner" / "lib" / "recommended-feature-flags.json"


def _read(directory: Path, name: str) -> Any:
    return json.loads((directory / name).read_text())


@pytest.fixture(scope="module", params=APPS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """An integration app's name, its synthesis as integ-runner synthesizes it, and its committed snapshot."""
    name: str = request.param
    engine: DeploymentEngine = importlib.import_module(f"tests.integ.{name}").ENGINE
    outdir = tmp_path_factory.mktemp(name)
    app = App(context=INTEG_RUNNER_CONTEXT, post_cli_context=scenario.feature_flags(), outdir=str(outdir))
    return name, scenario.synthesize(app, engine), INTEG / f"{name}.py.snapshot"


def asset_ids(directory: Path, stack: str) -> list[str]:
    """The asset ids integ-runner masks in ``stack``'s template (AssemblyManifestReader.getAssetIdsForStack)."""
    manifest = _read(directory, f"{stack}.assets.json")
    files = [
        key for key, entry in manifest.get("files", {}).items() if entry["source"].get("path", "").startswith("asset.")
    ]
    images = [
        key
        for key, entry in manifest.get("dockerImages", {}).items()
        if entry["source"].get("directory", "").startswith("asset.")
    ]
    return files + images


def canonical(template: Any, assets: list[str]) -> Any:
    """``template`` with asset ids replaced as integ-runner replaces them: the first occurrence in each string, in the
    asset manifest's order (a JavaScript ``String.replace`` of ``new RegExp(id)`` by ``Asset<n>$1``)."""

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            return {substitute(key): substitute(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [substitute(inner) for inner in value]
        if isinstance(value, str):
            for number, asset in enumerate(dict.fromkeys(assets), start=1):
                value = value.replace(asset, f"Asset{number}$1", 1)
        return value

    return substitute(template)


def differences(now: dict[str, Any], committed: dict[str, Any]) -> str:
    """What differs between two templates, by section and logical id (the failure message's summary)."""
    found = []
    for section in sorted(set(now) | set(committed)):
        new, old = now.get(section), committed.get(section)
        if new == old:
            continue
        if isinstance(new, dict) and isinstance(old, dict):
            found.append(f"{section}: {', '.join(sorted(key for key in {*new, *old} if new.get(key) != old.get(key)))}")
        else:
            found.append(section)
    return "; ".join(found)


def test_every_integ_app_has_a_committed_snapshot() -> None:
    # given the files integ-runner discovers, and the snapshot directories
    snapshots = sorted(path.name.removesuffix(".py.snapshot") for path in INTEG.glob("*.py.snapshot"))
    # then one for one: a new app fails integ-runner's check ("NEW") until its snapshot is committed
    assert APPS == ["integ_code_deploy", "integ_ecs_native"]
    assert snapshots == APPS


def test_deployed_stacks_match_the_snapshot(app: tuple[str, Path, Path]) -> None:
    # given an app synthesized now and its snapshot
    name, actual, snapshot = app
    stacks = sorted({stack for case in _read(snapshot, "integ.json")["testCases"].values() for stack in case["stacks"]})
    # then the stacks its test cases deploy are the snapshot's, as integ-runner compares them
    assert stacks == [scenario.STACK_NAMES[importlib.import_module(f"tests.integ.{name}").ENGINE]]
    for stack in stacks:
        now = canonical(_read(actual, f"{stack}.template.json"), asset_ids(actual, stack))
        committed = canonical(_read(snapshot, f"{stack}.template.json"), asset_ids(snapshot, stack))
        assert now == committed, (
            f"{name}: {stack} differs from its snapshot ({differences(now, committed)}); "
            "run make integ-snapshots and review the diff"
        )


def test_a_change_of_asset_hashes_alone_is_no_difference() -> None:
    # given the committed service stack, and the same with another hash for each of its assets (new handler code)
    snapshot, stack = INTEG / "integ_code_deploy.py.snapshot", scenario.STACK_NAMES[DeploymentEngine.CODE_DEPLOY]
    assets = asset_ids(snapshot, stack)
    template = (snapshot / f"{stack}.template.json").read_text()
    changed = {asset: f"{index:064x}" for index, asset in enumerate(assets)}
    other = template
    for asset, replacement in changed.items():
        other = other.replace(asset, replacement)
    # then integ-runner's canonical forms are equal, as long as the hashes stand where they stood
    assert assets
    assert other != template
    assert canonical(json.loads(other), list(changed.values())) == canonical(json.loads(template), assets)
    assert canonical(json.loads(other.replace('"Timeout": 300', '"Timeout": 301')), list(changed.values())) != (
        canonical(json.loads(template), assets)
    )


def test_test_cases_match_the_snapshot(app: tuple[str, Path, Path]) -> None:
    # given an app synthesized now and its snapshot
    _, actual, snapshot = app
    # then the same test cases, in the same order, with the same context, expected errors and destroys
    now, committed = _read(actual, "integ.json"), _read(snapshot, "integ.json")
    assert list(now["testCases"]) == list(committed["testCases"])
    assert now == committed


def _assertion_template(directory: Path, stack: str) -> Any:
    """An assertion stack's template, its assertion resources' ``salt`` (``Date.now()`` at synthesis, so that they
    run again on every deploy) and asset hashes masked."""
    template = mask_assets(_read(directory, f"{stack}.template.json"))
    for resource in template["Resources"].values():
        if "salt" in resource.get("Properties", {}):
            resource["Properties"]["salt"] = "<synthesis time>"
    return template


def test_assertion_stacks_match_the_snapshot(app: tuple[str, Path, Path]) -> None:
    # given an app synthesized now and its snapshot
    name, actual, snapshot = app
    cases = _read(snapshot, "integ.json")["testCases"].values()
    # then each case's assertions are the committed ones (integ-runner itself does not compare these)
    for stack in (case["assertionStack"] for case in cases):
        now, committed = _assertion_template(actual, stack), _assertion_template(snapshot, stack)
        assert now == committed, (
            f"{name}: {stack} differs from its snapshot ({differences(now, committed)}); "
            "run make integ-snapshots and review the diff"
        )


def test_cases_leave_no_stack_behind(app: tuple[str, Path, Path]) -> None:
    # given the test cases in integ-runner's order
    _, actual, _ = app
    cases = list(_read(actual, "integ.json")["testCases"].values())
    destroys = [case["cdkCommandOptions"]["destroy"]["enabled"] for case in cases]
    # then the last case destroys every stack in its `finally`, whichever case failed before it
    assert destroys == [False, False, False, False, True, True]
    assert all(not case["stackUpdateWorkflow"] for case in cases)


def test_the_broken_image_must_fail_the_deploy(app: tuple[str, Path, Path]) -> None:
    # given the third case
    name, actual, _ = app
    engine = importlib.import_module(f"tests.integ.{name}").ENGINE
    deploy = _read(actual, "integ.json")["testCases"]["3-BrokenImage"]["cdkCommandOptions"]["deploy"]
    # then integ-runner fails it unless the deploy fails with the engine's reason
    assert deploy["expectError"] is True
    assert deploy["expectedMessage"] == scenario.BROKEN_IMAGE_ERRORS[engine]
    assert deploy["args"]["context"] == {"image": scenario.BROKEN_IMAGE}


def test_expected_error_matches_the_deployment_triggers_message() -> None:
    # given the message the trigger fails with when CodeDeploy stops a deployment on an alarm, as the CLI reports it
    message = (
        "The stack named BlueGreenIntegCodeDeploy failed to deploy: UPDATE_ROLLBACK_COMPLETE: Received response "
        "status [FAILED] from custom resource. Message returned: CodeDeploy deployment d-7XQ2B1A9C was stopped by an "
        "alarm (ALARM_ACTIVE): One or more alarms have been activated. Rollback: deployment d-9KLM3N4OP restored the "
        "previous task set."
    )
    # then the expected message (a JavaScript regular expression, the same in Python here) matches it
    assert re.search(scenario.BROKEN_IMAGE_ERRORS[DeploymentEngine.CODE_DEPLOY], message)
    assert not re.search(scenario.BROKEN_IMAGE_ERRORS[DeploymentEngine.CODE_DEPLOY], message.replace("d-7", "x-7"))


def test_production_follows_the_successful_deployments() -> None:
    # given the steps in order: an image change that does not fail is a deployment, a destroy starts over
    deployments, image = 0, None
    for step in scenario.STEPS:
        if image is not None and step.image != image and not step.fails:
            deployments += 1
        # then production is on blue after an even number of deployments, on green after an odd one
        assert step.production == ("green" if deployments % 2 else "blue"), step.name
        image = image if step.fails else step.image  # rolled back: the stack keeps its image
        if step.destroy:
            deployments, image = 0, None


def test_assertion_calls_are_authorized_by_iam_actions_aws_knows(app: tuple[str, Path, Path]) -> None:
    # given the IAM actions of every role in the assertion stacks
    name, actual, _ = app
    actions: set[str] = set()
    for case in _read(actual, "integ.json")["testCases"].values():
        resources = _read(actual, f"{case['assertionStack']}.template.json")["Resources"].values()
        roles = [resource["Properties"] for resource in resources if resource["Type"] == "AWS::IAM::Role"]
        for policy in (policy for role in roles for policy in role.get("Policies", [])):
            for statement in policy["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                actions.update([action] if isinstance(action, str) else action)
    # then each is in the Service Authorization Reference ("elasticloadbalancingv2:DescribeListeners" is not)
    assert {"ecs:DescribeServices", "elasticloadbalancing:DescribeListeners"} <= actions, name
    for action in actions:
        resource_types(action)  # raises KeyError for an action IAM does not know


def test_assertion_stacks_read_the_service_stack_without_exports(app: tuple[str, Path, Path]) -> None:
    # given the service stack and the assertion stacks
    name, actual, _ = app
    cases = list(_read(actual, "integ.json")["testCases"].values())
    service = json.dumps(_read(actual, f"{cases[0]['stacks'][0]}.template.json").get("Outputs", {}))
    assertions = "".join((actual / f"{case['assertionStack']}.template.json").read_text() for case in cases)
    # then weak references (Fn::GetStackOutput): an export could not change while an earlier case's stack imports it
    assert "Fn::GetStackOutput" in assertions, name
    assert "Fn::ImportValue" not in assertions
    assert '"Export"' not in service


def test_integ_runner_recommends_no_flag_beyond_cdk_json() -> None:
    # given integ-runner's recommended feature flags (its synthesis context) and cdk.json's, which the apps pin
    if not RECOMMENDED_FLAGS.exists():
        pytest.skip("integ-runner is not installed: make bootstrap (npm ci) installs it")
    recommended: dict[str, Any] = json.loads(RECOMMENDED_FLAGS.read_text())
    pinned = scenario.feature_flags()
    # then integ-runner's synthesis equals the one here, which does not read node_modules
    assert set(recommended) <= set(pinned)


def _assembly(tmp_path: Path, *, version: str = "55.0.0", case: dict[str, Any] | None = None) -> Path:
    (tmp_path / "manifest.json").write_text(json.dumps({"version": version, "artifacts": {}}))
    (tmp_path / "Stack.assets.json").write_text(json.dumps({"version": version, "files": {}}))
    (tmp_path / "cdk.out").write_text(json.dumps({"version": version}))
    integ_json = {"version": version, "testCases": {"1-Create": case or {"stacks": ["Stack"]}}}
    (tmp_path / "integ.json").write_text(json.dumps(integ_json))
    return tmp_path


def test_assembly_is_labelled_with_the_schema_integ_runner_reads(tmp_path: Path) -> None:
    # given an assembly aws-cdk-lib labelled 55
    directory = _assembly(tmp_path)
    # when
    scenario.label_for_integ_runner(str(directory))
    # then every manifest says 53, integ-runner 2.197.10's newest
    for name in ("manifest.json", "Stack.assets.json", "cdk.out", "integ.json"):
        assert _read(directory, name)["version"] == "53.0.0"


def test_labelling_refuses_a_schema_whose_additions_are_unknown(tmp_path: Path) -> None:
    # given an assembly of a schema later than 55
    directory = _assembly(tmp_path, version="56.0.0")
    # then
    with pytest.raises(ValueError, match=r"has cloud assembly schema 56\.0\.0: check what it added since 55"):
        scenario.label_for_integ_runner(str(directory))


def test_labelling_refuses_a_test_case_option_newer_than_53(tmp_path: Path) -> None:
    # given a test case with schema 54's allowDeleteFailures
    directory = _assembly(tmp_path, case={"stacks": ["Stack"], "allowDeleteFailures": True})
    # then
    with pytest.raises(ValueError, match="Test case 1-Create uses a schema 54/55 option"):
        scenario.label_for_integ_runner(str(directory))


@pytest.mark.parametrize("engine", list(scenario.STACK_NAMES))
def test_the_stack_update_context_synthesizes_what_it_deploys(engine: DeploymentEngine) -> None:
    # given case 5's context, which sets every key the cases set (the snapshot shows the defaults only)
    [step] = [step for step in scenario.STEPS if step.name == "StackUpdate"]
    app = App(context={**INTEG_RUNNER_CONTEXT, **step.context()}, post_cli_context=scenario.feature_flags())
    # when
    template = Template.from_stack(scenario.service_under_test(app, engine))
    # then the image, the health check path and the test listener port are the case's
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition", {"ContainerDefinitions": [Match.object_like({"Image": scenario.NEW_IMAGE})]}
    )
    target_groups = template.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {group["Properties"]["HealthCheckPath"] for group in target_groups.values()} == {"/index.html"}
    listeners = template.find_resources("AWS::ElasticLoadBalancingV2::Listener")
    assert sorted(listener["Properties"]["Port"] for listener in listeners.values()) == [80, scenario.MOVED_TEST_PORT]
