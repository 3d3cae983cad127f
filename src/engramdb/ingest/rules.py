"""Offline extraction rules for identity (name, age, birthday, nationality, origin) and
location (residence, moves, former residences)."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    name_at,
    proper_or_phrase,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.rules_base import Rule, number, rules, slot
from engramdb.text.lexicon import (
    CAPITALIZED_NON_NAMES,
    LANGUAGES,
    NATIONALITIES,
    RELATIONS,
)

# --- identity ------------------------------------------------------------------------


def _name(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.text[m.end() :]
    name = name_at(rest)
    if not name or re.fullmatch(NATIONALITIES, name, re.I) or re.fullmatch(LANGUAGES, name, re.I):
        return []
    after = rest.strip()[len(name) :].strip()
    # "I'm Sarah" / "I'm Sarah, a nurse" but not "I'm Mexican food's biggest fan".
    if (
        m.group(0).lower().rstrip().endswith("am")
        and after
        and not re.match(r"(?:[,.!;]|and\b|from\b|here\b|by the way\b|btw\b)", after, re.I)
    ):
        return []
    if name.split()[0] in CAPITALIZED_NON_NAMES:
        return []
    return [
        make_fact(
            who,
            f"Name is {name}",
            clause=clause,
            attribute="name",
            value=name,
            single=True,
            categories=("identity",),
        )
    ]


def _age(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.text[m.end() :]
    age = number(rest)
    tail = re.sub(r"^\s*(?:\d+|[a-z]+(?:[\s-][a-z]+)?)", "", rest.lower(), count=1)
    if age is None or not 1 <= age <= 120:
        return []
    turned = "turned" in m.group(0).lower()
    if not turned and not re.match(r"\s*(?:$|[,.!;]|years?\b|yrs?\b|y/?o\b|and\b|but\b)", tail):
        return []
    text = f"Turned {age}" if turned else f"Is {age} years old"
    return [
        make_fact(
            who,
            text,
            clause=clause,
            attribute="age",
            value=str(age),
            single=True,
            categories=("identity",),
            when=clause.when("past") if turned else None,
        )
    ]


def _birthday(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    when = next((t for t in clause.times("future") if t.span[0] >= m.start()), None)
    if when is None or when.start is None or when.granularity != "day":
        return []
    day = f"{when.start:%B} {when.start.day}"
    out = [
        make_fact(
            who,
            f"Birthday is on {day}",
            clause=clause,
            attribute="birthday",
            value=day,
            single=True,
            categories=("identity",),
        )
    ]
    if re.search(r"\b(?:19|20)\d\d\b", when.text):
        out.append(_birth_year(who, clause, when.start.year))
    return out


def _birth_year(who: Who, clause: Clause, year: int) -> Fact:
    return make_fact(
        who,
        f"Was born in {year}",
        clause=clause,
        attribute="birth_year",
        value=str(year),
        single=True,
        categories=("identity",),
    )


def _born_in(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.text[m.end() :]
    year = re.match(r"\s*((?:19|20)\d\d)\b", rest)
    if year:
        out = [_birth_year(who, clause, int(year.group(1)))]
        place = re.match(r"\s+in\s+", rest[year.end() :])
        if place:
            out += slot(
                "birthplace", "Was born in {v}", ("identity", "location"), single=True, value=_PLACE
            )(place, Clause(rest[year.end() :], clause.anchor), who)
        return out
    return slot(
        "birthplace",
        "Was born in {v}",
        ("identity", "location"),
        single=True,
        value=proper_or_phrase,
    )(m, clause, who)


def _nationality(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    nat = m.group("nat")
    after = clause.text[m.end() :].strip().lower()
    if after and not re.match(r"(?:[,.!;]|and\b|but\b|citizen\b|by\b|national\b)", after):
        return []
    value = "-".join(p.capitalize() for p in re.split(r"[\s-]+", nat))
    return [
        make_fact(
            who,
            f"Is {value}",
            clause=clause,
            attribute="nationality",
            value=value,
            single=True,
            categories=("identity",),
        )
    ]


def _pronouns(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    value = (m.group("p") or m.group("p2")).lower()
    return [
        make_fact(
            who,
            f"Uses {value} pronouns",
            clause=clause,
            attribute="pronouns",
            value=value,
            single=True,
            categories=("identity",),
        )
    ]


_PLACE = proper_or_phrase
# "a flat in Leeds" is where in Leeds; the place to remember is Leeds.
_DWELLING = re.compile(
    r"^(?:an?|the|my|our)\s+(?:[\w-]+\s+){0,2}?(?:flat|apartment|house|condo|studio|place"
    r"|home|townhouse|dorm|cottage|bungalow|loft|basement|room|houseboat|shared\s+house)"
    r"\s+(?:in|near|outside(?:\s+of)?)\s+(?=[A-Z])",
    re.I,
)


def _residence(text: str) -> str | None:
    place = proper_or_phrase(text)
    if place and not place[:1].isupper():
        m = _DWELLING.match(place)
        if m:
            return place[m.end() :]
    return place


# How people qualify their work without changing where it is ("I work night shifts at X").
_SHIFTS = (
    r"(?:(?:part[\s-]time|full[\s-]time|remotely|nights|night\s+shifts|shifts|weekends"
    r"|freelance)\s+)?"
)
_A = r"(?:(?:now|currently|still|also|just|happily)\s+)*"
_LIVE1 = (
    rf"live|am\s+{_A}living|have\s+{_A}lived|have\s+been\s+{_A}living|reside|am\s+{_A}based"
    rf"|am\s+{_A}located"
)
_LIVE3 = (
    rf"lives|is\s+{_A}living|has\s+{_A}lived|has\s+been\s+{_A}living|resides|is\s+{_A}based"
    rf"|is\s+{_A}located"
)
# "I live with my girlfriend Maya in Leeds": who they live with is for the relationship
# rules; the place follows the first "in".
_WITH = r"\s+with\s+(?:[^,;.]+?)\s+"

IDENTITY_RULES: list[Rule] = [
    *rules(
        r"\bmy\s+name\s+is\s+|\b(?:people\s+|you\s+can\s+)?call\s+me\s+",
        _name,
        raw=True,
        assistant=True,
    ),
    *rules(r"go\s+by\s+(?=(?-i:[A-Z]))|am\s+(?=(?-i:[A-Z]))", _name, assistant=True),
    *rules(
        r"am\s+(?=\d|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b)"
        r"|(?:just\s+)?turned\s+(?=\d|[a-z]+\b)|am\s+an?\s+(?=\d+[\s-]year)",
        _age,
        third=r"is\s+(?=\d)|(?:just\s+)?turned\s+(?=\d)",
    ),
    *rules(r"\bmy\s+(?:birthday|bday)\s+is\b", _birthday, raw=True),
    *rules(r"was\s+born\s+on\b", _birthday),
    Rule(
        re.compile(rf"\bmy\s+(?P<rel>{RELATIONS})'s\s+(?:birthday|bday)\s+is\b", re.I),
        _birthday,
        third_person=True,
    ),
    *rules(r"was\s+born\s+(?:and\s+raised\s+)?in\s+", _born_in),
    *rules(
        rf"am\s+(?:an?\s+)?(?:proud\s+|half[\s-]+)?(?P<nat>{NATIONALITIES}"
        rf"(?:[\s-]{NATIONALITIES})?)\b",
        _nationality,
        third=rf"is\s+(?:an?\s+)?(?P<nat>{NATIONALITIES})\b",
    ),
    *rules(
        r"\bmy\s+pronouns\s+are\s+(?P<p>\w+/\w+)|\bI\s+use\s+(?P<p2>\w+/\w+)\s+pronouns",
        _pronouns,
        raw=True,
    ),
    *rules(
        r"am\s+(?:originally\s+)?from\s+|come\s+from\s+",
        slot("origin", "Is from {v}", ("identity", "location"), single=True, value=_PLACE),
        third=r"is\s+(?:originally\s+)?from\s+|comes\s+from\s+",
    ),
    *rules(
        r"grew\s+up\s+in\s+",
        slot("hometown", "Grew up in {v}", ("identity", "location"), single=True, value=_PLACE),
    ),
]

LOCATION_RULES: list[Rule] = [
    *rules(
        rf"(?:{_LIVE1})(?:{_WITH}|\s+)(?:in|out\s+of)\s+",
        slot("residence", "Lives in {v}", ("location",), single=True, value=_residence),
        third=rf"(?:{_LIVE3})(?:{_WITH}|\s+)(?:in|out\s+of)\s+",
    ),
    *rules(
        r"(?:have\s+)?(?:moved|relocated)\s+(?:back\s+)?(?:home\s+)?(?:here\s+)?to\s+"
        r"|(?:have\s+)?moved\s+from\s+[^,;]+?\s+to\s+",
        slot("residence", "Moved to {v}", ("location",), single=True, value=_PLACE),
        third=r"(?:has\s+)?(?:moved|relocated)\s+(?:back\s+)?to\s+",
    ),
    *rules(
        r"(?:used\s+to\s+live|no\s+longer\s+live|no\s+longer\s+reside|lived)\s+in\s+"
        r"|moved\s+(?:away\s+|here\s+|out\s+)?(?:from|of)\s+",
        slot("former_residence", "Used to live in {v}", ("location",), single=False, value=_PLACE),
        positive=False,
    ),
    *rules(
        r"do\s+not\s+(?:really\s+)?live\s+in\s+(?=.*\b(?:anymore|any\s+longer|any\s+more)\b)",
        slot(
            "former_residence", "No longer lives in {v}", ("location",), single=False, value=_PLACE
        ),
        positive=False,
    ),
]
