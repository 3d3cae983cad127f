"""Writing a scope as engramdb JSON Lines: header, memories with history, episodes, graph."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from engramdb.models import Episode, MemoryRecord, Scope
from engramdb.models.graph import GraphPart, MemoryLinks
from engramdb.timeutil import iso, utcnow
from engramdb.validation import check_id

if TYPE_CHECKING:
    from engramdb.memory import Memory

FORMAT = "engramdb-jsonl"
FORMAT_VERSION = 1

#: Graph parts in the order an export writes them, with their line types: an import writes
#: them in this order too (entities before what names them).
GRAPH_LINES: tuple[tuple[GraphPart, str], ...] = (
    ("entities", "entity"),
    ("links", "entity_links"),
    ("relations", "relation"),
    ("merges", "entity_merge"),
)
_PAGE = 1000


def _vector_list(vector: Any) -> list[float]:
    # str() of a float32 is its shortest round-tripping form: exact and compact.
    return [float(str(x)) for x in np.asarray(vector, dtype=np.float32)]


def _memory_line(record: MemoryRecord, include_vector: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "memory", **record.to_dict()}
    if include_vector and record.vector is not None:
        out["vector"] = _vector_list(record.vector)
    return out


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"


def export_jsonl(
    memory: Memory,
    out: IO[str],
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    include_vectors: bool = False,
    include_history: bool = True,
    include_episodes: bool = True,
    include_graph: bool = True,
    include_feedback: bool = True,
) -> int:
    """Write the memories of a scope (any status) to ``out``; return how many were written.

    With no scope every memory of the tenant is written. Memories come oldest first, each
    followed by its history when ``include_history``; then the scope's episodes (the raw
    messages) when ``include_episodes``; the feedback given on its memories when
    ``include_feedback`` (queries without their vectors); then the scope's graph when
    ``include_graph``: entities (with aliases), each memory's entity links, relations (with
    validity and the memories and episodes stating them) and the entity merge log. Vectors
    are written only when asked for: they are large and are recomputed on import when
    missing.
    """
    scope = Scope(
        tenant=memory.tenant,
        user_id=check_id("user_id", user_id),
        agent_id=check_id("agent_id", agent_id),
        run_id=check_id("run_id", run_id),
    )
    out.write(
        _dump(
            {
                "type": "header",
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "embedder": memory.embedder.name,
                "dims": memory.embedder.dims,
                "exported_at": iso(utcnow()),
                "scope": scope.as_dict(),
                "vectors": include_vectors,
                "graph": include_graph,
                "feedback": include_feedback,
            }
        )
    )
    count = 0
    for record in memory.store.iter_all(scope, with_vectors=include_vectors):
        out.write(_dump(_memory_line(record, include_vectors)))
        if include_history:
            for entry in memory.history(record.id):
                out.write(_dump({"type": "history", **entry}))
        count += 1
    if include_episodes:
        for episode in memory.store.episodes(scope, limit=2**62, newest_first=False):
            out.write(_dump(_episode_line(episode)))
    if include_feedback:
        after = ""
        while rows := memory.store.feedback_export(scope, after=after, limit=_PAGE):
            for row in rows:
                out.write(_dump({"type": "feedback", **row.to_dict()}))
            after = rows[-1].id
    if include_graph:
        for part, kind in GRAPH_LINES:
            after = ""
            while page := memory.store.graph_export(scope, part, after=after, limit=_PAGE):
                for item in page:
                    out.write(_dump({"type": kind, **item.to_dict()}))
                last = page[-1]
                after = last.memory_id if isinstance(last, MemoryLinks) else last.id
    return count


def _episode_line(episode: Episode) -> dict[str, Any]:
    return {"type": "episode", **episode.to_dict(), "batch_id": episode.batch_id}
