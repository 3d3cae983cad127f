"""The ``infer=False`` write: every message stored as said, with its episode and graph links.

One store transaction holds the memories, their vectors and keyword entries, the episodes
(working memory and provenance) and the graph links, so a crash leaves all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engramdb.embed.base import Embedder
from engramdb.graph import api as graph_api
from engramdb.graph import links as graph_links
from engramdb.ingest import plan
from engramdb.ingest.messages import Message
from engramdb.ingest.pipeline import episodes_for
from engramdb.models import Change, MemoryRecord, Scope, WriteBatch
from engramdb.store.base import Store
from engramdb.timeutil import iso, utcnow


def write(
    store: Store,
    embedder: Embedder,
    messages: Sequence[Message],
    scope: Scope,
    metadata: dict[str, Any],
    at: str,
    *,
    memory_type: str = "fact",
    lifecycle: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Store ``messages`` verbatim in one transaction; returns the ADD results.

    ``lifecycle`` may hold ``expires_at`` and ``importance`` for every new memory.
    """
    lifecycle = lifecycle or {}
    vectors = embedder.embed([plan.memory_text(m) for m in messages])
    batch, results = plan.verbatim(messages, vectors, scope, metadata, at, memory_type=memory_type)
    for new in batch.inserts:
        new.expires_at = lifecycle.get("expires_at")
        new.importance = lifecycle.get("importance", new.importance)
    # There is nothing to extract from these turns: their episodes are done at once.
    batch.episodes = episodes_for(messages, scope, metadata, at, {})
    for episode, new, message in zip(batch.episodes, batch.inserts, messages, strict=True):
        episode.status = "done"
        batch.graph.append(
            graph_links.for_memory(
                new.id, new.memory, scope, at=at, episode_ids=[episode.id], speaker=message.name
            )
        )
    store.apply(graph_api.link(store, embedder, batch))
    return results


def edit(
    store: Store,
    embedder: Embedder,
    record: MemoryRecord,
    change: Change,
    text: str | None,
) -> None:
    """Apply a user's edit of ``record`` (``change`` holds the other fields): a new ``text`` is
    embedded and re-linked in the graph in the same transaction as the change."""
    at = iso(utcnow())
    batch = WriteBatch(changes=[change], at=at)
    if text is not None:
        change.memory = text
        change.hash = plan.text_hash(text)
        change.vector = embedder.embed([text])[0]
        batch.graph.append(graph_links.for_memory(record.id, text, record.scope, at=at))
    store.apply(graph_api.link(store, embedder, batch))
