"""`presence-sync validate` and `presence-sync schema`: offline, they touch no API.

presence-sync validate <file> [<file> ...]   exit 0 and one summary line per file when all are valid (it
                                             ends with the engine that will sync presence, runtime.engine);
                                             exit 1 otherwise, with one line per problem of every file
                                             (file:line:column: path: message; hint: ...; at most 100
                                             per file, then a count of the rest)
presence-sync schema [--output PATH]         print the spec's JSON Schema, or write it to PATH
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engine import engine_line
from .loader import SpecError, load_spec
from .models import PresenceSpec
from .schema import schema_json

__all__ = ["main", "summary"]


def summary(spec: PresenceSpec) -> str:
    """One line saying what the spec sets up, e.g. for `validate` output and logs."""
    sf, cx, rt = spec.salesforce, spec.cxone, spec.runtime
    app = sf.oauth_app
    app_kind = "External Client App" if app.app_type == "external_client_app" else "Connected App"
    rules = ", ".join(f"{rule.name} ({rule.direction})" for rule in cx.presence_rules) or "none"

    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    parts = [
        "sandbox" if spec.sandbox else None,
        count(len(sf.statuses), "status", "statuses")
        + (f" (+{len(sf.existing_statuses)} existing)" if sf.existing_statuses else ""),
        count(len(sf.profile_access), "profile grant", "profile grants"),
        f"{app_kind} {app.name} [{', '.join(app.metadata_scopes())}]",
        f"account mapping {cx.account_mapping.name!r}",
        f"rules: {rules}",
        f"runtime: {rt.target}",
        engine_line(spec),
    ]
    return "; ".join(part for part in parts if part)


def _validate(files: list[str]) -> int:
    failed = 0
    for file in files:
        try:
            spec = load_spec(file)
        except SpecError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        print(f"{file}: OK: {summary(spec)}")
    if failed:
        print(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} invalid", file=sys.stderr)
    return 1 if failed else 0


def _schema(output: str | None) -> int:
    text = schema_json()
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}")
    return 0


def main(argv: list[str]) -> int:
    """`argv[0]` is the sub-command ("validate" or "schema"), as `presence_sync.cli` passes it."""
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "validate":
        parser = argparse.ArgumentParser(
            prog="presence-sync validate", description="Check spec files without touching any API."
        )
        parser.add_argument("files", nargs="+", metavar="FILE", help="spec file, e.g. stacks/sandbox.yaml")
        args = parser.parse_args(rest)
        return _validate(args.files)
    if command == "schema":
        parser = argparse.ArgumentParser(prog="presence-sync schema", description="Print the spec's JSON Schema.")
        parser.add_argument("--output", "-o", metavar="PATH", help="write the schema to PATH instead of stdout")
        args = parser.parse_args(rest)
        return _schema(args.output)
    print(f"presence_sync.spec.cli: unknown command {command!r} (expected validate or schema)", file=sys.stderr)
    return 2
