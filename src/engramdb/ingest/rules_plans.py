"""Offline extraction rules: hobbies, languages, plans and dated life events."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    object_phrase,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.phrases import base_form
from engramdb.ingest.rules_base import Build, Rule, article, rules, slot
from engramdb.ingest.rules_prefs import META
from engramdb.text.lexicon import (
    ACTIVITIES,
    EVENT_VERBS,
    GAMES,
    HOBBY_VERBS,
    LANGUAGES,
    PLAN_VERBS,
)

# --- hobbies, languages --------------------------------------------------------------------


def _hobby_word(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    verb = re.sub(r"\s+", " ", m.group("hv").lower())
    gerund = HOBBY_VERBS.get(verb, verb)
    return [
        make_fact(
            who,
            f"Enjoys {gerund}",
            clause=clause,
            attribute="hobby",
            value=gerund,
            single=False,
            categories=("hobbies",),
        )
    ]


def _hobby_group(template: str, group: str = "h") -> Build:
    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        value = re.sub(r"\s+", " ", m.group(group)).lower()
        dated = re.search(r"took|taken|started", m.group(0), re.I)
        return [
            make_fact(
                who,
                template.format(v=value),
                clause=clause,
                attribute="hobby",
                value=value,
                single=False,
                categories=("hobbies",),
                when=clause.when("past") if dated else None,
            )
        ]

    return build


def _languages(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    phrase = clause.region(m.end())
    langs = re.findall(LANGUAGES, phrase.split(".")[0], re.I)
    return [
        make_fact(
            who,
            f"Speaks {lang.title()}",
            clause=clause,
            attribute="language",
            value=lang.title(),
            single=False,
            categories=("identity",),
        )
        for lang in dict.fromkeys(langs)
    ]


# --- plans and events ----------------------------------------------------------------------


def _future_time(clause: Clause) -> bool:
    when = clause.when("future")
    if when is None:
        return False
    if when.start is not None and clause.anchor is not None:
        return when.start >= clause.anchor.replace(hour=0, minute=0, second=0, microsecond=0) or (
            when.granularity in ("month", "year", "week", "season")
            and when.start.year >= clause.anchor.year
        )
    return bool(re.search(r"next|tomorrow|this|coming|in\s+\w+\s+\w+s?$", when.text, re.I))


def _verb_phrase(text: str) -> str | None:
    phrase = object_phrase(text, limit=8)
    if not phrase or re.match(r"(?:not|be\s+honest|say|ask|be\s+back)\b", phrase, re.I):
        return None
    return phrase


def _plan(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    going_place = m.group(0).lower().rstrip().endswith("going to") and re.match(
        r"\s*(?:the\s+)?[A-Z]", rest
    )
    phrase = _verb_phrase(rest)
    if not phrase:
        return []
    words = phrase.split()
    if going_place:
        phrase, verb = f"go to {phrase}", "go"
    else:
        verb = base_form(words[0]) if words[0].lower().endswith("ing") else words[0].lower()
        phrase = " ".join([verb, *words[1:]])
    known = re.fullmatch(PLAN_VERBS, verb, re.I) is not None
    if not known and not _future_time(clause):
        return []
    hope = re.search(r"\bhop(?:e|ing)\b", m.group(0), re.I)
    text = f"{'Hopes' if hope else 'Plans'} to {phrase}"
    return [
        make_fact(
            who,
            text,
            clause=clause,
            attribute="plan",
            value=phrase,
            single=False,
            categories=("plans",),
            when=clause.when("future"),
        )
    ]


def _progressive_plan(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    gerund = m.group("g")
    if gerund.lower() == "going" or not _future_time(clause):
        return []
    verb = base_form(gerund)
    if not re.fullmatch(PLAN_VERBS, verb, re.I):
        return []
    tail = object_phrase(clause.region(m.end()), limit=7) or ""
    phrase = f"{verb} {tail}".strip()
    return [
        make_fact(
            who,
            f"Plans to {phrase}",
            clause=clause,
            attribute="plan",
            value=phrase,
            single=False,
            categories=("plans",),
            when=clause.when("future"),
        )
    ]


def _appointment(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    if not _future_time(clause):
        return []
    tail = object_phrase(clause.region(m.end()), limit=5) or ""
    thing = f"{m.group('a').lower()} {tail}".strip()
    return [
        make_fact(
            who,
            f"Has {article(thing)}",
            clause=clause,
            attribute="plan",
            value=thing,
            single=False,
            categories=("plans",),
            when=clause.when("future"),
        )
    ]


def _event(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    when = clause.when("past")
    if when is None or when.start is None:
        return []
    verb = re.sub(r"\s+", " ", m.group("ev").lower())
    tail = object_phrase(clause.region(m.end()), limit=6)
    if verb.startswith("went") and not (tail and tail[:1].isupper()):
        return []
    if (not tail or META.search(tail)) and verb not in ("retired", "had surgery", "had a baby"):
        return []
    phrase = f"{verb} {tail or ''}".strip()
    return [
        make_fact(
            who,
            phrase[:1].upper() + phrase[1:],
            clause=clause,
            attribute="event",
            value=phrase,
            single=False,
            categories=("events",),
            when=when,
        )
    ]


HOBBY_RULES: list[Rule] = [
    Rule(
        re.compile(
            r"\bmy\s+(?:main\s+|favourite\s+)?hobb(?:y|ies)\s+(?:is|are|include|includes)"
            r"\s+",
            re.I,
        ),
        slot("hobby", "Enjoys {v}", ("hobbies",), single=False, items=True),
    ),
    *rules(
        rf"(?:play|have\s+been\s+playing|started\s+playing)\s+(?:the\s+|a\s+lot\s+of\s+)?"
        rf"(?P<h>{GAMES})\b",
        _hobby_group("Plays {v}"),
    ),
    *rules(
        rf"(?:do|practi[cs]e|have\s+been\s+doing|took\s+up|have\s+taken\s+up|started)\s+"
        rf"(?P<h>{ACTIVITIES})\b",
        _hobby_group("Does {v}"),
    ),
    *rules(
        r"(?:go|took\s+up|have\s+taken\s+up|started)\s+(?P<h>(?!going\b)[a-z]+ing)\b",
        _hobby_group("Enjoys {v}"),
    ),
    *rules(
        r"(?P<hv>" + "|".join(sorted(HOBBY_VERBS, key=len, reverse=True)) + r")"
        r"(?=\s*$|\s*[,.!]|\s+(?:a\s+lot|every|on\s+(?:weekends|the\s+weekend|sundays|saturdays)"
        r"|most|regularly|daily|weekly|in\s+my\s+(?:free|spare)|whenever|as\s+a\s+hobby"
        r"|for\s+fun|competitively|twice|three\s+times|once\s+a))",
        _hobby_word,
    ),
    *rules(
        rf"(?:speak|can\s+speak|am\s+fluent\s+in|am\s+bilingual\s+in|grew\s+up\s+speaking)\s+"
        rf"(?=(?:\w+\s+){{0,2}}{LANGUAGES}\b)",
        _languages,
    ),
    *rules(
        rf"(?:am|have\s+been|started)\s+learning\s+(?:to\s+(?:play|speak)\s+(?:the\s+)?)?"
        rf"(?P<h>{LANGUAGES}|{GAMES})\b",
        lambda m, c, w: [
            make_fact(
                w,
                f"Is learning {m.group('h')}",
                clause=c,
                attribute="learning",
                value=m.group("h"),
                single=False,
                categories=("education", "hobbies"),
                when=c.when("past") if "started" in m.group(0) else None,
            )
        ],
    ),
    Rule(
        re.compile(
            rf"\bmy\s+(?:native\s+language|mother\s+tongue|first\s+language)\s+is\s+"
            rf"(?P<h>{LANGUAGES})\b|\bI\s+am\s+a\s+native\s+(?P<h2>{LANGUAGES})\s+speaker",
            re.I,
        ),
        lambda m, c, w: [
            make_fact(
                w,
                f"Native language is {(m.group('h') or m.group('h2'))}",
                clause=c,
                attribute="native_language",
                value=(m.group("h") or m.group("h2")).title(),
                single=True,
                categories=("identity",),
            )
        ],
    ),
]

PLAN_RULES: list[Rule] = [
    *rules(
        r"(?:am|are)\s+(?:going|planning|about|hoping|scheduled)\s+to\s+|(?:am|are)\s+planning"
        r"\s+on\s+|plan\s+to\s+|intend\s+to\s+|will\s+(?!not\b)|hope\s+to\s+|have\s+decided\s+to\s+"
        r"|decided\s+to\s+(?=\w+\s+(?:to|in|next|this))",
        _plan,
    ),
    *rules(r"(?:am|are)\s+(?P<g>[a-z]+ing)\s+", _progressive_plan),
    *rules(
        r"have\s+(?:an?|my)\s+(?P<a>(?:job\s+)?interview|trip|flight|vacation|holiday|exam"
        r"|(?:doctor's\s+|dentist\s+|dental\s+)?appointment|wedding|surgery|concert|conference"
        r"|race|marathon|recital|audition|date)\b",
        _appointment,
    ),
]


def _quit_habit(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    """ "I quit smoking two years ago" -> event "quit smoking" (dated when said)."""
    habit = m.group("g").lower()
    return [
        make_fact(
            who,
            f"Quit {habit}",
            clause=clause,
            attribute="event",
            value=f"quit {habit}",
            single=False,
            categories=("events", "health"),
            when=clause.when("past"),
        )
    ]


EVENT_RULES: list[Rule] = [
    *rules(
        r"(?:quit|gave\s+up|stopped|kicked)\s+(?P<g>smoking|vaping|drinking|gambling|caffeine"
        r"|alcohol|sugar|cigarettes|nicotine|weed|coffee|soda|social\s+media|meat|dairy"
        r"|biting\s+my\s+nails)\b(?!\s+(?!(?:\w+\s+)?(?:ago|last|in|on|since|years?|months?|weeks?|for"
        r"|cold|after|when|because|and|but)\b)[a-z])",
        _quit_habit,
        positive=False,
    ),
    *rules(rf"(?P<ev>{EVENT_VERBS})\s*", _event, fallback=True),
]
