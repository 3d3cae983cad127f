"""Memory for a chat loop in three lines: :func:`with_memory` and :func:`context_block`.

::

    from engramdb import Memory
    from engramdb.integrations.chat import with_memory

    chat = with_memory(my_chat, Memory(), user_id="alice")   # my_chat(messages) -> str
    chat([{"role": "user", "content": "Book me a table for Friday."}])

Before each turn the wrapper searches the user's memories with the last user message, renders
the most relevant ones as a token-budgeted block of dated lines (:meth:`Memory.context
<engramdb.Memory.context>`), and puts it before the
conversation as a system message (after the caller's own system prompt, if any). After the
turn it adds the exchange (user message and reply) with ``infer=True``, so facts are extracted
and reconciled; ``background=True`` queues that instead of waiting for it. Works with a
:class:`~engramdb.Memory` or a remote :class:`~engramdb.Client` (which has no background mode;
its adds are synchronous).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from engramdb.client import Client
from engramdb.memory import Memory
from engramdb.retrieve.context import HEADER, estimate_tokens

__all__ = ["HEADER", "context_block", "estimate_tokens", "with_memory"]

R = TypeVar("R")
MemoryBackend = Memory | Client
Messages = list[dict[str, Any]]


def context_block(
    memory: MemoryBackend,
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    max_tokens: int = 400,
    limit: int = 100,
    filters: dict[str, Any] | None = None,
) -> str:
    """The text of :meth:`Memory.context <engramdb.Memory.context>` (dated lines of the
    memories most relevant to ``query``, within ``max_tokens``, header included), or ``""``
    when the query is blank or nothing fits. ``filters`` narrow the search, e.g.
    ``{"NOT": {"memory_type": "episode"}}`` to leave out messages the offline extractor kept
    verbatim.

    >>> print(context_block(m, "dinner plans", user_id="alice", max_tokens=60))
    Relevant memories, oldest first (the date is when each became true):
    - [2024-03-15] Is vegetarian
    """
    if not query.strip():
        return ""
    found = memory.context(
        query,
        user_id=user_id,
        agent_id=agent_id,
        run_id=run_id,
        filters=filters,
        max_tokens=max_tokens,
        limit=limit,
    )
    text: str = found["text"]
    return text


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text")
        )
    return ""


def with_memory(
    chat_fn: Callable[[Messages], R],
    memory: MemoryBackend,
    *,
    user_id: str,
    agent_id: str | None = None,
    max_tokens: int = 400,
    background: bool = False,
    reply_text: Callable[[R], str] | None = None,
    filters: dict[str, Any] | None = None,
) -> Callable[[Messages | str], R]:
    """Wrap ``chat_fn(messages) -> reply`` so each turn reads and writes ``user_id``'s memory.

    The wrapped function takes the messages (or one user string) and returns ``chat_fn``'s
    reply unchanged. ``reply_text`` turns a reply that is not a string (an SDK response
    object) into the text to remember; ``filters`` are passed to :func:`context_block`. The
    caller's list is never modified.
    """
    as_text: Callable[[R], str] = reply_text if reply_text is not None else _default_text

    def chat(messages: Messages | str) -> R:
        msgs: Messages = (
            [{"role": "user", "content": messages}] if isinstance(messages, str) else messages
        )
        last_user = next((m for m in reversed(msgs) if m.get("role") == "user"), None)
        query = _text(last_user.get("content")) if last_user is not None else ""
        block = context_block(
            memory,
            query,
            user_id=user_id,
            agent_id=agent_id,
            max_tokens=max_tokens,
            filters=filters,
        )
        # After the caller's own system prompt(s), before the conversation.
        head = next((i for i, m in enumerate(msgs) if m.get("role") != "system"), len(msgs))
        memo = [{"role": "system", "content": block}] if block else []
        prompt = [*msgs[:head], *memo, *msgs[head:]]
        reply = chat_fn(prompt)
        text = as_text(reply)
        exchange: Messages = []
        if query.strip():
            exchange.append({"role": "user", "content": query})
        if text.strip():
            exchange.append({"role": "assistant", "content": text})
        if exchange:
            if isinstance(memory, Memory):
                memory.add(exchange, user_id=user_id, agent_id=agent_id, background=background)
            else:
                memory.add(exchange, user_id=user_id, agent_id=agent_id)
        return reply

    return chat


def _default_text(reply: Any) -> str:
    if isinstance(reply, str):
        return reply
    if isinstance(reply, dict):  # {"role": "assistant", "content": ...}
        return _text(reply.get("content"))
    raise TypeError(f"chat_fn returned {type(reply).__name__}; pass reply_text= to get its text")
