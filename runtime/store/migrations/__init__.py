"""The stores' schemas, versioned: ``<dialect>/NNNN_<what>.sql``, applied in order by the store when it opens.

A migration is never edited once released: a change to the schema is a new file with the next number. Each
store records how far it got (SQLite: ``PRAGMA user_version``; PostgreSQL: the ``schema_migrations`` table) and
applies the rest, each migration in one transaction with its record, so a crash leaves it applied or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = ["Migration", "migrations"]

Dialect = Literal["sqlite", "postgres"]
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The SQL split into statements (the files hold no ';' inside literals), comments left out."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrations(dialect: Dialect) -> list[Migration]:
    """Every migration of ``dialect``, oldest first; the numbers must run 1, 2, 3... without a gap."""
    found = []
    for entry in resources.files(__package__).joinpath(dialect).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"runtime/store/migrations/{dialect}: versions must run 1..n without a gap")
    return found
