"""API keys live in the store, hashed: both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from engramdb import Memory
from engramdb.errors import ValidationError
from engramdb.server.keys import KeyStore, hash_key


def _raw_contents(mem: Memory, backend: str, tmp_path: Path) -> bytes:
    """Everything the api_keys table holds, as bytes (file pages for SQLite)."""
    if backend == "sqlite":
        return b"".join(p.read_bytes() for p in tmp_path.rglob("*.db*") if p.is_file())
    with mem.store._connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(b"SELECT api_keys::text FROM api_keys").fetchall()
    return "\n".join(r[0] for r in rows).encode()


def test_keys_are_stored_hashed_and_found(mem: Memory, backend: str, tmp_path: Path) -> None:
    keys = KeyStore(mem.store)
    created = keys.create("acme", name="ci")
    raw = _raw_contents(mem, backend, tmp_path)
    assert created.key.encode() not in raw
    assert hash_key(created.key).encode() in raw
    found = keys.lookup(created.key)
    assert found is not None
    assert (found.tenant, found.name, found.read_only) == ("acme", "ci", False)
    assert found.id == created.info.id
    assert keys.lookup(created.key + "x") is None
    assert keys.lookup("") is None


def test_keys_list_by_tenant_and_revoke(mem: Memory) -> None:
    keys = KeyStore(mem.store)
    a = keys.create("acme")
    b = keys.create("globex", read_only=True)
    assert {k.id for k in keys.list_keys()} == {a.info.id, b.info.id}
    [only] = keys.list_keys("globex")
    assert only.read_only is True and "key_hash" not in only.to_dict()
    assert keys.delete(a.info.id) is True
    assert keys.delete(a.info.id) is False
    assert keys.lookup(a.key) is None
    assert keys.lookup(b.key) is not None


def test_bad_key_input_stores_nothing(mem: Memory) -> None:
    keys = KeyStore(mem.store)
    with pytest.raises(ValidationError, match="tenant"):
        keys.create("no spaces allowed")
    with pytest.raises(ValidationError, match="name"):
        keys.create("acme", name="x" * 201)
    assert keys.list_keys() == []
