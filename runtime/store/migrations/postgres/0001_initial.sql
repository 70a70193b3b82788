-- The runtime's state: feed cursors, per-agent records, the echo ledger and the outbox (as in SQLite).
CREATE TABLE cursors (name text PRIMARY KEY, value text);
CREATE TABLE agents (agent_id bigint PRIMARY KEY, data text NOT NULL, dirty boolean NOT NULL);
CREATE INDEX agents_dirty ON agents (agent_id) WHERE dirty;
CREATE TABLE ledger (agent_id bigint NOT NULL, side text NOT NULL, state text NOT NULL,
    written_at double precision NOT NULL, expires_at double precision NOT NULL, command_id text NOT NULL,
    sent_at double precision, acked_at double precision);
CREATE INDEX ledger_agent ON ledger (agent_id, side);
CREATE INDEX ledger_expiry ON ledger (expires_at);
CREATE TABLE outbox (agent_id bigint NOT NULL, side text NOT NULL, target text NOT NULL, command_id text NOT NULL,
    created_at double precision NOT NULL, source_changed_at double precision, attempts integer NOT NULL,
    next_attempt_at double precision NOT NULL, maybe_landed boolean NOT NULL DEFAULT false,
    PRIMARY KEY (agent_id, side));
