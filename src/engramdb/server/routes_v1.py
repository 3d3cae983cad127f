"""The own REST API under ``/v1`` plus ``/health``. Each handler is one ``Memory`` call.

Handlers are plain functions (FastAPI runs them in its thread pool): the store and the
embedder block, and the tenant-confined ``Memory`` comes from the caller's key.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from engramdb import __version__
from engramdb.errors import MemoryNotFoundError, ValidationError
from engramdb.memory import Memory
from engramdb.server import models as m
from engramdb.server.auth import Admin, ReadMemory, WriteMemory, context
from engramdb.server.errors import ApiError
from engramdb.transfer import export_jsonl, import_jsonl

router = APIRouter()
v1 = APIRouter(prefix="/v1", responses=m.ERRORS)

UserQ = Annotated[str | None, Query(description="user_id scope")]
AgentQ = Annotated[str | None, Query(description="agent_id scope")]
RunQ = Annotated[str | None, Query(description="run_id scope")]
FiltersQ = Annotated[
    str | None, Query(description='filter expression as JSON, e.g. {"metadata.topic": "food"}')
]


def check_add(request: Request, messages: m.Messages) -> Any:
    """Messages as plain values, after the server's per-add message limit (422)."""
    limit = context(request).settings.max_messages
    count = m.message_count(messages)
    if count > limit:
        raise ApiError(422, "ValidationError", f"{count} messages in one add; the limit is {limit}")
    return m.messages_value(messages)


def check_query(request: Request, query: str) -> str:
    """The query, after the server's length limit (422)."""
    limit = context(request).settings.max_query_chars
    if len(query) > limit:
        raise ApiError(
            422, "ValidationError", f"query has {len(query)} characters; the limit is {limit}"
        )
    return query


def parse_filters(raw: str | None) -> dict[str, Any] | None:
    """A ``filters`` query parameter (JSON object) as a dict (422 when malformed)."""
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValidationError(f"filters is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationError("filters must be a JSON object")
    return value


def found(memory: Memory, memory_id: str) -> dict[str, Any]:
    """The memory with ``memory_id`` in the caller's tenant, or 404."""
    record = memory.get(memory_id)
    if record is None:
        raise MemoryNotFoundError(memory_id)
    return record


@router.get("/health", response_model=m.Health, tags=["meta"])
def health() -> dict[str, Any]:
    """Liveness check; needs no key."""
    return {"status": "ok", "version": __version__}


@v1.post("/memories", response_model=m.AddResponse, tags=["memories"])
def add_memories(body: m.AddRequest, request: Request, memory: WriteMemory) -> dict[str, Any]:
    """Remember messages in a scope (user_id, agent_id and/or run_id required)."""
    messages = check_add(request, body.messages)
    return memory.add(
        messages,
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        metadata=body.metadata,
        infer=body.infer,
        timestamp=body.timestamp,
        memory_type=body.memory_type,
        outcome=body.outcome,
        expires_at=body.expires_at,
        importance=body.importance,
    )


@v1.get("/memories", response_model=m.MemoryList, tags=["memories"])
def list_memories(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    filters: FiltersQ = None,
    limit: Annotated[int, Query(description="1-10000")] = 100,
    offset: Annotated[int, Query(description="skip this many")] = 0,
    include_invalid: Annotated[bool, Query(description="also superseded memories")] = False,
    include_archived: Annotated[bool, Query(description="also archived memories")] = False,
    include_expired: Annotated[bool, Query(description="also expired memories")] = False,
) -> dict[str, Any]:
    """Memories of a scope, newest first (active and unexpired unless asked otherwise)."""
    return memory.get_all(
        user_id=user_id,
        agent_id=agent_id,
        run_id=run_id,
        filters=parse_filters(filters),
        limit=limit,
        offset=offset,
        include_invalid=include_invalid,
        include_archived=include_archived,
        include_expired=include_expired,
    )


@v1.delete("/memories", response_model=m.DeleteAllResponse, tags=["memories"])
def delete_memories(
    memory: WriteMemory, user_id: UserQ = None, agent_id: AgentQ = None, run_id: RunQ = None
) -> dict[str, Any]:
    """Delete every memory of a scope; a scope is required (never "delete everything")."""
    return memory.delete_all(user_id=user_id, agent_id=agent_id, run_id=run_id)


@v1.get("/memories/{memory_id}", response_model=m.MemoryOut, tags=["memories"])
def get_memory(memory_id: str, memory: ReadMemory) -> dict[str, Any]:
    """One memory by id (404 when this tenant has none)."""
    return found(memory, memory_id)


@v1.put("/memories/{memory_id}", response_model=m.UpdateResponse, tags=["memories"])
def update_memory(memory_id: str, body: m.UpdateRequest, memory: WriteMemory) -> dict[str, Any]:
    """Change a memory's text, metadata (replaced), expiry or importance."""
    return memory.update(
        memory_id,
        text=body.text,
        metadata=body.metadata,
        expires_at=body.expires_at,
        importance=body.importance,
    )


@v1.delete("/memories/{memory_id}", response_model=m.DeleteResponse, tags=["memories"])
def delete_memory(memory_id: str, memory: WriteMemory) -> dict[str, Any]:
    """Delete one memory; its history is kept."""
    return memory.delete(memory_id)


@v1.get("/memories/{memory_id}/history", response_model=list[m.HistoryOut], tags=["memories"])
def memory_history(memory_id: str, memory: ReadMemory) -> list[dict[str, Any]]:
    """Every change of a memory, oldest first."""
    return memory.history(memory_id)


@v1.post("/search", response_model=m.SearchResponse, tags=["memories"])
def search_memories(body: m.SearchRequest, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """The memories most relevant to ``query`` in a scope, best first."""
    return memory.search(
        check_query(request, body.query),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        filters=body.filters,
        limit=body.limit,
        threshold=body.threshold,
        as_of=body.as_of,
    )


@v1.post("/memories/{memory_id}/feedback", response_model=m.FeedbackOut, tags=["learning"])
def memory_feedback(
    memory_id: str, body: m.FeedbackRequest, request: Request, memory: WriteMemory
) -> dict[str, Any]:
    """Judge a memory or search result: useful, not_useful or wrong (kept in its history)."""
    query = None if body.query is None else check_query(request, body.query)
    return memory.feedback(memory_id, body.signal, note=body.note, query=query)


@v1.post("/lessons", response_model=m.LessonsResponse, tags=["learning"])
def lessons(body: m.LessonsRequest, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """Lessons from an agent's past episodes relevant to ``task``, failures weighted up."""
    return memory.lessons(
        check_query(request, body.task),
        agent_id=body.agent_id,
        user_id=body.user_id,
        limit=body.limit,
        threshold=body.threshold,
    )


@v1.post("/forget", response_model=m.TombstoneOut, tags=["lifecycle"])
def forget(body: m.ForgetRequest, memory: WriteMemory) -> dict[str, Any]:
    """Erase a scope's (or one memory's) content everywhere; returns the tombstone."""
    return memory.forget(
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        memory_id=body.memory_id,
        reason=body.reason,
    )


@v1.get("/tombstones", response_model=m.TombstoneList, tags=["lifecycle"])
def list_tombstones(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    limit: Annotated[int, Query(description="1-10000")] = 100,
) -> dict[str, Any]:
    """Records of past erasures (kinds and counts, no content), newest first."""
    return {
        "results": memory.tombstones(user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)
    }


@v1.post("/consolidate", response_model=m.ConsolidateReport, tags=["lifecycle"])
def consolidate(body: m.ConsolidateRequest, memory: WriteMemory) -> dict[str, Any]:
    """Merge near-duplicates and archive stale memories of a scope (or report, dry_run)."""
    return memory.consolidate(
        user_id=body.user_id, agent_id=body.agent_id, run_id=body.run_id, dry_run=body.dry_run
    )


@v1.post("/memories/{memory_id}/restore", response_model=m.MemoryOut, tags=["lifecycle"])
def restore_memory(memory_id: str, memory: WriteMemory) -> dict[str, Any]:
    """Bring back an archived memory."""
    return memory.restore(memory_id)


LimitQ = Annotated[int, Query(description="1-10000")]
InvalidQ = Annotated[bool, Query(description="also relations that ended (superseded)")]


@v1.get("/entities", response_model=m.EntityList, tags=["graph"])
def list_entities(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    limit: LimitQ = 100,
) -> dict[str, Any]:
    """People, places, organisations, things and dates a scope's memories name, most linked
    first."""
    return {
        "results": memory.entities(user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)
    }


@v1.get("/relations", response_model=m.RelationList, tags=["graph"])
def list_relations(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    entity: Annotated[str | None, Query(description="only those touching this name or id")] = None,
    include_invalid: InvalidQ = False,
    limit: LimitQ = 100,
) -> dict[str, Any]:
    """Relations between a scope's entities, newest first (an unknown entity: none)."""
    return {
        "results": memory.relations(
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            entity=entity,
            include_invalid=include_invalid,
            limit=limit,
        )
    }


@v1.get("/graph", response_model=m.GraphOut, tags=["graph"])
def scope_graph(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    limit: Annotated[int, Query(description="most nodes, 1-10000 (at most 500 are drawn)")] = 200,
    include_invalid: InvalidQ = False,
) -> dict[str, Any]:
    """A scope's entities (nodes) and the relations between them (edges), for drawing."""
    return memory.graph(
        user_id=user_id,
        agent_id=agent_id,
        run_id=run_id,
        limit=limit,
        include_invalid=include_invalid,
    )


@v1.post("/entities/merge", response_model=m.MergeOut, tags=["graph"])
def merge_entities(body: m.MergeRequest, memory: WriteMemory) -> dict[str, Any]:
    """Fold entity ``source_id`` into ``target_id`` (same scope); undo with the merge id."""
    return memory.merge_entities(body.source_id, body.target_id)


@v1.post("/entities/merges/{merge_id}/undo", response_model=m.MergeOut, tags=["graph"])
def undo_merge(merge_id: str, memory: WriteMemory) -> dict[str, Any]:
    """Undo an entity merge: the source entity gets back its memories and relations."""
    return memory.unmerge(merge_id)


@v1.post("/context", response_model=m.ContextResponse, tags=["memories"])
def memory_context(body: m.ContextRequest, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """A prompt-ready block of the current memories most relevant to ``query``, with dates,
    within ``max_tokens`` (tokens are estimated; see :meth:`engramdb.Memory.context`)."""
    return memory.context(
        check_query(request, body.query),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        filters=body.filters,
        max_tokens=body.max_tokens,
        limit=body.limit,
    )


def _chunks(handle: IO[str]) -> Iterator[bytes]:
    try:
        handle.seek(0)
        while chunk := handle.read(65536):
            yield chunk.encode("utf-8")
    finally:
        handle.close()


@v1.get(
    "/export",
    response_class=StreamingResponse,
    tags=["transfer"],
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines"}},
)
def export_memories(
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    include_vectors: bool = False,
    include_history: bool = True,
    include_episodes: bool = True,
    include_graph: bool = True,
    include_feedback: bool = True,
) -> StreamingResponse:
    """The tenant's memories (or one scope's) as JSON Lines, as ``engramdb export`` writes."""
    handle: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by _chunks
        max_size=8 * 1_048_576, mode="w+", encoding="utf-8"
    )
    try:
        export_jsonl(
            memory,
            handle,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            include_vectors=include_vectors,
            include_history=include_history,
            include_episodes=include_episodes,
            include_graph=include_graph,
            include_feedback=include_feedback,
        )
    except BaseException:
        handle.close()
        raise
    return StreamingResponse(_chunks(handle), media_type="application/x-ndjson")


@v1.post(
    "/import",
    response_model=m.ImportResponse,
    tags=["transfer"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            "description": "an engramdb export, or chat lines ({role, content} / {messages})",
        }
    },
)
async def import_memories(
    request: Request,
    memory: WriteMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    skip_invalid: bool = False,
) -> dict[str, Any]:
    """Import JSON Lines into the caller's tenant; ids already stored are skipped."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the import body is not UTF-8 text") from None
    report = await run_in_threadpool(
        import_jsonl,
        memory,
        text.splitlines(),
        user_id=user_id,
        agent_id=agent_id,
        run_id=run_id,
        skip_invalid=skip_invalid,
    )
    return report.to_dict()


@v1.post("/keys", response_model=m.KeyCreated, status_code=201, tags=["keys"])
def create_key(body: m.KeyCreate, request: Request, _: Admin) -> dict[str, Any]:
    """Make an API key for a tenant (admin key only); the key is shown only here."""
    created = context(request).keys.create(body.tenant, name=body.name, read_only=body.read_only)
    return {**created.info.to_dict(), "key": created.key}


@v1.get("/keys", response_model=m.KeyList, tags=["keys"])
def list_keys(
    request: Request, _: Admin, tenant: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    """Every key (or one tenant's), without the keys themselves (admin key only)."""
    return {"results": [k.to_dict() for k in context(request).keys.list_keys(tenant)]}


@v1.delete("/keys/{key_id}", response_model=m.MessageResponse, tags=["keys"])
def delete_key(key_id: str, request: Request, _: Admin) -> dict[str, Any]:
    """Revoke a key (admin key only)."""
    if not context(request).keys.delete(key_id):
        raise ApiError(404, "KeyNotFound", f"no API key with id {key_id!r}")
    return {"message": f"key {key_id} revoked"}
