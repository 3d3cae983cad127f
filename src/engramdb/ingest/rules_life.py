"""Offline extraction rules: relationships, pets, preferences and health."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    name_at,
    object_phrase,
    split_items,
)
from engramdb.ingest.lexicon import (
    CAPITALIZED_NON_NAMES,
    CONDITIONS,
    DIETS,
    RELATION_SLOT,
    RELATIONS,
    SINGLE_RELATIONS,
    SPECIES,
    STATUSES,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.phrases import key_of, singular
from engramdb.ingest.rules_base import Build, Rule, article, constant, rules, slot

_NAME = r"(?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_LOSS = re.compile(r"\b(?:died|passed\s+away|passed|put\s+down|lost|ran\s+away)\b", re.I)
# Objects that are about the conversation itself ("I like the second option").
META = re.compile(
    r"\b(?:option|version|answer|suggestion|idea|response|reply|explanation|draft|summary"
    r"|approach|solution|question|point|chat|conversation|advice)s?\b",
    re.I,
)
_SAY_VERBS = re.compile(
    r"^to\s+(?:think|say|believe|know|admit|imagine|mention|ask|point|brag|complain|bother"
    r"|interrupt|be|hear|see|keep|make|help)\b",
    re.I,
)

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


# --- preferences -------------------------------------------------------------------------


def _preference(polarity: str) -> Build:
    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        phrase = object_phrase(clause.region(m.end()))
        if (
            not phrase
            or META.search(phrase)
            or re.match(r"(?:my|our)\s+" + RELATIONS, phrase, re.I)
        ):
            return []
        if _SAY_VERBS.match(phrase) or (
            polarity == "dislikes" and phrase.lower().startswith("to ")
        ):
            return []
        verb = m.group("verb").lower() if m.groupdict().get("verb") else ""
        shown = {
            "love": "Loves",
            "loves": "Loves",
            "enjoy": "Enjoys",
            "enjoys": "Enjoys",
            "prefer": "Prefers",
            "prefers": "Prefers",
            "hate": "Hates",
            "hates": "Hates",
        }
        word = shown.get(verb, "Likes" if polarity == "likes" else "Dislikes")
        out = []
        for item in split_items(phrase):
            key = key_of(re.sub(r"^to\s+", "", item, flags=re.I))
            if key and not META.search(item):
                out.append(
                    make_fact(
                        who,
                        f"{word} {item}",
                        clause=clause,
                        attribute=f"preference:{key}",
                        value=polarity,
                        single=True,
                        categories=("preferences",),
                    )
                )
        return out

    return build


def _favourite(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    thing = key_of(m.group("thing"))
    if m.groupdict().get("pre") is not None:
        value = object_phrase(m.group("pre").strip(), limit=6)
    else:
        value = object_phrase(clause.region(m.end()), limit=6)
    if not thing or not value or META.search(value):
        return []
    return [
        make_fact(
            who,
            f"Favourite {thing} is {value}",
            clause=clause,
            attribute=f"favourite:{thing}",
            value=value,
            single=True,
            categories=("preferences",),
        )
    ]


def _restriction(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    region = re.split(r"\b(?:for|due\s+to|because|since|as)\b", clause.region(m.end()))[0]
    phrase = object_phrase(region, limit=4, lists=True)
    if not phrase:
        return []
    verb = "drink" if "drink" in m.group(0).lower() else "eat"
    return [
        make_fact(
            who,
            f"Does not {verb} {item}",
            clause=clause,
            attribute="dietary_restriction",
            value=item,
            single=False,
            categories=("health", "preferences"),
        )
        for item in split_items(phrase)
    ]


_LIKE1 = (
    r"(?P<verb>like|love|enjoy|adore|prefer|dig)|am\s+(?:really\s+|very\s+|so\s+)?"
    r"(?:into|obsessed\s+with|crazy\s+about|passionate\s+about|fond\s+of|a\s+(?:big\s+|"
    r"huge\s+|massive\s+)?fan\s+of)|have\s+(?:always\s+)?(?:loved|liked|enjoyed)"
    r"|have\s+been\s+(?:loving|enjoying)"
)
_LIKE3 = r"(?P<verb>likes|loves|enjoys|adores|prefers)|is\s+(?:really\s+)?(?:into|obsessed\s+with)"
_DISLIKE1 = (
    r"(?P<verb>hate|dislike|detest|loathe|despise)|can\s+not\s+(?:stand|bear)"
    r"|do\s+not\s+(?:really\s+|particularly\s+)?(?:like|love|enjoy|care\s+for)"
    r"|am\s+not\s+(?:really\s+)?(?:into|a\s+(?:big\s+|huge\s+)?fan\s+of)"
    r"|(?:have\s+)?never\s+liked|am\s+(?:sick|tired)\s+of"
)
_DISLIKE3 = r"(?P<verb>hates|dislikes|detests)|can\s+not\s+stand|does\s+not\s+(?:like|enjoy)"

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

PREFERENCE_RULES: list[Rule] = [
    *rules(_LIKE1, _preference("likes"), third=_LIKE3),
    *rules(_DISLIKE1, _preference("dislikes"), third=_DISLIKE3, positive=False),
    Rule(
        re.compile(
            r"\bmy\s+(?:all[\s-]time\s+|absolute\s+)?favourite\s+(?P<thing>[a-z][\w'-]*"
            r"(?:\s+[a-z][\w'-]*)?)\s+(?:is|are|has\s+to\s+be|would\s+be)\s+",
            re.I,
        ),
        _favourite,
    ),
    Rule(
        re.compile(
            r"^(?P<pre>[\w' -]{2,40}?)\s+(?:is|are)\s+(?:definitely\s+)?my\s+(?:all[\s-]"
            r"time\s+|absolute\s+)?favourite\s+(?P<thing>[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)",
            re.I,
        ),
        _favourite,
    ),
    *rules(
        rf"am\s+(?:an?\s+)?(?:strict\s+|full\s+)?(?P<d>{DIETS})\b(?!\s+(?:food|recipe|option))"
        rf"|(?:follow|am\s+on|eat)\s+(?:an?\s+)?(?:strict\s+)?(?P<d2>{DIETS})\s+diet",
        lambda m, c, w: constant(
            "diet",
            "Is {v}",
            ("health", "preferences"),
            single=True,
            group="d" if m.group("d") else "d2",
        )(m, c, w),
        third=rf"is\s+(?:an?\s+)?(?P<d>{DIETS})\b(?P<d2>)",
    ),
    *rules(
        r"(?:do\s+not|never|can\s+not|avoid|try\s+not\s+to)\s+(?:eat|drink)\s+(?!much\b|a\s+lot\b)",
        _restriction,
        positive=False,
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
        r"|am\s+(?P<c2>lactose[\s-]intolerant|gluten[\s-]intolerant|diabetic|asthmatic"
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
