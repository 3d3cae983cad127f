"""Deterministic entity and relation extraction from one memory's text (no model, no I/O).

Entities are capitalised name spans ("New York City", "Luna"), the speaker of a transcript
line ("Caroline: ..."), and dates (resolved against when the text was said, via
:mod:`engramdb.text.dates`). Relations come from a few first- and third-person patterns
("I moved from Sweden", "my sister Anna", "Tom works at Acme").

The kind of an entity is guessed from cheap evidence only: a name after a relation word is a
person, after "in"/"from"/"to" a place, after "works at" an organisation, a name ending in
"University" or "Street" says so itself; otherwise it is a ``thing``.

Each mention also says whether the memory is *about* the entity (``subject``: the speaker,
or the subject of a relation) or only mentions it: a line someone says about themselves
tells more about them than a line that greets them by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from engramdb.graph.resolve import normalise
from engramdb.models.graph import EntityKind, EntityMention, RelationMention
from engramdb.text.dates import find_time_expressions, query_time_expressions
from engramdb.text.lexicon import CAPITALIZED_NON_NAMES, RELATION_SLOT, RELATIONS, SPECIES
from engramdb.text.terms import STOPWORDS

# Words that start sentences in speech without naming anything.
_INTERJECTIONS = frozenset(
    """hey hi hello thanks thank wow oh ah yeah yep yup nah nope hmm congrats congratulations
    awesome cool nice great wonderful amazing lol omg ok okay sure yes no well anyway btw
    absolutely definitely totally exactly agreed aw aww ugh oops haha hahaha please
    yesterday today tomorrow tonight recently lately last next every actually honestly
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_NON_NAMES = frozenset(w.casefold() for w in CAPITALIZED_NON_NAMES) | _INTERJECTIONS
# "and" is not among them: "Luna and Oliver" are two names far more often than one.
_CONNECTORS = frozenset({"of", "the", "de", "del", "da", "van", "von", "la", "le"})
_ORG_WORDS = frozenset(
    """inc corp corporation company co ltd llc university college school academy bank
    hospital clinic group club foundation institute agency association society center centre
    church studio studios team council ministry department museum library""".split()  # noqa: SIM905
)
_PLACE_WORDS = frozenset(
    """city town village street st avenue ave road rd park lake mountain mountains mount mt
    beach island islands county river valley bay falls canyon forest state coast desert
    province region country area district neighbourhood neighborhood""".split()  # noqa: SIM905
)
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:in|from|to|near|visited|visiting|visit|around|across)\s+(?:the\s+)?)$"
)
_ORG_BEFORE = re.compile(
    r"(?:\b(?:work|works|working|worked|job|hired|employed|intern|interning)\s+(?:at|for|by)\s+)$",
    re.I,
)
_PERSON_BEFORE = re.compile(rf"(?:\b(?:{RELATIONS}|named|called|with|met|told|asked)\s+)$", re.I)
# A dot belongs to a word only inside it ("U.S"), so "Corp. Lisbon" is two spans.
_WORD = re.compile(r"[^\W\d_](?:[\w'’&+-]|\.(?=\w))*|\d(?:[\w'’-]|\.(?=\w))*", re.UNICODE)
_SPEAKER = re.compile(r"^\s*([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2})\s*:\s")
_SENTENCE_END = re.compile(r"[.!?\"“”(]\s*$|^\s*$")

# Relation patterns. {N} is a name span; the subject of first-person ones is the speaker.
# Case-sensitive even inside re.I patterns: a name starts with a capital.
_NAME = r"((?-i:[A-Z][\w'’-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’-]*){0,3}))"
_FIRST_PERSON: list[tuple[re.Pattern[str], str, EntityKind]] = [
    (
        re.compile(
            rf"\bI(?:'m| am|'ve| have)?\s+(?:living|live|lived|moved|relocated)\s+"
            rf"(?:in|to)\s+{_NAME}"
        ),
        "lives_in",
        "place",
    ),
    (
        re.compile(
            rf"\bI(?:'m| am)?\s+(?:originally\s+)?"
            rf"(?:from|grew up in|moved from|was born in)\s+{_NAME}"
        ),
        "from",
        "place",
    ),
    (
        re.compile(rf"\bI(?:'m| am)?\s+(?:work|working|worked|started)\s+(?:at|for)\s+{_NAME}"),
        "works_at",
        "organisation",
    ),
    (re.compile(rf"\bmy home country,?\s+{_NAME}"), "from", "place"),
]
_MY_RELATION = re.compile(rf"\bmy\s+({RELATIONS})(?:,)?\s+(?:named\s+|called\s+)?{_NAME}", re.I)
_PET = re.compile(rf"\b(?:{SPECIES})\s+(?:named|called)\s+{_NAME}", re.I)
_THIRD_PERSON: list[tuple[re.Pattern[str], str, EntityKind]] = [
    (re.compile(rf"{_NAME}\s+(?:lives|moved)\s+(?:in|to)\s+{_NAME}"), "lives_in", "place"),
    (re.compile(rf"{_NAME}\s+(?:works|worked)\s+(?:at|for)\s+{_NAME}"), "works_at", "organisation"),
    (re.compile(rf"{_NAME}\s+is\s+from\s+{_NAME}"), "from", "place"),
]


@dataclass
class Extracted:
    """The entities (with whether the memory is about each) and relations of one text."""

    entities: list[EntityMention] = field(default_factory=list)
    subjects: set[str] = field(default_factory=set)
    relations: list[RelationMention] = field(default_factory=list)
    #: Who "User" is in third-person fact texts ("User lives in Paris"); None drops it.
    self_name: str | None = None

    def add(self, name: str, kind: EntityKind, *, subject: bool = False) -> EntityMention | None:
        """Record a mention (kinds: the first specific guess wins); None for an empty name."""
        norm = normalise(name)
        if norm == "user":
            if not self.self_name:
                return None
            name, norm, kind = self.self_name, normalise(self.self_name), "person"
        if not norm or norm in STOPWORDS or norm in _NON_NAMES:
            return None
        for i, known in enumerate(self.entities):
            if known.norm == norm:
                if known.kind == "thing" and kind != "thing":
                    self.entities[i] = EntityMention(known.name, norm, kind)
                if subject:
                    self.subjects.add(norm)
                return self.entities[i]
        mention = EntityMention(name.strip(), norm, kind)
        self.entities.append(mention)
        if subject:
            self.subjects.add(norm)
        return mention

    def relate(
        self, subject: EntityMention | None, predicate: str, obj: EntityMention | None
    ) -> None:
        """Record a relation between two recorded mentions (the subject is what it is about)."""
        if subject is None or obj is None or subject.norm == obj.norm:
            return
        rel = RelationMention(subject, predicate, obj)
        if rel not in self.relations:
            self.relations.append(rel)
            self.subjects.add(subject.norm)


def _kind(span: str, before: str) -> EntityKind:
    last = normalise(span).rsplit(" ", 1)[-1]
    if last in _ORG_WORDS:
        return "organisation"
    if last in _PLACE_WORDS:
        return "place"
    if _ORG_BEFORE.search(before):
        return "organisation"
    if _PERSON_BEFORE.search(before):
        return "person"
    if _PLACE_BEFORE.search(before):
        return "place"
    return "thing"


def _spans(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised words, joined over lowercase connectors ("Bank of America")."""
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        start, end, word = words[i]
        if not word[0].isupper():
            i += 1
            continue
        j = i + 1
        while j < len(words):
            between = text[words[j - 1][1] : words[j][0]]
            if between.strip():
                break
            nxt = words[j][2]
            if nxt[0].isupper():
                end = words[j][1]
                j += 1
            elif (
                nxt.lower() in _CONNECTORS
                and j + 1 < len(words)
                and words[j + 1][2][0].isupper()
                and not text[words[j][1] : words[j + 1][0]].strip()
            ):
                j += 1
            else:
                break
        spans.append((start, end))
        i = j
    return spans


def _clean(span: str) -> str:
    """A span without edge punctuation or edge words that name nothing ("Hey Melanie")."""
    words = span.strip(" .,;:!?-'’").split()
    while words and (words[0].casefold() in _NON_NAMES or words[0].casefold() in STOPWORDS):
        words.pop(0)
    while words and words[-1].casefold() in _CONNECTORS:
        words.pop()
    return " ".join(words)


def extract(
    text: str,
    *,
    said_at: datetime | None = None,
    speaker: str | None = None,
    self_name: str | None = None,
) -> Extracted:
    """Entities and relations of one memory text.

    ``speaker`` (or a leading ``"Name: "`` label) is who said it: first-person relations
    ("I moved from Sweden") are about them. Without one, ``self_name`` (the user's id) is
    their subject, and becomes an entity only when such a relation is found. ``said_at``
    anchors relative dates.

    >>> out = extract("Caroline: I moved from my home country, Sweden, 4 years ago.")
    >>> [(e.name, e.kind) for e in out.entities]
    [('Caroline', 'person'), ('Sweden', 'place')]
    >>> [(r.subject.name, r.predicate, r.object.name) for r in out.relations]
    [('Caroline', 'from', 'Sweden')]
    """
    out = Extracted(self_name=self_name)
    label = _SPEAKER.match(text)
    body_start = 0
    who: EntityMention | None = None
    if label:
        who = out.add(label.group(1), "person", subject=True)
        body_start = label.end()
    elif speaker:
        who = out.add(speaker, "person", subject=True)
    for start, end in _spans(text[body_start:]):
        s, e = start + body_start, end + body_start
        raw = text[s:e]
        name = _clean(raw)
        if not name:
            continue
        before = text[body_start : s + raw.index(name.split()[0])]
        first = _SENTENCE_END.search(before) is not None
        if " " not in name and _vocative(before, text[e : e + 1], first):
            # "Thanks, Mel!" addresses Mel; it says nothing about her.
            continue
        possessive = name.endswith(("'s", "’s"))
        name = re.sub(r"['’]s$", "", name)
        acronym = name.isupper() and len(name) > 1
        if first and " " not in name and not possessive and not acronym:
            # One capitalised word opening a sentence is usually just a word ("Painting is
            # fun"); keep it only when it is plainly a name (a possessive, an acronym).
            continue
        if name.isupper() and len(name) == 1:
            continue
        out.add(name, _kind(name, before))
    for expr in find_time_expressions(text, said_at):
        if expr.start is not None:
            out.add(_date_norm(expr.start, expr.granularity), "date")
    first_person: list[tuple[str, str, EntityKind]] = []
    for pattern, predicate, kind in _FIRST_PERSON:
        first_person += [(predicate, m.group(1), kind) for m in pattern.finditer(text)]
    for m in _MY_RELATION.finditer(text):
        slot = RELATION_SLOT.get(m.group(1).lower(), m.group(1).lower().replace(" ", "_"))
        first_person.append((slot, m.group(2), "person"))
    first_person += [("pet", m.group(1), "thing") for m in _PET.finditer(text)]
    if who is None and first_person and self_name:
        who = out.add(self_name, "person", subject=True)
    if who is not None:
        for predicate, name, kind in first_person:
            out.relate(who, predicate, out.add(_clean(name), kind))
    for pattern, predicate, kind in _THIRD_PERSON:
        for m in pattern.finditer(text[body_start:]):
            subj = out.add(_clean(m.group(1)), "person")
            out.relate(subj, predicate, out.add(_clean(m.group(2)), kind))
    return out


def _vocative(before: str, after: str, first: bool) -> bool:
    """A name set off as a form of address ("Thanks, Mel!", "Caroline, look!", "...too,
    Caroline."), not an apposition ("my home country, Sweden, ...")."""
    if after and after not in ",!?.;":
        return False
    words = before.split()
    if first or (words and words[-1].casefold().strip(",!") in _INTERJECTIONS):
        return True
    return before.rstrip().endswith(",") and after != ","


def _date_norm(start: datetime, granularity: str) -> str:
    if granularity in ("day", "week", "weekend"):
        return start.date().isoformat()
    if granularity in ("month", "season"):
        return f"{start:%Y-%m}"
    return f"{start:%Y}"


def query_dates(text: str) -> list[str]:
    """Normal forms of the absolute dates a query names ("in May 2023" → "2023-05")."""
    return [
        _date_norm(e.start, e.granularity)
        for e in query_time_expressions(text)
        if e.start is not None
    ]
