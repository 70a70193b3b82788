"""Run spec loading in a child process under a CPU-time and address-space limit.

The budget is enforced by the kernel, not asserted from a clock in the test: the child gets
`RLIMIT_CPU` (SIGXCPU, then SIGKILL one second later) and `RLIMIT_AS` (allocation fails: MemoryError). A
hang or a blow-up kills the child and the test fails on its exit status; a busy machine only makes the
test take longer, because CPU time is counted per process. The wall-clock timeout is a last resort for a
child that blocks without using CPU, far above any budget.

The child is `python -m tests.presence_sync.spec.bounded load FILE` (the loader: problems as JSON on
stdout) or `python -m presence_sync.cli validate FILE` (the CLI as users run it).
"""

from __future__ import annotations

import dataclasses
import json
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


def load_bounded(path: Path) -> Run:
    """`load_spec(path)` in a bounded child."""
    return run_bounded("-m", "tests.presence_sync.spec.bounded", "load", str(path))


def validate_bounded(*paths: Path) -> Run:
    """`presence-sync validate paths...` in a bounded child."""
    return run_bounded("-m", "presence_sync.cli", "validate", *(str(path) for path in paths))


def _child(argv: list[str]) -> int:
    from presence_sync.spec import SpecError, load_spec

    [command, file] = argv
    assert command == "load"
    try:
        load_spec(file)
    except SpecError as exc:
        print(json.dumps([{**dataclasses.asdict(p), "text": str(p)} for p in exc.problems]))
        return 0
    print("[]")
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
