"""`presence-sync drift --stack S [--format markdown|json] [--cwd DIR]`: the drift part of `plan` alone.

A refresh-only preview (nothing is written, not even the state): which managed objects someone changed outside
the stack since the last `pulumi up`, field by field, last applied -> live. For a schedule: exit 2 when there
is drift, 0 when there is none, 1 on error.
"""

from __future__ import annotations

from presence_sync.gitops import plan as plan_command
from presence_sync.gitops.render import render


def main(argv: list[str]) -> int:
    p = plan_command.parser(f"presence-sync {argv[0]}", (__doc__ or "").splitlines()[0])
    args = p.parse_args(argv[1:])
    plans = plan_command.run_plans(
        args.stack, plan_command.project_dir(args.cwd), refresh=True, drift_only=True, label="drift"
    )
    plan_command.write_report(render(plans, args.format, title="presence-sync drift"), args.output)
    return plan_command.exit_code(plans)
