"""The demo tenant a new (or reset) CXone sandbox starts with.

Business unit 4600123 with three teams, six unavailable codes assigned per team, ten agents whose e-mail
addresses match the Salesforce sandbox's users exactly (so user mapping by e-mail works), and an admin
agent whose access key, with the registered application below, is ``SEEDED_CREDENTIALS``. Every agent
starts LoggedOut. Ids are fixed, so a reset sandbox looks the same every time.
"""

from __future__ import annotations

import secrets
import sqlite3
import uuid

from sandbox.cxone.auth import secret_hash
from sandbox.cxone.store import Store

__all__ = ["ADMIN_AGENT_ID", "BUSINESS_UNIT_ID", "SEEDED_CREDENTIALS", "TENANT_ID", "seed"]

BUSINESS_UNIT_ID = 4600123
TENANT_ID = "11ef4d2c-7a51-4e3b-9c60-004600123000"
ADMIN_AGENT_ID = 100000

# The registered application (client) and the admin's access key. Secrets contain "=", "+" and "/" as real
# access keys do, so a client that builds the form body by hand without URL-encoding fails here.
SEEDED_CREDENTIALS: dict[str, str] = {
    "CXONE_CLIENT_ID": "presence-sync-sandbox-app@4600123",
    "CXONE_CLIENT_SECRET": "sandbox-app-secret-6Qm0V2ck9YbN4tLx==",
    "CXONE_ACCESS_KEY_ID": "SANDBOXADMINKEY0p7Gq3Vb9Wc2Xd5Yf8Zh1Jk4=",
    "CXONE_ACCESS_KEY_SECRET": "c2FuZGJveC+hZG1pbi1zZWNyZXQ/Mx9Lq+7Rw/2Tz5Vy8Ua==",
}

TEAMS = {2001: "Support Tier 1", 2002: "Support Tier 2", 2003: "Sales"}

# id -> (name, isACW, agentTimeout minutes)
CODES = {
    3001: ("Break", False, None),
    3002: ("Lunch", False, None),
    3003: ("Meeting", False, None),
    3004: ("Training", False, None),
    3005: ("Busy", False, None),
    3006: ("ACW", True, 2),
}

TEAM_CODES = {
    2001: ("Break", "Lunch", "Busy", "ACW"),
    2002: ("Break", "Lunch", "Meeting", "Busy"),
    2003: ("Break", "Lunch", "Training"),
}

# agent id -> (first, last, e-mail, team id); the e-mails are the Salesforce sandbox's users.
AGENTS = {
    100001: ("Ada", "Lovelace", "ada.lovelace@example.com", 2001),
    100002: ("Grace", "Hopper", "grace.hopper@example.com", 2001),
    100003: ("Alan", "Turing", "alan.turing@example.com", 2001),
    100004: ("Katherine", "Johnson", "katherine.johnson@example.com", 2001),
    100005: ("Edsger", "Dijkstra", "edsger.dijkstra@example.com", 2002),
    100006: ("Barbara", "Liskov", "barbara.liskov@example.com", 2002),
    100007: ("Donald", "Knuth", "donald.knuth@example.com", 2002),
    100008: ("Margaret", "Hamilton", "margaret.hamilton@example.com", 2003),
    100009: ("Linus", "Torvalds", "linus.torvalds@example.com", 2003),
    100010: ("Radia", "Perlman", "radia.perlman@example.com", 2003),
}
ADMIN = ("Sandbox", "Admin", "cxone.admin@example.com", 2001)


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://presence-sync.sandbox/cxone/{name}"))


def insert_agent(
    conn: sqlite3.Connection,
    now: int,
    agent_id: int | None,
    first: str,
    last: str,
    email: str,
    team_id: int,
    *,
    supervisor: bool = False,
    active: bool = True,
) -> int:
    """Insert an agent (LoggedOut) and return its id; also used by the emulator's operator endpoint."""
    cursor = conn.execute(
        "INSERT INTO agents (agent_id, user_id, user_name, first_name, last_name, email, team_id, is_active, "
        "is_supervisor, profile_id, profile_name, time_zone, last_update) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            agent_id,
            _uuid(f"agent/{email}") if agent_id is not None else str(uuid.uuid4()),
            email,
            first,
            last,
            email,
            team_id,
            int(active),
            int(supervisor),
            2 if supervisor else 1,
            "Supervisor" if supervisor else "Agent",
            "UTC",
            now,
        ),
    )
    new_id = int(cursor.lastrowid or 0)
    conn.execute(
        "INSERT INTO agent_states (agent_id, state, start_date, last_update) VALUES (?, 'LoggedOut', ?, ?)",
        (new_id, now, now),
    )
    return new_id


def seed(store: Store) -> None:
    with store.write() as conn:
        now = store.tick()
        conn.execute(
            "INSERT INTO meta VALUES ('tenant_id', ?), ('business_unit_id', ?), ('signing_key', ?)",
            (TENANT_ID, str(BUSINESS_UNIT_ID), secrets.token_hex(32)),
        )
        for team_id, name in TEAMS.items():
            conn.execute(
                "INSERT INTO teams (team_id, team_uuid, name, last_update) VALUES (?, ?, ?, ?)",
                (team_id, _uuid(f"team/{name}"), name, now),
            )
        for code_id, (name, is_acw, timeout) in CODES.items():
            conn.execute(
                "INSERT INTO unavailable_codes (code_id, name, is_acw, agent_timeout, last_update) "
                "VALUES (?, ?, ?, ?, ?)",
                (code_id, name, int(is_acw), timeout, now),
            )
        by_name = {name: code_id for code_id, (name, _, _) in CODES.items()}
        for team_id, names in TEAM_CODES.items():
            conn.executemany("INSERT INTO team_codes VALUES (?, ?)", [(team_id, by_name[n]) for n in names])
        insert_agent(conn, now, ADMIN_AGENT_ID, *ADMIN, supervisor=True)
        for agent_id, (first, last, email, team_id) in AGENTS.items():
            insert_agent(conn, now, agent_id, first, last, email, team_id)
        conn.execute(
            "INSERT INTO clients VALUES (?, ?, ?, ?)",
            (
                SEEDED_CREDENTIALS["CXONE_CLIENT_ID"],
                secret_hash(SEEDED_CREDENTIALS["CXONE_CLIENT_SECRET"]),
                "presence-sync sandbox application",
                ADMIN_AGENT_ID,
            ),
        )
        conn.execute(
            "INSERT INTO access_keys (access_key_id, agent_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
            (
                SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_ID"],
                ADMIN_AGENT_ID,
                secret_hash(SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_SECRET"]),
                now,
            ),
        )
