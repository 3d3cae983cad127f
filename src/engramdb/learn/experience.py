"""Experience memory: an agent's episode (task, steps, result) turned into lessons.

``Memory.add(..., memory_type="experience", outcome=...)`` lands here after the episode is
stored. Each :class:`Lesson` says what was tried, under which conditions, what happened, why
(for a failure) and what to do next time. Offline, :func:`summarize` builds one deterministic
lesson (task, outcome, final error or result); with an LLM the extractor's single call returns
them (``ingest/prompts/experience.py``).

A lesson that repeats one already stored in the same agent (and user) scope, with cosine
>= :data:`MERGE_SIMILARITY`, the same cause, the same kind of outcome and the same task (task
cosine >= :data:`TASK_SIMILARITY`), is merged: the stored
lesson's counts (``successes``, ``failures``, ``partials``), ``last_outcome`` and episode links
are updated, with an UPDATE history row, instead of a near-copy piling up.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from engramdb.embed.base import Embedder
from engramdb.errors import ValidationError
from engramdb.filters import Cond
from engramdb.ingest.messages import Message
from engramdb.ingest.plan import text_hash
from engramdb.models import Change, Episode, MemoryRecord, NewMemory, Scope, WriteBatch
from engramdb.store.base import Store

OUTCOMES = ("success", "failure", "partial")
#: Cosine between lesson texts above which two lessons with the same cause are one lesson.
MERGE_SIMILARITY = 0.9
#: Cosine between the tasks of two such lessons above which they are the same task.
TASK_SIMILARITY = 0.85
#: Episode and batch ids kept as evidence per lesson (newest last).
MAX_EVIDENCE = 50
_COUNT = {"success": "successes", "failure": "failures", "partial": "partials"}
_ERROR = re.compile(
    r"\b(error|errno|exception|traceback|failed|failure|fatal|denied|refused|timed? ?out|"
    r"not found|missing|invalid|cannot|can't|unable)\b",
    re.IGNORECASE,
)
_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:[A-Za-z_.]*(?:error|exception)|fatal|failed)\s*:\s*", re.I
)


@dataclass(frozen=True)
class Lesson:
    """One lesson from an episode. ``cause`` is empty for a success."""

    task: str
    outcome: str
    tried: str = ""
    conditions: str = ""
    result: str = ""
    cause: str = ""
    advice: str = ""

    def text(self) -> str:
        """The memory text: one sentence led by the task, then what was tried and advised.

        Said as a sentence ("X failed because Y") rather than labelled lines: the embedding of
        such a sentence stays close to the task's, so the lesson is found again from the task.

        >>> print(Lesson("Deploy api", "failure", cause="DB_URL missing", advice="set it").text())
        Deploy api failed because DB_URL missing. Next time: set it.
        """
        verb = {"success": "succeeded", "failure": "failed"}.get(self.outcome, "partly succeeded")
        out = f"{self.task} {verb}"
        if self.conditions:
            out += f" (conditions: {self.conditions})"
        if self.cause:
            out += f" because {self.cause}"
        out += "."
        for label, value in (("Result", self.result), ("Tried", self.tried)):
            if value:
                out += f" {label}: {value.rstrip('.')}."
        if self.advice:
            out += f" Next time: {self.advice.rstrip('.')}."
        return out

    def cause_key(self) -> str:
        """The cause normalised for comparison (case, digits and punctuation dropped).

        >>> Lesson("t", "failure", cause="Port 8080 in use!").cause_key()
        'port in use'
        """
        return " ".join(re.sub(r"[^a-z_]+", " ", self.cause.lower()).split())


def _first_line(text: str, limit: int = 300) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line[:limit]


def _error_line(messages: Sequence[Message]) -> str:
    for m in reversed(messages):
        if m.role not in ("assistant", "tool"):
            continue
        for line in reversed(m.content.splitlines()):
            if _ERROR.search(line):
                return line.strip()[:300]
    return ""


def add_options(
    memory_type: str | None, outcome: str | None, scope: Scope, infer: bool
) -> dict[str, Any]:
    """The extraction options of an ``add``: those of an experience, checked, or ``{}``.

    ``infer=False`` keeps storing the messages verbatim with the type, as before lessons
    existed; lessons are extracted only with ``infer=True``, which needs the outcome.
    """
    if memory_type != "experience" or not infer:
        if outcome is not None:
            raise ValidationError('outcome is only for memory_type="experience" with infer=True')
        return {}
    if outcome not in OUTCOMES:
        raise ValidationError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if scope.agent_id is None:
        raise ValidationError("experience memories need an agent_id: lessons are per agent")
    return {"memory_type": "experience", "outcome": outcome}


def summarize(
    messages: Sequence[Message], outcome: str, metadata: dict[str, Any] | None = None
) -> list[Lesson]:
    """The offline lesson of an episode: task, steps tried, final error or result, outcome.

    The task is the first user message's first line (its other lines are the conditions,
    unless ``metadata["conditions"]`` says them); the cause of a failure is the last line of
    an assistant or tool message that reads like an error.

    >>> from engramdb.ingest.messages import Message
    >>> run = [Message("user", "Deploy billing"), Message("tool", "Error: DB_URL is missing")]
    >>> summarize(run, "failure")[0].cause
    'DB_URL is missing'
    """
    task_msg = next((m.content for m in messages if m.role == "user" and m.content), "")
    task = _first_line(task_msg) or "(task not stated)"
    given = (metadata or {}).get("conditions")
    if isinstance(given, list):
        given = "; ".join(str(x) for x in given)
    rest = " ".join(x.strip() for x in task_msg.splitlines()[1:] if x.strip())
    conditions = str(given)[:300] if given else rest[:300]
    steps = [_first_line(m.content, 120) for m in messages if m.role == "assistant" and m.content]
    tried = "; ".join(s for s in steps if s)[:400]
    last = next((m.content for m in reversed(messages) if m.role != "user" and m.content), "")
    error = _error_line(messages) if outcome != "success" else ""
    cause = _PREFIX.sub("", error).strip() if error else ""
    # The error line is the cause: saying it once keeps the lesson's embedding about the task
    # as much as about the error, so it is found again from the task.
    result = "" if cause else _first_line(last)
    if outcome == "success":
        advice = "repeat what worked"
    elif outcome == "failure":
        advice = "prevent this cause before starting" if cause else "try another approach"
    else:
        advice = "finish what remained" + ("; watch for this cause" if cause else "")
    return [Lesson(task, outcome, tried, conditions, result, cause, advice)]


def _same_kind(record: MemoryRecord, lesson: Lesson) -> bool:
    stored = record.metadata.get("lesson")
    if not isinstance(stored, dict):
        return False
    was_success = stored.get("outcome") == "success"
    return (
        was_success == (lesson.outcome == "success")
        and record.metadata.get("cause_key") == lesson.cause_key()
    )


def _same_task(
    embedder: Embedder, lesson: Lesson, candidates: Sequence[MemoryRecord]
) -> MemoryRecord | None:
    # Lesson texts of different tasks that failed the same way are close (the cause and the
    # labels dominate), so the tasks themselves must match too.
    if not candidates:
        return None
    tasks = [str(c.metadata["lesson"].get("task", "")) for c in candidates]
    vecs = embedder.embed([lesson.task, *tasks])
    return next(
        (
            c
            for c, v in zip(candidates, vecs[1:], strict=True)
            if float(v @ vecs[0]) >= TASK_SIMILARITY
        ),
        None,
    )


def _evidence(old: Any, new: Sequence[str]) -> list[str]:
    kept = [x for x in old if isinstance(x, str)] if isinstance(old, list) else []
    return list(dict.fromkeys([*kept, *new]))[-MAX_EVIDENCE:]


def plan(
    store: Store,
    embedder: Embedder,
    lessons: Sequence[Lesson],
    scope: Scope,
    metadata: dict[str, Any],
    at: str,
    episodes: Sequence[Episode],
    source: str,
) -> tuple[WriteBatch, list[dict[str, Any]]]:
    """The write for ``lessons`` of one episode: new lessons, or merges into stored ones."""
    batch = WriteBatch(at=at)
    results: list[dict[str, Any]] = []
    if not lessons:
        return batch, results
    episode_ids = [e.id for e in episodes]
    batch_ids = list(dict.fromkeys(e.batch_id for e in episodes))
    # Lessons outlive a run: merge across the agent's (and user's) runs.
    wide = Scope(user_id=scope.user_id, agent_id=scope.agent_id, tenant=scope.tenant)
    wide = scope if wide.is_empty else wide
    is_lesson = Cond("memory_type", "eq", "experience", False)
    vectors = embedder.embed([lesson.text() for lesson in lessons])
    for lesson, vector in zip(lessons, vectors, strict=True):
        near = store.vector_search(wide, is_lesson, vector, 5)
        records = store.get_many([r for r, cos in near if cos >= MERGE_SIMILARITY])
        same = [records[r] for r, _ in near if r in records and _same_kind(records[r], lesson)]
        target = _same_task(embedder, lesson, same)
        if target is not None and target.id not in {c.id for c in batch.changes}:
            meta = dict(target.metadata)
            key = _COUNT[lesson.outcome]
            meta[key] = int(meta.get(key, 0)) + 1
            meta["last_outcome"] = lesson.outcome
            meta["last_seen_at"] = at
            meta["episode_ids"] = _evidence(meta.get("episode_ids"), episode_ids)
            meta["batch_ids"] = _evidence(meta.get("batch_ids"), batch_ids)
            batch.changes.append(
                Change(
                    id=target.id,
                    metadata=meta,
                    reason=f"lesson seen again: {lesson.outcome} (episode {batch_ids[0]})",
                )
            )
            results.append(_result(target.id, target.memory, "UPDATE", meta))
            continue
        counts = {name: 0 for name in _COUNT.values()}
        counts[_COUNT[lesson.outcome]] = 1
        meta = {
            **metadata,
            "lesson": asdict(lesson),
            "cause_key": lesson.cause_key(),
            **counts,
            "last_outcome": lesson.outcome,
            "last_seen_at": at,
            "episode_ids": episode_ids,
            "batch_ids": batch_ids,
            "source": source,
        }
        new = NewMemory(
            id=str(uuid.uuid4()),
            memory=lesson.text(),
            scope=scope,
            vector=vector,
            metadata=meta,
            created_at=at,
            hash=text_hash(lesson.text()),
            memory_type="experience",
            role="assistant",
            categories=["lesson", lesson.outcome],
            valid_at=at,
        )
        batch.inserts.append(new)
        results.append(_result(new.id, new.memory, "ADD", meta))
    return batch, results


def _result(memory_id: str, text: str, event: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": memory_id,
        "memory": text,
        "event": event,
        "memory_type": "experience",
        "outcome": meta["last_outcome"],
        **{name: meta.get(name, 0) for name in _COUNT.values()},
    }
