"""Run spec loading in a child process under a CPU-time and address-space limit.

The budget is enforced by the kernel, not asserted from a clock in the test: the child gets
`RLIMIT_CPU` (SIGXCPU, then SIGKILL one second later) and `RLIMIT_AS` (allocation fails: MemoryError). A
hang or a blow-up kills the child and the test fails on its exit status; a busy machine only makes the
test take longer, because CPU time is counted per process. The wall-clock timeout is a last resort for a
child that blocks without using CPU, far above any budget.

`load_bounded` forks this process (the spec package is already imported, so a case costs milliseconds, not
an interpreter start) and the child sends its problems back as JSON; its address-space limit is what it
already maps plus MEMORY_BYTES. `validate_bounded` runs `python -m presence_sync.cli validate FILE`, the CLI
as users run it, with MEMORY_BYTES in all.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]

CPU_SECONDS = 10  # the largest spec the loader accepts takes ~2 s of CPU here; interpreter start ~0.3 s
MEMORY_BYTES = 768 * 1024 * 1024  # address space; the interpreter with the spec package maps ~45 MB
OUTPUT_BYTES = 128 * 1024  # what a child may print: 101 one-line problems (at most ~1 kB each) fit
LAST_RESORT_SECONDS = 600


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed_by(self) -> str | None:
        if self.returncode >= 0:
            return None
        return signal.Signals(-self.returncode).name

    def problems(self) -> list[dict[str, Any]]:
        """The loader child's problems (empty when the spec is valid)."""
        assert self.returncode == 0, self.explain()
        result: list[dict[str, Any]] = json.loads(self.stdout)
        return result

    def explain(self) -> str:
        reason = f"killed by {self.killed_by}" if self.killed_by else f"exit {self.returncode}"
        return f"child {reason} (budget: {CPU_SECONDS} s CPU, {MEMORY_BYTES >> 20} MiB); stderr: {self.stderr[-2000:]}"


def _limit() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core


def run_bounded(*args: str) -> Run:
    """`python *args` under the budget; output beyond OUTPUT_BYTES fails the test (it is read in full, since
    the point is to see how much there was)."""
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        preexec_fn=_limit,
        timeout=LAST_RESORT_SECONDS,
        check=False,
    )
    size = len(proc.stdout) + len(proc.stderr)
    assert size <= OUTPUT_BYTES, f"the child printed {size:,} bytes; the first 500: {proc.stderr[:500]!r}"
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def _mapped_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def load_bounded(path: Path) -> Run:
    """`load_spec(path)` in a forked child under the budget; its problems as JSON in `stdout`."""
    from presence_sync.spec import SpecError, load_spec

    memory = _mapped_bytes() + MEMORY_BYTES
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            try:
                load_spec(path)
                problems: list[dict[str, Any]] = []
            except SpecError as exc:
                problems = [{**dataclasses.asdict(p), "text": str(p)} for p in exc.problems]
            out = json.dumps(problems).encode()
        except BaseException as exc:  # reported to the parent, whatever it is
            out, code = f"{type(exc).__name__}: {str(exc)[:2000]}".encode(), 1
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(out)
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, size = [], 0
    with os.fdopen(read_end, "rb") as pipe:
        while chunk := pipe.read(65536):
            size += len(chunk)
            if size <= OUTPUT_BYTES:
                chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert size <= OUTPUT_BYTES, f"the child sent {size:,} bytes"
    text = b"".join(chunks).decode("utf-8", "replace")
    returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return Run(returncode, text if returncode == 0 else "", text if returncode != 0 else "")


def validate_bounded(*paths: Path) -> Run:
    """`presence-sync validate paths...` in a bounded child."""
    return run_bounded("-m", "presence_sync.cli", "validate", *(str(path) for path in paths))
