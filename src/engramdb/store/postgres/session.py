"""The shared SQL (:class:`~engramdb.store.graphsql.GraphSQL`) as Postgres runs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.types.json import Jsonb

from engramdb.store.graphsql import GraphSQL
from engramdb.store.postgres.search import as_array
from engramdb.store.postgres.sqlfilter import scope_sql, where_sql
from engramdb.store.sqltree import now_iso


class PostgresSQL(GraphSQL):
    """Postgres's answers: JSON as jsonb (decoded by the driver), vectors in the
    ``embedding`` column, ``= ANY(array)``, and tsvector for episode words."""

    vector_join = ""
    vector_column = "m.embedding"

    @staticmethod
    def json_value(value: Any) -> Any:
        """A jsonb column's value, which psycopg has decoded already."""
        return value

    @staticmethod
    def json_param(value: Any) -> Any:
        """``value`` for a jsonb parameter."""
        return Jsonb(value)

    @staticmethod
    def vector_value(value: Any) -> npt.NDArray[np.float32]:
        """A pgvector value as float32."""
        return as_array(value)

    def _in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        # One array parameter, however many values.
        return f"{column} = ANY(%s)", [list(values)]

    def _episode_words(self, words: Sequence[str]) -> tuple[list[str], list[Any]]:
        # plainto_tsquery quotes each word; a word Postgres drops as a stop word (its query is
        # empty) is skipped, as SQLite's tokenizer would keep and match it.
        parts, params = [], []
        for w in words:
            parts.append(
                "(numnode(plainto_tsquery('english', %s)) = 0 "
                "OR e.tsv @@ plainto_tsquery('english', %s))"
            )
            params += [w, w]
        return parts, params


def session(c: psycopg.Cursor[tuple[Any, ...]]) -> PostgresSQL:
    """The shared SQL on cursor ``c`` (its time fixed now, for the transaction)."""

    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        c.execute(sql.encode(), list(params))
        return c.fetchall() if c.description is not None else []

    return PostgresSQL(run, "%s", scope_sql, where_sql, now_iso())
