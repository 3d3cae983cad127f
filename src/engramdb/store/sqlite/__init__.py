"""The embedded default store: one SQLite file with WAL, FTS5 and cached vectors."""

from engramdb.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
