"""API economy of a no-op `pulumi preview --refresh`, and its wall time, for growing specs.

Runs the real engine against a fresh sandbox: `pulumi up` of the sandbox spec plus N extra statuses granted
to every seeded profile, then a no-op `preview --refresh`, counting each vendor's API calls in the sandbox's
request log. The sandbox seeds 4 profiles (Salesforce has no API to create profiles), so "10 profiles" is
measured as 4.

    .venv/bin/python bench/api_economy.py [--statuses 10,100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import resources.stack  # noqa: E402
from sandbox.testing import running_sandbox  # noqa: E402
from tests.support.spec_stack import changes, spec_stack  # noqa: E402
from tests.support.specs import SEED_PROFILES, with_extra_statuses  # noqa: E402


def main() -> int:
    # The providers' calls only: a running sync runtime polls both vendors on its own schedule and budget.
    resources.stack.runtime_available = lambda: False
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", default="10,100", help="comma-separated status counts")
    counts = [int(n) for n in parser.parse_args().statuses.split(",")]
    print(f"{'statuses':>8} {'profiles':>8} {'up s':>7} {'refresh s':>9} {'SF calls':>8} {'CXone calls':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with running_sandbox(work / "sandbox", reset=True) as sandbox:
            os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_bundle)
            env = {
                **sandbox.env,
                "PULUMI_BACKEND_URL": f"file://{work}",
                "PULUMI_HOME": str(work / "home"),
                "PULUMI_CONFIG_PASSPHRASE": "bench",
                "PULUMI_SKIP_UPDATE_CHECK": "1",
                "PULUMI_PYTHON_CMD": sys.executable,
            }
            for count in counts:
                stack = spec_stack(
                    name=f"bench-{count}",
                    work_dir=work,
                    spec_text=with_extra_statuses(count - 2, profiles=len(SEED_PROFILES)),
                    env=env,
                )
                started = time.perf_counter()
                stack.up()
                up_seconds = time.perf_counter() - started
                sandbox.salesforce_operator.clear_requests()
                sandbox.cxone_operator.clear_requests()
                started = time.perf_counter()
                leftover = changes(stack.preview(refresh=True).change_summary)
                refresh_seconds = time.perf_counter() - started
                sf_calls, cx_calls = sandbox.salesforce_operator.count(), sandbox.cxone_operator.count()
                print(
                    f"{count:>8} {len(SEED_PROFILES):>8} {up_seconds:>7.1f} {refresh_seconds:>9.1f} "
                    f"{sf_calls:>8} {cx_calls:>11}" + (f"  NOT A NO-OP: {leftover}" if leftover else "")
                )
                stack.destroy()
    print("target: the call counts do not grow with the number of statuses (list reads cached per provider process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
