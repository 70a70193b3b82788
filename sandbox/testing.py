"""Run the sandbox as a subprocess for tests: ``with running_sandbox(tmp_path) as sandbox: ...``.

A subprocess, not a thread: Pulumi's dynamic-provider processes must reach it over HTTP like a vendor, and
a restart must really drop every in-memory state. The handle gives the connection environment
(``.env``), the URLs, the CA bundle and an ``OperatorClient`` per emulator.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import IO

from .operator_client import OperatorClient

__all__ = ["SandboxHandle", "running_sandbox"]

READY_PREFIX = "sandbox ready:"
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _ephemeral_ports() -> range:
    """The ports the kernel hands out as the local end of outgoing connections."""
    try:
        low, high = map(int, pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(low, high + 1)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free a moment ago, for a server started (or started again) later. Not one the OS picks (bind
    to 0): that comes from the ephemeral range, which every outgoing connection on a busy machine draws its
    local port from, so one may take it before the server binds it ("address in use", seen in a loaded CI run).
    Below that range only another pick can, and the ports are drawn at random."""
    ephemeral = _ephemeral_ports()
    candidates = [port for port in range(10_000, 32_768) if port not in ephemeral]
    for port in random.sample(candidates, 64):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port on {host} outside the ephemeral range {ephemeral.start}-{ephemeral.stop - 1}")


class SandboxHandle:
    """A running sandbox process. ``restart()`` keeps the ports and the data; ``stop()`` is idempotent."""

    def __init__(self, data_dir: pathlib.Path, *, vendors: Sequence[str], timeout: float) -> None:
        self.data_dir = data_dir
        self.vendors = tuple(vendors)
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None
        self.env: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        # Chosen here, not by the OS at the first start: a restart binds the same ports again, and one the OS
        # picked could meanwhile be the local end of some outgoing connection.
        self._ports = {"salesforce": free_port(), "cxone": free_port(), "pubsub": free_port()}
        self._operators: dict[str, OperatorClient] = {}

    # -- what tests use --------------------------------------------------------------------------------
    @property
    def salesforce_url(self) -> str:
        return self.urls["salesforce"]

    @property
    def cxone_url(self) -> str:
        return self.urls["cxone"]

    @property
    def pubsub_endpoint(self) -> str:
        """``host:port`` of the Salesforce emulator's Pub/Sub API (gRPC)."""
        return self.urls["pubsub"]

    @property
    def ca_bundle(self) -> str:
        return self.env["REQUESTS_CA_BUNDLE"]

    @property
    def salesforce_operator(self) -> OperatorClient:
        return self._operators["salesforce"]

    @property
    def cxone_operator(self) -> OperatorClient:
        return self._operators["cxone"]

    def restart(self, *, reset: bool = False) -> None:
        """Stop and start again on the same ports; the data survives unless ``reset``."""
        self.stop()
        self.start(reset=reset)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, *, reset: bool) -> None:
        command = [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--salesforce-port",
            str(self._ports["salesforce"]),
            "--cxone-port",
            str(self._ports["cxone"]),
            "--pubsub-port",
            str(self._ports["pubsub"]),
            "--vendors",
            ",".join(self.vendors),
        ]
        if reset:
            command.append("--reset")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        env.pop("REQUESTS_CA_BUNDLE", None)
        log = open(self.data_dir / "sandbox.log", "a")  # noqa: SIM115 -- owned by the child process
        try:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=REPO_ROOT
            )
        finally:
            log.close()
        assert self.process.stdout is not None
        line = _read_line(self.process.stdout, READY_PREFIX, self.timeout)
        if line is None:
            self.stop()
            tail = (self.data_dir / "sandbox.log").read_text()[-2000:]
            raise RuntimeError(f"the sandbox did not become ready within {self.timeout}s:\n{tail}")
        self.urls = dict(part.split("=", 1) for part in line[len(READY_PREFIX) :].split())
        for vendor, url in self.urls.items():
            self._ports[vendor] = int(url.rsplit(":", 1)[1])
        self.env = json.loads((self.data_dir / "connection.json").read_text())
        self._operators = {
            vendor: OperatorClient(url, self.ca_bundle) for vendor, url in self.urls.items() if vendor != "pubsub"
        }

    def stop(self) -> None:
        for client in self._operators.values():
            client.close()
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _read_line(stream: IO[str], prefix: str, timeout: float) -> str | None:
    """The first line starting with ``prefix``, read in a thread so that a silent child cannot hang us."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for text in stream:
            lines.put(text)
            if text.startswith(prefix):
                break
        else:
            lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            text = lines.get(timeout=remaining)
        except queue.Empty:
            return None
        if text is None:
            return None
        if text.startswith(prefix):
            return text.strip()
    return None


@contextlib.contextmanager
def running_sandbox(
    data_dir: pathlib.Path,
    *,
    reset: bool = True,
    vendors: Sequence[str] = ("salesforce", "cxone"),
    timeout: float = 20.0,
) -> Iterator[SandboxHandle]:
    """Start ``python -m sandbox serve`` on free ports, wait until it is ready, and always stop it."""
    handle = SandboxHandle(pathlib.Path(data_dir), vendors=vendors, timeout=timeout)
    try:
        handle.start(reset=reset)
        yield handle
    finally:
        handle.stop()
