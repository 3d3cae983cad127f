"""The offline reconciler: decide ADD / SUPERSEDE / NONE / DELETE for extracted facts
against existing memories, without an LLM.

The rules, in order:

* DELETE only for an explicit :class:`ForgetRequest` ("forget that I live in Berlin").
  Nothing else ever deletes; a duplicate is a NONE, not a DELETE.
* NONE when the fact is already known: same text, the same ``(subject, attribute)`` with
  the same value, or (for memories without an attribute) a near-identical text that also
  contains the fact's value.
* SUPERSEDE when a single-valued slot ("residence", "preference:coffee") of the same
  subject holds a different value; ``target`` is the newest such memory. A ``former_*``
  fact ("No longer lives in Berlin") supersedes the matching current memory.
* ADD otherwise: multi-valued slots (a second pet, another language) accumulate.

Within one batch, a later fact for the same single-valued slot wins and the earlier one is
answered with NONE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from engramdb.ingest.forget import ForgetRequest
from engramdb.ingest.ops import Decision, Existing, Fact

__all__ = ["ENDED_PREFIX", "reconcile"]

ENDED_PREFIX = "former_"
NEAR_DUPLICATE = 0.92
_TOKEN = re.compile(r"[a-z0-9]+")
_NEGATIVE = re.compile(r"^(?:dislikes|hates|does not|can not|cannot|is not|detests)\b", re.I)


def _norm(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def _jaccard(a: str, b: str) -> float:
    ta, tb = set(_TOKEN.findall(a.lower())), set(_TOKEN.findall(b.lower()))
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def _subject(value: str | None) -> str:
    return (value or "user").strip().lower()


def _contains(text: str, value: str) -> bool:
    needle = _norm(value)
    return bool(needle) and f" {needle} " in f" {_norm(text)} "


def _existing_value(ex: Existing) -> str | None:
    return ex.extra.get("value")


def _same_value(fact: Fact, ex: Existing) -> bool:
    """Whether ``ex`` (same slot as ``fact``) already holds ``fact``'s value."""
    stored = _existing_value(ex)
    if fact.value is None:
        return _norm(fact.text) == _norm(ex.text)
    if stored is not None:
        return _norm(stored) == _norm(fact.value)
    if fact.value in ("likes", "dislikes"):
        # Preferences store their polarity as the value; older memories only have text.
        return (fact.value == "dislikes") == bool(_NEGATIVE.match(ex.text.strip()))
    return _contains(ex.text, fact.value)


def _newest(candidates: list[Existing]) -> Existing:
    return max(
        candidates,
        key=lambda e: (e.created_at.timestamp() if e.created_at else float("-inf"), e.ref),
    )


def _duplicate(
    fact: Fact, existing: Sequence[Existing], similar: Callable[[str, str], float] | None
) -> Existing | None:
    for ex in existing:
        if _norm(ex.text) == _norm(fact.text):
            return ex
        if ex.attribute is not None and fact.attribute is not None:
            if (
                ex.attribute == fact.attribute
                and _subject(ex.subject) == _subject(fact.subject)
                and _same_value(fact, ex)
            ):
                return ex
            continue
        # A memory without a slot (written by an LLM, or by hand): only a near-identical
        # text that also names the same value counts, so "dog Rex" never hides "dog Max".
        score = similar(fact.text, ex.text) if similar else _jaccard(fact.text, ex.text)
        if score >= NEAR_DUPLICATE and (fact.value is None or _contains(ex.text, fact.value)):
            return ex
    return None


def _forget_matches(
    req: ForgetRequest, ex: Existing, similar: Callable[[str, str], float] | None
) -> bool:
    if _subject(req.subject) != _subject(ex.subject):
        return False
    if req.attribute is not None and ex.attribute is not None:
        if ex.attribute != req.attribute:
            return False
        return (
            req.value is None
            or _contains(ex.text, req.value)
            or (
                _existing_value(ex) is not None
                and _norm(_existing_value(ex) or "") == _norm(req.value)
            )
        )
    if req.value is not None and not _contains(ex.text, req.value):
        return False
    score = similar(req.text, ex.text) if similar else _jaccard(req.text, ex.text)
    return score >= (0.75 if similar else 0.5)


def reconcile(
    facts: list[Fact],
    existing: list[Existing],
    *,
    similar: Callable[[str, str], float] | None = None,
    forget: Sequence[ForgetRequest] = (),
) -> list[Decision]:
    """One decision per fact (in order), preceded by a DELETE per memory a forget request
    names. ``similar(a, b)`` in [0, 1] (e.g. embedding cosine) sharpens near-duplicate
    detection for memories without an attribute; token overlap is used without it."""
    decisions: list[Decision] = []
    deleted: set[int] = set()
    for req in forget:
        for ex in existing:
            if ex.ref not in deleted and _forget_matches(req, ex, similar):
                deleted.add(ex.ref)
                decisions.append(
                    Decision("DELETE", None, ex.ref, f"user asked to forget: {req.text}")
                )
    live = [ex for ex in existing if ex.ref not in deleted]

    last: dict[tuple[str, str], int] = {}
    for i, fact in enumerate(facts):
        if fact.single_valued and fact.attribute:
            last[(_subject(fact.subject), fact.attribute)] = i

    for i, fact in enumerate(facts):
        slot = (_subject(fact.subject), fact.attribute or "")
        if fact.single_valued and fact.attribute and last[slot] != i:
            decisions.append(Decision("NONE", fact, None, "replaced later in the same message"))
            continue
        dup = _duplicate(fact, live, similar)
        if dup is not None:
            decisions.append(Decision("NONE", fact, dup.ref, "already known"))
            continue
        decisions.append(_slot_decision(fact, live))
    return decisions


def _slot_decision(fact: Fact, live: list[Existing]) -> Decision:
    if fact.attribute is None:
        return Decision("ADD", fact)
    subject = _subject(fact.subject)
    same_subject = [ex for ex in live if _subject(ex.subject) == subject]
    if fact.attribute.startswith(ENDED_PREFIX):
        current = fact.attribute.removeprefix(ENDED_PREFIX)
        ended = [
            ex
            for ex in same_subject
            if ex.attribute == current and (fact.value is None or _contains(ex.text, fact.value))
        ]
        if ended:
            return Decision("SUPERSEDE", fact, _newest(ended).ref, f"{current} ended")
        return Decision("ADD", fact)
    if fact.single_valued:
        held = [ex for ex in same_subject if ex.attribute == fact.attribute]
        if held:
            return Decision("SUPERSEDE", fact, _newest(held).ref, f"new {fact.attribute}")
    return Decision("ADD", fact)
