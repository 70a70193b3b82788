"""``presence-sync sandbox ...``: serve the emulators and drive their operator controls.

presence-sync sandbox serve [--data-dir .sandbox] [--salesforce-port 8443] [--cxone-port 8444] [--pubsub-port 7443]
                            [--reset]
presence-sync sandbox status   [--data-dir .sandbox]
presence-sync sandbox env      [--data-dir .sandbox]        # eval "$(presence-sync sandbox env)"
presence-sync sandbox requests [--vendor salesforce|cxone|all] [--since N] [--clear] [--json]
presence-sync sandbox faults   [--vendor ...] [show|set|clear] [--latency-ms N] [--error-rate R]
                               [--error-status 429|503|403] [--error-next N] [--refuse-seconds S]
                               [--path-prefix /services/data] [--expire-tokens]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from typing import Any

import requests

from .operator_client import OperatorClient
from .tls import PRIVATE_FILE_MODE, private_dir

__all__ = ["main"]

URL_KEYS = {"salesforce": "SF_LOGIN_URL", "cxone": "CXONE_API_URL"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="presence-sync sandbox", description="Local HTTPS emulators of the Salesforce and CXone APIs."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=pathlib.Path,
            default=pathlib.Path(".sandbox"),
            help="state, certificates and connection files (default: .sandbox)",
        )
        return p

    serve = with_data_dir(sub.add_parser("serve", help="run both emulators until interrupted"))
    serve.add_argument("--salesforce-port", type=int, default=8443, help="0 picks a free port")
    serve.add_argument("--cxone-port", type=int, default=8444, help="0 picks a free port")
    serve.add_argument("--pubsub-port", type=int, default=7443, help="Salesforce Pub/Sub API (gRPC); 0: a free port")
    serve.add_argument("--reset", action="store_true", help="start from a fresh seed and new certificates")
    serve.add_argument("--vendors", default="salesforce,cxone", help="comma-separated subset to run")
    with_data_dir(sub.add_parser("status", help="is the sandbox up, and where"))
    with_data_dir(sub.add_parser("env", help="print the shell export lines for the running sandbox"))
    reqs = with_data_dir(sub.add_parser("requests", help="show or clear the request log"))
    reqs.add_argument("--vendor", choices=["salesforce", "cxone", "all"], default="all")
    reqs.add_argument("--since", type=int, default=0, help="only entries after this sequence number")
    reqs.add_argument("--clear", action="store_true")
    reqs.add_argument("--json", action="store_true", help="one JSON object per line")
    faults = with_data_dir(sub.add_parser("faults", help="show, set or clear injected faults"))
    faults.add_argument("action", nargs="?", choices=["show", "set", "clear"], default="show")
    faults.add_argument(
        "--vendor", choices=["salesforce", "cxone", "all"], default="all", help="which emulator (default: both)"
    )
    faults.add_argument("--latency-ms", type=int, help="added to every request")
    faults.add_argument("--error-rate", type=float, help="share (0..1) of requests answered with --error-status")
    faults.add_argument("--error-status", type=int, choices=[403, 429, 503], help="default 503")
    faults.add_argument("--error-next", type=int, help="fail exactly the next N requests")
    faults.add_argument("--refuse-seconds", type=float, help="drop connections without a response for this long")
    faults.add_argument("--path-prefix", help="faults only hit paths starting with this, e.g. /services/data/")
    faults.add_argument("--expire-tokens", action="store_true", help="invalidate every access token now")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv[1:] if argv and argv[0] == "sandbox" else argv)
    if args.command == "serve":
        from .server import VENDORS, SandboxConfig, run

        vendors = tuple(v.strip() for v in args.vendors.split(",") if v.strip())
        if not vendors or any(v not in VENDORS for v in vendors):
            print(f"sandbox: --vendors must be a subset of {','.join(VENDORS)}", file=sys.stderr)
            return 2
        _private_data_dir(args.data_dir)
        config = SandboxConfig(
            args.data_dir, args.salesforce_port, args.cxone_port, args.reset, vendors, pubsub_port=args.pubsub_port
        )
        return run(config)
    try:
        info = json.loads((args.data_dir / "connection.json").read_text())
    except FileNotFoundError:
        print(
            f"sandbox: no {args.data_dir / 'connection.json'}; start it with `presence-sync sandbox serve`",
            file=sys.stderr,
        )
        return 1
    if args.command == "env":
        print((args.data_dir / "sandbox.env").read_text(), end="")
        return 0
    clients = {
        vendor: OperatorClient(info[key], info["REQUESTS_CA_BUNDLE"]) for vendor, key in URL_KEYS.items() if key in info
    }
    try:
        return _operate(args, clients)
    except requests.RequestException as exc:
        print(
            f"sandbox: not reachable ({exc.__class__.__name__}); is `presence-sync sandbox serve` running?",
            file=sys.stderr,
        )
        return 1


def _private_data_dir(data_dir: pathlib.Path) -> None:
    """Before the sandbox writes anything: its process creates files 0600 and folders 0700 (umask 077), so the
    connection files, the key and the SQLite stores are never readable by others, not even between a write and
    a chmod; the data folder is narrowed to 0700 and what an older version left in it to 0600."""
    os.umask(0o077)
    private_dir(data_dir)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(PRIVATE_FILE_MODE)


def _selected(args: argparse.Namespace, clients: dict[str, OperatorClient]) -> dict[str, OperatorClient]:
    vendor = getattr(args, "vendor", "all")
    return clients if vendor == "all" else {vendor: clients[vendor]} if vendor in clients else {}


def _operate(args: argparse.Namespace, clients: dict[str, OperatorClient]) -> int:
    if args.command == "status":
        code = 0
        for vendor, client in clients.items():
            up = client.ready()
            code = code or (0 if up else 1)
            print(f"{vendor:<10} {client.base_url:<28} {'ready' if up else 'DOWN'}")
        return code
    if args.command == "requests":
        for client in _selected(args, clients).values():
            if args.clear:
                client.clear_requests()
                continue
            for entry in client.requests(since=args.since):
                print(json.dumps(entry) if args.json else _format_entry(entry))
        return 0
    for vendor, client in _selected(args, clients).items():
        if args.action == "clear":
            client.clear_faults()
        elif args.action == "set":
            changes: dict[str, Any] = {
                k: v
                for k, v in {
                    "latency_ms": args.latency_ms,
                    "error_rate": args.error_rate,
                    "error_status": args.error_status,
                    "error_next": args.error_next,
                    "refuse_seconds": args.refuse_seconds,
                    "path_prefix": args.path_prefix,
                }.items()
                if v is not None
            }
            if changes:
                client.set_faults(**changes)
            if args.expire_tokens:
                client.expire_tokens()
        print(f"{vendor}: {json.dumps(client.faults())}")
    return 0


def _format_entry(entry: dict[str, Any]) -> str:
    query = f"?{entry['query']}" if entry.get("query") else ""
    extra = f" [{entry['operation']}]" if entry.get("operation") else ""
    fault = f" fault={entry['fault']}" if entry.get("fault") else ""
    return (
        f"{entry['seq']:>6} {entry['vendor']:<10} {entry['status']} {entry['method']:<6} "
        f"{entry['path']}{query}{extra} {entry['duration_ms']:.1f}ms{fault}"
    )
