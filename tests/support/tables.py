"""What a store holds, table by table, in a form two stores can be compared in.

Generated ids (entity and relation uuids, rowids) differ between two stores holding the same
data, so :func:`snapshot` names entities by (scope, normal form) and relations by their ends,
and leaves out the times a write stamps with the clock (``updated_at``, the ``created_at``
of non-ADD history rows).

:func:`graph_export` makes an export file whose texts exercise the graph writer: people,
places and organisations named again across memories and scopes, aliases ("NYC" after "New
York City"), acronyms, kind upgrades, relations stated by several memories, superseded
memories (their relations end) and lines repeating an id.
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np

from engramdb import Memory


def rows(mem: Memory, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` (no parameters) run on ``mem``'s store, either backend."""
    conn = getattr(mem.store, "_conn", None)
    if conn is not None:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    with mem.store._connection() as pg:  # type: ignore[attr-defined]
        return [tuple(r) for r in pg.execute(sql.encode()).fetchall()]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _sorted(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(items, key=repr)


_ENTITY = "(SELECT tenant || ' ' || scope_key || ' ' || norm FROM entities x WHERE x.id = {})"


def snapshot(mem: Memory) -> dict[str, list[tuple[Any, ...]]]:
    """Every memory, vector, keyword entry, history row and graph row of ``mem``'s store."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    out["memories"] = _sorted(
        [
            (*r[:7], _json(r[7]), r[8], r[9], _json(r[10]), *r[11:])
            for r in rows(
                mem,
                "SELECT id, tenant, user_id, agent_id, run_id, memory, hash, metadata, "
                "memory_type, role, categories, created_at, valid_at, invalid_at, status, "
                "expires_at, importance, access_count FROM memories",
            )
        ]
    )
    if getattr(mem.store, "_conn", None) is not None:
        vectors = rows(
            mem,
            "SELECT m.id, v.vector FROM memories m JOIN memory_vectors v ON v.rowid = m.rowid",
        )
        keywords = rows(
            mem, "SELECT m.id, f.memory FROM memories m JOIN memories_fts f ON f.rowid = m.rowid"
        )
        out["vectors"] = _sorted(
            [(i, np.frombuffer(v, dtype=np.float32).tolist()) for i, v in vectors]
        )
    else:
        vectors = rows(mem, "SELECT id, embedding FROM memories")
        keywords = rows(mem, "SELECT id, tsv::text FROM memories")
        out["vectors"] = _sorted([(i, np.asarray(v.to_numpy()).tolist()) for i, v in vectors])
    out["keywords"] = _sorted(keywords)
    out["history"] = _sorted(
        [
            (*r[:10], r[10] if r[5] == "ADD" else None)
            for r in rows(
                mem,
                "SELECT memory_id, tenant, user_id, agent_id, run_id, event, old_memory, "
                "new_memory, role, reason, created_at FROM history",
            )
        ]
    )
    out["entities"] = _sorted(
        rows(
            mem,
            "SELECT tenant, user_id, agent_id, run_id, scope_key, name, norm, kind, created_at, "
            f"{_ENTITY.format('e.merged_into')} FROM entities e",
        )
    )
    out["entity_aliases"] = _sorted(
        rows(
            mem,
            f"SELECT tenant, scope_key, norm, {_ENTITY.format('a.entity_id')} FROM "
            "entity_aliases a",
        )
    )
    out["entity_links"] = _sorted(
        rows(
            mem,
            f"SELECT {_ENTITY.format('l.entity_id')}, l.memory_id, m.id, l.tenant, l.role "
            "FROM entity_links l JOIN memories m ON m.rowid = l.memory_rowid",
        )
    )
    relation = (
        f"r.tenant, r.user_id, r.agent_id, r.run_id, r.scope_key, "
        f"{_ENTITY.format('r.subject_id')}, r.predicate, {_ENTITY.format('r.object_id')}"
    )
    out["relations"] = _sorted(
        rows(mem, f"SELECT {relation}, r.valid_at, r.invalid_at, r.created_at FROM relations r")
    )
    out["relation_sources"] = _sorted(
        rows(
            mem,
            f"SELECT {relation}, s.memory_id, m.id, s.episode_ids FROM relation_sources s "
            "JOIN relations r ON r.id = s.relation_id JOIN memories m ON m.rowid = s.memory_rowid",
        )
    )
    return out


_PEOPLE = ["Anna", "Tom", "Caroline", "Melanie", "Sam", "Priya", "Jon Snow", "Maria Lopez"]
_PLACES = ["Lisbon", "Paris", "New York City", "NYC", "Sweden", "Berlin", "Tokyo"]
_ORGS = ["Google", "Acme Corp", "New York Stock Exchange (NYSE)", "NYSE", "MIT"]
_TEMPLATES = [
    "I moved to {place} last year.",
    "My sister {person} lives in {place}.",
    "I work at {org} now.",
    "My brother {person} visited {place} last week.",
    "{person} studies at {org}.",
    "We got a cat named {person}. My friend {person2} works at {org}.",
    "I went to {place} with {person} on 3 May 2023.",
    "{person} and {person2} met in {place}.",
    "I am from {place}, and {person} is my partner.",
    "Paris is lovely. I was in {place} with {person}.",
]


def graph_export(n: int, users: int, dims: int, embedder: str, *, seed: int = 7) -> list[str]:
    """An export file of ``n`` memory lines over ``users`` users (see the module docstring).

    Every fifth memory is superseded (with its ``invalid_at``); every eleventh line repeats
    an earlier id, so the import skips it.
    """
    rng = random.Random(seed)
    vecs = np.random.default_rng(seed).standard_normal((n, dims)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    lines = [
        json.dumps(
            {
                "type": "header",
                "format": "engramdb-jsonl",
                "version": 1,
                "embedder": embedder,
                "dims": dims,
                "vectors": True,
            }
        )
    ]
    ids: list[str] = []
    for i in range(n):
        text = rng.choice(_TEMPLATES).format(
            person=rng.choice(_PEOPLE),
            person2=rng.choice(_PEOPLE),
            place=rng.choice(_PLACES),
            org=rng.choice(_ORGS),
        )
        if i % 11 == 10:
            memory_id = ids[rng.randrange(len(ids))]
        else:
            memory_id = f"mem-{seed}-{i:06d}"
            ids.append(memory_id)
        obj: dict[str, Any] = {
            "type": "memory",
            "id": memory_id,
            "memory": text,
            "user_id": f"user{i % users}",
            "metadata": {"i": i},
            "created_at": f"2024-01-{1 + i % 28:02d}T09:00:00Z",
            "vector": [float(x) for x in vecs[i]],
        }
        if i % 3 == 0:
            obj["agent_id"] = "helper"
        if i % 5 == 4:
            obj["status"] = "superseded"
            obj["invalid_at"] = "2024-06-01T00:00:00Z"
        lines.append(json.dumps(obj))
    return lines
