"""Entry point of the ``blue-green-ecs`` command."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..deployment.cost import CostInputs, describe, overlap
from ..deployment.timeline import PlanInputs, format_time, plan, to_svg
from . import deployments
from .export import ExportError, export
from .pipeline_files import fill, read_stack_outputs


def _progress(message: str) -> None:
    print(f"blue-green-ecs: {message}", file=sys.stderr, flush=True)


# What each command takes besides options (`not understood` names it).
_POSITIONALS = {"fill": "one positional argument: DIR"}
# plan's options by the PlanInputs field they set, so that a message names what was typed.
_PLAN_OPTIONS = {
    "shift": "--shift",
    "percent": "--percent",
    "interval_minutes": "--interval",
    "termination_wait_minutes": "--termination-wait",
    "health_check_interval_seconds": "--health-check-interval",
    "healthy_threshold": "--healthy-threshold",
    "deregistration_delay_seconds": "--deregistration-delay",
    "alarm_period_seconds": "--alarm-period",
    "alarm_evaluation_periods": "--alarm-evaluation-periods",
    "task_start_seconds": "--task-start",
    "hook_seconds": "--hook-time",
    "engine": "--engine",
    "compare_min_requests": "--compare-min-requests",
}
# ... and its cost options by the CostInputs field they set.
_COST_OPTIONS = {
    "tasks": "--desired-count",
    "task_cpu": "--task-cpu",
    "task_memory_mib": "--task-memory",
    "approval_wait_minutes": "--approval-wait",
    "vcpu_hour_price": "--vcpu-hour-price",
    "gb_hour_price": "--gb-hour-price",
}


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command's parser, and each command's own (for its usage)."""
    parser = argparse.ArgumentParser(
        prog="blue-green-ecs",
        description="Export CloudFormation templates and pipeline files of blue/green ECS services, "
        "and plan a deployment's timeline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ex = commands.add_parser(
        "export",
        help="synthesize an app and write its templates and pipeline files",
        description="Synthesize a CDK app (default: cdk.json's app in the current directory, e.g. the bundled "
        "sample) and write each stack's template as DIR/<Stack>.template.<json|yaml>, and appspec.yaml and "
        "taskdef.json of each CodeDeploy blue/green service to DIR/<Stack>/<Service>/.",
    )
    ex.add_argument("--app", help='command that runs the app (default: cdk.json\'s "app")')
    ex.add_argument("--format", default="json", help="json (default) or yaml")
    ex.add_argument(
        "--standalone",
        action="store_true",
        help="templates that deploy with plain CloudFormation and no CDK bootstrap: no BootstrapVersion, no "
        "asset references (the library's Lambda functions, the deployment trigger included, become inline code); "
        "fails and lists the assets that remain if that is impossible",
    )
    ex.add_argument("--out", required=True, type=Path, help="folder to write to")
    ex.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context value, as for `cdk synth`"
    )
    ex.add_argument("--dir", type=Path, default=Path.cwd(), help="app directory (default: current directory)")

    fi = commands.add_parser(
        "fill",
        help="put a deployed stack's outputs into exported pipeline files",
        description="Replace ${Name} in the appspec.yaml and taskdef.json files under DIR with the stack outputs "
        "BlueGreenEcs<Name>, read from `aws cloudformation describe-stacks` JSON.",
    )
    fi.add_argument("--outputs", required=True, type=Path, help="output of `aws cloudformation describe-stacks`")
    fi.add_argument("dir", type=Path, help="folder written by `export`")

    pl = commands.add_parser(
        "plan",
        help="print the deployment timeline of a configuration",
        description="When test traffic starts, each traffic step, the alarm windows, when blue is terminated, "
        "and the worst-case total. Defaults are the library's defaults.",
    )
    defaults = PlanInputs()
    pl.add_argument("--shift", default=defaults.shift, choices=["canary", "linear", "all-at-once"])
    pl.add_argument("--percent", type=float, default=defaults.percent)
    pl.add_argument("--interval", type=int, default=defaults.interval_minutes, help="minutes")
    pl.add_argument("--termination-wait", type=int, default=defaults.termination_wait_minutes, help="minutes")
    pl.add_argument("--health-check-interval", type=int, default=defaults.health_check_interval_seconds)
    pl.add_argument("--healthy-threshold", type=int, default=defaults.healthy_threshold)
    pl.add_argument("--deregistration-delay", type=int, default=defaults.deregistration_delay_seconds)
    pl.add_argument("--alarm-period", type=int, default=defaults.alarm_period_seconds, help="seconds")
    pl.add_argument("--alarm-evaluation-periods", type=int, default=defaults.alarm_evaluation_periods)
    pl.add_argument("--task-start", type=int, default=defaults.task_start_seconds, help="assumption, seconds")
    pl.add_argument("--hook-time", type=int, default=defaults.hook_seconds, help="assumption, seconds")
    pl.add_argument("--engine", default="codedeploy", choices=["codedeploy", "ecs"])
    pl.add_argument(
        "--compare-min-requests",
        type=int,
        default=defaults.compare_min_requests,
        help="requests a period each target group needs for the green-vs-blue comparison; 0 when it is off",
    )
    pl.add_argument(
        "--deploy-on-update",
        default="true",
        choices=["true", "false"],
        help="codedeploy: false when a pipeline starts deployments (no one-hour limit of `cdk deploy`)",
    )
    cost = CostInputs()
    pl.add_argument(
        "--desired-count",
        type=int,
        default=cost.tasks,
        help="tasks green starts with (the service's count when the deployment starts; with auto scaling, "
        "between its min and max)",
    )
    pl.add_argument("--task-cpu", type=int, default=cost.task_cpu, help="CPU units (1024 = 1 vCPU)")
    pl.add_argument("--task-memory", type=int, default=cost.task_memory_mib, help="MiB")
    pl.add_argument("--approval-wait", type=int, default=0, help="minutes both run waiting for approval")
    pl.add_argument("--vcpu-hour-price", type=float, help="print a price: one vCPU-hour in your Region")
    pl.add_argument("--gb-hour-price", type=float, help="print a price: one GB-hour in your Region")
    pl.add_argument("--svg", type=Path, help="also draw the timeline as an SVG chart")
    deployments.add_commands(commands)
    return parser, commands.choices


def _context(pairs: Sequence[str]) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ExportError(f"Invalid --context {pair!r}: use KEY=VALUE.")
        context[key] = value
    return context


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; what the command does not take ends it with that command's usage (exit 2)."""
    parser, verbs = _parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        verbs[args.command].error(_not_understood(args.command, verbs[args.command], extras))
    return args


def _not_understood(command: str, verb: argparse.ArgumentParser, extras: list[str]) -> str:
    """What was not understood, and what the command takes instead."""
    first = extras[0]
    if first.startswith("-"):
        # argparse keeps no public list of a parser's options.
        options = [option for action in verb._actions for option in action.option_strings]
        close = difflib.get_close_matches(first.split("=", 1)[0], options, n=1)
        hint = f"{first} is no option of {command}" + (f"; did you mean {close[0]}?" if close else "")
    else:
        hint = f"{command} takes {_POSITIONALS.get(command, 'no positional argument')}"
        if command in deployments.COMMANDS:
            hint += f": name the service with --stack STACK --path {first}, or --cluster CLUSTER --service {first}"
    return f"not understood: {' '.join(extras)} ({hint})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parse(argv)
    if args.command in deployments.COMMANDS:
        return deployments.run(args)
    try:
        if args.command == "export":
            written = export(
                app=args.app,
                directory=args.dir,
                out=args.out,
                output_format=args.format,
                standalone=args.standalone,
                extra_context=_context(args.context),
                progress=_progress,
            )
            for path in written:
                print(path)
        elif args.command == "fill":
            for path in fill(args.dir, read_stack_outputs(args.outputs)):
                print(path)
        else:
            return _plan(args)
    except (ExportError, OSError, ValueError, KeyError) as error:
        print(f"blue-green-ecs: error: {error}", file=sys.stderr)
        return 1
    return 0


def _plan(args: argparse.Namespace) -> int:
    trigger = args.engine == "codedeploy" and args.deploy_on_update == "true"
    inputs = PlanInputs(
        shift=args.shift,
        percent=args.percent,
        interval_minutes=args.interval,
        termination_wait_minutes=args.termination_wait,
        health_check_interval_seconds=args.health_check_interval,
        healthy_threshold=args.healthy_threshold,
        deregistration_delay_seconds=args.deregistration_delay,
        alarm_period_seconds=args.alarm_period,
        alarm_evaluation_periods=args.alarm_evaluation_periods,
        task_start_seconds=args.task_start,
        hook_seconds=args.hook_time,
        trigger_poll_seconds=PlanInputs().trigger_poll_seconds if trigger else 0,
        engine=args.engine,
        deploy_on_update=args.deploy_on_update == "true",
        compare_min_requests=args.compare_min_requests,
    )
    timeline = plan(inputs, names=_PLAN_OPTIONS)
    shift = "all at once" if args.shift == "all-at-once" else f"{args.shift} {args.percent:g}% / {args.interval} min"
    title = f"{shift}, termination wait {args.termination_wait} min ({args.engine})"
    print(title)
    for seconds, event in timeline.rows():
        print(f"  {format_time(seconds):>8}  {event}")
    print(f"  worst case: {format_time(timeline.total)} until `cdk deploy` returns")
    cost = CostInputs(
        tasks=args.desired_count,
        task_cpu=args.task_cpu,
        task_memory_mib=args.task_memory,
        approval_wait_minutes=args.approval_wait,
        vcpu_hour_price=args.vcpu_hour_price,
        gb_hour_price=args.gb_hour_price,
    )
    for line in describe(overlap(timeline, cost, names=_COST_OPTIONS), cost):
        print(f"  {line}")
    for note in timeline.notes:
        print(f"  note: {note}")
    if args.svg:
        args.svg.write_text(to_svg(timeline, title=title))
        _progress(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
