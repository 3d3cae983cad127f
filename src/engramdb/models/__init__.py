"""Plain records passed between the layers. No I/O, no dependencies on other modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engramdb.models.graph import GraphWrite

EventName = Literal["ADD", "UPDATE", "DELETE", "SUPERSEDE", "NONE"]
DEFAULT_TENANT = "default"
#: What memories are about; the extraction prompt asks the LLM to pick one per fact.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "personal_details", "family", "relationships", "professional", "preferences", "food",
    "health", "hobbies", "travel", "plans", "events", "possessions", "finance", "technology",
    "misc",
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Who a memory belongs to. ``None`` fields match anything when reading.

    The tenant is part of every store query; it is set by the server from the API key and
    is ``"default"`` when engramdb is embedded.
    """

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    tenant: str = DEFAULT_TENANT

    @property
    def is_empty(self) -> bool:
        """True when no user, agent or run is named."""
        return self.user_id is None and self.agent_id is None and self.run_id is None

    def as_dict(self) -> dict[str, str | None]:
        """The three public scope ids."""
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}


@dataclass
class MemoryRecord:
    """One stored memory as the store returns it."""

    id: str
    memory: str
    scope: Scope
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    hash: str = ""
    memory_type: str = "fact"
    role: str | None = None
    categories: list[str] = field(default_factory=list)
    valid_at: str | None = None
    invalid_at: str | None = None
    status: str = "active"
    vector: Any = None
    expires_at: str | None = None
    importance: float = 0.5
    access_count: int = 0
    last_accessed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public, Mem0-shaped dict (no vector)."""
        return {
            "id": self.id,
            "memory": self.memory,
            "hash": self.hash,
            "metadata": self.metadata,
            "user_id": self.scope.user_id,
            "agent_id": self.scope.agent_id,
            "run_id": self.scope.run_id,
            "memory_type": self.memory_type,
            "role": self.role,
            "categories": self.categories,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "valid_at": self.valid_at,
            "invalid_at": self.invalid_at,
            "status": self.status,
            "expires_at": self.expires_at,
            "importance": self.importance,
            "access_count": self.access_count,
            "last_accessed_at": self.last_accessed_at,
        }


@dataclass
class NewMemory:
    """A memory about to be inserted (the store assigns nothing: ids and times are set here)."""

    id: str
    memory: str
    scope: Scope
    vector: Any
    metadata: dict[str, Any]
    created_at: str
    hash: str
    memory_type: str = "fact"
    role: str | None = None
    categories: list[str] = field(default_factory=list)
    valid_at: str | None = None
    importance: float = 0.5
    expires_at: str | None = None


@dataclass
class HistoryEntry:
    """One change to a memory, kept after the memory itself is deleted."""

    memory_id: str
    event: str
    old_memory: str | None
    new_memory: str | None
    created_at: str
    actor: str | None = None
    role: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Public dict form."""
        return {
            "memory_id": self.memory_id,
            "event": self.event,
            "old_memory": self.old_memory,
            "new_memory": self.new_memory,
            "created_at": self.created_at,
            "actor": self.actor,
            "role": self.role,
            "reason": self.reason,
        }


def nudged(importance: float, nudge: float) -> float:
    """``importance`` moved ``|nudge|`` of the way to 1 (nudge > 0) or to 0 (nudge < 0),
    rounded to 6 places; it stays in 0..1 and repeated nudges have diminishing effect.

    >>> nudged(0.5, 0.1), nudged(0.5, -0.1)
    (0.55, 0.45)
    """
    if nudge >= 0:
        return round(importance + nudge * (1.0 - importance), 6)
    return round(importance + nudge * importance, 6)


@dataclass
class Change:
    """An update to an existing memory. ``None`` fields are left as they are."""

    id: str
    memory: str | None = None
    vector: Any = None
    hash: str | None = None
    metadata: dict[str, Any] | None = None
    status: str | None = None
    invalid_at: str | None = None
    importance: float | None = None
    #: Move importance this fraction of the way to 1 (positive) or 0 (negative), computed by
    #: the store from the value it holds inside the write, so concurrent nudges all count.
    nudge: float | None = None
    expires_at: str | None = None
    event: str = "UPDATE"
    reason: str | None = None
    #: Apply only if the memory's ``updated_at`` is still this (the value the caller decided
    #: on); a memory changed since is left alone and its id returned by ``Store.apply``.
    if_updated_at: str | None = None


@dataclass
class Episode:
    """A raw message as it was said, kept whatever extraction makes of it.

    ``status`` is ``pending`` until extraction has run, then ``done`` or ``failed`` (with
    ``error``); :meth:`Memory.reprocess` reruns extraction on stored episodes.
    """

    id: str
    scope: Scope
    role: str
    content: str
    created_at: str
    batch_id: str
    name: str | None = None
    images: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    error: str | None = None
    facts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Public dict form."""
        return {
            "id": self.id,
            "role": self.role,
            "name": self.name,
            "content": self.content,
            "images": self.images,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "status": self.status,
            "error": self.error,
            "facts": self.facts,
            **self.scope.as_dict(),
        }


@dataclass
class EpisodeStatus:
    """The outcome of extraction for one episode."""

    id: str
    status: str
    facts: int = 0
    error: str | None = None


@dataclass
class Feedback:
    """A judgement on a memory: ``useful``, ``not_useful`` or ``wrong``.

    ``query`` (with its embedding ``query_vector``) is the search the judgement was given for,
    so ranking can apply it to that query and similar ones; None means "in general".
    """

    id: str
    memory_id: str
    tenant: str
    signal: str
    created_at: str
    note: str | None = None
    query: str | None = None
    query_vector: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Public dict form (no vector)."""
        return {
            "id": self.id,
            "memory_id": self.memory_id,
            "signal": self.signal,
            "note": self.note,
            "query": self.query,
            "created_at": self.created_at,
        }


@dataclass
class WriteBatch:
    """Everything one ``add``/``update``/``delete`` changes: applied in ONE transaction."""

    inserts: list[NewMemory] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    episode_status: list[EpisodeStatus] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    #: Entity links and relations of inserted or re-worded memories (see engramdb.graph).
    graph: list[GraphWrite] = field(default_factory=list)
    at: str = ""

    def __bool__(self) -> bool:
        return bool(
            self.inserts
            or self.changes
            or self.deletes
            or self.episodes
            or self.episode_status
            or self.feedback
            or self.graph
        )


@dataclass
class Candidate:
    """A search candidate from one retriever, before fusion."""

    rowid: int
    score: float


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (never the key itself: only its SHA-256, ``key_hash``)."""

    id: str
    tenant: str
    name: str | None
    read_only: bool
    created_at: str
    prefix: str
    key_hash: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Public dict form (without the hash)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "read_only": self.read_only,
            "created_at": self.created_at,
            "prefix": self.prefix,
        }


@dataclass(frozen=True)
class MetricRow:
    """Requests of one kind for one tenant in one minute: how many, their total latency, and
    (for ``llm``) the tokens used."""

    tenant: str
    minute: str
    kind: str
    count: int
    total_ms: float = 0.0
    tokens: int = 0


@dataclass
class Tombstone:
    """A content-free record that something was erased: who, what kinds, how many, when.

    ``counts`` maps a kind (``memories``, ``vectors``, ``keyword_entries``, ``episodes``,
    ``history``...) to how many were erased; no text of what was erased is kept. ``notes``
    (returned, not stored) say what the erasure could not do, e.g. a WAL still to truncate.
    """

    id: str
    scope: Scope
    erased_at: str
    memory_id: str | None = None
    reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Public dict form (``notes`` only when there are any)."""
        out: dict[str, Any] = {
            "id": self.id,
            **self.scope.as_dict(),
            "memory_id": self.memory_id,
            "counts": dict(self.counts),
            "reason": self.reason,
            "erased_at": self.erased_at,
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out
