"""A progress display for long operations without a dependency: a redrawn bar on a terminal, plain lines in CI.

    with Progress("export", total=5) as progress:
        progress.step("statuses")

On a TTY (and ``CI`` not set to true) one line is redrawn in place: ``export [#####.....] 3/5 statuses``.
Otherwise each step is one plain line (``export: 3/5 statuses``), which logs read well. Output goes to stderr,
so stdout stays the report.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 24


def interactive(stream: TextIO) -> bool:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    def __init__(
        self, label: str, total: int | None = None, *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = interactive(self.stream)
        self.started = time.monotonic()
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()

    def step(self, what: str) -> None:
        self.done += 1
        if self.total is not None and self.done > self.total:
            self.total = self.done
        if not self.enabled:
            return
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        if self.tty:
            bar = ""
            if self.total:
                filled = round(BAR_WIDTH * self.done / self.total)
                bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] "
            line = f"{self.label} {bar}{count} {what}"[:120]
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(f"{self.label}: {count} {what}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        if not self.enabled:
            return
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(f"{self.label}: {message}\n")
        self.stream.flush()

    def finish(self) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(f"{self.label}: done, {self.done} step(s) in {elapsed:.1f}s\n")
        self.stream.flush()
