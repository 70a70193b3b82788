"""`presence-sync status --stack S [--cwd DIR] [--url URL] [--json]`: the live view's summary in the terminal.

Reads the JSON API of the runtime the stack runs (``/api/v1/summary`` and ``/api/v1/agents``, see docs/runtime.md,
"The live view"). Where it is: ``--url``, or the stack's SyncRuntime resource -- its ``healthUrl`` output (the
local target) from the stack's state, opened the way `presence-sync plan|drift` open a stack (the project's
``.state/`` file backend for the sandbox). When the runtime's config names ``live_view_token_env``, the token is
read from that variable here too and sent as ``Authorization: Bearer``.

Exit code: 0 every matched agent is in step, 2 some are not, 1 the runtime cannot be found or reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import requests

EXIT_IN_STEP, EXIT_ERROR, EXIT_NOT_IN_STEP = 0, 1, 2
DIRECTIONS = {"cxone_to_salesforce": "CXone -> Omni", "salesforce_to_cxone": "Omni -> CXone"}


class StatusError(Exception):
    pass


def runtime_from_deployment(deployment: Mapping[str, Any]) -> tuple[str, str | None]:
    """(base URL, token variable) of the SyncRuntime in an exported stack state."""
    for resource in deployment.get("resources") or []:
        if not str(resource.get("type", "")).endswith(":SyncRuntime"):
            continue
        outputs = resource.get("outputs") or {}
        health = outputs.get("healthUrl")
        config = outputs.get("config") if isinstance(outputs.get("config"), dict) else {}
        token_env = config.get("live_view_token_env") if config else None
        if not health:
            raise StatusError(
                "the stack's runtime has no health URL (a Kubernetes target?): reach it with "
                "`kubectl port-forward` and pass --url"
            )
        return str(health).removesuffix("/healthz"), token_env
    raise StatusError("the stack has no SyncRuntime resource: run `pulumi up` first")


def locate(stack_name: str, cwd: str | None) -> tuple[str, str | None]:
    from presence_sync.gitops import plan as plan_command

    try:
        stack = plan_command.open_stack(stack_name, plan_command.project_dir(cwd))
        exported = stack.export_stack()
    except Exception as exc:  # the Automation API raises CommandError and friends; say which stack
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise StatusError(f"cannot read stack {stack_name!r}: {last}") from None
    return runtime_from_deployment(exported.deployment or {})


def fetch(base: str, token: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        summary = requests.get(f"{base}/api/v1/summary", headers=headers, timeout=10)
        if summary.status_code in (401, 403):
            raise StatusError(f"{base} refused the live view ({summary.status_code}): {summary.text.strip()[:200]}")
        summary.raise_for_status()
        agents = requests.get(
            f"{base}/api/v1/agents", params={"status": "not_in_step", "limit": "50"}, headers=headers, timeout=10
        )
        agents.raise_for_status()
    except requests.RequestException as exc:
        raise StatusError(f"cannot reach the runtime at {base}: {type(exc).__name__}") from None
    return dict(summary.json()), list(agents.json()["agents"])


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def render(base: str, summary: Mapping[str, Any], out_of_step: list[dict[str, Any]]) -> str:
    a = summary["agents"]
    ready = summary["ready"]
    lines = [
        f"runtime {base}: {'ready' if ready['ok'] else 'NOT READY: ' + ready['reason']}",
        f"agents: {a['total']} matched, {a['in_step']} in step, {a['pending']} pending, {a['failing']} failing, "
        f"{a['out_of_step']} out of step; {a['unmatched']} unmatched",
    ]
    window = summary["latency"]["window_seconds"] / 60
    for direction, data in summary["latency"]["directions"].items():
        lines.append(
            f"latency {DIRECTIONS.get(direction, direction)} (last {window:g} min): p50 {_ms(data['p50'])}, "
            f"p99 {_ms(data['p99'])}, {data['count']} writes"
        )
    circuits = ", ".join(f"{vendor} {c['state']}" for vendor, c in summary["circuits"].items())
    calls = summary["api_calls_today"]
    lines += [
        f"circuits: {circuits}",
        f"API calls today ({calls['date']}): cxone {calls['cxone']}, salesforce {calls['salesforce']}",
    ]
    if out_of_step:
        lines.append(f"not in step ({a['not_in_step']}):")
        for row in out_of_step:
            pending = ", ".join(f"{side} <- {target}" for side, target in (row.get("pending") or {}).items())
            lines.append(
                f"  {row['agent_id']} {row['email'] or '-'}  [{row['status'].replace('_', ' ')}]  rule "
                f"{row['rule'] or '-'}  CXone {row['cxone_state'] or '-'}  Omni {row['omni_status'] or '-'}"
                + (f"  pending {pending}" if pending else "")
            )
        if a["not_in_step"] > len(out_of_step):
            lines.append(f"  ... and {a['not_in_step'] - len(out_of_step)} more (the page, or /api/v1/agents)")
    for error in summary.get("errors", [])[:3]:
        lines.append(f"last error {error['at']}: {error['message']} {error.get('hint') or ''}".rstrip())
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=f"presence-sync {argv[0]}", description=(__doc__ or "").splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the stack whose runtime to ask (its SyncRuntime's outputs)")
    where.add_argument("--url", help="the runtime's base URL, e.g. http://127.0.0.1:9464 (metrics_host:metrics_port)")
    p.add_argument("--cwd", help="the Pulumi project directory (default: nearest Pulumi.yaml upwards)")
    p.add_argument("--token-env", help="variable holding the live view token (default: the runtime config's)")
    p.add_argument("--json", action="store_true", help="print the summary and the agents not in step as JSON")
    args = p.parse_args(argv[1:])
    try:
        base, token_env = (args.url.rstrip("/"), None) if args.url else locate(args.stack, args.cwd)
        token_env = args.token_env or token_env
        summary, out_of_step = fetch(base, os.environ.get(token_env) if token_env else None)
    except StatusError as exc:
        print(f"presence-sync status: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps({"url": base, "summary": summary, "not_in_step": out_of_step}, indent=2))
    else:
        sys.stdout.write(render(base, summary, out_of_step))
    # The summary and the list are two reads: an agent can fall out of step between them. The exit code must
    # agree with what is printed, so either read naming an agent out of step makes it 2.
    return EXIT_IN_STEP if summary["agents"]["not_in_step"] == 0 and not out_of_step else EXIT_NOT_IN_STEP
