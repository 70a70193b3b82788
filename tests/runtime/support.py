"""Helpers for the runtime's end-to-end tests: set the sandbox up like `pulumi up` of the sandbox stack would,
act as an agent on either side, and run ``python -m runtime`` as a real process (so it can be killed -9)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from presence_sync.clients import CxoneClient, RetryPolicy, SalesforceClient
from presence_sync.runtime_config import RuntimeConfig
from presence_sync.runtime_config_build import ClientResolver, build_config
from presence_sync.spec import load_spec
from sandbox.operator_client import IDEMPOTENT_METHODS, retry_once_on_stale_connection
from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_SPEC = REPO_ROOT / "stacks" / "sandbox.yaml"

ADA = 100001  # Support Tier 1: covered by the "Chat agents" rule (team level)
GRACE = 100002  # named by the rule (user level)
EDSGER = 100005  # Support Tier 2: no rule covers him
STATUS_CXONE_WRITE = "/state"  # .../agent-sessions/{id}/state
OMNI_COMMAND = "/sobjects/Omni_Presence_Command__e"


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last {last!r}")


@dataclass
class SandboxSetup:
    sandbox: Any
    salesforce: SalesforceClient
    cxone: CxoneClient
    statuses: dict[str, str]  # developer name -> id
    users: dict[str, str]  # e-mail -> Salesforce user id


def prepare(sandbox: Any, extra_statuses: tuple[str, ...] = ()) -> SandboxSetup:
    """What `pulumi up` of stacks/sandbox.yaml leaves behind that the runtime needs: the statuses, their grants to
    the agents' profile, and the Omni_Presence_Command__e platform event."""
    env = sandbox.env
    salesforce = SalesforceClient.from_env(env, retry=RetryPolicy(attempts=2, base_delay=0.05, budget=1.0))
    cxone = CxoneClient.from_env(env, retry=RetryPolicy(attempts=2, base_delay=0.05, budget=1.0))
    created = [
        salesforce.create_presence_status("Available_for_Chats", "Available for Chats", ["sfdc_livemessage"]),
        salesforce.create_presence_status("Busy", "Busy", []),
        *(salesforce.create_presence_status(name, name.replace("_", " "), []) for name in extra_statuses),
    ]
    profile = next(p for p in salesforce.list_profiles() if p.name == "Custom: Support Agent")
    for status in created:
        salesforce.grant_status(profile.permission_set_id, status.id)
    salesforce.ensure_presence_command_event()
    salesforce.invalidate_cache()
    users = {u.email: u.id for u in salesforce.list_users() if u.email}
    return SandboxSetup(sandbox, salesforce, cxone, {s.developer_name: s.id for s in created}, users)


def sandbox_config(setup: SandboxSetup, directory: Path, **overrides: Any) -> RuntimeConfig:
    values: dict[str, Any] = {
        "store_path": str(directory / "runtime.sqlite3"),
        "metrics_port": free_port(),
        "poll_interval_seconds": 0.1,
        "stream_wait_seconds": 1.0,
        "echo_window_seconds": 10.0,
        "workers": 4,
        "api_budget_per_minute": {"salesforce": 600, "cxone": 6000},
    }
    values.update(overrides)
    return build_config(load_spec(SANDBOX_SPEC), ClientResolver(setup.salesforce, setup.cxone), **values)


class Agent:
    """One person, on both sides: the CXone softphone and the Omni widget of the sandbox."""

    def __init__(self, setup: SandboxSetup, agent_id: int, email: str) -> None:
        self.setup = setup
        self.agent_id = agent_id
        self.user_id = setup.users[email]
        self.http = requests.Session()
        self.http.verify = setup.sandbox.ca_bundle
        # The emulators close keep-alive connections left idle; a person's next click after a pause (an outage
        # test waits a while) must not fail on a connection closed under it. Every agent action here sets a state
        # (log in, set, log out), so repeating one changes nothing: POSTs may be repeated too.
        retry = retry_once_on_stale_connection(IDEMPOTENT_METHODS | {"POST"})
        self.http.mount("https://", HTTPAdapter(max_retries=retry))

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(url, json=body, timeout=10)
        assert response.status_code < 300, response.text
        return dict(response.json())

    # CXone softphone
    def cxone_login(self) -> None:
        self._post(f"{self.setup.sandbox.cxone_url}/__sandbox/agent/{self.agent_id}/login", {})

    def cxone_set(self, state: str, reason: str | None = None) -> None:
        body = {"state": state, **({"reason": reason} if reason else {})}
        self._post(f"{self.setup.sandbox.cxone_url}/__sandbox/agent/{self.agent_id}/state", body)

    def cxone_logout(self) -> None:
        self._post(f"{self.setup.sandbox.cxone_url}/__sandbox/agent/{self.agent_id}/logout", {})

    def cxone_state(self) -> str:
        view = self.http.get(f"{self.setup.sandbox.cxone_url}/__sandbox/agent/{self.agent_id}", timeout=10).json()
        code = view.get("outStateDescription")
        return f"{view['agentStateName']}:{code}" if code else str(view["agentStateName"])

    # Omni widget
    def omni_login(self, status: str) -> None:
        self._post(
            f"{self.setup.sandbox.salesforce_url}/__sandbox/console/login", {"user": self.user_id, "status": status}
        )

    def omni_set(self, status: str) -> None:
        self._post(
            f"{self.setup.sandbox.salesforce_url}/__sandbox/console/status", {"user": self.user_id, "status": status}
        )

    def omni_logout(self) -> None:
        self._post(f"{self.setup.sandbox.salesforce_url}/__sandbox/console/logout", {"user": self.user_id})

    def omni_status(self) -> str | None:
        agents = self.http.get(f"{self.setup.sandbox.salesforce_url}/__sandbox/console/agents", timeout=10).json()
        mine = next(a for a in agents["agents"] if a["userId"] == self.user_id)
        return mine["statusDeveloperName"]


def console_results(sandbox: Any) -> list[dict[str, Any]]:
    """What the emulator's agent console (the bridge's part) did with each Omni command, oldest first."""
    response = requests.get(
        f"{sandbox.salesforce_url}/__sandbox/console/results?limit=1000", verify=sandbox.ca_bundle, timeout=10
    )
    response.raise_for_status()
    return list(response.json()["results"])


def writes(operator: Any, fragment: str, since: int = 0) -> list[dict[str, Any]]:
    """Logged vendor writes whose path contains ``fragment`` (successful or not); a composite call's
    subrequests count one by one."""
    return [e for e in operator.operations(since) if e["method"] == "POST" and fragment in e["path"]]


def last_seq(operator: Any) -> int:
    entries = operator.requests()
    return int(entries[-1]["seq"]) if entries else 0


class RuntimeProcess:
    """``python -m runtime --config <file>`` with the sandbox's connection environment."""

    def __init__(self, config: RuntimeConfig, directory: Path, env: dict[str, str]) -> None:
        self.config = config
        self.directory = directory
        self.config_path = directory / "config.json"
        self.config_path.write_text(config.dump())
        self.env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = directory / "runtime.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.metrics_port}"

    def start(self, wait_ready: bool = True) -> RuntimeProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 -- handed to the child
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "runtime", "--config", str(self.config_path)],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        if wait_ready:
            wait_until(self.ready, timeout=20, what="runtime /readyz")
        return self

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the runtime exited: {self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def metric(self, sample: str) -> float:
        """One sample, e.g. ``presence_sync_writes_total{side="sf"}``; 0 while the runtime has none."""
        return self.metrics().get(sample, 0.0)

    def last_read(self, feed: str) -> float:
        """When the ``feed`` ("cxone", "salesforce") last completed a read, what it saw already recorded."""
        return self.metric(f'presence_sync_feed_last_success_timestamp{{feed="{feed}"}}')

    def wait_for_reads_after(self, moment: float, feeds: tuple[str, ...] = ("cxone", "salesforce")) -> None:
        """Until each feed has completed a read that *began* after ``moment`` (unix time): whatever either side
        showed at ``moment`` has then been seen. A feed's reads follow one another, so the read that ends after
        the first read ending past ``moment`` began after it."""
        for feed in feeds:
            self._wait_for_read_ending_after(feed, self._wait_for_read_ending_after(feed, moment))

    def _wait_for_read_ending_after(self, feed: str, moment: float) -> float:
        def ended() -> float:
            at = self.last_read(feed)
            return at if at > moment else 0.0

        return float(wait_until(ended, timeout=20, what=f"a {feed} feed read ending after {moment}"))

    def metrics(self) -> dict[str, float]:
        """Prometheus samples as 'name{labels}' -> value."""
        text = requests.get(f"{self.url}/metrics", timeout=5).text
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]


@contextlib.contextmanager
def runtime_running(setup: SandboxSetup, work: Path) -> Iterator[RuntimeProcess]:
    """``python -m runtime`` against the sandbox `prepare` set up, ready; stopped on the way out whatever
    happens, also when it never became ready."""
    process = RuntimeProcess(sandbox_config(setup, work), work, setup.sandbox.env)
    try:
        process.start()
        yield process
    finally:
        process.stop()
