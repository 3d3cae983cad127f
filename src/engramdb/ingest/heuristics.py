"""The deterministic offline fact extractor behind ``Memory.add(..., infer=True)`` when no
LLM is configured: regex rules over sentences and clauses, standard library only.

Before the rules run, :mod:`engramdb.ingest.fragments` puts back what chat leaves out: the
"I" of a fragment ("Just moved to Denver"), the subject shared by clauses joined with
"and"/"but"/commas, and the pet or relative behind "his/her/its name is X".

It is built for precision over recall. A sentence is skipped when it is a question or a
hypothetical; a rule match is dropped when a negation, a verb of saying or believing, or a
modal stands before it in its clause; "anymore"/"no longer" turn a clause into an
"ended" fact (``former_residence``, ``former_employer``) instead of a current one.

>>> [f.text for f in extract_facts("I live in Berlin and I love jazz.")]
['Lives in Berlin', 'Loves jazz']
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from engramdb.ingest.clause import CATEGORIES, Clause, Who
from engramdb.ingest.fragments import resolve_name_pronouns, restore_subject, split_clauses
from engramdb.ingest.ops import Fact, Role
from engramdb.ingest.phrases import normalize, singular, split_sentences
from engramdb.ingest.rules import IDENTITY_RULES, LOCATION_RULES
from engramdb.ingest.rules_base import Rule
from engramdb.ingest.rules_life import HEALTH_RULES, PET_RULES, RELATIONSHIP_RULES
from engramdb.ingest.rules_plans import EVENT_RULES, HOBBY_RULES, PLAN_RULES
from engramdb.ingest.rules_prefs import PREFERENCE_RULES
from engramdb.ingest.rules_school import EDUCATION_RULES
from engramdb.ingest.rules_work import WORK_RULES

__all__ = ["CATEGORIES", "RULES", "extract_facts"]

RULES: tuple[Rule, ...] = (
    *IDENTITY_RULES,
    *LOCATION_RULES,
    *WORK_RULES,
    *EDUCATION_RULES,
    *RELATIONSHIP_RULES,
    *PET_RULES,
    *PREFERENCE_RULES,
    *HEALTH_RULES,
    *HOBBY_RULES,
    *PLAN_RULES,
    *EVENT_RULES,
)

_QUESTION_WORDS = (
    r"(?:do|does|did|can|could|would|will|should|shall|is|are|am|was|were|have|has|what|where"
    r"|when|who|whom|whose|why|how|which|may|might|any\s+(?:idea|ideas|tips|thoughts)|right)"
)
_QUESTION_START = re.compile(rf"^\W*{_QUESTION_WORDS}\b", re.I)
# Where the question part of "Since I'm vegan, what should I eat?" begins.
_QUESTION_TAIL = re.compile(rf"[,;:]\s*(?:and\s+|so\s+|but\s+)?{_QUESTION_WORDS}\b", re.I)
_HYPOTHETICAL_START = re.compile(
    r"^\W*(?:(?:and|but|so|well|ok|okay|hmm|like)[,\s]+)?(?:if|unless|suppose|supposing|imagine"
    r"|what\s+if|assuming|hypothetically|in\s+case|pretend|let\s+us\s+say|say\s+that"
    r"|in\s+a\s+world|i\s+wish|in\s+my\s+dreams?)\b",
    re.I,
)
_HYPOTHETICAL_MID = re.compile(r"[,\s]+(?:even\s+)?(?:if|unless|as\s+if|as\s+though)\b", re.I)
# Words that, standing before a match in its clause, make it not a plain statement.
_BLOCK_BEFORE = re.compile(
    r"\b(?:not|never|no(?!\s*[,.!])|nobody|nothing|neither|nor|if|unless|whether|think|thinks"
    r"|thought|believe|believes|believed|said|says|told|tell|tells|assume|assumes|assumed"
    r"|wonder|wondering|wish|imagine|pretend|pretending|suppose|dream|dreamt|dreamed|hope"
    r"|would|could|should|might|maybe|perhaps|write|story|poem|character|roleplay|role-play"
    r"|lie|lied|joke|joking|kidding|claim|claims|claimed|whenever|once|asked|ask|wants|want"
    r"|says|saying|quote|novel|script|game|fictional|fiction|play|plays|playing|movie|book"
    r"|sure|forget|forgot|delete|erase|remove|unlearn)\b",
    re.I,
)
_ENDED = re.compile(r"\b(?:anymore|any\s+more|any\s+longer|no\s+longer|not\s+anymore)\b", re.I)


def _sentences(text: str) -> list[str]:
    """The statement parts of ``text``: questions and hypotheticals removed."""
    out = []
    for raw in split_sentences(resolve_name_pronouns(normalize(text))):
        sentence = restore_subject(raw)
        if _QUESTION_START.match(sentence) or _HYPOTHETICAL_START.match(sentence):
            continue
        if sentence.rstrip().endswith("?"):
            tail = _QUESTION_TAIL.search(sentence)
            if tail is None:
                continue
            sentence = restore_subject(sentence[: tail.start()])
        mid = _HYPOTHETICAL_MID.search(sentence)
        if mid:
            sentence = sentence[: mid.start()]
        if sentence.strip():
            out.append(sentence)
    return out


def _who(m: re.Match[str], rule: Rule, speaker: str) -> Who:
    if not rule.third_person:
        return Who(subject=speaker)
    rel = re.sub(r"\s+", " ", m.group("rel")).lower()
    name = m.groupdict().get("who")
    label = f"{rel.capitalize()} {name}" if name else rel.capitalize()
    return Who(subject=name or rel, label=label)


def _clause_facts(clause: Clause, speaker: str) -> list[Fact]:
    facts: list[Fact] = []
    ended = _ENDED.search(clause.text) is not None
    for rule in RULES:
        if clause.role == "assistant" and (not rule.assistant or rule.third_person):
            continue
        if (ended and rule.positive) or (rule.fallback and facts):
            continue
        for m in rule.pattern.finditer(clause.text):
            if _BLOCK_BEFORE.search(clause.text[: m.start()]):
                continue
            facts.extend(rule.build(m, clause, _who(m, rule, speaker)))
    return facts


def extract_facts(
    text: str, *, role: Role = "user", timestamp: datetime | None = None
) -> list[Fact]:
    """First-person facts and preferences stated in one message.

    ``timestamp`` is when the message was said; relative dates ("last month") are resolved
    against it and omitted from the fact text when it is missing. Assistant messages only
    yield the assistant's own identity (subject "assistant"); system and tool messages
    yield nothing.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2024, 3, 15, tzinfo=UTC)
    >>> f = extract_facts("I moved to Paris last month.", timestamp=at)
    >>> (f[0].attribute, f[0].value, f[0].text)
    ('residence', 'Paris', 'Moved to Paris in February 2024')
    """
    if role not in ("user", "assistant"):
        return []
    anchor = None
    if timestamp is not None:
        anchor = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp
        anchor = anchor.astimezone(UTC)
    speaker = "assistant" if role == "assistant" else "user"
    facts: list[Fact] = []
    seen: set[tuple[str, str | None, str]] = set()
    for sentence in _sentences(text):
        for part in split_clauses(sentence):
            for fact in _clause_facts(Clause(part, anchor, role), speaker):
                key = (fact.subject.lower(), fact.attribute, (fact.value or fact.text).lower())
                if key not in seen:
                    seen.add(key)
                    facts.append(fact)
    return _drop_unnamed_pets(facts)


def _drop_unnamed_pets(facts: list[Fact]) -> list[Fact]:
    """ "We got a puppy. His name is Waffles." names the puppy: the bare "puppy" goes."""
    named = " ".join(
        f.text.lower() for f in facts if f.attribute == "pet" and f.value and f.value[:1].isupper()
    )
    return [
        f
        for f in facts
        if not (
            f.attribute == "pet"
            and f.value
            and f.value.islower()
            and re.search(rf"\b{re.escape(singular(f.value))}\b", named)
        )
    ]
