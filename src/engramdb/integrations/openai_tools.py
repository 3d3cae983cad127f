"""Memory tools for function calling: OpenAI-format definitions and one dispatcher.

No SDK needed: the definitions are plain JSON schema in the ``tools`` format of the OpenAI
Chat Completions API (which every OpenAI-compatible server accepts), and
:func:`handle_tool_call` runs a call the model made against a :class:`~engramdb.Memory` (or a
remote :class:`~engramdb.Client`), always in the scope you give it, never one the model picks::

    from engramdb import Memory
    from engramdb.integrations.openai_tools import TOOLS, handle_tool_call

    m = Memory()
    reply = client.chat.completions.create(model=..., messages=msgs, tools=TOOLS)
    for call in reply.choices[0].message.tool_calls or []:
        result = handle_tool_call(m, call.function.name, call.function.arguments, user_id="alice")
        msgs.append({"role": "tool", "tool_call_id": call.id, "content": result})

With the OpenAI Agents SDK, wrap :func:`agents_tool_functions` with ``function_tool``:
``tools = [function_tool(f) for f in agents_tool_functions(m, user_id="alice")]``.
Each result is a JSON string; an error comes back as ``{"error": ...}`` for the model to read,
not as an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engramdb.client import Client
from engramdb.errors import EngramError
from engramdb.memory import Memory

__all__ = [
    "TOOLS",
    "TOOL_NAMES",
    "agents_tool_functions",
    "handle_tool_call",
    "tool_definitions",
]

MemoryBackend = Memory | Client

_ID = {"type": "string", "description": "A memory id from search_memory."}
_PARAMETERS: dict[str, dict[str, Any]] = {
    "add_memory": {
        "description": (
            "Remember a durable fact, preference or decision the user shared. One topic per "
            "call, in plain words. Existing memories are updated, not duplicated."
        ),
        "properties": {
            "text": {"type": "string", "minLength": 1, "description": "What to remember."}
        },
        "required": ["text"],
    },
    "search_memory": {
        "description": (
            "Search long-term memory about the user. Call it before answering anything that "
            "may depend on their past, preferences or plans."
        ),
        "properties": {
            "query": {"type": "string", "minLength": 1, "description": "A short question."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
        },
        "required": ["query"],
    },
    "update_memory": {
        "description": "Correct a memory: replace its text. Use an id from search_memory.",
        "properties": {
            "memory_id": _ID,
            "text": {"type": "string", "minLength": 1, "description": "The corrected text."},
        },
        "required": ["memory_id", "text"],
    },
    "delete_memory": {
        "description": "Forget a memory the user retracted. Use an id from search_memory.",
        "properties": {"memory_id": _ID},
        "required": ["memory_id"],
    },
}
TOOL_NAMES: tuple[str, ...] = tuple(_PARAMETERS)


def tool_definitions(names: tuple[str, ...] | list[str] = TOOL_NAMES) -> list[dict[str, Any]]:
    """Tool definitions in the OpenAI ``tools`` format (``{"type": "function", ...}``)."""
    out = []
    for name in names:
        spec = _PARAMETERS[name]
        out.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": spec["description"],
                    "parameters": {
                        "type": "object",
                        "properties": spec["properties"],
                        "required": spec["required"],
                        "additionalProperties": False,
                    },
                },
            }
        )
    return out


#: All four tools, ready for ``tools=TOOLS``.
TOOLS: list[dict[str, Any]] = tool_definitions()


def _owned(memory: MemoryBackend, memory_id: Any, scope: dict[str, str | None]) -> str:
    """``memory_id`` if it belongs to ``scope``: a model must not touch other users' memories."""
    if not isinstance(memory_id, str) or not memory_id:
        raise EngramError("memory_id must be a non-empty string")
    record = memory.get(memory_id)
    if record is None or any(
        value is not None and record.get(key) != value for key, value in scope.items()
    ):
        raise EngramError(f"no memory with id {memory_id!r}")
    return memory_id


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise EngramError(f"{name} must be a non-empty string")
    return value


def _run(
    memory: MemoryBackend, name: str, args: dict[str, Any], scope: dict[str, str | None]
) -> dict[str, Any]:
    user_id, agent_id, run_id = scope["user_id"], scope["agent_id"], scope["run_id"]
    if name == "add_memory":
        out = memory.add(_text(args, "text"), user_id=user_id, agent_id=agent_id, run_id=run_id)
        return {
            "results": [
                {"id": r.get("id"), "memory": r.get("memory"), "event": r.get("event")}
                for r in out["results"]
            ]
        }
    if name == "search_memory":
        limit = args.get("limit", 5)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise EngramError("limit must be an integer from 1 to 50")
        hits = memory.search(
            _text(args, "query"), user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit
        )["results"]
        return {
            "results": [
                {
                    "id": h["id"],
                    "memory": h["memory"],
                    "score": h.get("score"),
                    "created_at": h.get("created_at"),
                }
                for h in hits
            ]
        }
    if name == "update_memory":
        mid = _owned(memory, args.get("memory_id"), scope)
        out = memory.update(mid, text=_text(args, "text"))
        return {"id": mid, "memory": out.get("memory"), "event": "UPDATE"}
    if name == "delete_memory":
        mid = _owned(memory, args.get("memory_id"), scope)
        memory.delete(mid)
        return {"id": mid, "event": "DELETE"}
    raise EngramError(f"unknown tool {name!r}; known: {', '.join(TOOL_NAMES)}")


def handle_tool_call(
    memory: MemoryBackend,
    name: str,
    arguments_json: str | dict[str, Any] | None,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> str:
    """Run the tool call ``name(arguments_json)`` in the given scope; the result as JSON.

    ``arguments_json`` is the model's argument string (a dict is accepted too). Bad arguments,
    unknown tools and engramdb errors come back as ``{"error": "..."}`` so the model can
    recover; nothing is changed by a call that fails.
    """
    scope = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    try:
        if arguments_json is None or arguments_json == "":
            args: Any = {}
        elif isinstance(arguments_json, str):
            args = json.loads(arguments_json)
        else:
            args = arguments_json
        if not isinstance(args, dict):
            raise EngramError("arguments must be a JSON object")
        result = _run(memory, name, args, scope)
    except json.JSONDecodeError as exc:
        result = {"error": f"arguments are not valid JSON: {exc}"}
    except EngramError as exc:
        result = {"error": str(exc)}
    return json.dumps(result, ensure_ascii=False, default=str)


def agents_tool_functions(
    memory: MemoryBackend,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> list[Callable[..., str]]:
    """Plain typed functions for the OpenAI Agents SDK's ``function_tool`` (or any framework
    that builds tools from signatures and docstrings), bound to one scope."""
    scope: dict[str, Any] = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}

    def add_memory(text: str) -> str:
        """Remember a durable fact, preference or decision the user shared."""
        return handle_tool_call(memory, "add_memory", {"text": text}, **scope)

    def search_memory(query: str, limit: int = 5) -> str:
        """Search long-term memory about the user."""
        return handle_tool_call(memory, "search_memory", {"query": query, "limit": limit}, **scope)

    def update_memory(memory_id: str, text: str) -> str:
        """Correct a memory's text; memory_id comes from search_memory."""
        args = {"memory_id": memory_id, "text": text}
        return handle_tool_call(memory, "update_memory", args, **scope)

    def delete_memory(memory_id: str) -> str:
        """Forget a memory the user retracted; memory_id comes from search_memory."""
        return handle_tool_call(memory, "delete_memory", {"memory_id": memory_id}, **scope)

    return [add_memory, search_memory, update_memory, delete_memory]
