"""Write the template of every representative configuration to a folder, for checkov (`make scan`).

A configuration of several stacks (``APPS``: ``platform``) writes one template per stack,
``<name>-<stack>.template.json``.

Usage: python -m tests.export_templates DIR
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aws_cdk import Stack
from aws_cdk.assertions import Template

from sample.app import build

from . import configurations
from .support import new_app

CONFIGURATIONS: dict[str, Callable[[], Stack]] = {
    "sample": configurations.sample,
    "sample-smoke-test": lambda: build(new_app(smoke_test="true")),
    "sample-ecs": configurations.sample_ecs,
    "sample-ecs-smoke-test": lambda: build(new_app(engine="ecs", smoke_test="true")),
    "minimal": lambda: configurations.minimal()[0],
    "https": lambda: configurations.https()[0],
    "existing-cluster": lambda: configurations.existing_cluster()[0],
    "two-services": lambda: configurations.two_services()[0],
    "shared-load-balancer": configurations.shared_load_balancer,
    "shared-listener-pairs": configurations.shared_listener_pairs,
    "ecs-test-traffic": lambda: configurations.ecs_test_traffic()[0],
    "ecs-native-preflight": lambda: configurations.ecs_native_preflight()[0],
    "migration": lambda: configurations.migration()[0],
}

# Configurations of several stacks in one app: every stack of it is exported.
APPS: dict[str, Callable[[], Sequence[Stack]]] = {
    # The network stack, three team stacks on its shared load balancer, a CODE_DEPLOY stack (issue #22).
    "platform": lambda: configurations.platform().stacks,
}


def _write(file: Path, stack: Stack) -> None:
    template = Template.from_stack(stack).to_json()
    file.write_text(json.dumps(template, indent=1) + "\n")
    print(f"{file}: {len(template['Resources'])} resources")


def main(argv: list[str]) -> int:
    """Synthesize each configuration (cdk-nag checks them on the way) and write its template."""
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, make in CONFIGURATIONS.items():
        _write(out / f"{name}.template.json", make())
    for name, make_app in APPS.items():
        # Every stack of an app reads the one cloud assembly its first Template.from_stack synthesized.
        for stack in make_app():
            _write(out / f"{name}-{stack.stack_name}.template.json", stack)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
