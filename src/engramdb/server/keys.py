"""API keys: one tenant each, stored hashed in a small SQLite file beside the memory store.

A key is 32 random bytes (``edb_`` + URL-safe base64); only its SHA-256 is stored, so a copy of
``keys.db`` grants nothing. Lookups are by hash, and the final comparison is constant-time.

Example::

    keys = KeyStore("/tmp/keys.db")
    created = keys.create("acme", name="ci")
    assert keys.lookup(created.key).tenant == "acme"
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engramdb.errors import StoreError, ValidationError
from engramdb.timeutil import iso, utcnow

KEY_PREFIX = "edb_"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")

#: Numbered schema migrations of keys.db, applied in order and recorded in ``schema_migrations``.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "api_keys",
        "CREATE TABLE api_keys ("
        " id TEXT PRIMARY KEY,"
        " tenant TEXT NOT NULL,"
        " name TEXT,"
        " key_hash TEXT NOT NULL UNIQUE,"
        " prefix TEXT NOT NULL,"
        " read_only INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL);"
        "CREATE INDEX api_keys_tenant ON api_keys (tenant);",
    ),
]


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def check_tenant(tenant: Any) -> str:
    """A tenant name: 1-128 letters, digits, ``_ . -``, starting with a letter or digit."""
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise ValidationError(
            f"tenant must be 1-128 letters, digits, '_', '.' or '-', not {tenant!r}"
        )
    return tenant


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the key itself)."""

    id: str
    tenant: str
    name: str | None
    read_only: bool
    created_at: str
    prefix: str

    def to_dict(self) -> dict[str, Any]:
        """Public dict form."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "read_only": self.read_only,
            "created_at": self.created_at,
            "prefix": self.prefix,
        }


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the only time the key itself is known."""

    info: ApiKey
    key: str


_COLS = "id, tenant, name, read_only, created_at, prefix"


def _row(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


class KeyStore:
    """API keys in their own SQLite file. Safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open key store {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        c = self._conn
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in c.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            c.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(None, (s.strip() for s in sql.split(";"))):
                    c.execute(statement)
                c.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, iso(utcnow()))
                )
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def create(
        self, tenant: str, *, name: str | None = None, read_only: bool = False
    ) -> CreatedKey:
        """Make a key for ``tenant``; the returned ``key`` is not stored anywhere."""
        check_tenant(tenant)
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise ValidationError("name must be a string of at most 200 characters")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        info = ApiKey(
            id="key_" + secrets.token_hex(8),
            tenant=tenant,
            name=name,
            read_only=bool(read_only),
            created_at=iso(utcnow()),
            prefix=key[:8],
        )
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_keys (id, tenant, name, key_hash, prefix, read_only, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    info.id,
                    tenant,
                    name,
                    hash_key(key),
                    info.prefix,
                    int(info.read_only),
                    info.created_at,
                ),
            )
        return CreatedKey(info=info, key=key)

    def lookup(self, key: str) -> ApiKey | None:
        """The stored key matching ``key``, or None."""
        digest = hash_key(key)
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLS}, key_hash FROM api_keys WHERE key_hash = ?", (digest,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[6], digest):
            return None
        return _row(row[:6])

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant), oldest first."""
        sql = f"SELECT {_COLS} FROM api_keys"
        params: tuple[Any, ...] = ()
        if tenant is not None:
            sql += " WHERE tenant = ?"
            params = (tenant,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [_row(r) for r in rows]

    def delete(self, key_id: str) -> bool:
        """Revoke a key; False when there was none with that id."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))
        return cur.rowcount > 0

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
