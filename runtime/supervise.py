"""A small supervisor for the local target: keeps ``python -m runtime --config ...`` running.

    python -m runtime.supervise --config CONFIG --pid-file PID [-- extra args for the service]

* writes its own pid to ``--pid-file`` (removed when it exits), so the SyncRuntime provider can find it;
* refuses to start when ``--pid-file`` names a live supervisor of the same pid file (psutil: a second one
  would run a second service on the same store);
* starts the service as a child with the same environment (the vendor credentials come from there) and
  restarts it when it exits, with exponential backoff (tenacity's: 1 s doubling to 30 s; back to 1 s after
  a child that ran a minute), so a crash or a ``kill -9`` of the service is repaired within seconds;
* SIGTERM/SIGINT: stops the child (SIGTERM, then SIGKILL after ``--stop-timeout``) and exits 0;
* SIGHUP: restarts the child now (a new config.json takes effect).

Its own log lines (JSON, one per line) go to stderr, next to the service's output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import psutil

from runtime.backoff import delay, exponential

MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
HEALTHY_RUN = 60.0


def log(event: str, **fields: object) -> None:
    record = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "logger": "runtime.supervise",
        "event": event,
        **fields,
    }
    print(json.dumps(record, sort_keys=True), file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, command: list[str], stop_timeout: float) -> None:
        self.command = command
        self.stop_timeout = stop_timeout
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.restart_now = False
        self.wake = threading.Event()
        self.restarts = 0

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.restart_now = True
        else:
            self.stopping = True
        self.wake.set()

    def start_child(self) -> None:
        self.child = subprocess.Popen(self.command)
        log("service started", pid=self.child.pid, restarts=self.restarts)

    def stop_child(self) -> int | None:
        child = self.child
        if child is None or child.poll() is not None:
            return None if child is None else child.returncode
        child.terminate()
        try:
            return child.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            log("service ignored SIGTERM; killing it", pid=child.pid, timeout_seconds=self.stop_timeout)
            child.kill()
            return child.wait()

    def run(self) -> int:
        backoff = exponential(MIN_BACKOFF, MAX_BACKOFF)
        quick_exits = 0  # exits in a row of a child that ran less than HEALTHY_RUN
        self.start_child()
        started = time.monotonic()
        while not self.stopping:
            assert self.child is not None
            code = self.child.poll()
            if self.restart_now:
                self.restart_now = False
                self.stop_child()
                log("restarting the service (SIGHUP)")
            elif code is None:
                self.wake.wait(0.2)
                self.wake.clear()
                continue
            else:
                lived = time.monotonic() - started
                quick_exits = 1 if lived >= HEALTHY_RUN else quick_exits + 1
                wait = delay(backoff, quick_exits)
                log("service exited; restarting", code=code, lived_seconds=round(lived, 1), backoff_seconds=wait)
                self.wake.wait(wait)
                self.wake.clear()
                if self.stopping:
                    break
            self.restarts += 1
            self.start_child()
            started = time.monotonic()
        code = self.stop_child()
        log("stopped", service_exit_code=code)
        return 0


def running_supervisor(pid_file: Path) -> int | None:
    """The pid of a live supervisor of ``pid_file`` other than this process (a recycled pid, a zombie or another
    program does not count), from psutil: the same answer on Linux, macOS and Windows."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        process = psutil.Process(pid)
        argv = process.cmdline()
        alive = process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None  # gone, or another user's process under a recycled pid: not our supervisor
    ours = "runtime.supervise" in argv and str(pid_file) in argv
    return pid if alive and ours else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.supervise", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the service's config.json")
    parser.add_argument("--pid-file", required=True, type=Path, help="where to write this supervisor's pid")
    parser.add_argument("--stop-timeout", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("--module", default="runtime", help=argparse.SUPPRESS)  # tests run a stand-in service
    parser.add_argument("service_args", nargs=argparse.REMAINDER, help="extra arguments for the service")
    args = parser.parse_args(argv)

    extra = [a for a in args.service_args if a != "--"]
    supervisor = Supervisor([sys.executable, "-m", args.module, "--config", args.config, *extra], args.stop_timeout)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, supervisor.on_signal)
    other = running_supervisor(args.pid_file)
    if other is not None:
        log("another supervisor is running for this pid file; not starting", pid=other, pid_file=str(args.pid_file))
        return 1
    args.pid_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.pid_file.with_name(args.pid_file.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(args.pid_file)
    log("supervising", pid=os.getpid(), command=supervisor.command)
    try:
        return supervisor.run()
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError):
            if int(args.pid_file.read_text().strip()) == os.getpid():
                args.pid_file.unlink()


if __name__ == "__main__":
    raise SystemExit(main())
