"""`make demo`: the main job on the sandbox, as a user would run it.

1. start the sandbox (both emulators) in the background, unless one already answers on its ports;
2. `pulumi up --refresh` of the `sandbox` stack -- the real CLI and program (`__main__.py`,
   `stacks/sandbox.yaml`), state in `.state/` (file backend), secrets under the demo passphrase; the last
   resource starts the sync runtime as a local supervised process;
3. `pulumi preview` again, which must show no changes;
4. print the stack's summary and outputs (secrets stay masked);
5. live sync: an agent changes state in CXone and their Omni-Channel status follows, then the other way;
6. print the live view's URL (the runtime serves it, so it stays up with the runtime).

The sandbox and the runtime keep running afterwards (`make demo-stop` destroys the stack and stops both).
Their data lives in `.sandbox/` and `.state/`, so a second `make demo` changes nothing.
Exit code: 0 only when every step above did what it says.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
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


def start_sandbox() -> None:
    connection = SANDBOX_DIR / "connection.json"
    if sandbox_ready(connection):
        say(f"using the sandbox already running (see {connection})")
        return
    say(f"starting the sandbox on ports {SALESFORCE_PORT} (Salesforce) and {CXONE_PORT} (CXone)")
    connection.unlink(missing_ok=True)
    # 0600 from the start (the sandbox logs its requests); O_APPEND like "ab".
    log = os.fdopen(os.open(SANDBOX_DIR.parent / ".sandbox.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--data-dir",
            str(SANDBOX_DIR),
            "--salesforce-port",
            str(SALESFORCE_PORT),
            "--cxone-port",
            str(CXONE_PORT),
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,  # outlives `make demo`
    )
    (SANDBOX_DIR / "sandbox.pid").write_text(str(process.pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the sandbox exited with code {process.returncode}; see .sandbox.log")
        if sandbox_ready(connection):
            return
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("demo: the sandbox did not become ready within 30 s; see .sandbox.log")


def private_folders() -> None:
    """`.sandbox/` (the sandbox's credentials and key) and `.state/` (the stack's state, the runtime's store and
    log) are 0700, and everything the demo and its children create is 0600/0700 from the start: umask 077 for
    this process, inherited by the sandbox, `pulumi` and the runtime it starts. (Pulumi's file backend writes
    `.state/` itself; the umask is the control we have over its modes.)"""
    os.umask(0o077)
    for folder in (SANDBOX_DIR, STATE_DIR):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)


def pulumi(*args: str, env: dict[str, str], capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pulumi", *args, "--stack", STACK, "--non-interactive"],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        check=False,
        stdout=subprocess.PIPE if capture else None,
    )


def engine_env() -> dict[str, str]:
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{STATE_DIR}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", DEMO_PASSPHRASE),
        "PULUMI_SKIP_UPDATE_CHECK": "1",
    }


def live_sync() -> bool:
    """Grace (in the rule's team) changes state on one side; the runtime must carry it to the other. The agent is
    played by the sandbox's own script, run as a process: the product does not import the sandbox."""
    agent = [sys.executable, "-m", "sandbox.demo_agent", "--connection", str(SANDBOX_DIR / "connection.json")]
    return subprocess.run(agent, cwd=REPO_ROOT, check=False).returncode == 0


def live_view_url() -> str | None:
    """The runtime's page: the SyncRuntime's health URL, from the stack's state, without /healthz."""
    from presence_sync.status import StatusError, locate

    try:
        base, _ = locate(STACK, str(REPO_ROOT))
    except StatusError as exc:
        say(f"live view: cannot find the runtime's address ({exc})")
        return None
    return f"{base}/"


def stop() -> int:
    env = engine_env()
    connection = SANDBOX_DIR / "connection.json"
    if sandbox_ready(connection):
        env.update({k: str(v) for k, v in json.loads(connection.read_text()).items()})
        say("pulumi destroy (stops the runtime)")
        pulumi("destroy", "--yes", "--skip-preview", env=env)
    pid_file = SANDBOX_DIR / "sandbox.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
        say("sandbox stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="destroy the demo stack and stop the sandbox")
    args = parser.parse_args(argv)
    if args.stop:
        os.umask(0o077)  # destroy rewrites .state/ too
        return stop()

    private_folders()
    env = engine_env()
    start_sandbox()
    connection = json.loads((SANDBOX_DIR / "connection.json").read_text())
    env.update({key: str(value) for key, value in connection.items()})
    if pulumi("stack", "select", "--create", env=env, capture=True).returncode != 0:
        say("could not select or create the sandbox stack")
        return 1
    say("pulumi up --refresh (stack sandbox)")
    if pulumi("up", "--yes", "--skip-preview", "--refresh", env=env).returncode != 0:
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
    os.environ["REQUESTS_CA_BUNDLE"] = connection["REQUESTS_CA_BUNDLE"]
    if not live_sync():
        return 1
    say("done: the sandbox matches stacks/sandbox.yaml, a second run changes nothing, and agents stay in step")
    page = live_view_url()
    if page:
        # --url, not --stack: reading the stack needs the engine's environment (the Makefile's), the page does not
        say(
            f"live view: {page} -- every agent on both sides, live (in a terminal: "
            f"`.venv/bin/presence-sync status --url {page.rstrip('/')}`)"
        )
    say("the sandbox and the runtime keep running; `make demo-stop` stops them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
