"""Entry point of the ``blue-green-ecs`` command."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..deployment.cost import CostInputs, describe, overlap
from ..deployment.template_inputs import read_service
from ..deployment.timeline import PlanInputs, format_time, plan, to_svg
from . import assembly, deployments
from .errors import CliError
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
# The fields besides those a template can give, or an option sets: the option of each (prices are no input).
_FIELD_OPTIONS = {
    **_PLAN_OPTIONS,
    **{field: option for field, option in _COST_OPTIONS.items() if not field.endswith("_price")},
    "deploy_on_update": "--deploy-on-update",
    "migration_minutes": "--migration",
}
_PLAN_FIELDS = (*_PLAN_OPTIONS, "deploy_on_update", "migration_minutes", "trigger_poll_seconds")
# The model's assumptions, which no template states.
_OWN_OPTIONS = frozenset({"--task-start", "--hook-time", "--compare-min-requests"})


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
        "the worst-case total and what blue and green side by side cost. With --stack, the inputs are the "
        "synthesized service's (read from the cloud assembly); options typed override them. Defaults are the "
        "library's defaults.",
    )
    # default=None everywhere: an option typed is told apart from its default, and overrides the template.
    defaults, cost = PlanInputs(), CostInputs()
    pl.add_argument("--stack", help="read the inputs from this stack's template in the cloud assembly")
    pl.add_argument(
        "--service",
        "--path",
        dest="service",
        metavar="PATH",
        help="with --stack: the service's construct path below the stack, e.g. Web or Stack/Web (needed when the "
        "stack has several blue/green services)",
    )
    pl.add_argument(
        "--assembly",
        type=Path,
        metavar="DIR",
        help="with --stack: the cloud assembly `cdk synth` wrote (default: cdk.json's output, else cdk.out)",
    )
    _option(pl, "--shift", defaults.shift, choices=["canary", "linear", "all-at-once"])
    _option(pl, "--percent", defaults.percent, type=float)
    _option(pl, "--interval", defaults.interval_minutes, "minutes")
    _option(pl, "--termination-wait", defaults.termination_wait_minutes, "minutes")
    _option(pl, "--health-check-interval", defaults.health_check_interval_seconds, "seconds")
    _option(pl, "--healthy-threshold", defaults.healthy_threshold)
    _option(pl, "--deregistration-delay", defaults.deregistration_delay_seconds, "seconds")
    _option(pl, "--alarm-period", defaults.alarm_period_seconds, "seconds")
    _option(pl, "--alarm-evaluation-periods", defaults.alarm_evaluation_periods)
    _option(pl, "--task-start", defaults.task_start_seconds, "assumption, seconds")
    _option(pl, "--hook-time", defaults.hook_seconds, "assumption, seconds")
    _option(pl, "--engine", defaults.engine, choices=["codedeploy", "ecs"])
    _option(
        pl,
        "--compare-min-requests",
        defaults.compare_min_requests,
        "requests a period each target group needs for the green-vs-blue comparison; 0 when it is off",
    )
    _option(
        pl,
        "--deploy-on-update",
        "true",
        "codedeploy: false when a pipeline starts deployments (no one-hour limit of `cdk deploy`)",
        choices=["true", "false"],
    )
    _option(
        pl,
        "--migration",
        defaults.migration_minutes,
        "minutes the migration task may take (migration_task's timeout); it runs before green starts; 0: none",
    )
    _option(
        pl,
        "--desired-count",
        cost.tasks,
        "tasks green starts with (the service's count when the deployment starts; with auto scaling, "
        "between its min and max)",
    )
    _option(pl, "--task-cpu", cost.task_cpu, "CPU units (1024 = 1 vCPU)")
    _option(pl, "--task-memory", cost.task_memory_mib, "MiB")
    _option(pl, "--approval-wait", cost.approval_wait_minutes, "minutes both run waiting for approval")
    pl.add_argument("--vcpu-hour-price", type=float, help="print a price: one vCPU-hour in your Region")
    pl.add_argument("--gb-hour-price", type=float, help="print a price: one GB-hour in your Region")
    pl.add_argument("--svg", type=Path, help="also draw the timeline as an SVG chart")
    deployments.add_commands(commands)
    return parser, commands.choices


def _option(parser: argparse.ArgumentParser, flag: str, default: object, text: str = "", **kwargs: Any) -> None:
    """A plan option whose default is shown in its help but not set (None: not typed; ``plan_inputs`` fills it)."""
    kwargs.setdefault("type", type(default) if kwargs.get("choices") is None else str)
    shown = f"default: {default}" + (", or the template's with --stack" if flag not in _OWN_OPTIONS else "")
    parser.add_argument(flag, default=None, help=f"{text} ({shown})" if text else shown, **kwargs)


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


def plan_values(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], str]:
    """Each input of ``plan``: the option typed, else (with ``--stack``) the template's, else the default; a note
    for each property the template does not give a value for; and where the inputs came from, for the title."""
    typed: dict[str, Any] = {}
    for field, option in _FIELD_OPTIONS.items():
        value = getattr(args, option.removeprefix("--").replace("-", "_"))
        if value is not None:
            typed[field] = value == "true" if field == "deploy_on_update" else value
    fallback = {**dataclasses.asdict(PlanInputs()), **dataclasses.asdict(CostInputs())}
    template: dict[str, Any] = {}
    notes: list[str] = []
    source = ""
    if args.stack is None:
        if args.service is not None or args.assembly is not None:
            raise CliError("--service and --assembly name a synthesized service: give its stack with --stack STACK.")
    else:
        directory = args.assembly or assembly.default_directory()
        found = assembly.service_template(directory, str(directory), args.stack, args.service)
        read = read_service(found.resources, found.service.logical_id, found.owned)
        template = dict(read.values)
        for field, why in read.unread.items():
            if field not in typed:
                option = _FIELD_OPTIONS[field]
                notes.append(f"{why}: {option} {fallback[field]} (the default) is used; type {option} to set it")
        source = f", from {found.template}, service {found.service.path}"
    values = {**fallback, **template, **typed}
    trigger = values["engine"] == "codedeploy" and values["deploy_on_update"]
    values["trigger_poll_seconds"] = fallback["trigger_poll_seconds"] if trigger else 0
    return values, notes, source


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
    values, notes, source = plan_values(args)
    inputs = PlanInputs(**{name: values[name] for name in _PLAN_FIELDS})
    timeline = plan(inputs, names={**_PLAN_OPTIONS, "migration_minutes": "--migration"})
    shift = (
        "all at once"
        if inputs.shift == "all-at-once"
        else f"{inputs.shift} {inputs.percent:g}% / {inputs.interval_minutes} min"
    )
    title = f"{shift}, termination wait {inputs.termination_wait_minutes} min ({inputs.engine}){source}"
    print(title)
    for seconds, event in timeline.rows():
        print(f"  {format_time(seconds):>8}  {event}")
    print(f"  worst case: {format_time(timeline.total)} until `cdk deploy` returns")
    cost = CostInputs(
        **{name: values[name] for name in _COST_OPTIONS if not name.endswith("_price")},
        vcpu_hour_price=args.vcpu_hour_price,
        gb_hour_price=args.gb_hour_price,
    )
    for line in describe(overlap(timeline, cost, names=_COST_OPTIONS), cost):
        print(f"  {line}")
    if cost.approval_wait_minutes:
        # The timeline schedules no approval: when it comes is the approver's. The overlap above counts all of it.
        notes.append(
            f"the approval wait ({cost.approval_wait_minutes} min, before production traffic moves) is not in the "
            "timeline: a deployment approved at its end finishes that much later than shown"
        )
    for note in [*notes, *timeline.notes]:
        print(f"  note: {note}")
    if args.svg:
        args.svg.write_text(to_svg(timeline, title=title))
        _progress(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
