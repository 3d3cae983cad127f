"""``Memory.feedback`` and ``Memory.lessons``: learning from outcomes (see ``engramdb.learn``)."""

from __future__ import annotations

from typing import Any

from engramdb.errors import ValidationError
from engramdb.facade.core import FacadeCore
from engramdb.learn import feedback as learn_feedback
from engramdb.learn import lessons as learn_lessons
from engramdb.retrieve.search import search_text
from engramdb.timeutil import iso, utcnow
from engramdb.validation import check_limit, check_query


class LearningMethods:
    """Feedback on memories and lessons from experience."""

    def feedback(
        self: FacadeCore,
        memory_id: str,
        signal: str,
        *,
        note: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        """Judge a memory or search result: ``useful``, ``not_useful`` or ``wrong``.

        Recorded in :meth:`history` (event ``FEEDBACK``). useful / not_useful move the memory's
        importance and re-rank it in searches for ``query`` and similar queries (unrelated
        ones are untouched); ``wrong`` flags it (status ``flagged``), out of search. ``query``
        is embedded as a search in the memory's scope embeds it (see :meth:`search`).
        See ``engramdb.retrieve.feedback`` for the formula.
        """
        signal, note, query = learn_feedback.check(signal, note, query)
        record = self._owned(memory_id)
        vector = None
        if query:
            # Embedded as a search embeds it (without names on most of the scope's memories),
            # so a later search for the same question finds the judgement at cosine 1.
            entities = self._entities(query, record.scope)
            text = search_text(query, entities, self.config.retrieval)
            vector = self.embedder.embed([text])[0]
        batch, out = learn_feedback.plan(record, signal, note, query, vector, iso(utcnow()))
        self.store.apply(batch)
        if batch.changes[0].nudge is not None:
            # The store nudged the value it held, which a concurrent judgement may have moved.
            out["importance"] = self._owned(memory_id).importance
        return out

    def lessons(
        self: FacadeCore,
        task: str,
        *,
        agent_id: str | None = None,
        user_id: str | None = None,
        limit: int = 5,
        threshold: float = learn_lessons.DEFAULT_THRESHOLD,
    ) -> dict[str, Any]:
        """The lessons most relevant to ``task``, recorded by ``add(memory_type="experience")``.

        Failures that match the task are weighted up (so they are not repeated); each lesson
        comes with its evidence (success/failure counts, episode ids). See
        ``engramdb.learn.lessons`` for the ranking.
        """
        check_query(task)
        limit = check_limit(limit)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValidationError(f"threshold must be a number, not {threshold!r}")
        scope, where = self._scope(
            user_id, agent_id, None, {"memory_type": "experience"}, required=True, action="lessons"
        )
        hits = self._hits(task, scope, where, max(4 * limit, 20), None)
        return {"results": learn_lessons.select(hits, limit, threshold)}
