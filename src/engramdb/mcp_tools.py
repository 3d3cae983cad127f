"""The MCP tools: one thin async wrapper per :class:`~engramdb.Memory` method.

Each tool resolves *whose* memory it acts on (:class:`McpAccess`) from the request: over HTTP the
key-checking ASGI wrapper in :mod:`engramdb.mcp_http` stores it in the request's ASGI scope; over
stdio there is one fixed access. Blocking ``Memory`` calls run in a worker thread, and every
engramdb error becomes a tool error (``isError``) whose text names the problem.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from engramdb.errors import EngramError, MemoryNotFoundError, ScopeError
from engramdb.filters import SCOPE_FIELDS, parse, split_scope
from engramdb.memory import Memory

#: Key of the ASGI scope entry holding the caller's :class:`McpAccess` (set by mcp_http).
ACCESS_SCOPE_KEY = "engramdb.mcp_access"

T = TypeVar("T")


class _Ids(TypedDict):
    user_id: str | None
    agent_id: str | None
    run_id: str | None


@dataclass(frozen=True)
class McpAccess:
    """What one caller may touch: a (tenant-scoped) ``Memory``, and how.

    ``read_only`` refuses add/update/delete; ``default_user`` (when set) is the user_id of
    calls that name no scope, overriding the server-wide default.
    """

    memory: Memory
    read_only: bool = False
    default_user: str | None = None


# -- argument types: the JSON schema an LLM reads ------------------------------------------

UserId = Annotated[
    str | None,
    Field(description="Whose memory: the end user's id. Omit to use the default user."),
]
AgentId = Annotated[
    str | None, Field(description="The agent the memory belongs to (optional scope).")
]
RunId = Annotated[
    str | None, Field(description="One conversation or task run (optional, narrowest scope).")
]
Metadata = Annotated[
    dict[str, Any] | None,
    Field(description='Free-form JSON object stored with the memory, e.g. {"topic": "food"}.'),
]
Filters = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "Optional filter expression. Plain keys match metadata or record fields "
            '({"metadata.topic": "food"}, {"memory_type": "preference"}); operators: '
            '{"field": {"gte": 3}} with eq, ne, gt, gte, lt, lte, in, nin, contains; '
            'combine with {"AND": [...]}, {"OR": [...]}, {"NOT": {...}}.'
        )
    ),
]
MemoryId = Annotated[
    str, Field(min_length=1, description="A memory id, as returned by add/search/list.")
]


# -- descriptions --------------------------------------------------------------------------


def _scope_note(default_user: str | None) -> str:
    if default_user:
        return (
            f"When no user_id, agent_id or run_id is given, the memories of user "
            f"{default_user!r} are used."
        )
    return "Give at least one of user_id, agent_id or run_id."


def _descriptions(default_user: str | None) -> dict[str, str]:
    scope = _scope_note(default_user)
    return {
        "add_memory": (
            "Remember something for later: a fact, preference or event in plain text. "
            "With infer=true (default) the text is distilled into short facts and reconciled "
            "with what is already known (new facts are added, changed ones update or replace "
            "the old memory, known ones are skipped); infer=false stores the text verbatim. "
            f"Returns the resulting memories with their ids and events. {scope}"
        ),
        "search_memory": (
            "Find the stored memories most relevant to a natural-language query, best "
            "first (hybrid semantic + keyword search). Use this before answering questions "
            f"about the user's past, preferences or plans. {scope}"
        ),
        "get_context": (
            "Get a ready-to-read block of the stored memories most relevant to a query: "
            "current facts only, one dated line each, oldest first, within a token budget. "
            "Use it to load what is known before answering, instead of several searches. "
            f"{scope}"
        ),
        "list_memories": f"List the stored memories of a scope, newest first. {scope}",
        "get_memory": "Fetch one memory by its id.",
        "update_memory": (
            "Change a memory's text and/or metadata (metadata is replaced, not merged). "
            "The old text stays in memory_history."
        ),
        "delete_memory": "Delete one memory by its id. Its history is kept.",
        "forget_memory": (
            "Erase one memory for real when the user asks to forget it: its text, its history "
            "text and the messages it came from are removed; only a content-free record that "
            "something was erased remains. Use delete_memory for ordinary removals."
        ),
        "memory_history": (
            "Every change of a memory (ADD, UPDATE, SUPERSEDE, DELETE), oldest first; "
            "available even after the memory was deleted."
        ),
        "memory_feedback": (
            "Judge a memory or search result: 'useful', 'not_useful' or 'wrong'. Give the "
            "query it answered so later searches like it rank it up (useful) or down "
            "(not_useful); 'wrong' takes it out of search. Kept in memory_history."
        ),
        "record_experience": (
            "After finishing or failing a task, record what happened so the agent learns: "
            "the task, what was tried, and the result or error, with outcome 'success', "
            "'failure' or 'partial'. It is stored as lessons for this agent_id."
        ),
        "recall_lessons": (
            "Before starting a task, get the lessons this agent recorded from past attempts "
            "at similar tasks: what worked, what failed and why, and what to do instead. "
            "Failures that match the task come first."
        ),
    }


# -- plumbing ------------------------------------------------------------------------------


class _Tools:
    """The tool functions, bound to how they find the caller's access."""

    def __init__(self, fixed: McpAccess | None, default_user: str | None) -> None:
        self._fixed = fixed
        self._default_user = default_user

    def access(self, ctx: Context) -> McpAccess:
        """The caller's access: from the HTTP request's scope, else the fixed one (stdio)."""
        request = ctx.request_context.request
        scope = getattr(request, "scope", None)
        if isinstance(scope, dict):
            found = scope.get(ACCESS_SCOPE_KEY)
            if isinstance(found, McpAccess):
                return found
        if self._fixed is not None:
            return self._fixed
        raise ToolError("not authenticated: this server needs an API key")

    def writable(self, ctx: Context) -> McpAccess:
        access = self.access(ctx)
        if access.read_only:
            raise ToolError("this API key is read-only: it cannot add, update or delete")
        return access

    def scope(
        self,
        access: McpAccess,
        user_id: str | None,
        agent_id: str | None,
        run_id: str | None,
        filters: dict[str, Any] | None = None,
    ) -> _Ids:
        """The scope ids of a call; the default user when the call names none."""
        ids = _Ids(user_id=user_id, agent_id=agent_id, run_id=run_id)
        if any(v is not None for v in ids.values()):
            return ids
        if filters and set(split_scope(parse(filters))[0]) & set(SCOPE_FIELDS):
            return ids  # the scope is inside filters (Mem0 2.x style)
        default = access.default_user or self._default_user
        if default is None:
            raise ScopeError(
                "name whose memories these are: give user_id, agent_id or run_id "
                "(this server has no default user; set ENGRAMDB_USER to have one)"
            )
        return _Ids(user_id=default, agent_id=None, run_id=None)

    # Each tool: resolve access, then run the blocking work in a thread.

    async def add_memory(
        self,
        ctx: Context,
        text: Annotated[str, Field(min_length=1, description="What to remember, in plain text.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        metadata: Metadata = None,
        infer: Annotated[
            bool,
            Field(description="Distil and reconcile facts (true) or store verbatim (false)."),
        ] = True,
    ) -> dict[str, Any]:
        access = self.writable(ctx)

        def work() -> dict[str, Any]:
            ids = self.scope(access, user_id, agent_id, run_id)
            return access.memory.add(text, metadata=metadata, infer=infer, **ids)

        return await _run(work)

    async def search_memory(
        self,
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="What to look for.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        filters: Filters = None,
        limit: Annotated[int, Field(ge=1, le=100, description="At most this many hits.")] = 10,
    ) -> dict[str, Any]:
        access = self.access(ctx)

        def work() -> dict[str, Any]:
            ids = self.scope(access, user_id, agent_id, run_id, filters)
            return access.memory.search(query, filters=filters, limit=limit, **ids)

        return await _run(work)

    async def get_context(
        self,
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="What the answer is about.")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        filters: Filters = None,
        max_tokens: Annotated[
            int, Field(ge=1, le=100_000, description="Token budget of the block.")
        ] = 400,
    ) -> dict[str, Any]:
        access = self.access(ctx)

        def work() -> dict[str, Any]:
            ids = self.scope(access, user_id, agent_id, run_id, filters)
            return access.memory.context(query, filters=filters, max_tokens=max_tokens, **ids)

        return await _run(work)

    async def list_memories(
        self,
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        run_id: RunId = None,
        limit: Annotated[
            int, Field(ge=1, le=1000, description="At most this many memories.")
        ] = 100,
    ) -> dict[str, Any]:
        access = self.access(ctx)

        def work() -> dict[str, Any]:
            ids = self.scope(access, user_id, agent_id, run_id)
            return access.memory.get_all(limit=limit, **ids)

        return await _run(work)

    async def get_memory(self, ctx: Context, memory_id: MemoryId) -> dict[str, Any]:
        memory = self.access(ctx).memory

        def work() -> dict[str, Any]:
            found = memory.get(memory_id)
            if found is None:
                raise MemoryNotFoundError(memory_id)
            return found

        return await _run(work)

    async def update_memory(
        self,
        ctx: Context,
        memory_id: MemoryId,
        text: Annotated[str | None, Field(description="The new text (omit to keep it).")] = None,
        metadata: Annotated[
            dict[str, Any] | None,
            Field(description="The new metadata, replacing the old (omit to keep it)."),
        ] = None,
    ) -> dict[str, Any]:
        memory = self.writable(ctx).memory
        return await _run(functools.partial(memory.update, memory_id, text, metadata))

    async def delete_memory(self, ctx: Context, memory_id: MemoryId) -> dict[str, Any]:
        memory = self.writable(ctx).memory
        return await _run(functools.partial(memory.delete, memory_id))

    async def forget_memory(
        self,
        ctx: Context,
        memory_id: MemoryId,
        reason: Annotated[
            str | None, Field(max_length=500, description="Why (kept in the erasure record).")
        ] = None,
    ) -> dict[str, Any]:
        memory = self.writable(ctx).memory
        return await _run(functools.partial(memory.forget, memory_id=memory_id, reason=reason))

    async def memory_history(self, ctx: Context, memory_id: MemoryId) -> dict[str, Any]:
        memory = self.access(ctx).memory

        def work() -> dict[str, Any]:
            return {"memory_id": memory_id, "history": memory.history(memory_id)}

        return await _run(work)

    async def memory_feedback(
        self,
        ctx: Context,
        memory_id: MemoryId,
        signal: Annotated[str, Field(description="useful, not_useful or wrong")],
        note: Annotated[str | None, Field(description="Why (optional).")] = None,
        query: Annotated[
            str | None, Field(description="The search the memory was a result of (optional).")
        ] = None,
    ) -> dict[str, Any]:
        memory = self.writable(ctx).memory
        return await _run(
            functools.partial(memory.feedback, memory_id, signal, note=note, query=query)
        )

    async def record_experience(
        self,
        ctx: Context,
        episode: Annotated[
            str,
            Field(min_length=1, description="The task, the steps taken and the result or error."),
        ],
        agent_id: Annotated[str, Field(min_length=1, description="The agent that learns.")],
        outcome: Annotated[str, Field(description="success, failure or partial")],
        user_id: Annotated[
            str | None, Field(description="Also scope the lessons to this user (optional).")
        ] = None,
        metadata: Metadata = None,
    ) -> dict[str, Any]:
        memory = self.writable(ctx).memory
        return await _run(
            functools.partial(
                memory.add,
                episode,
                agent_id=agent_id,
                user_id=user_id,
                metadata=metadata,
                memory_type="experience",
                outcome=outcome,
            )
        )

    async def recall_lessons(
        self,
        ctx: Context,
        task: Annotated[str, Field(min_length=1, description="The task about to be attempted.")],
        agent_id: Annotated[str, Field(min_length=1, description="The agent that learned.")],
        user_id: Annotated[str | None, Field(description="Only this user's lessons.")] = None,
        limit: Annotated[int, Field(ge=1, le=50, description="At most this many lessons.")] = 5,
    ) -> dict[str, Any]:
        memory = self.access(ctx).memory
        return await _run(
            functools.partial(memory.lessons, task, agent_id=agent_id, user_id=user_id, limit=limit)
        )


async def _run(fn: Callable[[], T]) -> T:
    """Run blocking engramdb work in a thread; its errors become tool errors."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except EngramError as exc:
        raise ToolError(f"{type(exc).__name__}: {exc}") from None


_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_CHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
_DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def register_tools(server: MCPServer, *, fixed: McpAccess | None, default_user: str | None) -> None:
    """Add the memory tools (nine) and the learning tools (three) to ``server``.

    ``fixed`` is the access of every call that carries none in its request (stdio); with
    ``fixed=None`` such calls fail, which is what an HTTP server wants.
    """
    tools = _Tools(fixed, default_user)
    text = _descriptions(default_user)
    table: list[tuple[Callable[..., Any], str, ToolAnnotations]] = [
        (tools.add_memory, "Remember", _WRITE),
        (tools.search_memory, "Search memories", _READ),
        (tools.get_context, "Get memory context", _READ),
        (tools.list_memories, "List memories", _READ),
        (tools.get_memory, "Get a memory", _READ),
        (tools.update_memory, "Update a memory", _CHANGE),
        (tools.delete_memory, "Delete a memory", _DELETE),
        (tools.forget_memory, "Forget a memory for real", _DELETE),
        (tools.memory_history, "Memory history", _READ),
        (tools.memory_feedback, "Give feedback on a memory", _WRITE),
        (tools.record_experience, "Record an experience", _WRITE),
        (tools.recall_lessons, "Recall lessons", _READ),
    ]
    for fn, title, hints in table:
        name = fn.__name__
        server.add_tool(
            fn,
            name=name,
            title=title,
            description=text[name],
            annotations=hints,
            structured_output=True,
        )
