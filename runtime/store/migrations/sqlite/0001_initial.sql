-- The runtime's state as it was when the schema became versioned (every statement is idempotent: a file written
-- before then already has these tables).
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS agents (agent_id INTEGER PRIMARY KEY, data TEXT NOT NULL, dirty INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS agents_dirty ON agents (dirty) WHERE dirty = 1;
CREATE TABLE IF NOT EXISTS ledger (agent_id INTEGER NOT NULL, side TEXT NOT NULL, state TEXT NOT NULL,
    written_at REAL NOT NULL, expires_at REAL NOT NULL, command_id TEXT NOT NULL, sent_at REAL, acked_at REAL);
CREATE INDEX IF NOT EXISTS ledger_agent ON ledger (agent_id, side);
CREATE TABLE IF NOT EXISTS outbox (agent_id INTEGER NOT NULL, side TEXT NOT NULL, target TEXT NOT NULL,
    command_id TEXT NOT NULL, created_at REAL NOT NULL, source_changed_at REAL, attempts INTEGER NOT NULL,
    next_attempt_at REAL NOT NULL, maybe_landed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (agent_id, side));
