"""The offline rule type, the subject patterns every rule starts with, and the builder
factories most rules share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    object_phrase,
    split_items,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.phrases import key_of
from engramdb.text.dates import Prefer
from engramdb.text.lexicon import (
    RELATIONS,
)

Build = Callable[[re.Match[str], Clause, Who], list[Fact]]

# Adverbs allowed between the subject and its verb ("I just moved", "I really love").
# Negators are deliberately absent, so "I do not live in X" never matches "I live in".
ADV = (
    r"(?:just|recently|currently|still|now|actually|really|also|finally|already|absolutely"
    r"|totally|truly|genuinely|definitely|kind\s+of|sort\s+of|kinda|honestly|seriously|only"
    r"|always|usually|mostly|literally|personally|basically|officially|both|all|even"
    r"|originally|sometimes|often|mainly|happily|deeply|madly|secretly|so|particularly"
    r"|do|does|did|proudly|newly)"
)
SUBJ1 = rf"\b(?:I|we)\s+(?:{ADV}\s+)*"
_MOD = r"(?:older|younger|little|big|baby|twin|oldest|youngest|eldest|step|new|ex|old)"
_NAME = r"(?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
SUBJ3 = (
    rf"\b(?:my|our)\s+(?P<rel>(?:{_MOD}[\s-]+)?{RELATIONS})(?:,?\s+(?P<who>{_NAME}),?)?"
    rf"\s+(?:{ADV}\s+)*"
)
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS |= {"eighty": 80, "ninety": 90}


@dataclass(frozen=True)
class Rule:
    """One extraction rule.

    ``third_person`` rules start with "my <relative> [Name]" and describe that person;
    ``positive`` rules are dropped when the clause says "anymore"/"no longer"; a
    ``fallback`` rule only fires when nothing else matched the clause.
    """

    pattern: re.Pattern[str]
    build: Build
    third_person: bool = False
    assistant: bool = False
    positive: bool = True
    fallback: bool = False


def rules(
    first: str | None,
    build: Build,
    *,
    third: str | None = None,
    raw: bool = False,
    assistant: bool = False,
    positive: bool = True,
    fallback: bool = False,
) -> list[Rule]:
    """Compile ``first`` after a first-person subject (as is when ``raw``) and ``third``
    after "my <relative> [Name]", both sharing one builder."""
    out: list[Rule] = []
    flags = re.IGNORECASE
    if first is not None:
        pattern = re.compile(first if raw else SUBJ1 + f"(?:{first})", flags)
        out.append(Rule(pattern, build, False, assistant, positive, fallback))
    if third is not None:
        out.append(Rule(re.compile(SUBJ3 + f"(?:{third})", flags), build, True, False, positive))
    return out


def slot(
    attribute: str,
    template: str,
    categories: tuple[str, ...],
    *,
    single: bool,
    value: Callable[[str], str | None] = object_phrase,
    items: bool = False,
    prefer: Prefer = "past",
    fixed: str | None = None,
) -> Build:
    """A builder filling ``attribute`` with the phrase after the match.

    ``attribute`` and ``template`` may use ``{key}`` (the value's normalised key) and
    ``{v}`` (the value as said); ``fixed`` stores a constant value such as "likes".
    """

    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        region = clause.region(m.end())
        phrase = object_phrase(region, lists=True) if items and value is object_phrase else None
        phrase = phrase or value(region)
        if not phrase:
            return []
        out = []
        for item in split_items(phrase) if items else [phrase]:
            key = key_of(item)
            if not key:
                continue
            out.append(
                make_fact(
                    who,
                    template.format(v=item, key=key),
                    clause=clause,
                    attribute=attribute.format(key=key),
                    value=fixed if fixed is not None else item,
                    single=single,
                    categories=categories,
                    when=clause.when(prefer),
                )
            )
        return out

    return build


def constant(
    attribute: str, template: str, categories: tuple[str, ...], *, single: bool, group: str
) -> Build:
    """A builder storing the text of the named regex group (e.g. the matched diet word)."""

    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        v = re.sub(r"\s+", " ", m.group(group)).lower()
        return [
            make_fact(
                who,
                template.format(v=v),
                clause=clause,
                attribute=attribute,
                value=v,
                single=single,
                categories=categories,
                when=clause.when("past"),
            )
        ]

    return build


def article(noun: str) -> str:
    """ "a nurse", "an engineer"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def number(text: str) -> int | None:
    m = re.match(r"\s*(\d{1,3})\b", text)
    if m:
        return int(m.group(1))
    m = re.match(r"\s*([a-z]+)(?:[\s-]([a-z]+))?", text.lower())
    if not m:
        return None
    if m.group(1) in _TENS:
        return _TENS[m.group(1)] + _NUMBER_WORDS.get(m.group(2) or "", 0)
    return _NUMBER_WORDS.get(m.group(1))
