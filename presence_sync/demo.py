"""`make demo`: the main job on the sandbox, as a user would run it.

1. start the sandbox (both emulators) unless one already answers on its ports;
2. `pulumi up` of the `sandbox` stack -- the real CLI and program (`__main__.py`, `stacks/sandbox.yaml`),
   state in `.state/` (file backend), secrets under the demo passphrase;
3. `pulumi preview` again, which must show no changes;
4. print the stack's summary and outputs (secrets stay masked).

The sandbox's data lives in `.sandbox/` and survives, like the state, so a second `make demo` is a no-op run.
Exit code: 0 only when the up succeeded and the second preview changed nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_DIR = REPO_ROOT / ".sandbox"
STATE_DIR = REPO_ROOT / ".state"
STACK = "sandbox"
DEMO_PASSPHRASE = "presence-sync-sandbox-demo-only"  # demo only: real stacks use a real secrets provider
SALESFORCE_PORT = 8443
CXONE_PORT = 8444


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def sandbox_ready(connection: Path) -> bool:
    if not connection.exists():
        return False
    env = json.loads(connection.read_text())
    try:
        for url in (env["SF_LOGIN_URL"], env["CXONE_AUTH_URL"]):
            requests.get(f"{url}/__sandbox/ready", verify=env["REQUESTS_CA_BUNDLE"], timeout=2).raise_for_status()
    except (requests.RequestException, KeyError):
        return False
    return True


def start_sandbox() -> subprocess.Popen[bytes] | None:
    connection = SANDBOX_DIR / "connection.json"
    if sandbox_ready(connection):
        say(f"using the sandbox already running (see {connection})")
        return None
    say(f"starting the sandbox on ports {SALESFORCE_PORT} (Salesforce) and {CXONE_PORT} (CXone)")
    connection.unlink(missing_ok=True)
    log = open(SANDBOX_DIR.parent / ".sandbox.log", "ab")  # noqa: SIM115 -- handed to the child process
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--data-dir", str(SANDBOX_DIR),
         "--salesforce-port", str(SALESFORCE_PORT), "--cxone-port", str(CXONE_PORT)],
        cwd=REPO_ROOT, stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the sandbox exited with code {process.returncode}; see .sandbox.log")
        if sandbox_ready(connection):
            return process
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("demo: the sandbox did not become ready within 30 s; see .sandbox.log")


def pulumi(*args: str, env: dict[str, str], capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pulumi", *args, "--stack", STACK, "--non-interactive"],
        cwd=REPO_ROOT, env=env, text=True, check=False,
        stdout=subprocess.PIPE if capture else None,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep-sandbox", action="store_true", help="leave the sandbox running afterwards")
    args = parser.parse_args(argv)

    SANDBOX_DIR.mkdir(exist_ok=True)
    STATE_DIR.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{STATE_DIR}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", DEMO_PASSPHRASE),
        "PULUMI_SKIP_UPDATE_CHECK": "1",
    }
    sandbox = start_sandbox()
    try:
        connection = json.loads((SANDBOX_DIR / "connection.json").read_text())
        env.update({key: str(value) for key, value in connection.items()})
        if pulumi("stack", "select", "--create", env=env, capture=True).returncode != 0:
            say("could not select or create the sandbox stack")
            return 1
        say("pulumi up (stack sandbox)")
        if pulumi("up", "--yes", "--skip-preview", env=env).returncode != 0:
            say("pulumi up failed: the messages above say what to fix")
            return 1
        say("pulumi preview: expecting no changes")
        preview = pulumi("preview", "--json", env=env, capture=True)
        if preview.returncode != 0:
            return 1
        steps = [s for s in json.loads(preview.stdout).get("steps", []) if s.get("op") not in ("same", None)]
        if steps:
            say(f"a second preview still wants {len(steps)} change(s): the run did not converge")
            return 1
        outputs = json.loads(pulumi("stack", "output", "--json", env=env, capture=True).stdout or "{}")
        print("\n" + str(outputs.pop("summary", "")))
        print(json.dumps(outputs, indent=2, sort_keys=True))
        say("done: the sandbox matches stacks/sandbox.yaml, and a second run changes nothing")
        return 0
    finally:
        if sandbox is not None and not args.keep_sandbox:
            sandbox.terminate()
            sandbox.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
