"""An unknown keyword argument of ``BlueGreenFargateService``: what to pass instead.

Most users come from aws-ecs-patterns' ``ApplicationLoadBalancedFargateService``. Its keyword arguments that are
props here too pass through the signature; the ones that have another name, or no equivalent, are answered from
``PATTERN_EQUIVALENTS`` (``tests/test_bad_input.py`` checks it against aws-ecs-patterns' signature); anything else
gets the closest prop names.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import ParamSpec

P = ParamSpec("P")

# Keyword arguments of aws-ecs-patterns' ApplicationLoadBalancedFargateService that have another name (or
# no equivalent) here: what to pass instead.
PATTERN_EQUIVALENTS: Mapping[str, str] = {
    "task_image_options": "the image options are props of their own here: image=, container_name=, container_port=, "
    "environment=, secrets=, command=, entry_point=, docker_labels=, log_driver=, task_role=, execution_role=, "
    "family=",
    "load_balancer": "share one with shared_load_balancer=BlueGreenLoadBalancer(...) (or "
    "BlueGreenLoadBalancer.from_existing(...)) and routing=Routing(...)",
    "protocol": "certificate= makes the listeners HTTPS",
    "target_protocol": "the target groups send HTTP to the tasks (TLS ends at the load balancer); protocol_version= "
    "chooses HTTP1, HTTP2 or GRPC",
    "record_type": "domain_name= with domain_zone= creates an alias A record (aws-ecs-patterns' ALIAS); for a CNAME "
    "or no record, leave both out and point your own record at load_balancer.load_balancer_dns_name",
    "ip_address_type": "the load balancer is IPv4 only here",
    "circuit_breaker": "the engine rolls back on the rollback alarms (alarms=, rollback_alarm_options=)",
    "deployment_controller": "engine=DeploymentEngine.CODE_DEPLOY or DeploymentEngine.ECS_NATIVE",
    "min_healthy_percent": "the engine sizes blue and green (green runs at full size next to blue)",
    "max_healthy_percent": "the engine sizes blue and green (green runs at full size next to blue)",
}


def reject_unknown_props(init: Callable[P, None]) -> Callable[P, None]:
    """Wrap the constructor so that an unknown keyword argument names its equivalent (a TypeError, as Python's).

    The signature stays the typed one (``functools.wraps``, ``ParamSpec``): type checkers still flag the
    argument, and the props documentation still reads the keyword-only parameters.
    """
    known = [name for name, p in inspect.signature(init).parameters.items() if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(init)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        unknown = [name for name in kwargs if name not in known]
        if unknown:
            raise TypeError(unknown_prop_message(unknown[0], known))
        init(*args, **kwargs)

    return checked


def unknown_prop_message(name: str, known: Sequence[str]) -> str:
    """``BlueGreenFargateService`` has no ``name``: what to pass instead, or the closest prop names."""
    hint = PATTERN_EQUIVALENTS.get(name)
    if hint is None:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "docs/props.md lists every prop"
    end = "" if hint.endswith("?") else "."
    return f"BlueGreenFargateService got an unexpected keyword argument {name!r}: {hint}{end}"
