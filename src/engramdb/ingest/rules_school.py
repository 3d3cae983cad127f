"""Offline extraction rules for education: studies, schools, degrees, graduation."""

from __future__ import annotations

import re

from engramdb.ingest.clause import Clause, Who, make_fact, object_phrase, proper_or_phrase
from engramdb.ingest.ops import Fact
from engramdb.ingest.rules_base import Build, Rule, rules, slot
from engramdb.text.lexicon import LANGUAGES, STUDENT

# --- education -------------------------------------------------------------------------


def _school_value(text: str) -> str | None:
    school = proper_or_phrase(text, limit=5)
    if school and (
        re.search(
            r"\b(?:universit|college|school|institute|academy|uni\b|polytechnic)", school, re.I
        )
        or re.fullmatch(r"[A-Z]{2,6}", school)
        or school[:1].isupper()
    ):
        return school
    return None


def _school_fact(who: Who, clause: Clause, school: str, graduated: bool = False) -> Fact:
    return make_fact(
        who,
        f"Graduated from {school}" if graduated else f"Studies at {school}",
        clause=clause,
        attribute="school",
        value=school,
        single=False,
        categories=("education",),
        when=clause.when("past") if graduated else None,
    )


def _study(verb: str) -> Build:
    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        rest = clause.region(m.end())
        at = re.search(r"\s+(?:at|in)\s+(?=[A-Z])", rest)
        field = object_phrase(rest[: at.start()] if at else rest, limit=5)
        out = []
        if field and re.fullmatch(LANGUAGES, field, re.I):
            out.append(
                make_fact(
                    who,
                    f"Is learning {field}",
                    clause=clause,
                    attribute="learning",
                    value=field,
                    single=False,
                    categories=("education", "hobbies"),
                )
            )
        elif field and not re.match(
            r"(?:at|in|abroad|hard|online|for|to|with|all|so|tonight|today|now)\b", field, re.I
        ):
            out.append(
                make_fact(
                    who,
                    f"{verb} {field}",
                    clause=clause,
                    attribute="field_of_study",
                    value=field,
                    single=False,
                    categories=("education",),
                )
            )
        school = _school_value(rest[at.end() :]) if at else None
        if school:
            out.append(_school_fact(who, clause, school))
        return out

    return build


def _attends(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    school = _school_value(clause.region(m.end()))
    return [_school_fact(who, clause, school)] if school else []


def _graduated(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    frm = re.match(r"\s*from\s+", rest, re.I)
    school = _school_value(rest[frm.end() :]) if frm else None
    if school:
        return [_school_fact(who, clause, school, graduated=True)]
    return [
        make_fact(
            who,
            "Graduated",
            clause=clause,
            attribute="event",
            value="graduated",
            single=False,
            categories=("education", "events"),
            when=clause.when("past"),
        )
    ]


EDUCATION_RULES: list[Rule] = [
    *rules(
        r"(?:study|am\s+studying|am\s+majoring\s+in|major\s+in|am\s+doing\s+(?:a|my)\s+"
        r"(?:degree|phd|masters?|master's|bachelor's|ba|bsc|msc|ma|mba)\s+in|am\s+pursuing\s+"
        r"(?:a|my)\s+\S+\s+in|am\s+an?\s+" + STUDENT + r"\s+(?:in|of|studying))\s+",
        _study("Studies"),
        third=r"(?:studies|is\s+studying|is\s+majoring\s+in)\s+",
    ),
    *rules(r"(?:studied|majored\s+in|did\s+(?:a|my)\s+\S+\s+in)\s+", _study("Studied")),
    *rules(
        r"(?:go\s+to|attend|am\s+attending|am\s+enrolled\s+(?:at|in))\s+(?=(?-i:[A-Z]))"
        rf"|am\s+(?:an?\s+)?(?:\w+\s+)?{STUDENT}\s+at\s+",
        _attends,
        third=r"(?:goes\s+to|attends)\s+(?=(?-i:[A-Z]))",
    ),
    *rules(r"(?:have\s+)?graduated\b", _graduated),
    *rules(
        r"(?:have|hold|got|earned|received|completed|finished)\s+(?:a|an|my)\s+(?=(?:bachelor|master"
        r"|phd|doctorate|degree|ba|bs|bsc|ms|msc|mba|md|jd)\b)",
        slot(
            "degree",
            "Has a {v}",
            ("education",),
            single=False,
            value=lambda t: object_phrase(t, limit=6),
        ),
    ),
]
