"""Offline extraction rules: likes and dislikes (verbs, "fan of", supporters), favourites,
diets and dietary restrictions."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    object_phrase,
    split_items,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.phrases import key_of
from engramdb.ingest.rules_base import ADV, Build, Rule, constant, rules
from engramdb.text.lexicon import DIETS, RELATIONS

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
        if polarity == "dislikes" and _HEDGE.search(clause.region(m.end())):
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
            if key and not META.search(item) and not _VERB_ITEM.match(item):
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


def _fan_fact(thing: str, polarity: str, clause: Clause, who: Who) -> list[Fact]:
    thing = re.sub(r"\s+", " ", thing).strip()
    key = key_of(thing)
    if not key or META.search(thing) or re.match(r"(?:my|your|his|her|their)\b", thing, re.I):
        return []
    word = "Is a fan of" if polarity == "likes" else "Is not a fan of"
    return [
        make_fact(
            who,
            f"{word} {thing}",
            clause=clause,
            attribute=f"preference:{key}",
            value=polarity,
            single=True,
            categories=("preferences",),
        )
    ]


def _fan(polarity: str) -> Build:
    """ "I'm a huge Arsenal fan", "I'm a lifelong Yankees supporter": the team or thing."""

    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        return _fan_fact(m.group("thing"), polarity, clause, who)

    return build


def _supporter(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    """ "I support Arsenal", "we root for the Lakers": a capitalised team or party."""
    rest = clause.region(m.end())
    name = re.match(r"(?:the\s+)?(?-i:[A-Z][\w'&.-]*)(?:\s+(?-i:[A-Z][\w'&.-]*)){0,2}", rest)
    return _fan_fact(name.group(0), "likes", clause, who) if name else []


def _restriction(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    region = re.split(r"\b(?:for|due\s+to|because|since|as)\b", clause.region(m.end()))[0]
    phrase = object_phrase(region, limit=4, lists=True)
    # "I don't eat the skin" is about one dish, not a diet.
    if not phrase or re.match(r"(?:the|that|this|those|these|any|your)\b", phrase, re.I):
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
    r"(?P<verb>like|love|enjoy|adore|prefer|dig)\b|am\s+(?:really\s+|very\s+|so\s+)?"
    r"(?:into|obsessed\s+with|crazy\s+about|passionate\s+about|fond\s+of|a\s+(?:big\s+|"
    r"huge\s+|massive\s+)?fan\s+of)|have\s+(?:always\s+)?(?:loved|liked|enjoyed)"
    r"|have\s+been\s+(?:loving|enjoying)"
)
_LIKE3 = r"(?P<verb>likes|loves|enjoys|adores|prefers)|is\s+(?:really\s+)?(?:into|obsessed\s+with)"
_DISLIKE1 = (
    r"(?P<verb>hate|dislike|detest|loathe|despise)\b|can\s+not\s+(?:stand|bear)"
    r"|do\s+not\s+(?:really\s+|particularly\s+)?(?:like|love|enjoy|care\s+for)"
    r"|am\s+not\s+(?:really\s+)?(?:into|a\s+(?:big\s+|huge\s+)?fan\s+of)"
    r"|(?:have\s+)?never\s+liked|am\s+(?:sick|tired)\s+of"
)
_DISLIKE3 = r"(?P<verb>hates|dislikes|detests)|can\s+not\s+stand|does\s+not\s+(?:like|enjoy)"

# "loves dinosaurs and wants to be a vet": the second item is a new predicate, not a thing.
_VERB_ITEM = re.compile(
    r"(?:wants?|is|are|was|were|has|have|had|will|would|can|could|should|does|do|did|gets?"
    r"|thinks?|says?|needs?|hopes?|plans?|tries|tried|goes|went)\b",
    re.I,
)
# "not ... much" is a hedge, not a stated dislike ("I just don't like meat much").
_HEDGE = re.compile(r"^[^,;]*?\b(?:much|that\s+much|all\s+that)\b", re.I)
_FAN_MOD = (
    r"(?:(?:big|huge|massive|lifelong|life-long|die-?hard|long-?time|loyal|proud|true|avid"
    r"|devoted|crazy|mad|total|massive|real)\s+)*"
)
# The thing a fan is a fan of: one to three words that are not themselves modifiers.
_WORD = (
    r"(?!(?:fan|supporter|fanatic|a|an|the|big|huge|massive|lifelong|die-?hard|long-?time"
    r"|loyal|proud|true|avid|devoted|crazy|mad|total|real|not)\b)[\w'&.-]+"
)
_FAN_THING = rf"(?P<thing>(?:the\s+)?{_WORD}(?:\s+{_WORD}){{0,2}}?)"
_FAN = rf"am\s+(?:an?\s+)?{_FAN_MOD}{_FAN_THING}\s+(?:fan|supporter|fanatic)\b(?!\s+of\b)"
_NOT_FAN = (
    rf"am\s+not\s+(?:really\s+)?(?:an?\s+)?{_FAN_MOD}{_FAN_THING}\s+(?:fan|supporter)\b"
    r"(?!\s+of\b)"
)
_SUPPORT = r"(?:support|root\s+for|cheer\s+for)\s+(?=(?:the\s+)?(?-i:[A-Z]))"
PREFERENCE_RULES: list[Rule] = [
    *rules(_FAN, _fan("likes"), third=_FAN.replace("am", "is", 1)),
    *rules(_NOT_FAN, _fan("dislikes"), positive=False),
    *rules(_SUPPORT, _supporter),
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
        rf"(?:do\s+not|never|can\s+not|avoid|try\s+not\s+to|no\s+longer)\s+(?:{ADV}\s+)*"
        r"(?:eat|drink)\s+(?!much\b|a\s+lot\b|that\b|enough\b)"
        r"|(?:stopped|quit|gave\s+up)\s+(?:eating|drinking)\s+(?=\w)",
        _restriction,
        positive=False,
    ),
]
