"""Options of the runtime tests: ``--sim-seed N`` replays one seed of the deterministic simulation."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sim-seed",
        type=int,
        default=None,
        help="run only this seed of tests/runtime/test_simulation.py (or set SIM_SEED)",
    )
