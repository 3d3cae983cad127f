"""Offline extraction rules for work: employer, job title (said, or named by what the
speaker does: "I teach third grade"), ended jobs and employment status."""

from __future__ import annotations

import re

from engramdb.ingest.clause import (
    Clause,
    Who,
    make_fact,
    object_phrase,
    proper_or_phrase,
)
from engramdb.ingest.ops import Fact
from engramdb.ingest.rules_base import Build, Rule, article, constant, rules, slot
from engramdb.text.lexicon import (
    EMPLOYMENT,
    OCCUPATIONS,
)

# --- work ------------------------------------------------------------------------------


def _org(text: str) -> str | None:
    org = proper_or_phrase(text, limit=4)
    if org is None or org.lower() in ("home", "myself", "work", "the moment", "night"):
        return None
    # "a small design agency in Brooklyn" is the agency; "a company based in Toronto" keeps
    # its place, which is how the speaker names it.
    if not org[:1].isupper():
        org = re.sub(r"(?<!based)(?<!located)(?<!headquartered)\s+(?:in|near)\s+.*$", "", org)
    return org or None


# Where a job title ends: a place or time phrase after it ("a firefighter in Chicago").
_TITLE_END = re.compile(
    r"\s+(?:in|near|from|based|out\s+of|on|during|since|for|who|which|but|here|there)\b.*$",
    re.I,
)
_BASED = re.compile(r"\b(?:based|living)\s+(?:in|out\s+of)\s+(?=(?-i:[A-Z]))", re.I)


def _title(text: str) -> str | None:
    title = object_phrase(text, limit=6)
    if not title:
        return None
    title = _TITLE_END.sub("", title)
    title = re.sub(r"^(?:an?|the)\s+", "", title, flags=re.I)
    return title or None


def _based(clause: Clause, start: int, who: Who) -> list[Fact]:
    """ "a photographer based in Bristol": the person lives there."""
    m = _BASED.search(clause.text, start)
    place = proper_or_phrase(clause.text[m.end() :]) if m else None
    if not place:
        return []
    return [
        make_fact(
            who,
            f"Lives in {place}",
            clause=clause,
            attribute="residence",
            value=place,
            single=True,
            categories=("location",),
        )
    ]


def _job(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    at = re.search(r"\s+(?:at|for|with)\s+", rest)
    title = _title(rest[: at.start()] if at else rest)
    if not title:
        return []
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
    return out + _based(clause, m.end(), who)


# What people teach, as a title: "third grade" -> "third grade teacher".
_TAUGHT_NOISE = re.compile(r"\s+(?:lessons?|classes|class|courses?)$", re.I)


def _teach(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    rest = clause.region(m.end())
    at = re.match(r"\s*(?:at|for)\s+", rest, re.I)
    out: list[Fact] = []
    if at:
        title = "teacher"
    else:
        what = re.split(r"\s+(?:at|for|to|in|from|on|with|out\s+of)\s+", rest.strip(), maxsplit=1)
        subject = object_phrase(what[0], limit=4)
        if not subject or re.match(
            r"(?:my|our|me|myself|him|her|them|us|people|someone|kids\s+how|how|what|why)\b",
            subject,
            re.I,
        ):
            return []
        title = f"{_TAUGHT_NOISE.sub('', subject)} teacher"
        at = re.search(r"\s+(?:at|for)\s+", rest)
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
    org = _org(rest[at.end() :]) if at else None
    if org:
        out.append(_employer_fact(who, clause, org))
    return out


# "I code for a living" names a job by its activity.
_DOER = {
    "teach": "teacher",
    "code": "programmer",
    "program": "programmer",
    "write": "writer",
    "cook": "cook",
    "drive": "driver",
    "paint": "painter",
    "design": "designer",
    "nurse": "nurse",
    "tutor": "tutor",
    "translate": "translator",
    "photograph": "photographer",
}


def _for_a_living(m: re.Match[str], clause: Clause, who: Who) -> list[Fact]:
    title = _DOER[m.group("v").lower()]
    return [
        make_fact(
            who,
            f"Works as {article(title)}",
            clause=clause,
            attribute="job_title",
            value=title,
            single=True,
            categories=("work",),
        )
    ]


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
        role = re.match(
            r"(?:\s+(?:in|near|based\s+in)\s+[^,;]*?)?\s+as\s+(?:an?\s+)?",
            rest[rest.find(org) + len(org) :],
            re.I,
        )
        title = _title(rest[rest.find(org) + len(org) + role.end() :]) if role else None
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


# How people qualify their work without changing where it is ("I work night shifts at X").
_SHIFTS = (
    r"(?:(?:part[\s-]time|full[\s-]time|remotely|nights|night\s+shifts|shifts|weekends"
    r"|freelance)\s+)?"
)

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
    *rules(
        r"teach(?=\s+(?!you\b|me\b|myself\b|him\b|her\b|them\b|us\b|my\b|our\b)\w)",
        _teach,
        third=r"teaches(?=\s+(?!you\b|me\b|him\b|her\b|them\b|us\b|his\b|her\b)\w)",
    ),
    *rules(
        r"(?P<v>" + "|".join(_DOER) + r")\s+(?:\w+\s+)?(?:for\s+a\s+living|professionally)\b",
        _for_a_living,
    ),
]
