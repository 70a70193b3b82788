"""What the runtime benchmarks share: a sandbox with many agents on both sides, logged in everywhere, ready for
``python -m runtime`` (bench/runtime_sync.py, bench/chaos.py); small figure helpers.

Everything here talks only to the sandbox's emulators, which listen on 127.0.0.1.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import pathlib
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psutil
import requests

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

TEAM_ID = 2001  # Support Tier 1: the sandbox stack's "Chat agents" rule covers it; Break is one of its codes
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def rss_peak_mb(pid: int) -> float:
    # The peak (VmHWM), not the current RSS: psutil reports only the latter, so this one reads Linux's /proc.
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def ts(text: str) -> float:
    """A vendor's timestamp (either emulator's format) as seconds since the epoch."""
    from runtime.vendor_values import parse_time

    value = parse_time(text)
    assert value is not None, text
    return value


def require_loopback(*urls: str) -> None:
    """Refuse to send benchmark traffic anywhere but this machine."""
    for url in urls:
        host = urllib.parse.urlsplit(url).hostname
        if host not in LOOPBACK:
            raise RuntimeError(f"refusing to send benchmark traffic to {url}: not a loopback address")


def http_session(ca_bundle: str, pool: int = 64) -> requests.Session:
    session = requests.Session()
    session.verify = ca_bundle
    session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool))
    return session


class TwoSandboxes:
    """Each emulator in its own process (the two vendors are separate systems; one process would make the
    sandbox, not the runtime, the limit), presented like one ``SandboxHandle``; the CA bundle trusts both."""

    def __init__(self, salesforce: Any, cxone: Any, work: pathlib.Path) -> None:
        self.salesforce, self.cxone = salesforce, cxone
        self.data_dir = salesforce.data_dir
        self.bundle = work / "ca-bundle.pem"
        self._refresh()

    def _refresh(self) -> None:
        self.bundle.write_text(
            pathlib.Path(self.salesforce.ca_bundle).read_text() + pathlib.Path(self.cxone.ca_bundle).read_text()
        )
        self.env = {**self.salesforce.env, **self.cxone.env, "REQUESTS_CA_BUNDLE": str(self.bundle)}
        self.ca_bundle = str(self.bundle)
        self.salesforce_url, self.cxone_url = self.salesforce.salesforce_url, self.cxone.cxone_url
        self.salesforce_operator, self.cxone_operator = self.salesforce.salesforce_operator, self.cxone.cxone_operator

    def stop(self) -> None:  # only the Salesforce side is restarted (to add users to its store)
        self.salesforce.stop()

    def start(self, reset: bool) -> None:
        self.salesforce.start(reset=reset)
        self._refresh()

    @property
    def pids(self) -> list[int]:
        return [h.process.pid for h in (self.salesforce, self.cxone) if h.process is not None]


def add_agents(sandbox: Any, count: int) -> list[tuple[int, str]]:
    """``count`` agents in CXone (team Support Tier 1) and as Salesforce users; returns (agent id, e-mail)."""
    from sandbox.salesforce.org import Org
    from sandbox.salesforce.seed import _insert
    from sandbox.salesforce.store import Store

    http = requests.Session()
    http.verify = sandbox.ca_bundle
    agents = []
    for number in range(count):
        email = f"bench.agent{number:05d}@example.com"
        body = {"firstName": "Bench", "lastName": f"Agent{number:05d}", "emailAddress": email, "teamId": TEAM_ID}
        response = http.post(f"{sandbox.cxone_url}/__sandbox/cxone/agents", json=body, timeout=10)
        response.raise_for_status()
        agents.append((int(response.json()["agentId"]), email))
    sandbox.stop()
    store = Store(sandbox.data_dir / "salesforce.db")
    org = Org(store, "https://127.0.0.1")
    profile = next(p for p in store.table("Profile").values() if p["Name"] == "Custom: Support Agent")
    admin = next(u for u in store.table("User").values() if u["Username"].startswith("admin@"))
    with store.batch():
        for number, (_, email) in enumerate(agents):
            _insert(
                org,
                "User",
                {
                    "Username": f"{email}.presencesync",
                    "Email": email,
                    "FirstName": "Bench",
                    "LastName": f"Agent{number:05d}",
                    "Name": f"Bench Agent{number:05d}",
                    "Alias": f"b{number:05d}",
                    "IsActive": True,
                    "ProfileId": profile["Id"],
                    "UserType": "Standard",
                    "TimeZoneSidKey": "UTC",
                },
                admin["Id"],
            )
    store.close()
    sandbox.start(reset=False)
    return agents


@dataclass
class PopulatedSandbox:
    sandbox: Any  # a SandboxHandle or TwoSandboxes
    setup: Any  # tests.runtime.support.SandboxSetup
    agents: list[tuple[int, str]]  # (CXone agent id, e-mail)
    users: dict[str, str]  # e-mail -> Salesforce user id
    work: pathlib.Path

    def pids(self) -> list[int]:
        if isinstance(self.sandbox, TwoSandboxes):
            return self.sandbox.pids
        return [self.sandbox.process.pid] if self.sandbox.process is not None else []


@contextlib.contextmanager
def populated_sandbox(work: pathlib.Path, agents: int, *, one_process: bool = False) -> Iterator[PopulatedSandbox]:
    """The sandbox (one process per vendor unless ``one_process``) set up like the sandbox stack, with ``agents``
    agents on both sides; every sandbox process is stopped on the way out, whatever happens."""
    from sandbox.testing import running_sandbox
    from tests.runtime.support import prepare

    with contextlib.ExitStack() as stack:
        if one_process:
            sandbox: Any = stack.enter_context(running_sandbox(work / "sandbox", reset=True, timeout=60))
        else:
            sandbox = TwoSandboxes(
                stack.enter_context(running_sandbox(work / "sf", reset=True, timeout=60, vendors=("salesforce",))),
                stack.enter_context(running_sandbox(work / "cx", reset=True, timeout=60, vendors=("cxone",))),
                work,
            )
        require_loopback(sandbox.salesforce_url, sandbox.cxone_url)
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle
        created = add_agents(sandbox, agents)
        require_loopback(sandbox.salesforce_url, sandbox.cxone_url)  # the Salesforce emulator was restarted
        setup = prepare(sandbox)
        users = {u.email: u.id for u in setup.salesforce.list_users() if u.email}
        yield PopulatedSandbox(sandbox, setup, created, users, work)


def log_in_everywhere(
    run: PopulatedSandbox, http: requests.Session, omni: str = "Busy", cxone_reason: str = "Break", threads: int = 16
) -> None:
    """Every agent logged in to Omni with ``omni`` and to CXone, Unavailable with ``cxone_reason``."""
    sandbox = run.sandbox

    def both_sides_in(agent_id: int, email: str) -> None:
        http.post(
            f"{sandbox.salesforce_url}/__sandbox/console/login",
            json={"user": run.users[email], "status": omni},
            timeout=30,
        ).raise_for_status()
        http.post(f"{sandbox.cxone_url}/__sandbox/agent/{agent_id}/login", json={}, timeout=30).raise_for_status()
        http.post(
            f"{sandbox.cxone_url}/__sandbox/agent/{agent_id}/state",
            json={"state": "Unavailable", "reason": cxone_reason},
            timeout=30,
        ).raise_for_status()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda a: both_sides_in(*a), run.agents))
