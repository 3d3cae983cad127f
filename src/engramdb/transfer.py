"""Export memories as JSON Lines and import them back, or import chat logs.

Example::

    from engramdb import Memory
    from engramdb.transfer import export_jsonl, import_jsonl

    with Memory(path="./old") as old, open("alice.jsonl", "w") as f:
        export_jsonl(old, f, user_id="alice")
    with Memory(path="./new") as new, open("alice.jsonl") as f:
        report = import_jsonl(new, f)
    print(report.imported, report.skipped_existing)

An export starts with one ``{"type": "header", ...}`` line naming the embedder, then one
``{"type": "memory", ...}`` line per memory, each followed by its ``{"type": "history", ...}``
lines. ``import_jsonl`` also accepts plain chat lines, ``{"role", "content"}`` or
``{"messages": [...]}``, which are stored verbatim through ``Memory.add(..., infer=False)``.

The whole input is validated before anything is written: by default one bad line means nothing
is imported (:class:`ImportValidationError` lists every bad line); with ``skip_invalid=True``
bad lines are reported and the rest is imported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from engramdb.errors import EngramError, ValidationError
from engramdb.graph import api as graph_api
from engramdb.graph import links as graph_links
from engramdb.ingest import plan
from engramdb.ingest.messages import MAX_MESSAGE_CHARS, parse_messages
from engramdb.models import Change, MemoryRecord, NewMemory, Scope, WriteBatch
from engramdb.timeutil import iso, to_iso, utcnow

if TYPE_CHECKING:
    from engramdb.memory import Memory

__all__ = [
    "ImportReport",
    "ImportValidationError",
    "ImportWriteError",
    "LineError",
    "export_jsonl",
    "import_jsonl",
]

FORMAT = "engramdb-jsonl"
FORMAT_VERSION = 1
#: Invalid lines kept in a report; later ones are only counted.
MAX_REPORTED_ERRORS = 1000

ProgressCallback = Callable[[int, int], None]


# -- export -----------------------------------------------------------------------------


def _vector_list(vector: Any) -> list[float]:
    # str() of a float32 is its shortest round-tripping form: exact and compact.
    return [float(str(x)) for x in np.asarray(vector, dtype=np.float32)]


def _memory_line(record: MemoryRecord, include_vector: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "memory", **record.to_dict()}
    if include_vector and record.vector is not None:
        out["vector"] = _vector_list(record.vector)
    return out


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"


def export_jsonl(
    memory: Memory,
    out: IO[str],
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    include_vectors: bool = False,
    include_history: bool = True,
) -> int:
    """Write the memories of a scope (any status) to ``out``; return how many were written.

    With no scope every memory of the tenant is written. Memories come oldest first, each
    followed by its history when ``include_history``. Vectors are written only when asked
    for: they are large and are recomputed on import when missing.
    """
    scope = Scope(
        tenant=memory.tenant,
        user_id=_check_id("user_id", user_id),
        agent_id=_check_id("agent_id", agent_id),
        run_id=_check_id("run_id", run_id),
    )
    out.write(
        _dump(
            {
                "type": "header",
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "embedder": memory.embedder.name,
                "dims": memory.embedder.dims,
                "exported_at": iso(utcnow()),
                "scope": scope.as_dict(),
                "vectors": include_vectors,
            }
        )
    )
    count = 0
    for record in memory.store.iter_all(scope, with_vectors=include_vectors):
        out.write(_dump(_memory_line(record, include_vectors)))
        if include_history:
            for entry in memory.history(record.id):
                out.write(_dump({"type": "history", **entry}))
        count += 1
    return count


# -- import: report ---------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    """One line that cannot be imported: its 1-based number and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What :func:`import_jsonl` read and wrote."""

    lines: int = 0
    """Non-blank lines read."""
    imported: int = 0
    """Exported memory records written, with their ids and times."""
    added: int = 0
    """Memories created from chat message lines."""
    skipped_existing: int = 0
    """Memory records skipped because their id is already stored (or repeated in the file)."""
    reembedded: int = 0
    """Memory records embedded anew: no vector, another size, or another embedder."""
    history_lines: int = 0
    """History lines seen. They are not replayed: the store records an ADD row on import."""
    invalid_count: int = 0
    """Lines that could not be imported."""
    invalid: list[LineError] = field(default_factory=list)
    """The first :data:`MAX_REPORTED_ERRORS` of them."""
    batches: int = 0
    """Write transactions made."""

    @property
    def written(self) -> int:
        """Memories written in total."""
        return self.imported + self.added

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "lines": self.lines,
            "imported": self.imported,
            "added": self.added,
            "skipped_existing": self.skipped_existing,
            "reembedded": self.reembedded,
            "history_lines": self.history_lines,
            "invalid_count": self.invalid_count,
            "invalid": [{"line": e.line, "reason": e.reason} for e in self.invalid],
            "batches": self.batches,
        }


class ImportValidationError(ValidationError):
    """Some lines are invalid and ``skip_invalid`` was off: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = report.invalid[0] if report.invalid else LineError(0, "?")
        n = report.invalid_count
        super().__init__(
            f"{n} invalid line{'s' if n != 1 else ''}, nothing imported; first: {first}"
            " (use skip_invalid / --skip-invalid to import the valid lines)"
        )


class ImportWriteError(EngramError):
    """A write failed after validation; earlier batches stay written (see ``report``)."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


# -- import: parsing (pure) -------------------------------------------------------------


class _Bad(Exception):
    """A line is invalid; the message is the reason."""


def _check_id(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string, not {value!r}")
    if len(value) > 256:
        raise ValidationError(f"{name} is longer than 256 characters")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _field_id(obj: dict[str, Any], key: str) -> str | None:
    try:
        return _check_id(key, obj.get(key))
    except ValidationError as exc:
        raise _Bad(str(exc)) from None


def _time(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        return to_iso(value, field=key)
    except ValidationError as exc:
        raise _Bad(str(exc)) from None


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise _Bad(f"metadata must be an object, not {type(meta).__name__}")
    return meta


@dataclass
class _Defaults:
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
            raise _Bad("no user_id, agent_id or run_id (in the line or given to the import)")
        return scope


@dataclass
class _Record:
    """A valid exported memory, ready to insert (vector None = embed it)."""

    line: int
    new: NewMemory
    status: str
    invalid_at: str | None


@dataclass
class _Chat:
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
    obj: dict[str, Any], line: int, defaults: _Defaults, dims: int, trust_vectors: bool
) -> _Record:
    memory_id = obj.get("id")
    if not isinstance(memory_id, str) or not memory_id.strip() or len(memory_id) > 256:
        raise _Bad("memory record needs an 'id' string of 1 to 256 characters")
    text = obj.get("memory")
    if not isinstance(text, str) or not text.strip():
        raise _Bad("memory record needs a non-empty 'memory' string")
    if len(text) > MAX_MESSAGE_CHARS:
        raise _Bad(f"memory has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}")
    scope = defaults.scope(obj)
    metadata = _metadata(obj)
    created_at = _time(obj, "created_at") or iso(utcnow())
    for key in ("memory_type", "status"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise _Bad(f"{key} must be a string")
    role = obj.get("role")
    if role is not None and not isinstance(role, str):
        raise _Bad("role must be a string or null")
    categories = obj.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise _Bad("categories must be a list of strings")
    vector = obj.get("vector")
    if vector is not None:
        if not isinstance(vector, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in vector
        ):
            raise _Bad("vector must be a list of finite numbers")
        vector = (
            np.asarray(vector, dtype=np.float32) if trust_vectors and len(vector) == dims else None
        )
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
    )
    return _Record(
        line=line,
        new=new,
        status=obj.get("status") or "active",
        invalid_at=_time(obj, "invalid_at"),
    )


def _parse_chat(obj: dict[str, Any], line: int, defaults: _Defaults) -> _Chat:
    raw = obj["messages"] if "messages" in obj else {k: obj[k] for k in obj if k in _MSG_KEYS}
    if "messages" in obj and not isinstance(raw, list):
        raise _Bad("'messages' must be a list")
    try:
        storable = plan.storable(parse_messages(raw))
    except ValidationError as exc:
        raise _Bad(str(exc)) from None
    if not storable:
        raise _Bad("only system messages: nothing to remember")
    metadata = _metadata(obj)
    return _Chat(
        line=line,
        messages=raw if isinstance(raw, list) else [raw],
        count=len(storable),
        scope=defaults.scope(obj),
        metadata=metadata,
        timestamp=_time(obj, "timestamp"),
    )


_MSG_KEYS = ("role", "content", "name")


def _parse(
    lines: Iterable[str], defaults: _Defaults, dims: int, embedder: str, report: ImportReport
) -> list[_Record | _Chat]:
    """Validate every line; return the writable items in file order, errors in ``report``."""
    items: list[_Record | _Chat] = []
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
                    raise _Bad("a header must be the first line")
                # Vectors of another model are meaningless here even when their size matches.
                trust_vectors = obj.get("embedder") == embedder and obj.get("dims") == dims
            elif kind == "history":
                report.history_lines += 1
            elif kind == "memory":
                items.append(_parse_record(obj, number, defaults, dims, trust_vectors))
            elif kind is None and ("messages" in obj or "content" in obj):
                items.append(_parse_chat(obj, number, defaults))
            else:
                raise _Bad(
                    f"unknown line type {kind!r}"
                    if kind is not None
                    else "neither an engramdb export line (no 'type') nor a chat message "
                    "('role' and 'content', or 'messages')"
                )
        except _Bad as exc:
            bad(number, str(exc))
    return items


# -- import: writing --------------------------------------------------------------------


def _runs(
    items: list[_Record | _Chat], batch_size: int
) -> Iterator[tuple[list[_Record], list[_Chat]]]:
    """Consecutive items grouped into write batches in file order: (records, []) or ([], chats).

    Records: up to ``batch_size`` per batch. Chat lines: consecutive lines with the same scope,
    timestamp and metadata share one ``add`` call of up to ``batch_size`` messages.
    """
    records: list[_Record] = []
    chats: list[_Chat] = []
    n_msgs = 0
    for item in items:
        if isinstance(item, _Record):
            if chats:
                yield [], chats
                chats, n_msgs = [], 0
            records.append(item)
            if len(records) >= batch_size:
                yield records, []
                records = []
        else:
            if records:
                yield records, []
                records = []
            if chats and (chats[0].key() != item.key() or n_msgs + item.count > batch_size):
                yield [], chats
                chats, n_msgs = [], 0
            chats.append(item)
            n_msgs += item.count
    if records:
        yield records, []
    if chats:
        yield [], chats


def _write_records(
    memory: Memory, batch: list[_Record], seen: set[str], report: ImportReport
) -> None:
    fresh: list[_Record] = []
    for rec in batch:
        if rec.new.id in seen or memory.store.get(rec.new.id, memory.tenant) is not None:
            report.skipped_existing += 1
            continue
        seen.add(rec.new.id)
        fresh.append(rec)
    if not fresh:
        return
    missing = [rec for rec in fresh if rec.new.vector is None]
    if missing:
        vectors = memory.embedder.embed([rec.new.memory for rec in missing])
        for rec, vector in zip(missing, vectors, strict=True):
            rec.new.vector = vector
        report.reembedded += len(missing)
    write = WriteBatch(inserts=[rec.new for rec in fresh], at=iso(utcnow()))
    for rec in fresh:
        if rec.status != "active" or rec.invalid_at is not None:
            write.changes.append(
                Change(
                    id=rec.new.id,
                    status=rec.status if rec.status != "active" else None,
                    invalid_at=rec.invalid_at,
                    reason="imported status",
                )
            )
    # Imported memories are linked into the graph like added ones (exports hold no graph rows).
    write.graph = [
        graph_links.for_memory(
            rec.new.id,
            rec.new.memory,
            rec.new.scope,
            at=rec.new.created_at,
            valid_at=rec.new.valid_at,
        )
        for rec in fresh
    ]
    memory.store.apply(graph_api.link(memory.store, memory.embedder, write))
    report.imported += len(fresh)
    report.batches += 1


def _write_chats(memory: Memory, batch: list[_Chat], report: ImportReport) -> None:
    head = batch[0]
    messages = [m for chat in batch for m in chat.messages]
    result = memory.add(
        messages,
        user_id=head.scope.user_id,
        agent_id=head.scope.agent_id,
        run_id=head.scope.run_id,
        metadata=head.metadata or None,
        infer=False,
        timestamp=head.timestamp,
    )
    report.added += len(result["results"])
    report.batches += 1


def import_jsonl(
    memory: Memory,
    lines: Iterable[str],
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int = 256,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import an engramdb export or a chat log (JSON Lines) into ``memory``.

    Exported memory lines keep their id, text, metadata, scope and times; a line whose id is
    already stored is skipped and counted, so importing a file twice adds nothing the second
    time. A memory is embedded anew when its line has no vector, a vector of another size, or
    the header names another embedder. Chat lines go through ``memory.add(..., infer=False)``.

    ``user_id``/``agent_id``/``run_id``, when given, replace the ids found in the file.
    Every line is validated first; with ``skip_invalid=False`` (default) any invalid line raises
    :class:`ImportValidationError` before anything is written. Writes are one transaction per
    batch of ``batch_size``; ``on_progress(done, total)`` is called after each batch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, not {batch_size!r}")
    defaults = _Defaults(
        user_id=_check_id("user_id", user_id),
        agent_id=_check_id("agent_id", agent_id),
        run_id=_check_id("run_id", run_id),
        tenant=memory.tenant,
    )
    report = ImportReport()
    items = _parse(lines, defaults, memory.embedder.dims, memory.embedder.name, report)
    if report.invalid_count and not skip_invalid:
        raise ImportValidationError(report)
    total, done = len(items), 0
    if on_progress is not None:
        on_progress(0, total)
    seen: set[str] = set()
    for records, chats in _runs(items, batch_size):
        try:
            if records:
                _write_records(memory, records, seen, report)
            else:
                _write_chats(memory, chats, report)
        except EngramError as exc:
            line = (records or chats)[0].line
            raise ImportWriteError(
                f"import stopped in the batch starting at line {line}, after "
                f"{report.written} memories were written: {exc}",
                report,
            ) from exc
        done += len(records) + len(chats)
        if on_progress is not None:
            on_progress(done, total)
    return report
