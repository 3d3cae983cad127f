"""Writing validated import lines: memory records in batches, chat lines through ``add``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from typing import TYPE_CHECKING, TypeVar

from engramdb.errors import EngramError, ValidationError
from engramdb.graph import api as graph_api
from engramdb.graph import links as graph_links
from engramdb.models import Change, Scope, WriteBatch
from engramdb.timeutil import iso, utcnow
from engramdb.transfer.graphlines import GraphLines
from engramdb.transfer.parse import (
    ChatLine,
    Defaults,
    EpisodeLine,
    FeedbackLine,
    RecordLine,
    parse_lines,
)
from engramdb.transfer.report import (
    ImportReport,
    ImportValidationError,
    ImportWriteError,
    ProgressCallback,
)
from engramdb.validation import check_id

if TYPE_CHECKING:
    from engramdb.memory import Memory


def _runs(
    items: Iterable[RecordLine | ChatLine], batch_size: int
) -> Iterator[tuple[list[RecordLine], list[ChatLine]]]:
    """Consecutive items grouped into write batches in file order: (records, []) or ([], chats).

    Records: up to ``batch_size`` per batch. Chat lines: consecutive lines with the same scope,
    timestamp and metadata share one ``add`` call of up to ``batch_size`` messages.
    """
    records: list[RecordLine] = []
    chats: list[ChatLine] = []
    n_msgs = 0
    for item in items:
        if isinstance(item, RecordLine):
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
    memory: Memory, batch: list[RecordLine], seen: set[str], report: ImportReport, link: bool
) -> None:
    fresh: list[RecordLine] = []
    stored = memory.store.existing_ids(memory.tenant, [rec.new.id for rec in batch])
    for rec in batch:
        if rec.new.id in seen or rec.new.id in stored:
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
    # A file with graph lines brings the memories' links; older files hold none, so their
    # memories are linked like added ones.
    write.graph = [
        graph_links.for_memory(
            rec.new.id,
            rec.new.memory,
            rec.new.scope,
            at=rec.new.created_at,
            valid_at=rec.new.valid_at,
        )
        for rec in fresh
        if link
    ]
    memory.store.apply(graph_api.link(memory.store, memory.embedder, write))
    report.imported += len(fresh)
    report.batches += 1


def _write_chats(memory: Memory, batch: list[ChatLine], report: ImportReport) -> None:
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


def _write_episodes(
    memory: Memory, batch: list[EpisodeLine], seen: set[str], report: ImportReport
) -> None:
    ids = [e.episode.id for e in batch]
    # Episode ids are unique per store: one stored in any scope of the tenant counts as there.
    stored = {
        e.id for e in memory.store.episodes(Scope(tenant=memory.tenant), ids=ids, limit=len(ids))
    }
    fresh = []
    for item in batch:
        if item.episode.id in seen or item.episode.id in stored:
            report.skipped_episodes += 1
            continue
        seen.add(item.episode.id)
        fresh.append(item.episode)
    if fresh:
        memory.store.apply(WriteBatch(episodes=fresh, at=iso(utcnow())))
        report.episodes += len(fresh)
        report.batches += 1


def _write_feedback(
    memory: Memory, batch: list[FeedbackLine], seen: set[str], report: ImportReport
) -> None:
    stored = memory.store.feedback_stored([f.feedback.id for f in batch])
    judged = memory.store.existing_ids(memory.tenant, [f.feedback.memory_id for f in batch])
    fresh = []
    for item in batch:
        row = item.feedback
        if row.id in seen or row.id in stored or row.memory_id not in judged:
            report.skipped_feedback += 1
            continue
        seen.add(row.id)
        fresh.append(row)
    asked = [row for row in fresh if row.query]
    if asked:
        # Query vectors are not exported: ranking compares them with this store's queries.
        vectors = memory.embedder.embed([str(row.query) for row in asked])
        for row, vector in zip(asked, vectors, strict=True):
            row.query_vector = vector
    if fresh:
        memory.store.apply(WriteBatch(feedback=fresh, at=iso(utcnow())))
        report.feedback += len(fresh)
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
    bulk: bool = False,
) -> ImportReport:
    """Import an engramdb export or a chat log (JSON Lines) into ``memory``.

    Exported memory lines keep their id, text, metadata, scope and times; a line whose id is
    already stored is skipped and counted, so importing a file twice adds nothing the second
    time. A memory is embedded anew when its line has no vector, a vector of another size, or
    the header names another embedder. Chat lines go through ``memory.add(..., infer=False)``.
    Episode lines (raw messages) are written first, also skipped when their id is stored;
    ones exported before extraction ran arrive as ``failed``, ready for ``reprocess()``.

    Feedback lines are written after the memories (their queries embedded again), skipped
    when their id is stored or their memory is not. Graph lines (entities, entity links,
    relations, entity merges) are written last, as given and in one transaction, and the
    imported memories are then not linked anew; a file without them (an older export) has
    its memories linked as ``add`` links them.
    Rows already stored are kept, so importing twice adds nothing (see
    :meth:`GraphRestore.restore <engramdb.store.graph_restore.GraphRestore.restore>`).

    ``user_id``/``agent_id``/``run_id``, when given, replace the ids found in the file.
    Every line is validated first; with ``skip_invalid=False`` (default) any invalid line raises
    :class:`ImportValidationError` before anything is written. Writes are one transaction per
    batch of ``batch_size``; ``on_progress(done, total)`` is called after each batch.

    ``bulk=True`` is for large loads: a Postgres store drops its HNSW index for the import
    and rebuilds it once at the end (see :meth:`PostgresStore.bulk_load`), several times
    faster than upkeeping it row by row; SQLite is unaffected.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, not {batch_size!r}")
    defaults = Defaults(
        user_id=check_id("user_id", user_id),
        agent_id=check_id("agent_id", agent_id),
        run_id=check_id("run_id", run_id),
        tenant=memory.tenant,
    )
    report = ImportReport()
    graph = GraphLines()
    items = parse_lines(lines, defaults, memory.embedder.dims, memory.embedder.name, report, graph)
    if report.invalid_count and not skip_invalid:
        raise ImportValidationError(report)
    with memory.store.bulk_load() if bulk else nullcontext():
        _write_all(memory, items, batch_size, report, on_progress, graph)
    return report


_Line = TypeVar("_Line", EpisodeLine, FeedbackLine)


def _in_batches(
    items: list[_Line],
    batch_size: int,
    what: str,
    write: Callable[[list[_Line]], None],
    report: ImportReport,
    advance: Callable[[int], None],
) -> None:
    """Write ``items`` in batches; a failure names the first line of its batch."""
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        try:
            write(batch)
        except EngramError as exc:
            raise ImportWriteError(
                f"import stopped in the {what} batch starting at line {batch[0].line}: {exc}",
                report,
            ) from exc
        advance(len(batch))


def _write_all(
    memory: Memory,
    items: list[RecordLine | ChatLine | EpisodeLine | FeedbackLine],
    batch_size: int,
    report: ImportReport,
    on_progress: ProgressCallback | None,
    graph: GraphLines,
) -> None:
    episodes = [i for i in items if isinstance(i, EpisodeLine)]
    memories = [i for i in items if isinstance(i, RecordLine | ChatLine)]
    feedback = [i for i in items if isinstance(i, FeedbackLine)]
    total, done = len(items) + len(graph), 0
    if on_progress is not None:
        on_progress(0, total)
    seen: set[str] = set()
    seen_episodes: set[str] = set()

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    _in_batches(
        episodes,
        batch_size,
        "episode",
        lambda batch: _write_episodes(memory, batch, seen_episodes, report),
        report,
        advance,
    )
    for records, chats in _runs(memories, batch_size):
        try:
            if records:
                _write_records(memory, records, seen, report, not graph.declared)
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
    seen_feedback: set[str] = set()
    _in_batches(
        feedback,
        batch_size,
        "feedback",
        lambda batch: _write_feedback(memory, batch, seen_feedback, report),
        report,
        advance,
    )
    if len(graph):
        _write_graph(memory, graph, report)
        if on_progress is not None:
            on_progress(total, total)


def _write_graph(memory: Memory, graph: GraphLines, report: ImportReport) -> None:
    # One transaction: the graph's rows name each other, so it is written whole or not at all
    # (after the memories its links name); a failed import can simply be run again.
    try:
        report.graph = memory.store.graph_import(memory.tenant, graph.to_import())
    except EngramError as exc:
        raise ImportWriteError(
            f"import stopped writing the graph (none of it was written), after "
            f"{report.written} memories were written: {exc}",
            report,
        ) from exc
    if any(not k.endswith(("_existing", "_dropped")) for k in report.graph):
        report.batches += 1
