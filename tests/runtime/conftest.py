"""Options of the runtime tests: ``--sim-seed N`` replays one seed of the deterministic simulation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .postgres import fresh_database
from .postgres import postgres_server as start_postgres


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sim-seed",
        type=int,
        default=None,
        help="run only this seed of tests/runtime/test_simulation.py (or set SIM_SEED)",
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL for the session (tests/runtime/postgres.py); stopped and deleted at its end."""
    with start_postgres() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: Any) -> Iterator[str]:
    """A fresh database per test on the session's server, dropped after the test."""
    with fresh_database(postgres_server) as dsn:
        yield dsn
