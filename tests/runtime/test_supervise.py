"""The local supervisor (runtime/supervise.py): one per pid file, recognised by psutil."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime.supervise import main, running_supervisor

from .support import REPO_ROOT, wait_until


def test_a_second_supervisor_of_the_same_pid_file_does_not_start(tmp_path: Path) -> None:
    pid_file = tmp_path / "supervisor.pid"
    assert running_supervisor(pid_file) is None  # no file
    command = [sys.executable, "-m", "runtime.supervise", "--config", str(tmp_path / "config.json")]
    # The child is a module that exits at once (it knows no --config): the supervisor stays, restarting it.
    first = subprocess.Popen(
        [*command, "--pid-file", str(pid_file), "--module", "json.tool"], cwd=REPO_ROOT, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() == str(first.pid), what="the pid file")
        assert running_supervisor(pid_file) == first.pid
        assert main(["--config", str(tmp_path / "config.json"), "--pid-file", str(pid_file)]) == 1
        assert pid_file.read_text().strip() == str(first.pid)  # left as it was
    finally:
        first.terminate()
        first.wait(timeout=20)
    assert running_supervisor(pid_file) is None  # gone (and its pid file with it)


def test_a_pid_file_naming_another_program_is_no_supervisor(tmp_path: Path) -> None:
    pid_file = tmp_path / "supervisor.pid"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid_file.write_text(f"{other.pid}\n")  # a recycled pid: alive, but not ours
        assert running_supervisor(pid_file) is None
    finally:
        other.kill()
        other.wait()
