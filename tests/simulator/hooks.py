"""Lambda, for the stack's lifecycle hook functions: their real handler code, on the model's clients and clock.

The engines (codedeploy.py, ecs_native.py) invoke a hook's function through ``Aws.invoke_function``; the world
installs :func:`run` there. Lambda runs the function's ``Handler`` (``module.attribute`` of the library's one
asset, ``blue_green_ecs/handlers``) with the environment variables CloudFormation created it with, under its
role: each call the code makes is authorized against that role's policies (``World.authorize_call``), so a grant
the construct forgot fails the hook as IAM would fail the call. A handler module with ``make_handler(now=...,
sleep=...)`` is built on the model's clock, so a hook that waits (the step analysis's window, a migration task)
waits in model time, and the deployments and traffic go on meanwhile.

Lambda's answer (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): what the handler returned, or,
when it raised, a function error (:class:`FunctionError`, with the error's type and message). An invocation that
ends past the function's ``Timeout`` fails the test: Lambda would have stopped it, and what it would leave half
done is not played.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

from .aws import ACCOUNT, REGION

if TYPE_CHECKING:
    from .resources import Resource
    from .world import World

CALLER_PREFIX = "function:"  # Aws.caller while a function runs: "function:<name>"


@dataclass(frozen=True)
class FunctionError:
    """Lambda's answer for an invocation whose handler raised (``FunctionError: Unhandled``)."""

    message: str


@dataclass
class Context:
    """The Lambda context object the handlers read (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: datetime
    world: World
    memory_limit_in_mb: int = 128

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout, on the model's clock."""
        return max(0, int((self.deadline - self.world.aws.now).total_seconds() * 1000))


class _Tee(io.StringIO):
    """What the function prints: kept for its log group, and passed on (pytest's capture shows it too)."""

    def __init__(self, out: Any) -> None:
        super().__init__()
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(text)
        return super().write(text)

    def lines(self) -> list[str]:
        return [line for line in self.getvalue().splitlines() if line.strip()]


def function_of(world: World, function: str) -> Resource:
    """The stack's AWS::Lambda::Function that ``function`` names (its name, or its ARN with or without a qualifier)."""
    name = function.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in function else function
    found = [r for r in world.stack.resources.values() if r.type == "AWS::Lambda::Function" and r.physical_id == name]
    assert len(found) == 1, f"no function {function} in the stack (Lambda: ResourceNotFoundException)"
    return found[0]


def role_of(world: World, caller: str) -> str:
    """The role ARN of the function that is the model's caller ``function:<name>``."""
    return str(function_of(world, caller[len(CALLER_PREFIX) :]).properties["Role"])


def _handler(module: Any, attribute: str, world: World) -> Any:
    make = getattr(module, "make_handler", None)
    if make is None or attribute != "handler":
        return getattr(module, attribute)
    accepted = inspect.signature(make).parameters
    clock = {"now": lambda: world.aws.now, "sleep": world.aws.advance}
    return make(**{key: value for key, value in clock.items() if key in accepted})


def run(world: World, function: str, event: Mapping[str, Any]) -> Any:
    """Invoke ``function`` with ``event`` and answer what Lambda answers (the result, or a FunctionError)."""
    resource = function_of(world, function)
    props = resource.properties
    module_name, attribute = str(props["Handler"]).rsplit(".", 1)
    module = importlib.import_module(f"blue_green_ecs.handlers.{module_name}")
    variables = (props.get("Environment") or {}).get("Variables") or {}
    environment = {str(key): str(value) for key, value in variables.items()}
    timeout = timedelta(seconds=int(props.get("Timeout", 3)))
    aws = world.aws
    started = aws.now
    context = Context(
        function_name=resource.physical_id,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{resource.physical_id}",
        aws_request_id=f"00000000-0000-4000-9000-{aws.next_id():012d}",
        deadline=started + timeout,
        world=world,
        memory_limit_in_mb=int(props.get("MemorySize", 128)),
    )
    previous, aws.caller = aws.caller, f"{CALLER_PREFIX}{resource.physical_id}"
    printed = _Tee(sys.stdout)
    try:
        with mock.patch.dict(os.environ, environment), contextlib.redirect_stdout(printed):
            try:
                result: Any = _handler(module, attribute, world)(dict(event), context)
            except AssertionError:  # the model's own checks fail the test, they are no function error
                raise
            except Exception as exc:
                result = FunctionError(f"{type(exc).__name__}: {exc}")
    finally:
        aws.caller = previous
    # Lambda sends what the function prints to its log group (LoggingConfig), a line an event, stamped at the end
    # of the invocation (a model choice: the lines' own times do not matter here).
    group = str(((props.get("LoggingConfig") or {}).get("LogGroup")) or f"/aws/lambda/{resource.physical_id}")
    stamp = int(aws.now.timestamp() * 1000)
    aws.log_events.setdefault(group, []).extend((stamp, line) for line in printed.lines())
    assert aws.now - started <= timeout, (
        f"{resource.logical_id} ran {aws.now - started} of model time, past its Timeout of {timeout}: Lambda would "
        "have stopped it"
    )
    return result
