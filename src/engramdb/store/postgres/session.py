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

    def _serialise_relations(self, keys: Sequence[str]) -> None:
        # Under READ COMMITTED two writers could each read "no current relation" and each
        # insert one. A transaction-scoped advisory lock per key makes the second wait for the
        # first's commit, and its next statement's snapshot then sees that row. (A unique index
        # cannot do it: a merge of two entities keeps both of their relations current, so that
        # the merge can be undone.) Taken in sorted order in one statement, so two batches
        # never wait for each other in a cycle.
        self._q(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT "
            "hashtextextended('relation' || k, 0) AS h FROM unnest(?::text[]) AS k "
            "ORDER BY h) AS locks",
            [list(keys)],
        )


def session(c: psycopg.Cursor[tuple[Any, ...]]) -> PostgresSQL:
    """The shared SQL on cursor ``c`` (its time fixed now, for the transaction)."""

    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        c.execute(sql.encode(), list(params))
        return c.fetchall() if c.description is not None else []

    return PostgresSQL(run, "%s", scope_sql, where_sql, now_iso())
