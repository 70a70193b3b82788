"""`make demo`: the main job on the sandbox. Never pretends to succeed."""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "make demo: not available yet: it needs the sandbox (issue 4) and the resources (issues 5 and 6).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
