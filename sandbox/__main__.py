"""``python -m sandbox serve ...`` -- the same as ``presence-sync sandbox serve ...``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
