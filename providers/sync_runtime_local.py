"""The sync runtime as a supervised local process (the sandbox's and `make demo`'s target): the rendered tree in the
work directory, ``python -m runtime.supervise`` detached, ``/readyz`` awaited; its environment an allowlist."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from presence_sync.clients.settings import CxoneSettings, SalesforceSettings
from presence_sync.deploy.render import tree_digest
from providers import context
from providers.base import ProviderError, Written
from providers.sync_runtime_inputs import SyncRuntimeInputs

PID_FILE = "supervisor.pid"
LOG_FILE = "runtime.log"
RUNTIME_MODULE_VARIABLE = "PRESENCE_SYNC_RUNTIME_MODULE"
"""Tests only: run a stand-in module instead of `runtime` under the supervisor."""


class LocalTarget:
    def __init__(self, inputs: SyncRuntimeInputs) -> None:
        self.inputs = inputs
        self.dir = Path(inputs.work_dir)
        self.pid_file = self.dir / PID_FILE
        self.log_file = self.dir / LOG_FILE

    @property
    def health_base(self) -> str:
        host = str(self.inputs.service_config.get("metrics_host") or "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        return f"http://{host}:{int(self.inputs.service_config.get('metrics_port') or 9464)}"

    def id(self) -> str:
        return f"local:{self.dir}"

    def deploy(self) -> Written:
        self.stop()
        rendered = self.inputs.rendered()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)  # the store and the log: the owner's only
        rendered.write(self.dir)
        if self.inputs.running:
            self.start()
        return Written(self.id())

    def start(self) -> None:
        self._check_port_free()
        module = os.environ.get(RUNTIME_MODULE_VARIABLE, "runtime")
        argv = [
            sys.executable,
            "-m",
            "runtime.supervise",
            "--config",
            str(self.dir / "config.json"),
            "--pid-file",
            str(self.pid_file),
            "--stop-timeout",
            str(self.inputs.stop_timeout_seconds),
        ]
        if module != "runtime":
            argv += ["--module", module]
        env = {**_service_environment(), "PYTHONUNBUFFERED": "1"}
        with os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: it outlives the engine's provider process
                umask=0o077,  # the store (state.sqlite3 and its journal) is created 0600
            )
        self._wait_ready(process)

    def _check_port_free(self) -> None:
        """Our own runtime is stopped by now: anything still on the port is someone else's, and its /readyz
        must not pass for ours."""
        host = str(self.inputs.service_config.get("metrics_host") or "127.0.0.1")
        port = int(self.inputs.service_config.get("metrics_port") or 9464)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise ProviderError(
                    f"{self._name()}: port {port} on {host} is in use ({error.strerror}): another runtime or program "
                    "holds it. Stop it, or give this stack another port: `pulumi config set presence-sync:runtimePort "
                    "<port>`"
                ) from None

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.inputs.ready_timeout_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProviderError(
                    f"{self._name()}: the supervisor exited with code {process.returncode} before the service was "
                    f"ready. Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if _http_ok(f"{self.health_base}/readyz"):
                return
            time.sleep(0.2)
        self.stop()
        raise ProviderError(
            f"{self._name()}: {self.health_base}/readyz did not answer 200 within "
            f"{self.inputs.ready_timeout_seconds:g} s; stopped it. Last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def supervisor_pid(self) -> int | None:
        """The live supervisor's pid from the pid file; None if there is none (or it is someone else's)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_our_supervisor(pid, self.pid_file) else None

    def read(self) -> dict[str, Any]:
        pid = self.supervisor_pid()
        running = pid is not None and _http_ok(f"{self.health_base}/healthz")
        names = list(self.inputs.rendered().files)
        on_disk: dict[str, str] = {}
        for relative in names:
            path = self.dir / relative
            if path.is_file():
                on_disk[relative] = path.read_text()
        digest = tree_digest(on_disk) if len(on_disk) == len(names) else "missing files"
        return {"running": running, "digest": digest, "pid": pid, "healthUrl": f"{self.health_base}/healthz"}

    def stop(self) -> None:
        pid = self.supervisor_pid()
        if pid is not None:
            _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.inputs.stop_timeout_seconds + 5
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)  # the supervisor and its service: one process group
                while _alive(pid):
                    time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def _name(self) -> str:
        return f"sync runtime {self.inputs.name} (local: {self.dir})"

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


# The local runtime's environment is an allowlist, not the provider's: the engine hands its provider processes
# PULUMI_CONFIG_PASSPHRASE (which decrypts every secret in the stack's state), cloud and CI tokens, and whatever
# else the shell that ran `pulumi up` held; the runtime needs none of it and runs for days after the engine exits.
CONNECTION_VARIABLES: frozenset[str] = frozenset(
    variable for settings in (SalesforceSettings, CxoneSettings) for variable, _, _ in settings.VARIABLES.values()
)
"""The SF_*/CXONE_* variables the vendor clients read (presence_sync/clients/settings.py), and no other."""
TLS_VARIABLES = frozenset({"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"})
PROXY_VARIABLES = frozenset(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY") for name in (base, base.lower())
)
BASIC_VARIABLES = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH"})
BASIC_PREFIXES = ("LC_",)  # locale categories
SERVICE_ENVIRONMENT = CONNECTION_VARIABLES | TLS_VARIABLES | PROXY_VARIABLES | BASIC_VARIABLES


def _service_environment() -> dict[str, str]:
    """The environment of the local runtime: the provider process's environment plus the connection file's
    settings (which win, as in ``providers.context``), filtered to ``SERVICE_ENVIRONMENT`` (and ``LC_*``)."""
    merged = {**os.environ, **context._settings}
    return {
        name: value for name, value in merged.items() if name in SERVICE_ENVIRONMENT or name.startswith(BASIC_PREFIXES)
    }


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child (started by this provider process)
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone, or not ours to look at
        return False


def _is_our_supervisor(pid: int, pid_file: Path) -> bool:
    if not _alive(pid):
        return False
    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return "runtime.supervise" in argv and str(pid_file) in argv  # not a recycled pid


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


# -- kubernetes ---------------------------------------------------------------------------------------------
