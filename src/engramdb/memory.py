"""The facade users call: ``Memory``. Validation first, then one store transaction per write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engramdb.config import MemoryConfig
from engramdb.embed.base import Embedder
from engramdb.errors import MemoryNotFoundError, ScopeError, ValidationError
from engramdb.facade.graph import GraphMethods
from engramdb.facade.learning import LearningMethods
from engramdb.facade.lifecycle import LifecycleMethods
from engramdb.filters import Node, parse, split_scope
from engramdb.graph import retrieve as graph_retrieve
from engramdb.ingest import plan, verbatim
from engramdb.ingest.messages import parse_messages
from engramdb.ingest.pipeline import OPTIONS_KEY, Ingestor, episodes_for
from engramdb.learn.experience import add_options
from engramdb.lifecycle.access import AccessLog
from engramdb.llm.base import LLM, Usage
from engramdb.llm.sync import run_sync
from engramdb.models import Change, Episode, MemoryRecord, Scope, WriteBatch
from engramdb.queue import BackgroundQueue, worker_id
from engramdb.registry import build_embedder, build_extractor, build_llm, build_store
from engramdb.retrieve.asof import search_as_of
from engramdb.retrieve.context import TokenCounter, build_context, check_budget
from engramdb.retrieve.profile import build_profile
from engramdb.retrieve.search import Hit, search, search_text
from engramdb.store.base import Store
from engramdb.text.terms import terms
from engramdb.timeutil import TimeInput, iso, to_datetime, to_iso, utcnow
from engramdb.validation import (
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    check_id,
    check_importance,
    check_limit,
    check_metadata,
    check_offset,
    check_query,
)

MEMORY_TYPES = ("fact", "episode", "procedural", "preference", "experience")


def _usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "llm_calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }


def _by_batch(episodes: list[Episode]) -> list[list[Episode]]:
    groups: dict[str, list[Episode]] = {}
    for e in sorted(episodes, key=lambda e: (e.created_at, e.id)):
        groups.setdefault(e.batch_id, []).append(e)
    return list(groups.values())


def _hit_dict(hit: Hit) -> dict[str, Any]:
    out = hit.record.to_dict()
    out["score"] = round(hit.score, 6)
    out["similarity"] = round(hit.similarity, 6)
    return out


class Memory(LearningMethods, LifecycleMethods, GraphMethods):
    """Long-term memory for agents, embedded and offline by default.

    Example::

        from engramdb import Memory

        m = Memory(path="./data")
        m.add("I'm vegetarian and I live in Lisbon.", user_id="alice")
        m.search("what should I cook for alice?", user_id="alice")["results"][0]["memory"]

    ``path`` is a data directory (default ``$ENGRAMDB_HOME`` or ``~/.engramdb``); the store is
    ``<path>/memories.db``. Ready-built ``store``/``embedder`` instances may be passed instead of
    configuration, which is how tests and the server share one store.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        config: MemoryConfig | dict[str, Any] | str | Path | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
        llm: LLM | None = None,
    ) -> None:
        cfg = MemoryConfig.load(config)
        if path is not None:
            cfg = cfg.model_copy(update={"home": str(path)})
        self.config = cfg
        self.embedder = embedder if embedder is not None else build_embedder(cfg.embedder)
        # Only a store this facade opened is closed by close(); a passed-in one is shared.
        self._owns_store = store is None
        self.store = store if store is not None else build_store(cfg, self.embedder.dims)
        self.tenant = cfg.tenant
        self._owns_llm = llm is None
        self.llm = llm if llm is not None else build_llm(cfg)
        self.ingestor = Ingestor(
            self.store,
            self.embedder,
            build_extractor(cfg, self.llm),
            vision=self.llm if cfg.vision else None,
        )
        self._usage = Usage()
        self._usage_lock = threading.Lock()
        #: Called with (tenant, usage) after every extraction that used the LLM; the server
        #: meters LLM calls and tokens per tenant with it.
        self.on_usage: Callable[[str, Usage], None] | None = None
        self._access = AccessLog(self.store)
        self._owns_access = True
        self._queue = BackgroundQueue(self.store, self.ingestor, self.tenant, self._count)
        self._closed = threading.Event()
        # Work queued by a process that died before extracting it resumes here.
        self._queue.resume()

    @classmethod
    def from_config(cls, config: MemoryConfig | dict[str, Any] | str | Path) -> Memory:
        """Build from one config (dict, model or file path); see :class:`MemoryConfig`.

        >>> m = Memory.from_config({"home": "/tmp/engram-doc", "retrieval": {"preset": "hybrid"}})
        """
        return cls(config=config)

    def for_tenant(self, tenant: str) -> Memory:
        """A facade over the same store and embedder, confined to ``tenant``.

        The server builds one per API key; every store query of the result carries the tenant,
        so it can never read or change another tenant's memories. Cheap: nothing is reopened.
        """
        if not isinstance(tenant, str) or not tenant:
            raise ValidationError("tenant must be a non-empty string")
        if tenant == self.tenant:
            return self
        cfg = self.config.model_copy(update={"tenant": tenant})
        view = Memory(config=cfg, embedder=self.embedder, store=self.store, llm=self.llm)
        view.on_usage = self.on_usage
        # One access log per store: a facade per API key must not start a thread each.
        view._access, view._owns_access = self._access, False
        return view

    # -- scope ----------------------------------------------------------------------------

    def _scope(
        self,
        user_id: Any,
        agent_id: Any,
        run_id: Any,
        filters: dict[str, Any] | None = None,
        *,
        required: bool,
        action: str,
    ) -> tuple[Scope, Node | None]:
        ids = {
            "user_id": check_id("user_id", user_id),
            "agent_id": check_id("agent_id", agent_id),
            "run_id": check_id("run_id", run_id),
        }
        from_filters, where = split_scope(parse(filters))
        for key, value in from_filters.items():
            if ids[key] is not None and ids[key] != value:
                raise ValidationError(
                    f"{key} is {ids[key]!r} but filters say {value!r}; give it once"
                )
            ids[key] = check_id(key, value)
        scope = Scope(tenant=self.tenant, **ids)
        if required and scope.is_empty:
            raise ScopeError(
                f"{action} needs at least one of user_id, agent_id or run_id "
                "(as arguments or inside filters)"
            )
        return scope, where

    def _owned(self, memory_id: Any) -> MemoryRecord:
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        record = self.store.get(memory_id, self.tenant)
        if record is None:
            raise MemoryNotFoundError(memory_id)
        return record

    # -- writes ---------------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
        timestamp: TimeInput | None = None,
        memory_type: str | None = None,
        background: bool = False,
        outcome: str | None = None,
        expires_at: TimeInput | None = None,
        importance: float | None = None,
    ) -> dict[str, Any]:
        """Remember ``messages`` (a string, a ``{"role", "content"}`` dict, or a list).

        ``infer=True`` (default) extracts facts and keeps memory current: each fact is added,
        updates or supersedes an existing memory, or is recognised as known; the raw messages
        are kept as episodes first, so nothing said is lost if extraction fails. With an LLM
        configured one call does it; offline, deterministic rules do. ``infer=False`` stores
        every non-system message verbatim (a list of 500 is one batched write).

        ``timestamp`` (datetime, ISO-8601 or epoch seconds; naive = UTC) is when the messages
        were said; relative dates in them are resolved against it. ``memory_type="procedural"``
        (with ``agent_id``) stores a step-by-step summary of an agent's run;
        ``memory_type="experience"`` (with ``agent_id`` and ``outcome`` "success", "failure" or
        "partial") stores the episode's lessons, found again by :meth:`lessons`.
        ``background=True`` queues extraction durably and returns at once.
        ``expires_at`` (a time) hides the memories made from these messages after it;
        ``importance`` (0..1, default 0.5) weighs them in decay ranking and consolidation.

        Returns ``{"results": [{"id", "memory", "event", ...}], ...}`` where event is ADD,
        UPDATE, SUPERSEDE, DELETE or NONE.
        """
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="add")
        meta = check_metadata(metadata)
        msgs = plan.storable(parse_messages(messages))
        if not msgs:
            raise ValidationError("messages hold only system messages: nothing to remember")
        at = to_iso(timestamp) if timestamp is not None else iso(utcnow())
        if memory_type is not None and memory_type not in MEMORY_TYPES:
            raise ValidationError(
                f"memory_type must be one of {', '.join(MEMORY_TYPES)}, not {memory_type!r}"
            )
        options = add_options(memory_type, outcome, scope, infer)
        lifecycle: dict[str, Any] = {}
        if expires_at is not None:
            lifecycle["expires_at"] = to_iso(expires_at, field="expires_at")
        if importance is not None:
            lifecycle["importance"] = check_importance(importance)
        if not infer:
            results = verbatim.write(
                self.store,
                self.embedder,
                msgs,
                scope,
                meta,
                at,
                memory_type=memory_type or "fact",
                lifecycle=lifecycle,
            )
            return {"results": results, "usage": _usage_dict(Usage())}
        if memory_type and not options:
            options = {"memory_type": memory_type}
        options.update(lifecycle)
        episodes = episodes_for(msgs, scope, meta, at, options)
        if background:
            for e in episodes:
                e.status = "queued"
        self.store.apply(WriteBatch(episodes=episodes))
        episode_ids = [e.id for e in episodes]
        if background:
            self._queue.kick()
            return {
                "results": [],
                "status": "queued",
                "batch_id": episodes[0].batch_id,
                "episode_ids": episode_ids,
            }
        usage = Usage()
        try:
            done = self.ingestor.run(episodes, usage)
        finally:
            # Calls of a failed extraction cost tokens too: count them either way.
            self._count(usage)
        out: dict[str, Any] = {
            "results": done.results,
            "episode_ids": episode_ids,
            "usage": _usage_dict(done.usage),
        }
        if done.warnings:
            out["warnings"] = done.warnings
        return out

    def _count(self, usage: Usage) -> None:
        with self._usage_lock:
            self._usage.merge(usage)
        if self.on_usage is not None and usage.calls:
            self.on_usage(self.tenant, usage)

    def reprocess(
        self,
        episode_ids: list[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        status: str = "failed",
    ) -> dict[str, Any]:
        """Run extraction again on stored episodes: given ids, or those of a scope whose
        extraction ``status`` is ``failed`` (or ``pending``, ``queued``, ``done``)."""
        scope, _ = self._scope(
            user_id, agent_id, run_id, required=episode_ids is None, action="reprocess"
        )
        if episode_ids is not None:
            found = self.store.episodes(scope, ids=episode_ids, limit=len(episode_ids) or 1)
        else:
            found = self.store.episodes(scope, status=status, limit=10_000, newest_first=False)
        if status == "queued" and episode_ids is None:
            # The background worker may be on them too: take each batch only if still queued.
            claimed = [
                self.store.claim_queued(self.tenant, b[0].batch_id, worker_id())
                for b in _by_batch(found)
            ]
            found = [e for batch in claimed for e in batch]
        results: list[dict[str, Any]] = []
        usage = Usage()
        try:
            for batch in _by_batch(found):
                results.extend(self.ingestor.run(batch, usage).results)
        finally:
            self._count(usage)
        return {"results": results, "episodes": len(found), "usage": _usage_dict(usage)}

    def add_status(self, batch_id: str) -> dict[str, Any]:
        """Where a ``background=True`` add stands: queued, pending, done or failed."""
        episodes = [
            e
            for e in self.store.episodes(Scope(tenant=self.tenant), ids=None, limit=10_000)
            if e.batch_id == batch_id
        ]
        if not episodes:
            raise ValidationError(f"no add with batch_id {batch_id!r}")
        statuses = {e.status for e in episodes}
        status = next(s for s in ("failed", "pending", "queued", "done") if s in statuses)
        return {"batch_id": batch_id, "status": status, "episodes": [e.to_dict() for e in episodes]}

    def wait(self, timeout: float | None = None) -> bool:
        """Block until queued background adds are processed; False on timeout."""
        return self._queue.wait(timeout)

    def recent(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        n: int = 20,
    ) -> list[dict[str, Any]]:
        """Working memory: the last ``n`` messages said in a scope (a run or session),
        oldest first, ready to prepend to a prompt."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="recent")
        found = self.store.episodes(scope, limit=check_limit(n))
        return [
            {"role": e.role, "content": e.content, "created_at": e.created_at, "id": e.id}
            for e in reversed(found)
        ]

    def scopes(self) -> list[dict[str, Any]]:
        """Every user, agent and run of this tenant with its memory count and last activity."""
        return self.store.scopes(self.tenant)

    def profile(self, user_id: str) -> dict[str, Any]:
        """What is currently known about a user, grouped by attribute (residence, employer,
        pets, preferences...), each value with the memory it comes from."""
        scope, _ = self._scope(user_id, None, None, required=True, action="profile")
        records = self.store.list_records(scope, None, limit=MAX_LIMIT)
        return {"user_id": user_id, **build_profile(records)}

    def episodes(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        query: str | None = None,
    ) -> list[dict[str, Any]]:
        """The raw messages kept for a scope, newest first, with their extraction status.

        Episodic memory: ``since``/``until`` keep those said in ``[since, until)``; ``query``
        keeps those containing every content word of it (stemmed keyword match).
        """
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="episodes")
        if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY_CHARS):
            raise ValidationError(f"query must be a string of at most {MAX_QUERY_CHARS} chars")
        found = self.store.episodes(
            scope,
            limit=check_limit(limit),
            since=None if since is None else to_iso(since, field="since"),
            until=None if until is None else to_iso(until, field="until"),
            keywords=None if query is None else terms(query),
        )
        out = [e.to_dict() for e in found]
        for e in out:
            e["metadata"].pop(OPTIONS_KEY, None)
        return out

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        expires_at: TimeInput | None = None,
        importance: float | None = None,
    ) -> dict[str, Any]:
        """Change a memory's text, metadata (replaced, not merged), expiry or importance.

        The old text stays in :meth:`history`.
        """
        record = self._owned(memory_id)
        if text is None and metadata is None and expires_at is None and importance is None:
            raise ValidationError("update needs text or metadata (or expires_at, importance)")
        change = Change(id=record.id, reason="manual update")
        if expires_at is not None:
            change.expires_at = to_iso(expires_at, field="expires_at")
        if importance is not None:
            change.importance = check_importance(importance)
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise ValidationError("text must be a non-empty string")
            text = text.strip()
        if metadata is not None:
            change.metadata = check_metadata(metadata)
        verbatim.edit(self.store, self.embedder, record, change, text)
        updated = self.store.get(record.id, self.tenant)
        assert updated is not None
        return {"message": "Memory updated successfully!", **updated.to_dict()}

    def delete(self, memory_id: str) -> dict[str, Any]:
        """Delete one memory; its history is kept."""
        record = self._owned(memory_id)
        self.store.apply(WriteBatch(deletes=[record.id], at=iso(utcnow())))
        return {"message": "Memory deleted successfully!", "id": record.id}

    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete every memory in a scope. With no scope this raises: never "delete all"."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="delete_all")
        ids = self.store.ids_in_scope(scope)
        self.store.apply(WriteBatch(deletes=ids, at=iso(utcnow())))
        return {"message": "Memories deleted successfully!", "deleted": len(ids)}

    def reset(self) -> None:
        """Erase every memory and history row of this tenant."""
        self.store.reset(self.tenant)

    # -- reads ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 10,
        threshold: float | None = None,
        as_of: TimeInput | None = None,
    ) -> dict[str, Any]:
        """The memories most relevant to ``query`` in a scope, best first.

        Hybrid retrieval: vector, keyword and graph candidates (memories linked to the
        entities the query names) fused. ``score`` is the fused score scaled so the best hit
        is 1.0; ``similarity`` is the cosine similarity to the query as searched, and
        ``threshold`` drops hits whose similarity is below it. The query as searched is the
        query without the names of entities linked to more of the scope's memories than the
        candidate budget (the user, a chat partner: "What do Melanie's kids like?" is
        embedded as "What do kids like?"), or the whole query when it names none, when only
        function words would remain, with ``retrieval.topic_query`` or ``use_graph`` off, and
        for ``as_of``. One text is embedded per search; keyword and graph search read the
        whole query.

        Returns ``{"results": [...], "relations": [...]}``; relations are the current
        ``{"source", "relationship", "target", "valid_at", "invalid_at", "memory_ids"}`` of
        the query's entities (empty when it names none, or with ``retrieval.use_graph`` off).

        ``as_of`` (a time) answers as memory stood then: memories true at that time in valid
        time (``valid_at <= as_of < invalid_at``), including those superseded since. What
        counts is when a fact was true, not when it was learned: a memory recorded after
        ``as_of`` about something already true then ("I have lived in Porto since 2019",
        said in 2024) is included, because the question is about the world at that time and
        that is our best knowledge of it. Deleted, archived and expired memories are not.
        """
        check_query(query)
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float)
        ):
            raise ValidationError(f"threshold must be a number, not {threshold!r}")
        scope, where = self._scope(
            user_id, agent_id, run_id, filters, required=True, action="search"
        )
        limit = check_limit(limit)
        entities = self._entities(query, scope, limit)
        hits = self._hits(query, scope, where, limit, threshold, as_of, entities)
        self._access.touch(self.tenant, (h.record.id for h in hits))
        relations = (
            [] if entities is None else graph_retrieve.relations(self.store, scope, entities)
        )
        return {
            "results": [_hit_dict(h) for h in hits],
            "relations": [r.to_dict() for r in relations],
        }

    def _hits(
        self,
        query: str,
        scope: Scope,
        where: Node | None,
        limit: int,
        threshold: float | None,
        as_of: TimeInput | None = None,
        entities: graph_retrieve.QueryEntities | None = None,
    ) -> list[Hit]:
        cfg = self.config.retrieval
        if as_of is not None:
            # The as-of path has no graph channel to keep a named person's memories in
            # front, so it embeds the whole query.
            entities = None
        elif entities is None:
            entities = self._entities(query, scope, limit)
        # One text embedded per search (so the embedder's single-text cache serves repeats),
        # and its vector used throughout: vector search, similarities, threshold, feedback.
        vector = (
            self.embedder.embed([search_text(query, entities, cfg, limit)])[0]
            if cfg.use_vector
            else None
        )
        if as_of is None:
            return search(
                self.store,
                vector,
                query,
                scope,
                where,
                limit=limit,
                threshold=threshold,
                cfg=cfg,
                entities=entities,
            )
        at = to_iso(as_of, field="as_of")
        return search_as_of(
            self.store.records_valid_at(scope, where, at),
            vector,
            query,
            at=to_datetime(at).timestamp(),
            limit=limit,
            threshold=threshold,
            cfg=cfg,
        )

    def _entities(
        self, query: str, scope: Scope, limit: int = 0
    ) -> graph_retrieve.QueryEntities | None:
        """The entities ``query`` names in ``scope``, counted up to the candidate budget;
        None with ``retrieval.use_graph`` off, so that search then does no graph work."""
        cfg = self.config.retrieval
        if not cfg.use_graph:
            return None
        return graph_retrieve.match(self.store, scope, query, max(cfg.candidates, limit))

    def context(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        max_tokens: int = 400,
        limit: int = 100,
        token_counter: TokenCounter | None = None,
    ) -> dict[str, Any]:
        """A prompt-ready block of the current memories most relevant to ``query``, with
        dates, within ``max_tokens`` (see :mod:`engramdb.retrieve.context`).

        The ``limit`` best search hits are candidates; expired ones are left out, near
        duplicates are dropped, the most relevant are kept while they fit, and the block
        lists them oldest first. Returns ``{"text", "tokens", "memories", "relations"}``:
        ``text`` is ``""`` when nothing fits; ``memories`` holds the ids in the block.

        >>> print(m.context("dinner plans", user_id="alice", max_tokens=60)["text"])
        Relevant memories, oldest first (the date is when each became true):
        - [2024-03-15] Is vegetarian
        """
        budget = check_budget(max_tokens)
        if token_counter is not None and not callable(token_counter):
            raise ValidationError("token_counter must be a callable taking a str")
        found = self.search(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, filters=filters, limit=limit
        )
        return build_context(
            found["results"],
            found.get("relations", []),
            max_tokens=budget,
            now=iso(utcnow()),
            token_counter=token_counter,
        )

    def get(self, memory_id: str) -> dict[str, Any] | None:
        """One memory by id, or None when there is none."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        record = self.store.get(memory_id, self.tenant)
        if record is None:
            return None
        self._access.touch(self.tenant, [record.id])
        return record.to_dict()

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        include_invalid: bool = False,
        include_archived: bool = False,
        include_expired: bool = False,
    ) -> dict[str, Any]:
        """Memories in a scope, newest first, optionally filtered.

        Active, unexpired memories by default; ``include_invalid`` adds superseded ones (with
        their ``invalid_at``), ``include_archived`` those :meth:`consolidate` archived, and
        ``include_expired`` those past their ``expires_at``.
        """
        scope, where = self._scope(
            user_id, agent_id, run_id, filters, required=True, action="get_all"
        )
        limit = check_limit(limit)
        offset = check_offset(offset)
        statuses = ["active"]
        for flag, status in ((include_invalid, "superseded"), (include_archived, "archived")):
            if not isinstance(flag, bool):
                raise ValidationError(f"include_* options must be booleans, not {flag!r}")
            if flag:
                statuses.append(status)
        if not isinstance(include_expired, bool):
            raise ValidationError(f"include_expired must be a boolean, not {include_expired!r}")
        records = self.store.list_records(
            scope,
            where,
            limit=limit,
            offset=offset,
            statuses=statuses,
            include_expired=include_expired,
        )
        return {"results": [r.to_dict() for r in records]}

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """Every change of a memory, oldest first; kept after the memory is deleted."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        entries = self.store.history(memory_id, self.tenant)
        if not entries and self.store.get(memory_id, self.tenant) is None:
            raise MemoryNotFoundError(memory_id)
        return [e.to_dict() for e in entries]

    def stats(self) -> dict[str, Any]:
        """Counts of memories, users, agents, history and graph rows, and where the store is."""
        out = self.store.stats(self.tenant)
        out["graph"] = self.store.graph_counts(self.tenant)
        out["embedder"] = self.embedder.name
        out["schema_version"] = self.store.schema_version
        out["extractor"] = self.ingestor.extractor.name
        with self._usage_lock:
            out["usage"] = _usage_dict(self._usage)
        return out

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store if this facade opened it. Safe to call twice."""
        if not self._closed.is_set():
            self._closed.set()
            self._queue.stop()
            if self._owns_access:
                self._access.close()
            else:
                self._access.flush()
            if self._owns_llm and self.llm is not None:
                run_sync(self.llm.aclose())
            if self._owns_store:
                self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
