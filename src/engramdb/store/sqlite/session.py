"""The shared SQL (:class:`~engramdb.store.graphsql.GraphSQL`) as SQLite runs it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engramdb.store.graphsql import GraphSQL
from engramdb.store.sqlite.sqlfilter import scope_sql, where_sql
from engramdb.store.sqltree import now_iso


class SQLiteSQL(GraphSQL):
    """SQLite's answers: JSON as text, vectors as float32 BLOBs in ``memory_vectors``,
    ``IN`` lists, and FTS5 for episode words."""

    vector_join = "JOIN memory_vectors v ON v.rowid = m.rowid"
    vector_column = "v.vector"

    @staticmethod
    def json_value(value: Any) -> Any:
        """A JSON text column decoded."""
        return json.loads(value)

    @staticmethod
    def json_param(value: Any) -> Any:
        """``value`` as JSON text."""
        return json.dumps(value)

    @staticmethod
    def vector_value(value: Any) -> npt.NDArray[np.float32]:
        """A vector BLOB as float32 (a view of the bytes, not a copy)."""
        return np.frombuffer(value, dtype=np.float32)

    def _in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({self._marks(len(values))})", list(values)

    def _episode_words(self, words: Sequence[str]) -> tuple[list[str], list[Any]]:
        # Each word quoted: FTS5 syntax in user text is matched literally, ANDed.
        return (
            ["e.rowid IN (SELECT rowid FROM episodes_fts WHERE episodes_fts MATCH ?)"],
            [" ".join('"' + w.replace('"', '""') + '"' for w in words)],
        )

    def _serialise_relations(self, keys: Sequence[str]) -> None:
        # Writes run in BEGIN IMMEDIATE: one writer at a time already.
        pass


def session(c: sqlite3.Connection) -> SQLiteSQL:
    """The shared SQL on ``c`` (its time fixed now, for a statement or a transaction)."""
    return SQLiteSQL(
        lambda sql, params: c.execute(sql, list(params)).fetchall(),
        "?",
        scope_sql,
        where_sql,
        now_iso(),
    )
