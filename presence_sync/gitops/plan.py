"""`presence-sync plan --stack S [--stack S2 ...] [--format markdown|json] [--refresh] [--cwd DIR]`

Previews each stack through the Automation API and prints a report (Markdown for a pull-request comment,
JSON for machines): per resource create/update/replace/delete and the changed fields old -> new, secrets
masked. With ``--refresh`` it also separates drift (live != last applied) from intended change (spec != last
applied). Exit code: 0 no changes, 2 changes or drift, 1 error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pulumi import automation as auto

from presence_sync.gitops import engine
from presence_sync.gitops.engine import StackPlan
from presence_sync.gitops.progress import Progress
from presence_sync.gitops.project import project_dir, stack_settings
from presence_sync.gitops.render import render
from presence_sync.spec import SpecError, load_spec
from presence_sync.spec.engine import engine_line

EXIT_CLEAN, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

StackOpener = Callable[[str, Path], auto.Stack]
open_stack: StackOpener = engine.select_stack
"""How a stack name becomes an Automation API stack; tests swap in an inline program."""


def stack_engine(work_dir: Path, stack: str) -> str | None:
    """The engine the stack's spec chooses, as a line for the report; None when the spec cannot be read (the
    preview reports that)."""
    setting = (stack_settings(work_dir, stack).get("config") or {}).get("presence-sync:spec")
    try:
        return engine_line(load_spec(work_dir / (setting or f"stacks/{stack}.yaml")))
    except (SpecError, OSError):
        return None


def exit_code(plans: Sequence[StackPlan]) -> int:
    if any(plan.error for plan in plans):
        return EXIT_ERROR
    return EXIT_CHANGES if any(plan.has_changes for plan in plans) else EXIT_CLEAN


def run_plans(
    stacks: Sequence[str], work_dir: Path, *, refresh: bool, drift_only: bool = False, label: str = "plan"
) -> list[StackPlan]:
    plans: list[StackPlan] = []
    with Progress(label) as progress:
        for name in stacks:
            progress.note(f"stack {name}: {'refresh preview' if drift_only or refresh else 'preview'}")
            try:
                stack = open_stack(name, work_dir)
            except auto.errors.CommandError as error:
                message = f"cannot select stack {name!r}: {engine.stderr_of(error)}"
                plans.append(StackPlan(stack=name, error=message, previewed=not drift_only))
                continue
            if drift_only:
                plan = StackPlan(stack=name, previewed=False)
                try:
                    plan.drift = engine.drift(stack, progress)
                except engine.PlanError as error:
                    plan.error = str(error)
            else:
                plan = engine.plan_stack(name, stack, refresh=refresh, progress=progress)
            plans.append(plan)
    return plans


def write_report(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--stack", action="append", required=True, help="stack name (repeat for several)")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument("--cwd", help="the Pulumi project directory (default: nearest Pulumi.yaml upwards)")
    p.add_argument("--output", help="write the report to this file instead of stdout")
    return p


def main(argv: list[str]) -> int:
    p = parser(f"presence-sync {argv[0]}", (__doc__ or "").splitlines()[0])
    p.add_argument("--refresh", action="store_true", help="also report drift: live differs from the last apply")
    args = p.parse_args(argv[1:])
    work_dir = project_dir(args.cwd)
    plans = run_plans(args.stack, work_dir, refresh=args.refresh)
    engines = {name: line for name in args.stack if (line := stack_engine(work_dir, name))}
    write_report(render(plans, args.format, engines=engines), args.output)
    return exit_code(plans)
