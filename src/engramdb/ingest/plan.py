"""Turn validated messages into a :class:`WriteBatch` (pure: vectors are passed in)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engramdb.ingest.messages import Message
from engramdb.models import NewMemory, Scope, WriteBatch


def text_hash(text: str) -> str:
    """The ``hash`` field of a memory (md5 of its text, as Mem0 reports it)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def memory_text(message: Message) -> str:
    """What is stored for a message: its text, or its image references when it has no text."""
    if message.content:
        return message.content
    return " ".join(f"[image: {url[:200]}]" for url in message.images)


def storable(messages: Sequence[Message]) -> list[Message]:
    """Messages kept verbatim: system prompts are instructions, not memories."""
    return [m for m in messages if m.role != "system"]


def verbatim(
    messages: Sequence[Message],
    vectors: npt.NDArray[np.float32],
    scope: Scope,
    metadata: dict[str, Any],
    at: str,
    *,
    memory_type: str = "fact",
) -> tuple[WriteBatch, list[dict[str, Any]]]:
    """One memory per message, stored as said (``infer=False``)."""
    batch = WriteBatch(at=at)
    results: list[dict[str, Any]] = []
    for message, vector in zip(messages, vectors, strict=True):
        text = memory_text(message)
        meta = dict(metadata)
        if message.images:
            meta["images"] = list(message.images)
        if message.name:
            meta.setdefault("name", message.name)
        new = NewMemory(
            id=str(uuid.uuid4()),
            memory=text,
            scope=scope,
            vector=vector,
            metadata=meta,
            created_at=at,
            hash=text_hash(text),
            memory_type=memory_type,
            role=message.role,
            valid_at=at,
        )
        batch.inserts.append(new)
        results.append({"id": new.id, "memory": text, "event": "ADD", "role": message.role})
    return batch, results
