"""Scale curve: 1 to 100 services in several stacks, construct against the hand-written equivalent.

Each measurement is one fresh ``python -m benchmarks.layouts LAYOUT SIDE --services N --per-stack K``
process (benchmarks/layouts.py), timed from spawn to exit as synth_time.py times one stack, so the
figures include Python's and jsii's start-up. Two layouts, as a platform team lays services out: a
load balancer per service, and load balancers shared from the network stack (layouts.py describes
both, and the load balancer quotas). Services are packed K to a stack, as many as CloudFormation's
per-stack quotas (500 resources, a 1 MB template) allow, K worked out per side from one untimed probe
synthesis (a stack of one service and one of two), which also warms the page cache and writes bytecode.

A plain synthesis (benchmarks/stacks.py's ``baseline``: an App and one resource) runs before every
size of every round, and every time is also given as a multiple of its median, so the figures read
the same on a faster or slower machine. Run: ``.venv/bin/python -m benchmarks.scale_curve
[--sizes 1 10 25 50 100] [--rounds 3] [--large-rounds 1] [--profile] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import layouts, stacks
from .context import ROOT, child_env, cpu_busy_seconds, median, python, seconds, table
from .footprint import STACK_LIMIT
from .jsii_profile import OUTSIDE
from .layouts import Packing

SIZES = (1, 10, 25, 50, 100)
ROUNDS = 3
# From this size on a synthesis takes long enough on a shared machine that LARGE_ROUNDS rounds are run.
LARGE = 50
LARGE_ROUNDS = 1
# A further service costing more than this multiple of what one cost between the first two sizes is
# growth faster than the number of services (this machine's round-to-round noise stays under it).
SUPERLINEAR = 1.25
CONFIGS = tuple((layout, side) for layout in layouts.LAYOUTS for side in layouts.SIDES)
LAYOUT_LABELS = {
    layouts.OWN: "a load balancer per service (CODE_DEPLOY engine, defaults)",
    layouts.SHARED: "shared load balancers, platform layout (ECS_NATIVE engine)",
}


def key(layout: str, side: str, services: int | None = None) -> str:
    return f"{layout}/{side}" if services is None else f"{layout}/{side}/{services}"


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    import_s: float
    build_s: float
    synth_s: float
    resources: int
    stacks: int
    largest_stack: int
    largest_template: int
    max_outputs: int
    load_balancers: int
    listener_rules: int
    target_groups: int


@dataclass
class ScaleCurve:
    sizes: list[int]
    rounds: int
    large_rounds: int
    packing: dict[str, Packing] = field(default_factory=dict)
    baseline: list[float] = field(default_factory=list)
    # By key(layout, side, services): one sample per round that ran the size.
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    # By key(layout, side, services), with --profile: jsii requests of building and synthesizing, all and by
    # call site ([requests, seconds]), as benchmarks/layouts.py reports them.
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    others_load: float | None = None
    elapsed: float = 0.0

    def base(self) -> float:
        return median(self.baseline)

    def wall(self, layout: str, side: str, services: int) -> float:
        return median([s.wall for s in self.samples[key(layout, side, services)]])

    def phase(self, layout: str, side: str, services: int, name: str) -> float:
        return median([getattr(s, name) for s in self.samples[key(layout, side, services)]])

    def first(self, layout: str, side: str, services: int) -> Sample:
        return self.samples[key(layout, side, services)][0]

    def pair_ratio(self, layout: str, services: int) -> float:
        """Median over rounds of construct / hand-written: the two ran next to each other in each round."""
        ours = self.samples[key(layout, layouts.CONSTRUCT, services)]
        theirs = self.samples[key(layout, layouts.HAND_WRITTEN, services)]
        return median([a.wall / b.wall for a, b in zip(ours, theirs, strict=True)])

    def marginal(self, layout: str, side: str, low: int, high: int) -> float:
        """Seconds per further service from ``low`` to ``high`` services (medians)."""
        return (self.wall(layout, side, high) - self.wall(layout, side, low)) / (high - low)

    def intervals(self) -> list[tuple[int, int]]:
        return list(zip(self.sizes, self.sizes[1:], strict=False))

    def growth(self, layout: str, side: str, low: int, high: int) -> float:
        """The marginal cost from ``low`` to ``high`` over the first interval's (1 to 10 by default)."""
        reference = self.marginal(layout, side, *self.intervals()[0])
        # A first interval within noise of nothing (close small sizes, a busy machine) gives no multiple.
        return self.marginal(layout, side, low, high) / reference if reference > 0 else math.nan

    def calls(self, layout: str, side: str, services: int) -> int | None:
        found = self.requests.get(key(layout, side, services))
        return None if found is None else int(found["calls"])

    def site(self, layout: str, services: int, name: str) -> tuple[int, float]:
        """The construct's jsii requests made from call site ``name``, and their seconds (kernel time)."""
        calls, spent = self.requests[key(layout, layouts.CONSTRUCT, services)]["sites"].get(name, (0, 0.0))
        return int(calls), float(spent)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # with the jsii kernels (node), reaped by their child
    return usage.ru_utime + usage.ru_stime


def _spawn(arguments: Sequence[str]) -> tuple[dict[str, Any], float, float]:
    """Run ``python -m ARGUMENTS`` fresh; its JSON line, its wall time and its (and its kernel's) CPU time."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [python(), "-m", *arguments], cwd=ROOT, env=child_env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report, wall, cpu


def _layout_args(layout: str, side: str, services: int, per_stack: int) -> list[str]:
    return ["benchmarks.layouts", layout, side, "--services", str(services), "--per-stack", str(per_stack)]


def run_layout(layout: str, side: str, services: int, per_stack: int) -> Sample:
    report, wall, cpu = _spawn(_layout_args(layout, side, services, per_stack))
    counted = ("import_s", "build_s", "synth_s", "resources", "stacks", "max_outputs", "load_balancers")
    return Sample(
        wall=wall,
        cpu=cpu,
        largest_stack=max(report["stack_resources"].values()),
        largest_template=max(report["stack_bytes"].values()),
        **{name: report[name] for name in (*counted, "listener_rules", "target_groups")},
    )


def probe(layout: str, side: str) -> Packing:
    """What a service stack holds, from one synthesis of three services two to a stack (untimed)."""
    report, _, _ = _spawn(_layout_args(layout, side, 3, 2))
    two, one = (f"{layouts.SERVICE_STACK}{index}" for index in (0, 1))
    resources, size = report["stack_resources"], report["stack_bytes"]
    return Packing(resources[one], resources[two] - resources[one], size[one], size[two] - size[one])


def measure(
    sizes: Sequence[int] = SIZES,
    rounds: int = ROUNDS,
    large_rounds: int = LARGE_ROUNDS,
    *,
    profile: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> ScaleCurve:
    if len(sizes) < 2 or sorted(set(sizes)) != list(sizes) or sizes[0] < 1:
        raise ValueError(f"--sizes {list(sizes)}: give at least two sizes, increasing, from 1 service up")
    started = time.perf_counter()
    result = ScaleCurve(list(sizes), rounds, large_rounds)
    _spawn(["benchmarks.stacks", stacks.BASELINE])
    for layout, side in CONFIGS:
        result.packing[key(layout, side)] = probe(layout, side)
    packed = {name: packing.per_stack for name, packing in result.packing.items()}
    progress(f"scale curve: services per stack {packed}")
    busy_before, timed_from, ours = cpu_busy_seconds(), time.perf_counter(), 0.0
    for index in range(max(rounds, large_rounds)):
        for size in sizes:
            if index >= (rounds if size < LARGE else large_rounds):
                continue
            _, wall, cpu = _spawn(["benchmarks.stacks", stacks.BASELINE])
            result.baseline.append(wall)
            ours += cpu
            # Rotated every round, so that no configuration always runs first after the plain synthesis.
            for offset in range(len(CONFIGS)):
                layout, side = CONFIGS[(index + offset) % len(CONFIGS)]
                sample = run_layout(layout, side, size, packed[key(layout, side)])
                result.samples.setdefault(key(layout, side, size), []).append(sample)
                ours += sample.cpu
            progress(f"scale curve: round {index + 1}, {size} services done")
    busy_after, elapsed = cpu_busy_seconds(), time.perf_counter() - timed_from
    if busy_before is not None and busy_after is not None:
        result.others_load = max(0.0, (busy_after - busy_before - ours) / (elapsed * (os.cpu_count() or 1)))
    # Separate runs: the timed ones carry no instrumentation.
    for size in sizes if profile else ():
        for layout, side in CONFIGS:
            report, _, _ = _spawn([*_layout_args(layout, side, size, packed[key(layout, side)]), "--profile"])
            result.requests[key(layout, side, size)] = report["requests"]
        progress(f"scale curve: jsii requests counted at {size} services")
    result.elapsed = time.perf_counter() - started
    return result


def over_quota(sample: Sample) -> bool:
    """Whether a stack passed CloudFormation's quotas (a probe that packed too many services a stack)."""
    return sample.largest_stack > STACK_LIMIT or sample.largest_template > layouts.TEMPLATE_BYTES_LIMIT


def _times(result: ScaleCurve, layout: str) -> str:
    base, rows = result.base(), []
    for size in result.sizes:
        for side in layouts.SIDES:
            walls = [s.wall for s in result.samples[key(layout, side, size)]]
            sample = result.first(layout, side, size)
            balancers = sample.load_balancers
            row = [
                size,
                side,
                sample.stacks,
                f"{balancers} ({sample.listener_rules / balancers:.0f}; {sample.target_groups / balancers:.0f})",
                f"{sample.resources} ({sample.largest_stack}; {sample.largest_template / 1000:.0f} kB)"
                + (" **over a quota**" if over_quota(sample) else ""),
                f"{sample.resources / size:.1f}",
                seconds(median(walls)),
                f"{min(walls):.2f}-{max(walls):.2f} s",
                f"{median(walls) / base:.2f}",
                seconds(result.phase(layout, side, size, "build_s")),
                seconds(result.phase(layout, side, size, "synth_s")),
                f"**{result.pair_ratio(layout, size):.3f}**" if side == layouts.CONSTRUCT else "",
            ]
            rows.append([*row, result.calls(layout, side, size)] if result.requests else row)
    headers = [
        *("services", "side", "stacks", "load balancers (rules; target groups each)"),
        *("resources (largest stack; its template)", "resources per service"),
        *("median wall", "min-max", "x plain synthesis", "build", "synthesize", "construct / hand-written"),
    ]
    return table([*headers, "jsii requests"] if result.requests else headers, rows)


def _per_service(result: ScaleCurve, layout: str, low: int, high: int) -> str:
    """jsii requests per further service from ``low`` to ``high``, construct / hand-written."""
    counts = [[result.calls(layout, side, size) or 0 for size in (low, high)] for side in layouts.SIDES]
    return " / ".join(f"{(b - a) / (high - low):.0f}" for a, b in counts)


def _ratio(ours: float, theirs: float, unit: str = "") -> str:
    # A difference of medians at or under nothing is noise (sizes too close for a busy machine): no ratio.
    return f"{ours / theirs:.2f}{unit}" if ours > 0 and theirs > 0 else "no ratio, within noise"


def _marginals(result: ScaleCurve) -> str:
    base, rows = result.base(), []
    for layout in layouts.LAYOUTS:
        for low, high in result.intervals():
            ours, theirs = (result.marginal(layout, side, low, high) for side in layouts.SIDES)
            resources = (
                (result.first(layout, side, high).resources - result.first(layout, side, low).resources) / (high - low)
                for side in layouts.SIDES
            )
            growth = (result.growth(layout, side, low, high) for side in layouts.SIDES)
            row = [
                layout,
                f"{low} to {high}",
                f"{seconds(ours)} ({ours / base:.3f})",
                f"{seconds(theirs)} ({theirs / base:.3f})",
                _ratio(ours, theirs),
                " / ".join(f"{g:.2f}" for g in growth),
                " / ".join(f"{r:.1f}" for r in resources),
            ]
            rows.append([*row, _per_service(result, layout, low, high)] if result.requests else row)
    headers = [
        *("layout", "services", "construct, per further service (x plain synthesis)"),
        *("hand-written, per further service (x plain synthesis)", "construct / hand-written"),
        f"over the first interval, construct / hand-written (above {SUPERLINEAR}: faster than linear)",
        "resources per further service, construct / hand-written",
    ]
    extra = ["jsii requests per further service, construct / hand-written"] if result.requests else []
    return table([*headers, *extra], rows)


def judged(result: ScaleCurve, layout: str, side: str) -> bool:
    """Whether the first interval's cost per further service is above nothing, so growth can be told from it."""
    return result.marginal(layout, side, *result.intervals()[0]) > 0


def faster(result: ScaleCurve, layout: str, side: str) -> list[tuple[int, int, float]]:
    """The intervals after the first where a further service costs over SUPERLINEAR times the first's."""
    return [
        (low, high, growth)
        for low, high in result.intervals()[1:]
        if (growth := result.growth(layout, side, low, high)) > SUPERLINEAR
    ]


def reading(result: ScaleCurve) -> str:
    """Where the construct's time grows faster than the number of services, in words."""
    (first_low, first_high), (low, high) = result.intervals()[0], result.intervals()[-1]
    paragraphs = []
    for layout in layouts.LAYOUTS:
        ours, theirs = (result.marginal(layout, side, low, high) for side in layouts.SIDES)
        text = (
            f"With {LAYOUT_LABELS[layout]}, a further service between {low} and {high} services costs the "
            f"construct {seconds(ours)} ({ours / result.base():.3f} plain syntheses), the hand-written equivalent "
            f"{seconds(theirs)}: {_ratio(ours, theirs, ' times')}; at {high} services the whole synthesis takes "
            f"{result.pair_ratio(layout, high):.2f} times the hand-written one. "
        )
        grows = faster(result, layout, layouts.CONSTRUCT)
        if len(result.intervals()) < 2:
            text += "Two sizes make one interval: whether the time grows faster than the services needs a third."
        elif not judged(result, layout, layouts.CONSTRUCT):
            text += (
                f"The construct's cost per further service from {first_low} to {first_high} is within noise, so "
                "whether it grows faster than the number of services cannot be told from this run."
            )
        elif grows:
            where = ", ".join(f"from {a} to {b} ({g:.2f} times)" for a, b, g in grows)
            theirs_too = faster(result, layout, layouts.HAND_WRITTEN)
            text += (
                f"The construct's time grows faster than the number of services: a further service costs over "
                f"{SUPERLINEAR} times what one cost from {first_low} to {first_high} {where}"
                + (
                    "; so does the hand-written equivalent's, so aws-cdk-lib's synthesis shares the growth."
                    if theirs_too
                    else "; the hand-written equivalent's does not, so the growth is the construct's own."
                )
            )
        else:
            text += (
                f"Its time grows no faster than the number of services: no interval's cost per further service "
                f"exceeds {SUPERLINEAR} times the cost from {first_low} to {first_high}."
            )
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _cost(requests_ms: tuple[float, float]) -> str:
    return f"{requests_ms[0]:.0f} requests, {requests_ms[1]:.1f} ms"


def _sites(result: ScaleCurve) -> str:
    """The library's call sites whose time per further service grows most from the first interval to the last:
    where a cost growing faster than the number of services comes from. The request counts read the same
    on any machine, but one request whose work grows with the stack (finding all its constructs) counts once,
    so the sites are ranked by their requests' time."""
    (first_low, first_high), (low, high) = result.intervals()[0], result.intervals()[-1]
    intervals = f"from {first_low} to {first_high} services, then from {low} to {high}" if low != first_low else ""
    lines = []
    for layout in layouts.LAYOUTS:
        names = set(result.requests[key(layout, layouts.CONSTRUCT, high)]["sites"]) - {OUTSIDE}

        def per_service(name: str, a: int, b: int, layout: str = layout) -> tuple[float, float]:
            (calls_a, spent_a), (calls_b, spent_b) = (result.site(layout, size, name) for size in (a, b))
            return (calls_b - calls_a) / (b - a), 1000 * (spent_b - spent_a) / (b - a)

        counted = [(name, per_service(name, first_low, first_high), per_service(name, low, high)) for name in names]
        # Most added time first; with a single interval (no growth to rank) the busiest first.
        counted.sort(key=lambda item: (item[1][1] - item[2][1], -item[2][1], item[0]))
        shown = "; ".join(
            f"`{name}` " + (f"{_cost(a)} then " if intervals else "") + _cost(b) for name, a, b in counted[:3]
        )
        lines.append(f"- {layout} load balancer: {shown}")
    return (
        f"The construct's call sites whose jsii requests per further service take the most added time "
        f"{intervals or f'from {low} to {high} services'} (one more run per point, untimed, with "
        "benchmarks/jsii_profile.py; a request's time excludes the Python callbacks made inside it):\n\n"
        + "\n".join(lines)
    )


def summary(result: ScaleCurve) -> str:
    """The row of run_all's summary table: time per further service at the largest sizes, both layouts."""
    low, high = result.intervals()[-1]
    cells = []
    for layout in layouts.LAYOUTS:
        ours, theirs = (result.marginal(layout, side, low, high) for side in layouts.SIDES)
        shape = "faster than linear" if faster(result, layout, layouts.CONSTRUCT) else "linear"
        shape = shape if judged(result, layout, layouts.CONSTRUCT) else "growth not judged: noise"
        shape = shape if len(result.intervals()) > 1 else "growth needs a third size"
        cells.append(f"{layout} load balancer {seconds(ours)} / {seconds(theirs)} ({_ratio(ours, theirs)}; {shape})")
    return (
        f"| synth time per further service from {low} to {high} services in several stacks, construct / "
        f"hand-written | {'; '.join(cells)} | grows no faster than the number of services |"
    )


def markdown(result: ScaleCurve) -> str:
    sizes = " ".join(str(size) for size in result.sizes)
    load = "unknown" if result.others_load is None else f"{100 * result.others_load:.0f}%"
    large = [str(size) for size in result.sizes if size >= LARGE]
    rounds = f"{result.rounds} round{'s' if result.rounds > 1 else ''}" + (
        f" ({result.large_rounds} at {', '.join(large)} services)" if large else ""
    )
    parts = [
        f"Reproduce: `.venv/bin/python -m benchmarks.scale_curve --sizes {sizes} --rounds {result.rounds} "
        f"--large-rounds {result.large_rounds}{' --profile' if result.requests else ''}`. Apps: "
        f"`benchmarks/layouts.py`. {layouts.notes(result.packing)}",
        "",
        f"{rounds}, one fresh process per layout and side (order rotated every round), each size after one "
        f"plain synthesis (an App with one resource: median {seconds(result.base())} over "
        f"{len(result.baseline)} runs); 'x plain synthesis' divides a time by that median, the figure to compare "
        f"across machines. Other processes used {load} of the machine's {os.cpu_count()} cores while the rounds "
        f"ran. The whole curve took {result.elapsed / 60:.1f} minutes. The most outputs of one template: "
        f"{max(s.max_outputs for samples in result.samples.values() for s in samples)} (CloudFormation allows 200).",
        "",
    ]
    for layout in layouts.LAYOUTS:
        label = LAYOUT_LABELS[layout]
        parts += [f"**{label[0].upper()}{label[1:]}:**", "", _times(result, layout), ""]
    parts += ["**Each further service, between consecutive sizes** (medians' differences):", "", _marginals(result)]
    parts += ["", reading(result), *(["", _sites(result)] if result.requests else [])]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="numbers of services")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of the sizes under {LARGE}")
    parser.add_argument("--large-rounds", type=int, default=LARGE_ROUNDS, help=f"rounds from {LARGE} services on")
    parser.add_argument("--profile", action="store_true", help="also count jsii requests: one more run per point")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args(argv)
    result = measure(
        args.sizes,
        args.rounds,
        args.large_rounds,
        profile=args.profile,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1))
    print(markdown(result))


if __name__ == "__main__":
    main()
