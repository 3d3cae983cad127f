"""API keys: one tenant each, stored hashed in the memory store itself.

A key is 32 random bytes (``edb_`` + URL-safe base64); only its SHA-256 is stored, so a copy of
the database grants nothing. Lookups are by hash, and the final comparison is constant-time.
Keys live in the store (SQLite file or Postgres database), so every server on one database
accepts the same keys.

Example::

    keys = KeyStore(memory.store)
    created = keys.create("acme", name="ci")
    assert keys.lookup(created.key).tenant == "acme"
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from engramdb.errors import ValidationError
from engramdb.models import ApiKey
from engramdb.store.base import Store
from engramdb.timeutil import iso, utcnow

__all__ = ["KEY_PREFIX", "ApiKey", "CreatedKey", "KeyStore", "check_tenant", "hash_key"]

KEY_PREFIX = "edb_"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


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
class CreatedKey:
    """A new key: the only time the key itself is known."""

    info: ApiKey
    key: str


class KeyStore:
    """Making, finding and revoking API keys in a :class:`~engramdb.store.base.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
            key_hash=hash_key(key),
        )
        self.store.put_key(info)
        return CreatedKey(info=info, key=key)

    def lookup(self, key: str) -> ApiKey | None:
        """The stored key matching ``key``, or None."""
        digest = hash_key(key)
        found = self.store.key_by_hash(digest)
        if found is None or not hmac.compare_digest(found.key_hash, digest):
            return None
        return found

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant), oldest first."""
        return self.store.list_keys(tenant)

    def delete(self, key_id: str) -> bool:
        """Revoke a key; False when there was none with that id."""
        return self.store.delete_key(key_id)
