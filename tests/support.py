"""Helpers shared by the tests: the app as `cdk synth` sees it, synthesis with cfn-lint, masking."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Aspects, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.runner.cli import Runner
from constructs import Construct
from filelock import FileLock

from blue_green_ecs.configuration.acknowledgements import acknowledge_nag, acknowledge_role_dependencies

ROOT = Path(__file__).resolve().parents[1]
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# `make test` runs cdk-nag 3, `make test-min` cdk-nag 2 (tests/requirements-min.txt).
CDK_NAG_MAJOR = int(importlib.metadata.version("cdk-nag").split(".")[0])
BASIC_EXECUTION = "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"


def cdk_context() -> dict[str, Any]:
    """cdk.json's context: `python app.py` does not read it, `cdk synth` does, so the tests pass it."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(*, outdir: str | None = None, **context: Any) -> App:
    """An App as `cdk synth` builds it (cdk.json's context, plus overrides), checked by cdk-nag.

    cdk-nag 3 is a policy-validation plugin: every synthesis of this app, ``Template.from_stack``
    included, fails on an AwsSolutions finding that is neither fixed nor acknowledged. cdk-nag 2 is
    an Aspect that adds an error annotation per finding, and cdk.json's
    ``@aws-cdk/core:annotationsInValidationReport`` makes those fail the synthesis just the same.
    """
    app = App(outdir=outdir, context={**cdk_context(), **context})
    if CDK_NAG_MAJOR >= 3:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    else:
        Aspects.of(app).add(AwsSolutionsChecks())  # type: ignore[arg-type]  # typed by cdk-nag 3: a plugin there
    return app


def new_stack(stack_id: str = "Test") -> Stack:
    """An environment-agnostic stack in a fresh app, as the smallest fixture a test needs."""
    return Stack(new_app(), stack_id)


@functools.cache
def _cfn_lint() -> Runner:
    # Loading cfn-lint's rules takes longer than linting a template; its own CLI keeps one runner for
    # every file it lints, and so does the suite (about 0.4 s saved per synthesized template).
    return Runner(ConfigMixIn(regions=["us-east-1"]))


# What cfn-lint 1.58 cannot read yet, ignored for this one rule, path and value only (issue #22).
#
# E1022 (Fn::Join, which reports its nested functions) on a well-formed `Fn::GetStackOutput` as the source string
# of an `Fn::Split`, path `.../Fn::Split/1`. aws-cdk-lib writes it when cdk.json's
# "@aws-cdk/core:defaultCrossStackReferences" is "weak": a team stack's reference to the network stack's listener
# is `Fn::GetStackOutput`, and the load balancer dimension its target group metrics take from the listener ARN is
# `Fn::Join` of `Fn::Select` of `Fn::Split("/", <that>)` (tests/test_platform.py).
# - CloudFormation: `Fn::GetStackOutput` returns the value of another stack's output, same account and Region
#   included: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html
#   and `Fn::Split` splits a source string, an imported output value among its examples:
#   https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-split.html
#   aws-cdk's integration test of weak list references (an IntegTest, deployed to eu-central-1) writes `Fn::Select`
#   of `Fn::Split` of `Fn::GetStackOutput`: https://github.com/aws/aws-cdk/blob/main/packages/@aws-cdk-testing/framework-integ/test/core/test/integ.same-region-references-weak-string-list.js.snapshot/SameRegionWeakStringListConsumer.template.json
#   (its pull request noted that CloudFormation did not yet accept `Fn::GetStackOutput` inside other functions in
#   every Region: https://github.com/aws/aws-cdk/pull/37948).
# - cfn-lint: https://github.com/aws-cloudformation/cfn-lint/issues/4494 asked for `Fn::GetStackOutput`;
#   https://github.com/aws-cloudformation/cfn-lint/pull/4495 added it (resource properties, Fn::Join, Fn::If,
#   Fn::Select) and https://github.com/aws-cloudformation/cfn-lint/pull/4519 (Outputs, Fn::Sub, Fn::Base64).
#   Fn::Split's schema (cfnlint/data/schemas/other/functions/split.json) still leaves it out; we found no issue
#   asking for it.
# Remove this when test_cfn_lint_still_rejects_get_stack_output_in_split fails: cfn-lint has learned it.
GET_STACK_OUTPUT_IN_SPLIT = "E1022"
_GET_STACK_OUTPUT_REQUIRED = frozenset({"StackName", "OutputName"})
_GET_STACK_OUTPUT_KEYS = _GET_STACK_OUTPUT_REQUIRED | {"Region", "RoleArn"}


def _value_at(template: dict[str, Any], path: list[Any]) -> Any:
    value: Any = template
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _is_get_stack_output_in_split(template: dict[str, Any], rule: str, message: str, path: list[Any]) -> bool:
    """E1022 saying that a well-formed ``Fn::GetStackOutput`` as ``Fn::Split``'s source string is not a string."""
    if rule != GET_STACK_OUTPUT_IN_SPLIT or path[-2:] != ["Fn::Split", 1]:
        return False
    value = _value_at(template, path)
    if not isinstance(value, dict) or list(value) != ["Fn::GetStackOutput"]:
        return False
    argument = value["Fn::GetStackOutput"]
    return (
        isinstance(argument, dict)
        and _GET_STACK_OUTPUT_REQUIRED <= argument.keys() <= _GET_STACK_OUTPUT_KEYS
        and message == f"{value!r} is not of type 'string'"
    )


# cfn-lint takes about 0.6 s a template, longer than synthesizing it: each distinct template is linted once per
# session, by whichever pytest-xdist worker asks first, and the others read its answer (tests/conftest.py names the
# folder). The key is the template's exact text, so a template that differs in any byte is linted again.
LINT_CACHE = "BLUE_GREEN_ECS_CFN_LINT_CACHE"
_Match = tuple[str, str, list[Any]]
_linted: dict[str, list[_Match]] = {}


def _lint(text: str) -> list[_Match]:
    decoded, errors = decode_str(text)
    matches = errors or ([] if decoded is None else list(_cfn_lint().validate_template(decoded)))
    return [(m.rule.id, m.message, list(m.path)) for m in matches]


def _cfn_lint_matches(text: str) -> list[_Match]:
    key = hashlib.sha256(text.encode()).hexdigest()
    if key in _linted:
        return _linted[key]
    folder = os.environ.get(LINT_CACHE)
    if folder is None:
        found = _lint(text)
    else:
        answer = Path(folder) / f"{key}.json"
        with FileLock(f"{answer}.lock"):
            if answer.exists():
                found = [(rule, message, path) for rule, message, path in json.loads(answer.read_text())["matches"]]
            else:
                started = time.perf_counter()
                found = _lint(text)
                # The time is for benchmarks/suite_time.py: what cfn-lint costs the suite.
                answer.write_text(json.dumps({"matches": found, "seconds": time.perf_counter() - started}))
    _linted[key] = found
    return found


def cfn_lint_findings(template: dict[str, Any], *, ignore_unread: bool = True) -> list[str]:
    """cfn-lint errors and warnings (informational findings excluded) of one template.

    ``ignore_unread`` drops what cfn-lint cannot read yet (``_is_get_stack_output_in_split``); without it, the
    findings are cfn-lint's own.
    """
    return [
        f"{rule} {message} ({'/'.join(str(p) for p in path)})"
        for rule, message, path in _cfn_lint_matches(json.dumps(template))
        if rule[0] in "EW" and not (ignore_unread and _is_get_stack_output_in_split(template, rule, message, path))
    ]


def synth(stack: Stack) -> Template:
    """Synthesize ``stack``, failing on any cfn-lint error or warning, as every template must pass."""
    template = Template.from_stack(stack)
    findings = cfn_lint_findings(dict(template.to_json()))
    assert not findings, "cfn-lint findings:\n" + "\n".join(findings)
    return template


def mask_assets(template: dict[str, Any]) -> dict[str, Any]:
    """Replace asset hashes, which change with aws-cdk-lib and handler code, not infrastructure."""
    masked: dict[str, Any] = json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    return masked


def logical_id(stack: Stack, construct: Any) -> str:
    """The logical id of a construct's CloudFormation resource."""
    return str(stack.get_logical_id(construct.node.default_child))


def resources_of_type(template: Template, resource_type: str) -> dict[str, Any]:
    """Logical id -> resource, for one type."""
    return dict(template.find_resources(resource_type))


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type, as (logical id, resource)."""
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def raises_message(message: str) -> pytest.RaisesExc[ValueError]:
    """Expect a ValueError with exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def hook_function(
    scope: Construct,
    construct_id: str,
    *,
    returns: str = "True",
    code: lambda_.Code | None = None,
    handler: str = "index.handler",
) -> lambda_.Function:
    """A user's hook function: inline code returning ``returns`` unless ``code`` is given, aws-cdk-lib's
    default role (its findings acknowledged, as a user would)."""
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler=handler,
        code=code or lambda_.Code.from_inline(f"def handler(event, context):\n    return {returns}\n"),
    )
    acknowledge_role_dependencies(function)  # aws-cdk-lib's redundant DependsOn, as in the library
    acknowledge_nag(function, BASIC_EXECUTION, "Test hook function with aws-cdk-lib's default role.")
    return function


def as_first_created(template: Template, value: Any) -> Any:
    """``value`` (a resolved property) as the first create renders it: the live-state lookup answers a new
    service with the template's own values (blue for production, the configured network and count), and the
    pinned service a CODE_DEPLOY service's with the lookup's answer (its Candidate)."""
    lookups = {k: r["Properties"] for k, r in resources_of_type(template, "Custom::BlueGreenEcsLiveState").items()}
    pinned = {k: r["Properties"] for k, r in resources_of_type(template, "Custom::BlueGreenEcsPinnedService").items()}

    def answer(logical: str, attribute: str) -> Any:
        props = lookups[logical]
        configured = props["Configured"]
        return {
            "ProdTargetGroupArn": props["BlueTargetGroupArn"],
            "TestTargetGroupArn": props["GreenTargetGroupArn"],
            "ServiceTargetGroupArn": props["BlueTargetGroupArn"],
            "ServiceAlternateTargetGroupArn": props["GreenTargetGroupArn"],
            "DesiredCount": int(configured["DesiredCount"]),
            "ContainerPort": int(configured["ContainerPort"]),
        }.get(attribute, configured.get(attribute))

    def walk(item: Any) -> Any:
        if isinstance(item, list):
            return [walk(x) for x in item]
        if not isinstance(item, dict):
            return item
        if len(item) == 1:
            ((key, argument),) = item.items()
            if key == "Fn::GetAtt" and argument[0] in pinned:
                return walk(pinned[argument[0]]["Candidate"][argument[1]])
            if key == "Fn::GetAtt" and argument[0] in lookups:
                return answer(argument[0], argument[1])
            if key == "Fn::Split" and isinstance(argument[1], dict) and "Fn::GetAtt" in argument[1]:
                target = argument[1]["Fn::GetAtt"]
                if target[0] in pinned:
                    target = pinned[target[0]]["Candidate"][target[1]]["Fn::GetAtt"]
                if target[0] in lookups:
                    return answer(target[0], target[1])
        return {key: walk(x) for key, x in item.items()}

    return walk(value)
