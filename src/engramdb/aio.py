"""``AsyncMemory``: the same facade for asyncio code. Blocking work runs in a worker thread.

There is one implementation of every behaviour (in :class:`~engramdb.memory.Memory`); each
method here is generated from it, so the two can never drift.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from engramdb.memory import Memory

P = ParamSpec("P")
R = TypeVar("R")


def _threaded(
    method: Callable[Concatenate[Memory, P], R],
) -> Callable[Concatenate[AsyncMemory, P], Coroutine[Any, Any, R]]:
    async def run(self: AsyncMemory, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    return cast("Callable[Concatenate[AsyncMemory, P], Coroutine[Any, Any, R]]", wraps(method)(run))


class AsyncMemory:
    """Async twin of :class:`Memory` with the same arguments and return shapes.

    Example::

        m = AsyncMemory(path="./data")
        await m.add("I prefer window seats", user_id="alice")
        hits = await m.search("seat preference", user_id="alice")
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync = Memory(*args, **kwargs)

    @classmethod
    def from_config(cls, config: Any) -> AsyncMemory:
        """Build from one config, as :meth:`Memory.from_config`."""
        return cls(config=config)

    add = _threaded(Memory.add)
    search = _threaded(Memory.search)
    context = _threaded(Memory.context)
    get = _threaded(Memory.get)
    get_all = _threaded(Memory.get_all)
    update = _threaded(Memory.update)
    delete = _threaded(Memory.delete)
    delete_all = _threaded(Memory.delete_all)
    history = _threaded(Memory.history)
    reset = _threaded(Memory.reset)
    reprocess = _threaded(Memory.reprocess)
    add_status = _threaded(Memory.add_status)
    wait = _threaded(Memory.wait)
    episodes = _threaded(Memory.episodes)
    recent = _threaded(Memory.recent)
    profile = _threaded(Memory.profile)
    scopes = _threaded(Memory.scopes)
    stats = _threaded(Memory.stats)
    feedback = _threaded(Memory.feedback)
    lessons = _threaded(Memory.lessons)
    forget = _threaded(Memory.forget)
    tombstones = _threaded(Memory.tombstones)
    consolidate = _threaded(Memory.consolidate)
    restore = _threaded(Memory.restore)
    entities = _threaded(Memory.entities)
    relations = _threaded(Memory.relations)
    graph = _threaded(Memory.graph)
    merge_entities = _threaded(Memory.merge_entities)
    unmerge = _threaded(Memory.unmerge)
    close = _threaded(Memory.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
