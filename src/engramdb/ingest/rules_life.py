"""Offline extraction rules: relationships, pets, preferences and health."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    name_at,
    split_items,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.phrases import singular
from engramdb.ingest.rules_base import Rule, article, constant, rules, slot
from engramdb.text.lexicon import (
    CAPITALIZED_NON_NAMES,
    CONDITIONS,
    RELATION_SLOT,
    RELATIONS,
    SINGLE_RELATIONS,
    SPECIES,
    STATUSES,
)

_NAME = r"(?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_LOSS = re.compile(r"\b(?:died|passed\s+away|passed|put\s+down|lost|ran\s+away)\b", re.I)
# --- relationships -------------------------------------------------------------------


def _relative(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rel = re.sub(r"\s+", " ", m.group("rel").lower())
    name = m.group("name")
    if name in CAPITALIZED_NON_NAMES or _LOSS.search(clause.text):
        return []
    base = re.sub(r"^(?:older|younger|little|big|baby|twin|oldest|youngest|eldest|new)\s+", "", rel)
    attribute = RELATION_SLOT.get(base, base.replace(" ", "_").replace("-", "_"))
    single = attribute in SINGLE_RELATIONS
    text = f"{rel.capitalize()}'s name is {name}" if single else f"Has {article(rel)} named {name}"
    return [
        make_fact(
            who,
            text,
            clause=clause,
            attribute=attribute,
            value=name,
            single=single,
            categories=("relationships",),
        )
    ]


def _pet(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    if _LOSS.search(clause.text):
        return []
    species = re.sub(r"\s+", " ", m.group("sp").lower())
    rest = clause.text[m.end() :]
    named = re.match(
        rf"\s*(?:,\s*|\s+(?:named|called)\s+|'s\s+name\s+is\s+)({_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*)",
        rest,
    )
    names = [n for n in split_items(named.group(1)) if name_at(n) == n] if named else []
    if m.group("direct"):
        names = [m.group("direct")]
    count = m.group("n").lower() if m.groupdict().get("n") else "a"
    dated = bool(re.search(r"adopted|got|rescued", m.group(0), re.I))
    when = clause.when("past") if dated else None
    if not names:
        noun = species if count in ("a", "an", "one") else f"{count} {species}"
        text = f"Has {article(noun) if count in ('a', 'an', 'one') else noun}"
        value = singular(species)
        return [
            make_fact(
                who,
                text,
                clause=clause,
                attribute="pet",
                value=value,
                single=False,
                categories=("pets",),
                when=when,
            )
        ]
    kind = singular(species)
    return [
        make_fact(
            who,
            f"Has {article(kind)} named {n}",
            clause=clause,
            attribute="pet",
            value=n,
            single=False,
            categories=("pets",),
            when=when,
        )
        for n in names
    ]


def _status(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    status = re.sub(r"^(?:newly|happily)\s+", "", re.sub(r"\s+", " ", m.group("st").lower()))
    out = []
    to = re.match(rf"\s+(?:to|with)\s+({_NAME}(?:\s+{_NAME})?)", clause.text[m.end() :])
    if to and to.group(1) not in CAPITALIZED_NON_NAMES:
        attribute = "spouse" if status == "married" else "partner"
        out.append(
            make_fact(
                who,
                f"Is {status} to {to.group(1)}",
                clause=clause,
                attribute=attribute,
                value=to.group(1),
                single=True,
                categories=("relationships",),
                when=clause.when("past"),
            )
        )
        return out
    verb = "Got" if m.group(0).lower().lstrip().startswith(("got", "we got", "i got")) else "Is"
    if re.search(r"\bgot\s+" + re.escape(m.group("st")), m.group(0), re.I):
        verb = "Got"
    out.append(
        make_fact(
            who,
            f"{verb} {status}",
            clause=clause,
            attribute="relationship_status",
            value=status,
            single=True,
            categories=("relationships",),
            when=clause.when("past"),
        )
    )
    return out


def _partner_named(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    name = m.group("name")
    if name in CAPITALIZED_NON_NAMES:
        return []
    married = m.group("how").lower() == "married"
    text = f"Married {name}" if married else f"Is dating {name}"
    return [
        make_fact(
            who,
            text,
            clause=clause,
            attribute="spouse" if married else "partner",
            value=name,
            single=True,
            categories=("relationships",),
            when=clause.when("past") if married else None,
        )
    ]


def _kids(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    n = m.group("n").lower()
    count = {"a": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}.get(n, n)
    return [
        make_fact(
            who,
            f"Has {n} {m.group('k').lower()}",
            clause=clause,
            attribute="children",
            value=count,
            single=True,
            categories=("relationships",),
        )
    ]


def _former_partner(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.text[m.end() :]
    name = name_at(rest)
    value = name or m.group("rel").lower()
    return [
        make_fact(
            who,
            f"Broke up with {value}",
            clause=clause,
            attribute="former_partner",
            value=value,
            single=False,
            categories=("relationships",),
            when=clause.when("past"),
        )
    ]


RELATIONSHIP_RULES: list[Rule] = [
    Rule(
        re.compile(
            rf"\b(?:my|our)\s+(?P<rel>(?:(?:older|younger|little|big|baby|twin|oldest"
            rf"|youngest|eldest|new)\s+)?{RELATIONS})(?:'s\s+name\s+is\s+|,?\s+"
            rf"(?:(?:is\s+)?(?:named|called)\s+)?)(?P<name>{_NAME})\b(?!\s+(?-i:[A-Z]))",
            re.I,
        ),
        _relative,
    ),
    *rules(rf"(?:am|are|got|have\s+been|(?:just\s+)?got)\s+(?P<st>{STATUSES})\b", _status),
    *rules(
        rf"(?P<how>married|(?:am|are)\s+(?:dating|seeing))\s+(?P<name>{_NAME})\b", _partner_named
    ),
    *rules(
        r"have\s+(?:got\s+)?(?P<n>\d|a|one|two|three|four|five)\s+(?P<k>kids?|children|child"
        r"|sons?|daughters?)\b(?!\s+(?:named|called))",
        _kids,
    ),
    *rules(
        r"broke\s+up\s+with\s+(?:my\s+)?(?P<rel>girlfriend|boyfriend|partner|fiancée?|wife"
        r"|husband|ex)?\s*,?\s*",
        _former_partner,
        positive=False,
    ),
]

PET_RULES: list[Rule] = [
    *rules(
        rf"(?:have|have\s+got|own|adopted|got|rescued|have\s+adopted)\s+"
        rf"(?P<n>a|an|one|two|three|four|\d)\s+(?:\w+\s+)?(?P<sp>{SPECIES})\b(?P<direct>)",
        _pet,
    ),
    Rule(
        re.compile(
            rf"\b(?:my|our)\s+(?P<sp>{SPECIES})(?:'s\s+name\s+is\s+|,?\s+(?:is\s+)?"
            rf"(?:named\s+|called\s+)?)(?P<direct>{_NAME})\b",
            re.I,
        ),
        _pet,
    ),
]

HEALTH_RULES: list[Rule] = [
    *rules(
        r"am\s+(?:severely\s+|very\s+|deathly\s+|highly\s+|mildly\s+|super\s+)?allergic\s+to\s+"
        r"|have\s+(?:an?\s+|severe\s+)?allerg(?:y|ies)\s+to\s+",
        slot("allergy", "Is allergic to {v}", ("health",), single=False, items=True),
        third=r"is\s+(?:severely\s+|very\s+)?allergic\s+to\s+",
    ),
    *rules(
        r"have\s+(?:an?\s+)?(?P<h>\w+)\s+allergy\b",
        lambda m, c, w: [
            make_fact(
                w,
                f"Is allergic to {m.group('h').lower()}",
                clause=c,
                attribute="allergy",
                value=m.group("h").lower(),
                single=False,
                categories=("health",),
            )
        ],
    ),
    *rules(
        rf"(?:have|suffer\s+from|(?:have\s+been|was|got)\s+diagnosed\s+with|live\s+with"
        rf"|struggle\s+with)\s+(?P<c>{CONDITIONS})\b"
        r"|am\s+(?P<c2>lactose[\s-]intolerant|gluten[\s-]intolerant|diabetic|asthmatic|celiac"
        r"|coeliac|epileptic|dyslexic|autistic"
        r"|pregnant|(?:\w+\s+)?weeks\s+pregnant|colou?r[\s-]blind|deaf|hard\s+of\s+hearing)",
        lambda m, c, w: constant(
            "condition",
            "Has {v}" if m.group("c") else "Is {v}",
            ("health",),
            single=False,
            group="c" if m.group("c") else "c2",
        )(m, c, w),
    ),
]
