"""`presence-sync` console script: a thin dispatcher to the sub-commands, each owned by its own module."""

from __future__ import annotations

import importlib
import sys

# Sub-command -> module with `main(argv: list[str]) -> int`. Imported lazily so that `presence-sync validate`
# does not pay for the sandbox's web stack, and one broken sub-command cannot break the others.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("presence_sync.spec.cli", "check a spec file without touching any API"),
    "schema": ("presence_sync.spec.cli", "print the spec's JSON Schema"),
    "sandbox": ("sandbox.cli", "run the local Salesforce and CXone emulators"),
    "plan": ("presence_sync.gitops.plan", "preview stacks: a Markdown/JSON report of changes (and drift)"),
    "drift": ("presence_sync.gitops.drift", "report what changed outside the stack since the last up"),
    "export": ("presence_sync.gitops.export", "write a spec (adopt: true) from the live org and tenant"),
    "status": ("presence_sync.status", "the runtime's live view in the terminal: agents in step, latency, circuits"),
}


def usage() -> str:
    lines = ["usage: presence-sync <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"presence-sync: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main([command, *rest]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
