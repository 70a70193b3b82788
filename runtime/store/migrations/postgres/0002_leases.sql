-- Coordination between replicas. A lease (one per shard of agents, one for the vendor feeds) is held by one
-- replica until expires_at (the database's clock); every takeover adds one to its epoch, and a write is made
-- only under the epoch its replica was granted (runtime/store/postgres.py checks it in the write's transaction).
CREATE TABLE leases (name text PRIMARY KEY, holder text, epoch bigint NOT NULL DEFAULT 0, expires_at timestamptz);
-- Replicas announce themselves here on each heartbeat; the live ones share the shards.
CREATE TABLE replicas (replica_id text PRIMARY KEY, seen_at timestamptz NOT NULL);
-- How many shards the agents are split into: fixed for a database (agent_id modulo shards).
CREATE TABLE settings (name text PRIMARY KEY, value text NOT NULL);
-- Observations read by the feed lease's holder, waiting for their shard's owner (oldest first); read_id groups
-- the observations of one feed read, which the owner records together (one read for the reconciler); read_at is
-- when that read ended at the feed's holder (the owner's reconciler counts reads by when they happened).
CREATE SEQUENCE inbox_reads;
CREATE TABLE inbox (seq bigserial PRIMARY KEY, read_id bigint NOT NULL, read_at double precision NOT NULL,
    shard integer NOT NULL, side text NOT NULL, agent_id bigint NOT NULL, state text, changed_at double precision,
    snapshot boolean NOT NULL, baseline boolean NOT NULL);
CREATE INDEX inbox_shard ON inbox (shard, read_id);
