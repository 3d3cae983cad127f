"""The write path of ``add(..., infer=True)``.

1. The raw messages are stored as episodes (status ``pending``) in their own transaction, so
   a failed extraction loses no input and :meth:`Memory.reprocess` can rerun it.
2. The extractor decides ADD / UPDATE / SUPERSEDE / DELETE / NONE per fact, seeing similar
   existing memories under short integer refs.
3. Every decision, their vectors, history rows and the episodes' new status are written in ONE
   transaction. If extraction fails, only the episodes' status changes (to ``failed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engramdb.embed.base import Embedder
from engramdb.filters import Cond
from engramdb.graph import api as graph_api
from engramdb.graph import links as graph_links
from engramdb.ingest.extractors import VERBATIM, Extractor, Request
from engramdb.ingest.messages import Message
from engramdb.ingest.ops import Decision, Existing, Fact
from engramdb.ingest.plan import text_hash
from engramdb.ingest.prompts import describe_image
from engramdb.learn import experience
from engramdb.llm.base import LLM, ChatMessage, Usage
from engramdb.llm.sync import run_sync
from engramdb.models import (
    Change,
    Episode,
    EpisodeStatus,
    MemoryRecord,
    NewMemory,
    Scope,
    WriteBatch,
)
from engramdb.models.graph import GraphWrite
from engramdb.store.base import Store
from engramdb.timeutil import iso, to_datetime

# Reserved key in an episode's metadata carrying how it was added (for queued work).
OPTIONS_KEY = "_engramdb"
SIMILAR_PER_TEXT = 5
# One add may not write more than this many facts: a runaway or hostile reply is cut here.
MAX_DECISIONS = 200


@dataclass
class Outcome:
    """What one extraction did: public result rows, warnings and LLM usage."""

    results: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


def reconcile_scope(scope: Scope) -> Scope:
    """Facts outlive a run: reconcile against the user's (or agent's) memories across runs."""
    wider = Scope(user_id=scope.user_id, agent_id=scope.agent_id, tenant=scope.tenant)
    return scope if wider.is_empty else wider


def episodes_for(
    messages: Sequence[Message],
    scope: Scope,
    metadata: dict[str, Any],
    at: str,
    options: dict[str, Any],
) -> list[Episode]:
    """One pending episode per non-system message, all sharing one batch id."""
    batch_id = str(uuid.uuid4())
    return [
        Episode(
            id=str(uuid.uuid4()),
            scope=scope,
            role=m.role,
            name=m.name,
            content=m.content,
            images=list(m.images),
            metadata={**metadata, OPTIONS_KEY: options},
            created_at=at,
            batch_id=batch_id,
        )
        for m in messages
        if m.role != "system"
    ]


class Ingestor:
    """Runs extraction for stored episodes and writes what it decides."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        extractor: Extractor,
        *,
        vision: LLM | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.extractor = extractor
        self.vision = vision

    def run(self, episodes: Sequence[Episode], usage: Usage | None = None) -> Outcome:
        """Extract from one batch of episodes and apply the decisions; marks them done.

        On any error the episodes are marked ``failed`` (with the error) and it re-raises.
        ``usage``, when given, counts every LLM call made, also those of a run that then
        fails (a malformed reply and its repair still cost tokens).
        """
        outcome = Outcome(usage=usage if usage is not None else Usage())
        try:
            return self._run(episodes, outcome)
        except Exception as exc:
            self.store.apply(
                WriteBatch(
                    episode_status=[
                        EpisodeStatus(e.id, "failed", 0, f"{type(exc).__name__}: {exc}"[:2000])
                        for e in episodes
                    ]
                )
            )
            raise

    def _run(self, episodes: Sequence[Episode], outcome: Outcome) -> Outcome:
        first = episodes[0]
        options = first.metadata.get(OPTIONS_KEY, {})
        metadata = {k: v for k, v in first.metadata.items() if k != OPTIONS_KEY}
        scope = first.scope
        messages = [self._with_images(e, outcome) for e in episodes]
        refs: list[MemoryRecord] = []
        request = Request(
            messages=messages,
            timestamp=to_datetime(first.created_at),
            agent_mode=scope.agent_id is not None,
            lookup=lambda texts, attrs: self._lookup(scope, texts, attrs, refs),
            usage=outcome.usage,
        )
        memory_type = options.get("memory_type")
        if memory_type == "experience":
            lessons = self.extractor.experience(
                request, options.get("outcome", "partial"), metadata
            )
            batch, rows = experience.plan(
                self.store,
                self.embedder,
                lessons,
                scope,
                metadata,
                first.created_at,
                episodes,
                self.extractor.name,
            )
            outcome.results.extend(rows)
            return self._finish(batch, episodes, outcome, options)
        if memory_type == "procedural":
            text = self.extractor.procedure(request)
            decisions = [Decision("ADD", Fact(text=text, categories=("procedure",)))]
        else:
            decisions = self.extractor.decide(request)
        if len(decisions) > MAX_DECISIONS:
            outcome.warnings.append(
                f"the extractor returned {len(decisions)} facts; only the first "
                f"{MAX_DECISIONS} were applied"
            )
            decisions = decisions[:MAX_DECISIONS]
        batch = self._plan(decisions, refs, scope, metadata, first.created_at, episodes, outcome)
        return self._finish(batch, episodes, outcome, options)

    def _finish(
        self,
        batch: WriteBatch,
        episodes: Sequence[Episode],
        outcome: Outcome,
        options: dict[str, Any],
    ) -> Outcome:
        for new in batch.inserts:
            # Set on add(..., importance=, expires_at=) and carried with the queued episodes.
            new.expires_at = options.get("expires_at")
            new.importance = options.get("importance", new.importance)
        batch.episode_status = [
            EpisodeStatus(e.id, "done", len(batch.inserts) + len(batch.changes)) for e in episodes
        ]
        self.store.apply(graph_api.link(self.store, self.embedder, batch))
        return outcome

    def _with_images(self, episode: Episode, outcome: Outcome) -> Message:
        content = episode.content
        for url in episode.images:
            if self.vision is None:
                outcome.warnings.append(
                    "an image was kept as a reference in the episode only: no vision-capable "
                    "LLM is configured to describe it"
                )
                continue
            reply = run_sync(
                self.vision.complete(
                    [
                        ChatMessage(m.role, m.content, m.images)
                        for m in describe_image.build_messages(url, context=episode.content)
                    ]
                )
            )
            outcome.usage.add(reply)
            content = f"{content}\n[image: {describe_image.clean(reply.text)}]".strip()
        return Message(role=episode.role, content=content, name=episode.name)

    def _lookup(
        self,
        scope: Scope,
        texts: Sequence[str],
        attributes: Sequence[str],
        refs: list[MemoryRecord],
    ) -> list[Existing]:
        wide = reconcile_scope(scope)
        rowids: list[int] = []
        if texts:
            for vec in self.embedder.embed(list(texts)):
                rowids.extend(
                    r for r, _ in self.store.vector_search(wide, None, vec, SIMILAR_PER_TEXT)
                )
        found = list(self.store.get_many(list(dict.fromkeys(rowids))).values())
        if attributes:
            where = Cond("attribute", "in", tuple(attributes), True)
            found += self.store.list_records(wide, where, limit=50)
        unique = {r.id: r for r in found}
        refs[:] = sorted(unique.values(), key=lambda r: (r.created_at, r.id))
        return [
            Existing(
                ref=i,
                text=r.memory,
                attribute=_str(r.metadata.get("attribute")),
                subject=_str(r.metadata.get("subject")),
                created_at=to_datetime(r.created_at),
                extra={"value": v} if (v := _str(r.metadata.get("value"))) else {},
            )
            for i, r in enumerate(refs, start=1)
        ]

    def _plan(
        self,
        decisions: Sequence[Decision],
        refs: Sequence[MemoryRecord],
        scope: Scope,
        metadata: dict[str, Any],
        at: str,
        episodes: Sequence[Episode],
        outcome: Outcome,
    ) -> WriteBatch:
        batch = WriteBatch(at=at)
        by_ref = {i: r for i, r in enumerate(refs, start=1)}
        needs_vector = [
            d.fact.text for d in decisions if d.fact and d.op in ("ADD", "UPDATE", "SUPERSEDE")
        ]
        vectors = iter(self.embedder.embed(needs_vector)) if needs_vector else iter(())
        episode_ids = [e.id for e in episodes]
        for d in decisions:
            target = by_ref.get(d.target) if d.target is not None else None
            if d.op == "DELETE":
                if target is not None and target.id not in batch.deletes:
                    batch.deletes.append(target.id)
                    outcome.results.append(
                        {"id": target.id, "memory": target.memory, "event": "DELETE"}
                    )
                continue
            fact = d.fact
            if fact is None:
                continue
            if d.op == "NONE":
                outcome.results.append(
                    {"id": target.id if target else None, "memory": fact.text, "event": "NONE"}
                )
                continue
            vector = next(vectors)
            if d.op == "UPDATE" and target is not None:
                batch.changes.append(
                    Change(
                        id=target.id,
                        memory=fact.text,
                        hash=text_hash(fact.text),
                        vector=vector,
                        metadata={
                            **target.metadata,
                            **_fact_meta(fact, episode_ids, self.extractor.name),
                        },
                        reason=d.reason,
                    )
                )
                outcome.results.append(
                    {
                        "id": target.id,
                        "memory": fact.text,
                        "event": "UPDATE",
                        "previous_memory": target.memory,
                    }
                )
                batch.graph.append(_graph(fact, target.id, target.scope, at, None, episode_ids))
                continue
            new = _new_memory(fact, vector, scope, metadata, at, episode_ids, self.extractor.name)
            if d.op == "SUPERSEDE" and target is not None:
                batch.changes.append(
                    Change(
                        id=target.id,
                        status="superseded",
                        invalid_at=new.valid_at or at,
                        event="SUPERSEDE",
                        reason=d.reason or f"superseded by {new.id}",
                    )
                )
                new.metadata["supersedes"] = target.id
                outcome.results.append(
                    {
                        "id": new.id,
                        "memory": new.memory,
                        "event": "SUPERSEDE",
                        "supersedes": target.id,
                        "previous_memory": target.memory,
                    }
                )
            else:
                outcome.results.append({"id": new.id, "memory": new.memory, "event": "ADD"})
            outcome.results[-1]["memory_type"] = new.memory_type
            batch.inserts.append(new)
            batch.graph.append(_graph(fact, new.id, scope, at, new.valid_at, episode_ids))
        return batch


def _graph(
    fact: Fact,
    memory_id: str,
    scope: Scope,
    at: str,
    valid_at: str | None,
    episode_ids: list[str],
) -> GraphWrite:
    hint = graph_links.hint_for(
        fact.subject, fact.attribute, fact.value, fact.entities, fact.relations
    )
    # A fact about someone else ("Anna is a nurse") is about them, not the speaker.
    speaker = fact.subject if fact.subject not in ("user", "") else None
    return graph_links.for_memory(
        memory_id,
        fact.text,
        scope,
        at=at,
        valid_at=valid_at,
        episode_ids=episode_ids,
        speaker=speaker,
        hint=hint,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _fact_meta(fact: Fact, episode_ids: list[str], source: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": source, "episode_ids": episode_ids, "subject": fact.subject}
    if fact.attribute:
        meta["attribute"] = fact.attribute
    if fact.value:
        meta["value"] = fact.value
    if fact.event_time is not None:
        meta["event_time"] = iso(fact.event_time)
    if fact.source_role != "user":
        meta["stated_by"] = fact.source_role
    return meta


def _new_memory(
    fact: Fact,
    vector: Any,
    scope: Scope,
    metadata: dict[str, Any],
    at: str,
    episode_ids: list[str],
    source: str,
) -> NewMemory:
    categories: list[str] = []
    if VERBATIM in fact.categories:
        memory_type = "episode"
    elif "procedure" in fact.categories:
        memory_type = "procedural"
    else:
        memory_type, categories = "fact", list(fact.categories)
    # A changed state (moved, new job) is true from its event time; other facts from when said.
    valid_at = iso(fact.event_time) if fact.event_time and fact.single_valued else at
    return NewMemory(
        id=str(uuid.uuid4()),
        memory=fact.text,
        scope=scope,
        vector=vector,
        metadata={**metadata, **_fact_meta(fact, episode_ids, source)},
        created_at=at,
        hash=text_hash(fact.text),
        memory_type=memory_type,
        role=fact.source_role,
        categories=categories,
        valid_at=valid_at,
    )
