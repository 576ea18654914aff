"""Write the templates of a wide set of configurations (and the command's exports) to a folder.

A refactoring must not change what gets deployed: run this before and after it and compare the two
folders with ``--compare``. Asset hashes and inline handler code are masked, so only infrastructure
counts; the comparison is of parsed JSON, so key order does not. With ``--raw`` nothing is masked and
the templates are written in the order aws-cdk-lib wrote them, so the comparison is of every byte
(for changes that must not touch the handlers' bundles or the templates' text either).

Usage:
    python -m benchmarks.template_corpus [--raw] DIR
    python -m benchmarks.template_corpus --compare BEFORE AFTER
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from blue_green_ecs import (
    BlueGreenFargateService,
    DeploymentEngine,
    DeploymentHooks,
    RollbackAlarmOptions,
    SmokeTest,
    TrafficShift,
)
from tests import configurations
from tests.export_templates import CONFIGURATIONS
from tests.support import cdk_context, hook_function

ROOT = Path(__file__).resolve().parents[1]
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
IMAGE = ecs.ContainerImage.from_registry(configurations.IMAGE)


def new_stack(stack_id: str) -> Stack:
    """cdk.json's context, without cdk-nag: the findings are the suite's business, not this comparison's."""
    return Stack(App(context=cdk_context()), stack_id)


def _hooks(stack: Stack) -> DeploymentHooks:
    return DeploymentHooks(
        before_install=hook_function(stack, "BeforeInstall"),
        after_install=hook_function(stack, "AfterInstall"),
        before_allow_traffic=hook_function(stack, "BeforeAllowTraffic"),
        after_allow_traffic=hook_function(stack, "AfterAllowTraffic"),
    )


def everything(engine: DeploymentEngine) -> Stack:
    """Every optional feature the engine accepts, at once."""
    stack = new_stack(f"Everything{engine.name.title().replace('_', '')}")
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0000000000000", zone_name="example.com"
    )
    codedeploy_only: dict[str, Any] = (
        {"deployment_approval_wait_time": Duration.minutes(30), "deployment_timeout": Duration.minutes(55)}
        if engine is DeploymentEngine.CODE_DEPLOY
        else {}
    )
    BlueGreenFargateService(
        stack,
        "Web",
        image=IMAGE,
        engine=engine,
        vpc=configurations.vpc_with_flow_logs(stack),
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", configurations.CERTIFICATE_ARN),
        hooks=_hooks(stack),
        smoke_test=SmokeTest(path="/health", requests=3),
        dashboard=True,
        notifications_topic=sns.Topic(stack, "Topic", enforce_ssl=True),
        domain_name="web.example.com",
        domain_zone=zone,
        traffic_shift=TrafficShift.canary(percent=20, interval=Duration.minutes(6)),
        rollback_alarm_options=RollbackAlarmOptions(max_p99_latency=Duration.seconds(2)),
        enable_execute_command=True,
        **codedeploy_only,
    )
    return stack


def options(engine: DeploymentEngine) -> Stack:
    """Encryption, placement and load balancer options."""
    stack = new_stack(f"Options{engine.name.title().replace('_', '')}")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    BlueGreenFargateService(
        stack,
        "Svc",
        image=IMAGE,
        engine=engine,
        log_encryption_key=key,
        log_retention=logs.RetentionDays.ONE_WEEK,
        task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        access_logs=False,
        public_load_balancer=False,
        open_listener=False,
        idle_timeout=Duration.seconds(120),
        deregistration_delay=Duration.seconds(10),
        health_check_grace_period=Duration.seconds(30),
        health_check=elbv2.HealthCheck(path="/ready", healthy_http_codes="200"),
        traffic_shift=TrafficShift.linear(percent=25, interval=Duration.minutes(1)),
        termination_wait=Duration.minutes(1),
        desired_count=4,
        container_name="app",
        container_port=8080,
        environment={"A": "b"},
        service_name="svc",
        family="svc",
    )
    return stack


def no_trigger() -> Stack:
    stack = new_stack("NoTrigger")
    BlueGreenFargateService(stack, "Web", image=IMAGE, deploy_on_update=False, hooks=_hooks(stack))
    return stack


def bench(kind: str, services: int) -> Callable[[], Stack]:
    """A stack of benchmarks/stacks.py: several services in one stack, as the scale curve builds them."""

    def make() -> Stack:
        from . import stacks

        stack: Stack = stacks.build(kind, services)
        return stack

    return make


EXTRA: dict[str, Callable[[], Stack]] = {
    "bench-construct-3": bench("construct", 3),
    "bench-shared-4": bench("construct-shared", 4),
    "everything-codedeploy": lambda: everything(DeploymentEngine.CODE_DEPLOY),
    "everything-ecs": lambda: everything(DeploymentEngine.ECS_NATIVE),
    "options-codedeploy": lambda: options(DeploymentEngine.CODE_DEPLOY),
    "options-ecs": lambda: options(DeploymentEngine.ECS_NATIVE),
    "no-trigger": no_trigger,
}

EXPORTS: dict[str, list[str]] = {
    "export-sample": [],
    "export-standalone": ["--standalone"],
    "export-standalone-smoke": ["--standalone", "-c", "smoke_test=true"],
    "export-standalone-ecs": ["--standalone", "-c", "engine=ecs"],
    "export-pipeline": ["--standalone", "-c", "deploy_on_update=false"],
}


def _masked(document: Any) -> Any:
    """Asset hashes and inline Lambda code out: they change with handler code, not infrastructure."""
    if isinstance(document, dict):
        return {
            key: "<inline-code>" if key == "ZipFile" else _masked(value)
            for key, value in document.items()
            if not key.startswith("aws:asset:")
        }
    if isinstance(document, list):
        return [_masked(item) for item in document]
    if isinstance(document, str):
        return _ASSET_HASH.sub("<asset-hash>", document)
    return document


def _dump(document: Any, *, raw: bool) -> str:
    if raw:
        return json.dumps(document, indent=1) + "\n"
    return json.dumps(_masked(document), indent=1, sort_keys=True) + "\n"


def write(out: Path, *, raw: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, make in {**CONFIGURATIONS, **EXTRA}.items():
        template = Template.from_stack(make()).to_json()
        (out / f"{name}.json").write_text(_dump(template, raw=raw))
        print(f"{name}: {len(template['Resources'])} resources", flush=True)
    for name, args in EXPORTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "blue_green_ecs.cli.main", "export", "--out", tmp, *args],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            files = {}
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    text = path.read_text()
                    parsed = json.loads(text) if path.suffix == ".json" else text
                    files[str(path.relative_to(tmp))] = text if raw else _masked(parsed)
            (out / f"{name}.json").write_text(_dump(files, raw=raw))
            print(f"{name}: {len(files)} files", flush=True)


def compare(before: Path, after: Path) -> int:
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    differing = []
    for name in names:
        a, b = before / name, after / name
        # A masked corpus is written with sorted keys, so its text is the same when its JSON is.
        if not a.exists() or not b.exists() or a.read_text() != b.read_text():
            differing.append(name)
    for name in names:
        print(f"{'DIFFERENT' if name in differing else 'same     '} {name}")
    print(f"{len(names) - len(differing)} of {len(names)} identical")
    return 1 if differing else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    arguments = sys.argv[1:]
    write(Path(arguments[-1]), raw="--raw" in arguments)
