"""API economy of a no-op `pulumi preview --refresh`: the vendor calls must not grow with the resources.

For each size (statuses x profiles x rules) a fresh sandbox is set up by hand as an admin would have it
(bench.gitops: statuses, every status granted to every profile, an OAuth app, an account mapping, presence
rules), exported to a spec with `adopt: true` everywhere, taken over by `pulumi up` (real engine, inline
program), and then previewed with refresh, nothing changed in between: each vendor's API calls are counted
in the sandbox's request log (token requests included), and the preview must show no change.

    .venv/bin/python bench/api_economy.py [--sizes 10x10x2,100x10x20]

The sync runtime is left out of the stack: it polls both vendors on its own schedule and budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import resources.stack  # noqa: E402
from bench.gitops import add_profiles, configure, stack_for  # noqa: E402
from presence_sync.gitops import engine  # noqa: E402
from presence_sync.gitops.export import ExportOptions, export_text  # noqa: E402
from sandbox.testing import running_sandbox  # noqa: E402


def quiet(_line: str) -> None:
    """The engine's progress lines: the figures are the output."""


def measure(work: Path, statuses: int, profiles: int, rules: int) -> dict[str, Any]:
    """Set up one size in its own sandbox, adopt it, and count the calls of a no-op preview --refresh."""
    with running_sandbox(work / "sandbox") as sandbox:
        sandbox.stop()
        add_profiles(work / "sandbox", profiles)
        sandbox.start(reset=False)
        env = dict(sandbox.env)
        os.environ.update(env)
        configure(env, sandbox.salesforce_url, statuses, rules)
        spec_path = work / "bench.yaml"
        spec_path.write_text(
            export_text(env, ExportOptions(oauth_app="Bench_CXone", all_statuses=True), progress=False)
        )
        (work / "state").mkdir()
        engine_env = engine.engine_env(
            work,
            "bench",
            {
                **os.environ,
                **env,
                "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
                "PULUMI_HOME": str(work / "home"),
                "PULUMI_CONFIG_PASSPHRASE": "bench-only",
            },
        )
        stack = stack_for(spec_path, work, engine_env)
        up = stack.up(on_output=quiet)
        sandbox.salesforce_operator.clear_requests()
        sandbox.cxone_operator.clear_requests()
        started = time.perf_counter()
        preview = stack.preview(refresh=True, on_output=quiet)
        seconds = time.perf_counter() - started
        leftover = {str(op): n for op, n in (preview.change_summary or {}).items() if str(op) != "same" and n}
        return {
            "resources": sum((up.summary.resource_changes or {}).values()),
            "seconds": seconds,
            "salesforce": sandbox.salesforce_operator.count(),
            "cxone": sandbox.cxone_operator.count(),
            "leftover": leftover,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10x10x2,100x10x20", help="statuses x profiles x rules, comma-separated")
    args = parser.parse_args(argv)
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    os.environ["CI"] = "true"
    setattr(resources.stack, "runtime_available", lambda: False)  # noqa: B010 -- see the docstring
    print(
        f"{'statuses':>8} {'profiles':>8} {'rules':>5} {'resources':>9} {'refresh s':>9} {'SF calls':>8} {'CXone':>6}"
    )
    for statuses, profiles, rules in sizes:
        with tempfile.TemporaryDirectory(prefix="presence-sync-economy-") as scratch:
            figures = measure(Path(scratch), statuses, profiles, rules)
        note = f"  NOT A NO-OP: {figures['leftover']}" if figures["leftover"] else ""
        print(
            f"{statuses:>8} {profiles:>8} {rules:>5} {figures['resources']:>9} {figures['seconds']:>9.1f} "
            f"{figures['salesforce']:>8} {figures['cxone']:>6}{note}",
            flush=True,
        )
    print("target: the call counts do not grow with the resources (list reads cached per provider process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
