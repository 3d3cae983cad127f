"""Request and response bodies of the REST API, so ``/openapi.json`` describes them exactly."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engramdb.learn.lessons import DEFAULT_THRESHOLD

_STRICT = ConfigDict(extra="forbid")
# Responses may carry fields added by later versions of the pipeline; keep them.
_OPEN = ConfigDict(extra="allow")

ScopeId = Field(None, description="scope id (1-256 characters)")
TimeValue = str | float | int


class MessageIn(BaseModel):
    """One chat message; ``content`` is text or OpenAI-style content parts."""

    model_config = ConfigDict(extra="ignore")
    role: str = Field(..., description="user, assistant, system or tool")
    content: str | list[str | dict[str, Any]]
    name: str | None = None


Messages = str | MessageIn | list[MessageIn | str]


def messages_value(messages: Messages) -> Any:
    """Plain Python messages for :meth:`Memory.add`."""
    if isinstance(messages, MessageIn):
        return messages.model_dump(exclude_none=True)
    if isinstance(messages, list):
        return [
            m.model_dump(exclude_none=True) if isinstance(m, MessageIn) else m for m in messages
        ]
    return messages


def message_count(messages: Messages) -> int:
    """How many messages an add carries."""
    return len(messages) if isinstance(messages, list) else 1


class AddRequest(BaseModel):
    """``POST /v1/memories``."""

    model_config = _STRICT
    messages: Messages = Field(..., description="a string, one message, or a list of them")
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    metadata: dict[str, Any] | None = None
    infer: bool = Field(True, description="extract facts (True) or store messages verbatim")
    timestamp: TimeValue | None = Field(
        None, description="when the messages were said: ISO-8601 (naive = UTC) or epoch seconds"
    )
    memory_type: str | None = None
    outcome: str | None = Field(
        None, description='with memory_type "experience": success, failure or partial'
    )
    expires_at: TimeValue | None = Field(None, description="hide the memories after this time")
    importance: float | None = Field(None, description="0..1, default 0.5")


class UpdateRequest(BaseModel):
    """``PUT /v1/memories/{memory_id}``: metadata replaces the old metadata."""

    model_config = _STRICT
    text: str | None = None
    metadata: dict[str, Any] | None = None
    expires_at: TimeValue | None = Field(None, description="hide the memory after this time")
    importance: float | None = Field(None, description="0..1")


class SearchRequest(BaseModel):
    """``POST /v1/search``."""

    model_config = _STRICT
    query: str
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    filters: dict[str, Any] | None = Field(None, description="filter expression (Mem0 2.x)")
    limit: int = Field(10, description="at most this many hits (1-10000)")
    threshold: float | None = Field(None, description="drop hits with lower similarity")
    as_of: TimeValue | None = Field(
        None, description="answer as memory stood then: memories valid at this time"
    )


class FeedbackRequest(BaseModel):
    """``POST /v1/memories/{memory_id}/feedback``."""

    model_config = _STRICT
    signal: str = Field(..., description="useful, not_useful or wrong")
    note: str | None = Field(None, description="why, kept in the memory's history")
    query: str | None = Field(None, description="the search the judgement is about")


class FeedbackOut(BaseModel):
    """The recorded judgement and the memory's importance and status after it."""

    model_config = _OPEN
    id: str
    memory_id: str
    signal: str
    note: str | None = None
    query: str | None = None
    created_at: str
    importance: float
    status: str


class LessonsRequest(BaseModel):
    """``POST /v1/lessons``: lessons relevant to a task, before attempting it."""

    model_config = _STRICT
    task: str
    agent_id: str | None = ScopeId
    user_id: str | None = ScopeId
    limit: int = Field(5, description="at most this many lessons (1-10000)")
    threshold: float = Field(DEFAULT_THRESHOLD, description="drop lessons less similar to the task")


class LessonsResponse(BaseModel):
    """Lessons, most relevant first, each with its evidence."""

    model_config = _OPEN
    results: list[dict[str, Any]]


class ContextRequest(BaseModel):
    """``POST /v1/context``."""

    model_config = _STRICT
    query: str
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    filters: dict[str, Any] | None = Field(None, description="filter expression (Mem0 2.x)")
    max_tokens: int = Field(400, description="token budget of the block (1-1000000)")
    limit: int = Field(100, description="search hits considered (1-10000)")


class ContextResponse(BaseModel):
    """A token-budgeted block of current memories, oldest first, with dates."""

    model_config = _OPEN
    text: str
    tokens: int
    memories: list[str]
    relations: list[dict[str, Any]]


class MemoryOut(BaseModel):
    """A stored memory."""

    model_config = _OPEN
    id: str
    memory: str
    hash: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    memory_type: str | None = None
    role: str | None = None
    categories: list[str] = Field(default_factory=list)
    created_at: str
    updated_at: str | None = None
    valid_at: str | None = None
    invalid_at: str | None = None
    status: str | None = None
    expires_at: str | None = None
    importance: float | None = None
    access_count: int | None = None
    last_accessed_at: str | None = None


class HitOut(MemoryOut):
    """A search hit: ``score`` is fused (best = 1.0), ``similarity`` the cosine."""

    score: float
    similarity: float


class AddEvent(BaseModel):
    """One change an add made."""

    model_config = _OPEN
    id: str
    memory: str
    event: str


class AddResponse(BaseModel):
    """What an add changed."""

    model_config = _OPEN
    results: list[AddEvent]


class MemoryList(BaseModel):
    """Memories, newest first."""

    results: list[MemoryOut]


class RelationOut(BaseModel):
    """A relation between two entities (Mem0's graph shape), with validity and provenance."""

    model_config = _OPEN
    source: str
    relationship: str
    target: str
    valid_at: str | None = None
    invalid_at: str | None = None
    memory_ids: list[str] = Field(default_factory=list)


class RelationEdge(RelationOut):
    """A stored relation with its id (``GET /v1/relations``)."""

    id: str


class RelationList(BaseModel):
    """Relations of a scope, newest first."""

    results: list[RelationEdge]


class GraphEdge(RelationEdge):
    """A relation drawn as an edge between two entity ids."""

    source_id: str
    target_id: str


class EntityOut(BaseModel):
    """An entity (person, place, organisation, thing or date) a scope's memories name."""

    model_config = _OPEN
    id: str
    name: str
    kind: str
    memories: int
    created_at: str
    merged_into: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None


class EntityList(BaseModel):
    """Entities of a scope, most linked first."""

    results: list[EntityOut]


class GraphOut(BaseModel):
    """A scope's graph for drawing: entities as nodes, relations as edges."""

    nodes: list[EntityOut]
    edges: list[GraphEdge]


class MergeRequest(BaseModel):
    """``POST /v1/entities/merge``: ``source_id`` is folded into ``target_id``."""

    model_config = _STRICT
    source_id: str
    target_id: str


class MergeOut(BaseModel):
    """A recorded entity merge (``undone_at`` once undone)."""

    model_config = _OPEN
    id: str
    source_id: str
    target_id: str
    created_at: str
    moved_links: list[Any] = Field(default_factory=list)
    undone_at: str | None = None


class SearchResponse(BaseModel):
    """Search hits, best first, and the current relations of the query's entities."""

    model_config = _OPEN
    results: list[HitOut]
    relations: list[RelationOut] = Field(default_factory=list)


class UpdateResponse(MemoryOut):
    """The memory after the update."""

    message: str


class DeleteResponse(BaseModel):
    """One memory deleted."""

    message: str
    id: str


class DeleteAllResponse(BaseModel):
    """Every memory of a scope deleted."""

    message: str
    deleted: int


class HistoryOut(BaseModel):
    """One change of a memory."""

    model_config = _OPEN
    memory_id: str
    event: str
    old_memory: str | None = None
    new_memory: str | None = None
    created_at: str
    actor: str | None = None
    role: str | None = None
    reason: str | None = None


class MessageResponse(BaseModel):
    """A plain acknowledgement."""

    message: str


class ImportResponse(BaseModel):
    """What ``POST /v1/import`` read and wrote (see :class:`engramdb.transfer.ImportReport`)."""

    model_config = _OPEN
    lines: int
    imported: int
    added: int
    skipped_existing: int
    reembedded: int
    episodes: int
    skipped_episodes: int
    feedback: int
    skipped_feedback: int
    history_lines: int
    graph: dict[str, int]
    invalid_count: int
    invalid: list[dict[str, Any]]
    batches: int


class KeyCreate(BaseModel):
    """``POST /v1/keys`` (admin key only)."""

    model_config = _STRICT
    tenant: str = Field(..., description="1-128 letters, digits, '_', '.', '-'")
    name: str | None = Field(None, max_length=200)
    read_only: bool = False


class KeyOut(BaseModel):
    """A stored key (the key itself is shown only once, on creation)."""

    id: str
    tenant: str
    name: str | None = None
    read_only: bool
    created_at: str
    prefix: str


class KeyCreated(KeyOut):
    """A new key: keep ``key``, it cannot be shown again."""

    key: str


class KeyList(BaseModel):
    """Every key."""

    results: list[KeyOut]


class Health(BaseModel):
    """``GET /health``."""

    status: str
    version: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    model_config = _OPEN
    type: str
    message: str


class ErrorResponse(BaseModel):
    """Every error answer."""

    error: ErrorDetail


#: Error answers documented on every authenticated route.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (401, "missing or invalid API key"),
        (403, "key not allowed to do this (read-only, not admin)"),
        (404, "no such memory (or entity, or merge) in this tenant"),
        (413, "request body too large"),
        (422, "invalid input"),
        (429, "rate limited (see Retry-After)"),
    )
}


class ForgetRequest(BaseModel):
    """``POST /v1/forget``: a scope, or one ``memory_id`` (never neither)."""

    model_config = _STRICT
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    memory_id: str | None = None
    reason: str | None = Field(None, description="kept in the tombstone (at most 500 chars)")


class TombstoneOut(BaseModel):
    """What an erasure removed: kinds and counts, never content."""

    model_config = _OPEN
    id: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    memory_id: str | None = None
    counts: dict[str, int]
    reason: str | None = None
    erased_at: str


class TombstoneList(BaseModel):
    """``GET /v1/tombstones``."""

    results: list[TombstoneOut]


class ConsolidateRequest(BaseModel):
    """``POST /v1/consolidate``."""

    model_config = _STRICT
    user_id: str | None = ScopeId
    agent_id: str | None = ScopeId
    run_id: str | None = ScopeId
    dry_run: bool = False


class MergedOut(BaseModel):
    """One survivor and the near-duplicates archived in its favour."""

    survivor: str
    archived: list[str]


class ConsolidateReport(BaseModel):
    """What a consolidation archived (or would, with ``dry_run``)."""

    model_config = _OPEN
    dry_run: bool
    examined: int
    merged: list[MergedOut]
    stale: list[str]
    archived: int
    skipped: list[str] = Field(
        default_factory=list,
        description="memories changed by another writer while planned; left for the next run",
    )
