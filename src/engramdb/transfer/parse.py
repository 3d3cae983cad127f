"""Validating import lines (pure: nothing is written here)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engramdb.errors import ValidationError
from engramdb.ingest import plan
from engramdb.ingest.messages import MAX_MESSAGE_CHARS, parse_messages
from engramdb.learn import feedback as learn_feedback
from engramdb.models import Episode, Feedback, NewMemory, Scope
from engramdb.timeutil import iso, to_iso, utcnow
from engramdb.transfer.report import MAX_REPORTED_ERRORS, ImportReport, LineError
from engramdb.validation import check_id

if TYPE_CHECKING:
    from engramdb.transfer.graphlines import GraphLines


class BadLine(Exception):
    """A line is invalid; the message is the reason."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _field_id(obj: dict[str, Any], key: str) -> str | None:
    try:
        return check_id(key, obj.get(key))
    except ValidationError as exc:
        raise BadLine(str(exc)) from None


def _time(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        return to_iso(value, field=key)
    except ValidationError as exc:
        raise BadLine(str(exc)) from None


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise BadLine(f"metadata must be an object, not {type(meta).__name__}")
    return meta


@dataclass
class Defaults:
    """Scope ids given to the import; each one given replaces the file's."""

    user_id: str | None
    agent_id: str | None
    run_id: str | None
    tenant: str

    def scope(self, obj: dict[str, Any]) -> Scope:
        scope = Scope(
            tenant=self.tenant,
            user_id=self.user_id or _field_id(obj, "user_id"),
            agent_id=self.agent_id or _field_id(obj, "agent_id"),
            run_id=self.run_id or _field_id(obj, "run_id"),
        )
        if scope.is_empty:
            raise BadLine("no user_id, agent_id or run_id (in the line or given to the import)")
        return scope


@dataclass
class RecordLine:
    """A valid exported memory, ready to insert (vector None = embed it)."""

    line: int
    new: NewMemory
    status: str
    invalid_at: str | None


@dataclass
class ChatLine:
    """Valid chat message(s) of one line, for ``Memory.add(infer=False)``."""

    line: int
    messages: list[Any]
    count: int
    scope: Scope
    metadata: dict[str, Any]
    timestamp: str | None

    def key(self) -> tuple[Scope, str | None, str]:
        return self.scope, self.timestamp, json.dumps(self.metadata, sort_keys=True)


def _parse_record(
    obj: dict[str, Any], line: int, defaults: Defaults, dims: int, trust_vectors: bool
) -> RecordLine:
    memory_id = obj.get("id")
    if not isinstance(memory_id, str) or not memory_id.strip() or len(memory_id) > 256:
        raise BadLine("memory record needs an 'id' string of 1 to 256 characters")
    text = obj.get("memory")
    if not isinstance(text, str) or not text.strip():
        raise BadLine("memory record needs a non-empty 'memory' string")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadLine(f"memory has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}")
    scope = defaults.scope(obj)
    metadata = _metadata(obj)
    created_at = _time(obj, "created_at") or iso(utcnow())
    for key in ("memory_type", "status"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise BadLine(f"{key} must be a string")
    role = obj.get("role")
    if role is not None and not isinstance(role, str):
        raise BadLine("role must be a string or null")
    categories = obj.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise BadLine("categories must be a list of strings")
    vector = _vector(obj.get("vector"))
    if vector is not None and not (trust_vectors and len(vector) == dims):
        vector = None
    new = NewMemory(
        id=memory_id,
        memory=text,
        scope=scope,
        vector=vector,
        metadata=metadata,
        created_at=created_at,
        hash=plan.text_hash(text),
        memory_type=obj.get("memory_type") or "fact",
        role=role,
        categories=list(categories),
        valid_at=_time(obj, "valid_at"),
        importance=_importance(obj),
        expires_at=_time(obj, "expires_at"),
    )
    return RecordLine(
        line=line,
        new=new,
        status=obj.get("status") or "active",
        invalid_at=_time(obj, "invalid_at"),
    )


_NUMBER_TYPES = frozenset([int, float])


def _vector(raw: Any) -> Any:
    """A line's vector as float32, or None. Checked with whole-array operations: a per-item
    Python check cost more than everything else an import does."""
    if raw is None:
        return None
    # type() is exact, so bool (an int subclass) is refused; numpy would read it as 1.0.
    if not isinstance(raw, list) or not set(map(type, raw)) <= _NUMBER_TYPES:
        raise BadLine("vector must be a list of finite numbers")
    try:
        wide = np.asarray(raw, dtype=np.float64)
    except OverflowError:  # an int too large for a float
        raise BadLine("vector must be a list of finite numbers") from None
    # Checked before narrowing: a float64 beyond float32's range would become inf (warning).
    if not np.isfinite(wide).all() or (np.abs(wide) > np.finfo(np.float32).max).any():
        raise BadLine("vector must be a list of finite numbers")
    return wide.astype(np.float32)


def _importance(obj: dict[str, Any]) -> float:
    value = obj.get("importance", 0.5)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise BadLine(f"importance must be a number from 0 to 1, not {value!r}")
    return float(value)


@dataclass
class EpisodeLine:
    """A valid exported episode (raw message), ready to insert."""

    line: int
    episode: Episode


_EPISODE_STATUSES = ("done", "failed", "pending", "queued")


def _parse_episode(obj: dict[str, Any], line: int, defaults: Defaults) -> EpisodeLine:
    fields: dict[str, str] = {}
    for key in ("id", "batch_id", "role", "content"):
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_MESSAGE_CHARS:
            raise BadLine(f"episode needs a non-empty {key!r} string")
        fields[key] = value
    images = obj.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise BadLine("episode images must be a list of strings")
    status = obj.get("status") or "done"
    if status not in _EPISODE_STATUSES:
        raise BadLine(f"episode status must be one of {', '.join(_EPISODE_STATUSES)}")
    error = obj.get("error")
    if status in ("pending", "queued"):
        # Extraction never ran where it was exported; queueing it here would run it on import.
        status, error = "failed", "imported before extraction ran; reprocess() to extract"
    name = obj.get("name")
    facts = obj.get("facts") or 0
    if not isinstance(facts, int) or isinstance(facts, bool) or facts < 0:
        raise BadLine("episode facts must be a non-negative integer")
    episode = Episode(
        id=fields["id"],
        scope=defaults.scope(obj),
        role=fields["role"],
        content=fields["content"],
        created_at=_time(obj, "created_at") or iso(utcnow()),
        batch_id=fields["batch_id"],
        name=name if isinstance(name, str) else None,
        images=list(images),
        metadata=_metadata(obj),
        status=status,
        error=error if isinstance(error, str) else None,
        facts=facts,
    )
    return EpisodeLine(line=line, episode=episode)


@dataclass
class FeedbackLine:
    """A valid exported feedback row (its query is embedded again on import)."""

    line: int
    feedback: Feedback


def _parse_feedback(obj: dict[str, Any], line: int, tenant: str) -> FeedbackLine:
    ids: dict[str, str] = {}
    for key in ("id", "memory_id"):
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 256:
            raise BadLine(f"feedback needs a {key!r} string of 1 to 256 characters")
        ids[key] = value
    try:
        signal, note, query = learn_feedback.check(
            obj.get("signal"), obj.get("note"), obj.get("query")
        )
    except ValidationError as exc:
        raise BadLine(f"feedback: {exc}") from None
    return FeedbackLine(
        line=line,
        feedback=Feedback(
            id=ids["id"],
            memory_id=ids["memory_id"],
            tenant=tenant,
            signal=signal,
            created_at=_time(obj, "created_at") or iso(utcnow()),
            note=note,
            query=query,
        ),
    )


def _parse_chat(obj: dict[str, Any], line: int, defaults: Defaults) -> ChatLine:
    raw = obj["messages"] if "messages" in obj else {k: obj[k] for k in obj if k in _MSG_KEYS}
    if "messages" in obj and not isinstance(raw, list):
        raise BadLine("'messages' must be a list")
    try:
        storable = plan.storable(parse_messages(raw))
    except ValidationError as exc:
        raise BadLine(str(exc)) from None
    if not storable:
        raise BadLine("only system messages: nothing to remember")
    metadata = _metadata(obj)
    return ChatLine(
        line=line,
        messages=raw if isinstance(raw, list) else [raw],
        count=len(storable),
        scope=defaults.scope(obj),
        metadata=metadata,
        timestamp=_time(obj, "timestamp"),
    )


_MSG_KEYS = ("role", "content", "name")


def parse_lines(
    lines: Iterable[str],
    defaults: Defaults,
    dims: int,
    embedder: str,
    report: ImportReport,
    graph: GraphLines,
) -> list[RecordLine | ChatLine | EpisodeLine | FeedbackLine]:
    """Validate every line; return the writable items in file order, errors in ``report``;
    graph lines are kept in ``graph``."""
    items: list[RecordLine | ChatLine | EpisodeLine | FeedbackLine] = []
    trust_vectors = True
    first = True

    def bad(line: int, reason: str) -> None:
        report.invalid_count += 1
        if len(report.invalid) < MAX_REPORTED_ERRORS:
            report.invalid.append(LineError(line, reason))

    for number, text in enumerate(lines, start=1):
        text = text.strip().lstrip("\ufeff") if first else text.strip()
        if not text:
            continue
        report.lines += 1
        is_first, first = first, False
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            bad(number, f"not valid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            bad(number, f"expected a JSON object, got {type(obj).__name__}")
            continue
        kind = obj.get("type")
        try:
            if kind == "header":
                if not is_first:
                    raise BadLine("a header must be the first line")
                # Vectors of another model are meaningless here even when their size matches.
                trust_vectors = obj.get("embedder") == embedder and obj.get("dims") == dims
                graph.declared = obj.get("graph") is True
            elif kind == "history":
                report.history_lines += 1
            elif kind == "memory":
                items.append(_parse_record(obj, number, defaults, dims, trust_vectors))
            elif kind == "episode":
                items.append(_parse_episode(obj, number, defaults))
            elif kind == "feedback":
                items.append(_parse_feedback(obj, number, defaults.tenant))
            elif graph.handles(kind):
                graph.add(str(kind), obj, number, defaults)
            elif kind is None and ("messages" in obj or "content" in obj):
                items.append(_parse_chat(obj, number, defaults))
            else:
                raise BadLine(
                    f"unknown line type {kind!r}"
                    if kind is not None
                    else "neither an engramdb export line (no 'type') nor a chat message "
                    "('role' and 'content', or 'messages')"
                )
        except BadLine as exc:
            bad(number, str(exc))
    graph.check(bad)
    return items
