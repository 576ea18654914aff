"""Where a synthesis spends its time: every call from Python into the jsii kernel, counted and timed.

A synthesis of a Python CDK app is a conversation with a Node.js process: each construct created,
each property read and each method called is one request over a pipe (``jsii._kernel.Kernel``), and
``App.synth`` is one request during which Node calls back into Python for what Python implements
(lazy values, validations, aspects). This module wraps the kernel's request methods and charges each
request's time, less the Python callbacks made inside it, to

- the jsii operation (``create aws-cdk-lib.aws_iam.Role``, ``invoke Stack.resolve``), and
- the innermost frame of this library's code on the Python stack (``rollback_alarms.py:_compare``),
  or ``(outside blue_green_ecs)`` for the app's and aws-cdk-lib's own calls and ``App.synth``.

The Python time between requests (the library's own code, not jsii) is reported as one figure.
Run: ``.venv/bin/python -m benchmarks.jsii_profile construct``; ``make bench`` writes its tables to
docs/performance.md (benchmarks/profile_report.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "blue_green_ecs"
OUTSIDE = "(outside blue_green_ecs)"
_OPERATIONS = ("create", "get", "set", "sget", "sset", "invoke", "sinvoke")


@dataclass
class Cost:
    calls: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.seconds += seconds


@dataclass
class Profile:
    """The kernel requests of one measured block, by operation and by the library code that made them."""

    by_operation: dict[str, Cost] = field(default_factory=lambda: defaultdict(Cost))
    by_site: dict[str, Cost] = field(default_factory=lambda: defaultdict(Cost))
    by_site_operation: dict[tuple[str, str], Cost] = field(default_factory=lambda: defaultdict(Cost))
    callbacks: Cost = field(default_factory=Cost)
    wall: float = 0.0

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.by_operation.values())

    @property
    def kernel_seconds(self) -> float:
        return sum(c.seconds for c in self.by_operation.values())

    def top_sites(self, n: int) -> list[tuple[str, Cost]]:
        return sorted(self.by_site.items(), key=lambda kv: -kv[1].seconds)[:n]

    def top_operations(self, n: int) -> list[tuple[str, Cost]]:
        return sorted(self.by_operation.items(), key=lambda kv: -kv[1].seconds)[:n]

    def as_dict(self) -> dict[str, Any]:
        def costs(items: list[tuple[str, Cost]]) -> list[dict[str, Any]]:
            return [{"name": k, "calls": c.calls, "seconds": c.seconds} for k, c in items]

        return {
            "wall": self.wall,
            "calls": self.calls,
            "kernel_seconds": self.kernel_seconds,
            "callbacks": {"calls": self.callbacks.calls, "seconds": self.callbacks.seconds},
            "operations": costs(self.top_operations(len(self.by_operation))),
            "sites": costs(self.top_sites(len(self.by_site))),
        }


def _type_name(target: Any) -> str:
    klass = target if isinstance(target, type) else type(target)
    fqn = getattr(klass, "__jsii_type__", None)
    if isinstance(fqn, str):
        return fqn.removeprefix("aws-cdk-lib.")
    return klass.__name__


def _operation(name: str, args: tuple[Any, ...]) -> str:
    if name == "create":
        return f"create {_type_name(args[0])}"
    member = args[1] if len(args) > 1 else "?"
    return f"{name} {_type_name(args[0])}.{member}"


def _site() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(PACKAGE)):
            relative = Path(filename).relative_to(PACKAGE.parent)
            return f"{relative}:{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return OUTSIDE


@contextmanager
def profiled() -> Iterator[Profile]:
    """Count and time every kernel request made inside the block."""
    import jsii
    from jsii import _kernel

    profile = Profile()
    kernel = _kernel.Kernel
    originals: dict[str, Callable[..., Any]] = {name: getattr(kernel, name) for name in _OPERATIONS}
    original_callback = _kernel._handle_callback
    # Time spent in Python callbacks (and the requests they make) is subtracted from the enclosing
    # request, so each second is counted once.
    nested: list[float] = [0.0]

    def wrap(name: str, original: Callable[..., Any], *, method: bool) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            site = _site()
            nested.append(0.0)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = nested.pop()
                own = elapsed - inner
                nested[-1] += elapsed
                operation = _operation(name, args[1:] if method else args)
                profile.by_operation[operation].add(own)
                profile.by_site[site].add(own)
                profile.by_site_operation[(site, operation)].add(own)

        return timed

    def callback(kernel_: Any, cb: Any) -> Any:
        nested.append(0.0)
        start = time.perf_counter()
        try:
            return original_callback(kernel_, cb)
        finally:
            elapsed = time.perf_counter() - start
            nested.pop()
            profile.callbacks.add(elapsed)
            # The callback's whole time (its own Python and its requests) leaves the enclosing request.
            nested[-1] += elapsed

    # The generated bindings call jsii.create, jsii.invoke and so on, bound to the kernel when jsii was
    # imported; the runtime's own requests (passing Python objects to Node) go through the class.
    bound: dict[str, Callable[..., Any]] = {name: getattr(jsii, name) for name in _OPERATIONS}
    for name, original in originals.items():
        setattr(kernel, name, wrap(name, original, method=True))
    for name, original in bound.items():
        setattr(jsii, name, wrap(name, original, method=False))
    _kernel._handle_callback = callback  # type: ignore[assignment]
    start = time.perf_counter()
    try:
        yield profile
    finally:
        profile.wall = time.perf_counter() - start
        for name, original in originals.items():
            setattr(kernel, name, original)
        for name, original in bound.items():
            setattr(jsii, name, original)
        _kernel._handle_callback = original_callback


def profile_kind(kind: str, services: int = 1) -> tuple[Profile, Profile]:
    """The profiles of building and of synthesizing stack ``kind`` (benchmarks/stacks.py), in this process."""
    from . import stacks

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        with profiled() as build:
            stack = stacks.build(kind, services, outdir=scratch)
        with profiled() as synth:
            stacks.template_of(stack)
    return build, synth


def main(argv: list[str] | None = None) -> None:
    from . import stacks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=stacks.KINDS)
    parser.add_argument("--services", type=int, default=1)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the profiles as JSON")
    args = parser.parse_args(argv)

    import aws_cdk  # noqa: F401  (jsii's start-up is not part of the profile)

    build, synth = profile_kind(args.kind, args.services)
    if args.json:
        sys.stdout.write(json.dumps({"build": build.as_dict(), "synth": synth.as_dict()}) + "\n")
        return
    for title, profile in (("build", build), ("synth", synth)):
        print(
            f"== {title}: wall {profile.wall:.3f} s, {profile.calls} requests {profile.kernel_seconds:.3f} s, "
            f"callbacks {profile.callbacks.calls} {profile.callbacks.seconds:.3f} s"
        )
        print("-- by site")
        for name, cost in profile.top_sites(args.top):
            print(f"{cost.seconds:8.3f} s {cost.calls:6d}  {name}")
        print("-- by operation")
        for name, cost in profile.top_operations(args.top):
            print(f"{cost.seconds:8.3f} s {cost.calls:6d}  {name}")


if __name__ == "__main__":
    main()
