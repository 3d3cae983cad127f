"""Offline extraction rules for work (employer, job title, ended jobs) and education
(studies, schools, degrees)."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    object_phrase,
    proper_or_phrase,
)
from engramdb.ingest.lexicon import (
    EMPLOYMENT,
    LANGUAGES,
    OCCUPATIONS,
    STUDENT,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.rules_base import Build, Rule, article, constant, rules, slot

# --- work ------------------------------------------------------------------------------


def _org(text: str) -> str | None:
    org = proper_or_phrase(text, limit=4)
    if org is None or org.lower() in ("home", "myself", "work", "the moment", "night"):
        return None
    return org


def _job(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    at = re.search(r"\s+(?:at|for|with)\s+", rest)
    title = object_phrase(rest[: at.start()] if at else rest, limit=5)
    if not title:
        return []
    title = re.sub(r"^(?:an?|the)\s+", "", title, flags=re.I)
    out = [
        make_fact(
            who,
            f"Works as {article(title)}",
            clause=clause,
            attribute="job_title",
            value=title,
            single=True,
            categories=("work",),
            when=clause.when("past") if "started" in m.group(0).lower() else None,
        )
    ]
    if at:
        org = _org(rest[at.end() :])
        if org:
            out.append(_employer_fact(who, clause, org))
    return out


def _employer_fact(who: Who, clause: Clause, org: str, verb: str = "Works at") -> Fact:
    return make_fact(
        who,
        f"{verb} {org}",
        clause=clause,
        attribute="employer",
        value=org,
        single=True,
        categories=("work",),
        when=clause.when("past") if verb != "Works at" else None,
    )


def _employer(verb: str) -> Build:
    def build(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
        rest = clause.region(m.end())
        org = _org(rest)
        if not org:
            return []
        out = [_employer_fact(who, clause, org, verb)]
        # "I work at Google as a software engineer" also names the job.
        role = re.match(r"\s+as\s+(?:an?\s+)?", rest[rest.find(org) + len(org) :], re.I)
        title = (
            object_phrase(rest[rest.find(org) + len(org) + role.end() :], limit=5) if role else None
        )
        if title:
            out.append(
                make_fact(
                    who,
                    f"Works as {article(title)}",
                    clause=clause,
                    attribute="job_title",
                    value=title,
                    single=True,
                    categories=("work",),
                )
            )
        return out

    return build


_ENDED_VERBS = (
    ("laid off", "Was laid off from"),
    ("fired", "Was fired from"),
    ("quit", "Quit their job at"),
    ("resigned", "Resigned from"),
    ("left", "Left their job at"),
    ("used to", "Used to work at"),
    ("worked", "Used to work at"),
)


def _former_employer(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    at = re.match(r"\s*(?:(?:my\s+)?(?:job|position|role)\s+)?(?:at|with|from|for)\s+", rest, re.I)
    org = _org(rest[at.end() :]) if at else None
    if at is None and not re.search(r"\b(?:job|laid off|fired)\b", m.group(0) + rest[:12], re.I):
        org = _org(rest) if rest.strip()[:1].isupper() else None
        if org is None:
            return []
    said = m.group(0).lower()
    verb = next((v for k, v in _ENDED_VERBS if k in said), "No longer works at")
    text = f"{verb} {org}" if org else f"{verb.split(' at')[0].split(' from')[0]} job"
    when = clause.when("past") if verb != "No longer works at" else None
    return [
        make_fact(
            who,
            text,
            clause=clause,
            attribute="former_employer",
            value=org,
            single=False,
            categories=("work",),
            when=when,
        )
    ]


def _work_in(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    if rest.strip()[:1].isupper():
        return slot(
            "work_location",
            "Works in {v}",
            ("work", "location"),
            single=True,
            value=proper_or_phrase,
        )(m, clause, who)
    return slot("industry", "Works in {v}", ("work",), single=True)(m, clause, who)


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
        elif field and not re.match(r"(?:at|in|abroad|hard|online)\b", field, re.I):
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


_PLACE = proper_or_phrase
# How people qualify their work without changing where it is ("I work night shifts at X").
_SHIFTS = (
    r"(?:(?:part[\s-]time|full[\s-]time|remotely|nights|night\s+shifts|shifts|weekends"
    r"|freelance)\s+)?"
)
_LIVE1 = r"live|am\s+living|have\s+lived|have\s+been\s+living|reside|am\s+based|am\s+located"
_LIVE3 = r"lives|is\s+living|has\s+lived|has\s+been\s+living|resides|is\s+based|is\s+located"

WORK_RULES: list[Rule] = [
    *rules(
        r"(?:work|am\s+working|have\s+worked|have\s+been\s+working)\s+"
        + _SHIFTS
        + r"(?:at|for)\s+",
        _employer("Works at"),
        third=r"(?:works|is\s+working|has\s+worked|has\s+been\s+working)\s+(?:at|for)\s+",
    ),
    *rules(
        r"(?:work|am\s+working)\s+as\s+|(?:started|got|landed)\s+(?:a\s+)?(?:new\s+)?job\s+as\s+",
        _job,
        third=r"(?:works|is\s+working)\s+as\s+",
    ),
    *rules(
        rf"am\s+(?=(?:an?\s+)(?:[\w-]+\s+){{0,3}}{OCCUPATIONS}\b)",
        _job,
        third=rf"is\s+(?=(?:an?\s+)(?:[\w-]+\s+){{0,3}}{OCCUPATIONS}\b)",
    ),
    *rules(
        r"(?:started|have\s+started|got|landed|accepted)\s+(?:a\s+|an\s+)?(?:new\s+)?"
        r"(?:job|position|role|offer)\s+(?:at|with)\s+|(?:got\s+|was\s+)hired\s+(?:at|by)\s+"
        r"|(?:started|begin|began)\s+working\s+(?:at|for)\s+|joined\s+(?=(?-i:[A-Z]))",
        _employer("Started working at"),
    ),
    *rules(
        r"(?:got\s+|was\s+)promoted\s+to\s+",
        slot("job_title", "Was promoted to {v}", ("work",), single=True),
    ),
    *rules(
        r"(?:no\s+longer\s+work|used\s+to\s+work|worked|do\s+not\s+work(?=.*\banymore\b))"
        r"\s+(?=at\b|for\b)|(?:quit|left|resigned\s+from)\s+(?:my\s+)?(?=job\b|position\b|role\b)"
        r"|(?:quit|resigned\s+from)\s+(?=(?-i:[A-Z]))|(?:got|was)\s+(?:laid\s+off|fired)\b",
        _former_employer,
        positive=False,
    ),
    *rules(
        rf"am\s+(?P<st>{EMPLOYMENT})\b|(?P<st2>retired)\b",
        lambda m, c, w: constant(
            "employment_status",
            "Is {v}",
            ("work",),
            single=True,
            group="st" if m.group("st") else "st2",
        )(m, c, w),
    ),
    *rules(r"work\s+in\s+", _work_in, third=r"works\s+in\s+"),
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
        r"(?:have|hold|got|earned|received|completed)\s+(?:a|an|my)\s+(?=(?:bachelor|master"
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
