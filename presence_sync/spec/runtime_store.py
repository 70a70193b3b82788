"""``runtime.store``: where the sync runtime keeps its state, and so how many replicas it can run.

* ``kind: sqlite`` (the default): one file beside the process, one replica (the sandbox, small sites);
* ``kind: postgres``: a PostgreSQL database shared by several replicas that split the agents into shards, each
  shard owned through a lease (docs/runtime.md, "Several replicas"). The connection string is read from the
  environment variable ``dsnEnv`` names (on Kubernetes, from the credentials Secret), never written in the spec.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import SpecModel, StrictInt

__all__ = ["PostgresStore", "RuntimeStore", "SqliteStore"]


class SqliteStore(SpecModel):
    kind: Literal["sqlite"] = Field(default="sqlite", description="SQLite: one replica, the embedded default.")


class PostgresStore(SpecModel):
    kind: Literal["postgres"] = Field(description="PostgreSQL: several replicas share it.")
    dsn_env: str = Field(
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Name of the environment variable holding the connection string (never the string itself), "
        "e.g. PRESENCE_SYNC_DSN.",
    )
    shards: StrictInt = Field(
        default=32, ge=1, le=1024, description="Agents are split into this many shards; fixed per database."
    )
    lease_seconds: StrictInt = Field(
        default=4,
        ge=1,
        le=60,
        description="How long a replica's shard lease lasts unrenewed: a lost replica's agents get a new owner "
        "after about this long (and a third more).",
    )


RuntimeStore = Annotated[SqliteStore | PostgresStore, Field(discriminator="kind")]
