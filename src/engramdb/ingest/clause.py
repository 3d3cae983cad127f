"""The unit the offline rules work on: one clause with its date expressions, who it is
about, and helpers that cut a clean value (a place, an organisation, a liked thing) out of
the words after a rule's verb."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from engramdb.ingest.ops import Fact, Role
from engramdb.ingest.phrases import capitalize_first, lower_first
from engramdb.text.dates import Prefer, TimeExpr, find_time_expressions
from engramdb.text.lexicon import CAPITALIZED_NON_NAMES

CATEGORIES = (
    "identity",
    "location",
    "work",
    "education",
    "relationships",
    "pets",
    "preferences",
    "health",
    "plans",
    "events",
    "hobbies",
)

_CAP = r"[A-Z][\w'’.&-]*"
_CONNECT = r"(?:of|de|del|la|le|upon|on|am|an|der|da|do|di|du|y|and|&)"
# A run of capitalised words ("New York City", "Bank of America"), optionally "the ..." and
# ", Region" ("Austin, Texas"); "I" never belongs to a name.
_PROPER = re.compile(
    rf"(?:[Tt]he\s+)?(?!I\b){_CAP}(?:\s+(?:{_CONNECT}\s+)?(?!I\b){_CAP})*"
    rf"(?:,\s+(?!I\b){_CAP}(?:\s+(?!I\b){_CAP})*)?"
)
_NAME = re.compile(r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+)?")
_PUNCT_STOP = re.compile(r"[,;:!?()\"]|\s[-–—]\s|\.(?:\s|$)")
# Words that end a value phrase: conjunctions, frequency and hedge words, and chat filler.
_STOPWORDS = frozenset(
    [
        "but",
        "because",
        "since",
        "so",
        "although",
        "though",
        "while",
        "when",
        "whenever",
        "which",
        "who",
        "whom",
        "where",
        "as",
        "too",
        "now",
        "right",
        "currently",
        "recently",
        "lately",
        "nowadays",
        "anymore",
        "again",
        "also",
        "already",
        "still",
        "actually",
        "really",
        "very",
        "much",
        "lot",
        "lol",
        "haha",
        "tbh",
        "btw",
        "honestly",
        "than",
        "over",
        "instead",
        "rather",
        "either",
        "except",
        "especially",
        "every",
        "each",
        "everyday",
        "daily",
        "weekly",
        "sometimes",
        "often",
        "usually",
        "ago",
        "then",
        "there",
        "here",
        "though",
        "these",
        "or",
        "unfortunately",
        "sadly",
        "apparently",
        "luckily",
        "fortunately",
        "obviously",
        "anyway",
        "anyways",
        "unfortunatly",
    ]
)
_PLACE_STOPWORDS = _STOPWORDS | frozenset(
    ["and", "with", "for", "at", "on", "in", "to", "from", "near", "by", "until", "after", "before"]
)
_JUNK_OBJECTS = re.compile(
    r"^(?:it|that|this|them|those|these|him|her|you|your|yours|me|us|everything|nothing"
    r"|something|anything|all|both|one|is|are|was|were|be|been|how|when|what|where|why|if"
    r"|whether|the way|about|here|there|to be|doing|going|having|so|such|more|most|lots?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Who:
    """Whom a fact is about: the speaker (``label`` None) or a named third party."""

    subject: str = "user"
    label: str | None = None


@dataclass
class Clause:
    """One clause of a message, with its dates resolved lazily per tense preference."""

    text: str
    anchor: datetime | None
    role: Role = "user"
    _times: dict[str, list[TimeExpr]] = field(default_factory=dict)

    def times(self, prefer: Prefer = "past") -> list[TimeExpr]:
        """Date expressions in the clause, resolved leaning to ``prefer``."""
        if prefer not in self._times:
            self._times[prefer] = find_time_expressions(self.text, self.anchor, prefer=prefer)
        return self._times[prefer]

    def when(self, prefer: Prefer = "past") -> TimeExpr | None:
        """The first date expression of the clause, if any."""
        found = self.times(prefer)
        return found[0] if found else None

    def region(self, start: int) -> str:
        """The words from ``start`` up to the next date expression or the clause end."""
        end = len(self.text)
        for expr in self.times():
            if expr.span[0] >= start:
                end = min(end, expr.span[0])
                break
            if expr.span[1] > start:
                return ""
        return self.text[start:end]


def _trim(words: list[str], stops: frozenset[str], limit: int) -> list[str]:
    out: list[str] = []
    for word in words:
        if word.lower() in stops or len(out) >= limit:
            break
        out.append(word)
    while out and out[-1].lower() in ("the", "a", "an", "my", "of", "in", "to", "with", "for"):
        out.pop()
    return out


def _first_chunk(text: str) -> str:
    m = _PUNCT_STOP.search(text)
    return (text[: m.start()] if m else text).strip()


def proper_or_phrase(text: str, *, limit: int = 5) -> str | None:
    """A place or organisation at the start of ``text``: a capitalised name if there is one
    ("Paris", "the Bay Area", "Austin, Texas"), else a short lowercase phrase ("a small
    town in Ohio", "berlin")."""
    text = text.strip()
    m = _PROPER.match(text)
    if m:
        return m.group(0).rstrip(".,")
    words = _trim(_first_chunk(text).split(), _PLACE_STOPWORDS, limit)
    if not words or _JUNK_OBJECTS.match(words[0]):
        return None
    phrase = " ".join(words)
    rest = text[len(phrase) :]
    tail = re.match(rf"\s+(?:in|at|near)\s+({_PROPER.pattern})", rest)
    return phrase + tail.group(0) if tail else phrase


def object_phrase(text: str, *, limit: int = 7, lists: bool = False) -> str | None:
    """The liked/disliked/studied thing at the start of ``text``, cut at the clause's end,
    a conjunction or a hedge ("jazz so much" -> "jazz"). With ``lists``, commas do not end
    the phrase, so "knitting, baking and birdwatching" stays whole for :func:`split_items`."""
    chunk = re.split(r"[;:!?()\"]|\.(?:\s|$)", text)[0] if lists else _first_chunk(text)
    chunk = re.sub(r"\s+at\s+all\b.*$", "", chunk, flags=re.I)
    words = _trim(chunk.replace(",", " , ").split(), _STOPWORDS, limit * 3 if lists else limit)
    words = [w for w in " ".join(words).replace(" , ", ", ").split(" ") if w]
    if not words:
        return None
    phrase = " ".join(words).strip(" .'\"")
    if not phrase or _JUNK_OBJECTS.match(phrase) or re.search(r"\byou(?:r|rs)?\b", phrase, re.I):
        return None
    return phrase


def name_at(text: str) -> str | None:
    """A person's or pet's name at the start of ``text`` ("Anna", "Mary Jane")."""
    m = _NAME.match(text.strip())
    if not m:
        return None
    words = [w for w in m.group(0).split() if w not in CAPITALIZED_NON_NAMES]
    if not words or words[0] != m.group(0).split()[0]:
        return None
    return " ".join(words)


def split_items(phrase: str) -> list[str]:
    """ "jazz, blues and rock" -> ["jazz", "blues", "rock"]."""
    parts = re.split(r"\s*(?:,\s*(?:and|or)?|\band\b|\bor\b|&|/)\s*", phrase)
    return [p.strip() for p in parts if p and p.strip()]


def make_fact(
    who: Who,
    template: str,
    *,
    clause: Clause,
    attribute: str,
    value: str | None,
    single: bool,
    categories: tuple[str, ...],
    when: TimeExpr | None = None,
) -> Fact:
    """A fact whose text is ``template`` ("Lives in Paris") for the speaker, or prefixed with
    the third party's label ("Sister Anna lives in Paris"), plus the date when resolved."""
    text = template if who.label is None else f"{who.label} {lower_first(template)}"
    event_time = None
    if when is not None and when.start is not None:
        text = f"{text} {when.describe()}"
        event_time = when.start
        if "events" not in categories and event_time <= (clause.anchor or event_time):
            categories = (*categories, "events")
    source: Role = "assistant" if clause.role == "assistant" else "user"
    return Fact(
        text=capitalize_first(text.strip()),
        subject=who.subject,
        attribute=attribute,
        value=value,
        single_valued=single,
        categories=categories,
        event_time=event_time,
        source_role=source,
    )
