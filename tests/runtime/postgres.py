"""A throwaway PostgreSQL for tests and benchmarks: Debian's server binaries (``.ci/run`` installs the
``postgresql`` package when they are missing), run through pytest-postgresql's ``PostgreSQLExecutor`` (initdb +
pg_ctl) on loopback from a fresh data directory that is deleted afterwards; the server is stopped by pg_ctl even
when the test fails. As root (CI containers) pg_ctl runs as the ``postgres`` user, since initdb refuses root."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.executor import PostgreSQLExecutor

from tests.conftest import free_port


def _server_binaries() -> Path:
    """``PRESENCE_SYNC_PG_BIN``, else the newest of Debian's ``/usr/lib/postgresql/<major>/bin``."""
    if "PRESENCE_SYNC_PG_BIN" in os.environ:
        return Path(os.environ["PRESENCE_SYNC_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _server_binaries()


def _pg_ctl(base: Path) -> str:
    """pg_ctl itself, or (as root) a wrapper that runs it as ``postgres`` in a directory that user owns."""
    if os.geteuid() != 0:
        return str(PG_BIN / "pg_ctl")
    user = pwd.getpwnam("postgres")
    os.chown(base, user.pw_uid, user.pw_gid)
    wrapper = base / "pg_ctl"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- {PG_BIN / "pg_ctl"} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@contextlib.contextmanager
def postgres_server(max_connections: int = 200, *, durable: bool = False) -> Iterator[PostgreSQLExecutor]:
    """Start PostgreSQL on 127.0.0.1 (a free port, trust auth), yield it, stop it and delete its data.

    pytest-postgresql starts the server with ``-F`` (no fsync: a test database need not survive a power loss);
    ``durable`` turns fsync back on, as a production server has it, for benchmarks that compare stores."""
    if not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql; .ci/run does)")
    base = Path(tempfile.mkdtemp(prefix="presence-sync-pg-"))
    base.chmod(0o755)
    try:
        executor = PostgreSQLExecutor(
            executable=_pg_ctl(base),
            host="127.0.0.1",
            port=free_port(),
            datadir=str(base / "data"),
            unixsocketdir=str(base),
            logfile=str(base / "postgresql.log"),
            startparams="-w",
            dbname="postgres",
            user="postgres",
            postgres_options=f"-c max_connections={max_connections} -c listen_addresses=127.0.0.1"
            + (" -c fsync=on" if durable else ""),
        )
        with executor:
            executor.wait_for_postgres()
            yield executor
    finally:
        shutil.rmtree(base, ignore_errors=True)


def server_dsn(server: PostgreSQLExecutor, dbname: str = "postgres") -> str:
    return f"host={server.host} port={server.port} user={server.user} dbname={dbname}"


@contextlib.contextmanager
def fresh_database(server: PostgreSQLExecutor) -> Iterator[str]:
    """An empty database of its own on ``server``; yields its DSN and drops it afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_dsn(server), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield server_dsn(server, name)
    finally:
        with psycopg.connect(server_dsn(server), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
