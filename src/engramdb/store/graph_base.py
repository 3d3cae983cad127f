"""What the graph SQL shares: the connection, placeholders and two small lookups.

See :mod:`engramdb.store.graphsql` for the tables and how the stores use this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from engramdb.filters import Node
from engramdb.models import Scope

#: ``run(sql, params)`` → rows (an empty list for statements that return none).
Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
ScopeSQL = Callable[[Scope, str], tuple[str, list[Any]]]
WhereSQL = Callable[[Node | None, str], tuple[str, list[Any]]]

#: One scope's entity lookup: (scope, normal forms, first words); see ``GraphReads.lookup``.
LookupRequest = tuple[Scope, Sequence[str], Sequence[str]]

_T = TypeVar("_T")

# Ids per IN list: well under SQLite's and Postgres's parameter limits.
CHUNK = 400
#: Parameters per multi-row statement (SQLite before 3.32 allowed 999 in all).
MAX_PARAMS = 990
#: Subqueries per UNION (SQLite allows 500 in one compound SELECT).
MAX_UNION = 200


def scope_key(scope: Scope) -> str:
    """The exact scope an entity belongs to, as one indexable text value."""
    return json.dumps([scope.user_id, scope.agent_id, scope.run_id])


class GraphBase:
    """One connection's runner, placeholder, scope/filter compilers and the current time."""

    def __init__(
        self, run: Run, mark: str, scope_sql: ScopeSQL, where_sql: WhereSQL, now: str
    ) -> None:
        self._run = run
        self._mark = mark
        self._scope_sql = scope_sql
        self._where_sql = where_sql
        self._now = now

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql.replace("?", self._mark), params)

    def _marks(self, n: int) -> str:
        return ", ".join([self._mark] * n)

    def _chunks(self, values: Sequence[_T]) -> Iterator[tuple[str, list[_T]]]:
        """``values`` in pieces of :data:`CHUNK` (the bound on one statement's parameters),
        each with its placeholder list for an ``IN (...)``."""
        for start in range(0, len(values), CHUNK):
            part = list(values[start : start + CHUNK])
            yield self._marks(len(part)), part

    def _finals(self, entity_ids: Sequence[str]) -> dict[str, str]:
        """Each id mapped to the entity it ends up in, following merges (a merged entity
        points at the one that absorbed it); one query per chunk and merge level."""
        out = {eid: eid for eid in entity_ids}
        todo = sorted(out)
        for _ in range(16):
            # Which ids currently reached are themselves merged into another.
            step: dict[str, str] = {}
            for marks, part in self._chunks(todo):
                step.update(
                    (str(r[0]), str(r[1]))
                    for r in self._q(
                        f"SELECT id, merged_into FROM entities WHERE id IN "
                        f"({marks}) AND merged_into IS NOT NULL",
                        part,
                    )
                )
            if not step:
                break
            out = {eid: step.get(end, end) for eid, end in out.items()}
            todo = sorted(set(step.values()))
        return out

    def _insert(self, head: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
        """``head VALUES (...), (...) tail`` for ``rows``: many rows per statement (one
        round trip each) and few enough parameters per statement for either database."""
        if not rows:
            return
        width = len(rows[0])
        group = f"({self._marks(width)})"
        per = max(1, MAX_PARAMS // width)
        for start in range(0, len(rows), per):
            part = rows[start : start + per]
            self._q(
                f"{head} VALUES {', '.join([group] * len(part))} {tail}",
                [v for row in part for v in row],
            )

    def _counts(self, entity_ids: Sequence[str], cap: int) -> list[tuple[str, int]]:
        # Counting stops at cap + 1 links: "more than the cap" is all a caller needs.
        out: list[tuple[str, int]] = []
        for start in range(0, len(entity_ids), MAX_UNION):
            part = entity_ids[start : start + MAX_UNION]
            rows = self._q(
                " UNION ALL ".join(
                    "SELECT CAST(? AS TEXT), count(*) FROM (SELECT 1 FROM entity_links "
                    "WHERE entity_id = ? LIMIT ?) c"
                    for _ in part
                ),
                [v for entity_id in part for v in (entity_id, entity_id, cap + 1)],
            )
            out.extend((str(r[0]), int(r[1])) for r in rows)
        return out
