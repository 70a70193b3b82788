"""Several ``python -m runtime`` replicas on one PostgreSQL database, against the sandbox: start them, see who
holds which lease (the database's ``leases`` table), stop them by PID whatever happened. Used by the 3-replica
end-to-end test and bench/replicas.py."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from .support import RuntimeProcess, SandboxSetup, sandbox_config, wait_until

DSN_ENV = "PRESENCE_SYNC_TEST_DSN"


def replica_config(setup: SandboxSetup, directory: Path, *, shards: int, lease_seconds: float, **overrides: Any) -> Any:
    postgres = {"dsn_env": DSN_ENV, "shards": shards, "lease_seconds": lease_seconds, "pool_size": 12}
    return sandbox_config(setup, directory, postgres=postgres, **overrides)


@contextlib.contextmanager
def running_replicas(
    setup: SandboxSetup, work: Path, dsn: str, count: int, *, shards: int, lease_seconds: float = 3.0, **overrides: Any
) -> Iterator[list[RuntimeProcess]]:
    """``count`` replicas, each ready (holding the shard leases it is assigned); every one is stopped on the way
    out (a SIGSTOPped one is continued first, so SIGTERM reaches it)."""
    processes = []
    for number in range(count):
        directory = work / f"replica-{number}"
        directory.mkdir(parents=True, exist_ok=True)
        config = replica_config(setup, directory, shards=shards, lease_seconds=lease_seconds, **overrides)
        processes.append(RuntimeProcess(config, directory, {**setup.sandbox.env, DSN_ENV: dsn}))
    try:
        for process in processes:
            process.start(wait_ready=False)
        wait_until(lambda: all(p.ready() for p in processes), timeout=120, what="every replica ready")
        wait_until(lambda: balanced(dsn, min(count, shards)), timeout=60, what="the shards spread over the replicas")
        yield processes
    finally:
        for process in processes:
            if process.process is not None and process.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.process.pid, signal.SIGCONT)
            process.stop()


def balanced(dsn: str, owners: int) -> bool:
    """Every shard held, by ``owners`` different replicas."""
    shards = {name: holder for name, holder in holders(dsn).items() if name.startswith("shard.")}
    return None not in shards.values() and len(set(shards.values())) == owners


def holders(dsn: str) -> dict[str, str | None]:
    """Lease name -> the replica id holding it (None: free)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {name: holder for name, holder in conn.execute("SELECT name, holder FROM leases").fetchall()}


def process_of(replica_id: str | None, processes: list[RuntimeProcess]) -> RuntimeProcess | None:
    """The process a replica id names (ids carry the PID: runtime/sharding.py replica_id)."""
    for process in processes:
        if replica_id is not None and process.process is not None and f"-{process.process.pid}-" in replica_id:
            return process
    return None
