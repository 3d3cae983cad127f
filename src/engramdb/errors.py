"""Exceptions raised by engramdb. Each message names the problem and the input that caused it.

Every error leaves stored data exactly as it was: validation happens before a write starts,
and writes are single transactions.
"""

from __future__ import annotations


class EngramError(Exception):
    """Base class of every error engramdb raises on purpose."""


class ValidationError(EngramError, ValueError):
    """An argument is malformed: empty messages, a bad id, a wrong type."""


class ScopeError(ValidationError):
    """No user_id, agent_id or run_id was given where one is required.

    ``delete_all()`` with no scope raises this: it never means "delete everything".
    """


class FilterError(ValidationError):
    """A ``filters`` expression uses an unknown operator or field, or a bad value."""


class EntityNotFoundError(ValidationError):
    """No graph entity or entity merge has the given id (in the caller's tenant).

    A :class:`ValidationError` so code catching bad ids keeps working; the server answers 404.
    """


class MemoryNotFoundError(EngramError, KeyError):
    """No memory has the given id (in the caller's tenant)."""

    def __init__(self, memory_id: str) -> None:
        super().__init__(memory_id)
        self.memory_id = memory_id

    def __str__(self) -> str:
        return f"no memory with id {self.memory_id!r}"


class SchemaVersionError(EngramError):
    """The store was written by a newer engramdb whose schema this version cannot read."""


class ConflictError(EngramError):
    """A write names an id that is already taken (by any tenant); nothing was written."""


class StoreError(EngramError):
    """The store failed in a way that is not the caller's input (disk full, corrupt file)."""


class EmbedderError(EngramError):
    """The embedder could not produce vectors (missing model file, bad checksum, endpoint down)."""


class ConfigError(EngramError, ValueError):
    """A configuration value is unknown or invalid."""


class AuthError(EngramError):
    """A server refused the API key: missing or wrong (401), or not allowed to do this (403)."""
