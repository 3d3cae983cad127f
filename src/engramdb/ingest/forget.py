"""Explicit requests to forget ("forget that I live in Berlin", "please forget my address").

They are kept apart from facts on purpose: a forget request is the only thing that may turn
into a DELETE, and it must never also be stored as the fact it names.

>>> extract_forget_requests("Please forget that I live in Berlin.")
[ForgetRequest(text='I live in Berlin', subject='user', attribute='residence', value='Berlin')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engramdb.ingest.heuristics import extract_facts
from engramdb.ingest.ops import Role
from engramdb.ingest.phrases import normalize, split_sentences

# What "my <thing>" names, as the attribute the extractor stores it under.
_THINGS: tuple[tuple[str, str], ...] = (
    (r"address|home\s+address|location|city|where\s+I\s+live|residence", "residence"),
    (r"job|employer|workplace|company|where\s+I\s+work", "employer"),
    (r"job\s+title|position|role|occupation", "job_title"),
    (r"name", "name"),
    (r"age|how\s+old\s+I\s+am", "age"),
    (r"birthday|date\s+of\s+birth|birth\s*date", "birthday"),
    (r"nationality", "nationality"),
    (r"diet", "diet"),
    (r"allerg(?:y|ies)", "allergy"),
    (r"pets?|dogs?|cats?", "pet"),
    (r"wife|husband|spouse", "spouse"),
    (r"partner|girlfriend|boyfriend", "partner"),
    (r"kids|children", "children"),
    (r"plans?", "plan"),
    (r"hobb(?:y|ies)", "hobby"),
    (r"pronouns", "pronouns"),
)
_REQUEST = re.compile(
    r"\b(?:forget|stop\s+remembering|unlearn|(?:delete|erase|remove|wipe)(?=.*\bmemor(?:y|ies)\b"
    r"|\s+(?:that|my|the\s+fact))|do\s+not\s+remember)\s+(?:about\s+)?(?:the\s+fact\s+)?"
    r"(?:that\s+)?(?P<what>[^.!?;]+)",
    re.I,
)
_IDIOM = re.compile(r"^(?:it|about\s+it|that|this|what\s+I\s+(?:said|asked)|everything)\W*$", re.I)
_TRAILER = re.compile(
    r"\s*(?:,?\s*please|from\s+(?:your\s+)?memory|,?\s*thanks?(?:\s+you)?)\s*$", re.I
)


@dataclass(frozen=True)
class ForgetRequest:
    """The user asked to forget something.

    ``attribute``/``value`` are set when the target is a known slot ("my address" ->
    residence) or a fact the extractor understands ("that I live in Berlin"); otherwise only
    ``text`` is, and the reconciler matches it against memory texts.
    """

    text: str
    subject: str = "user"
    attribute: str | None = None
    value: str | None = None


def _thing(what: str) -> str | None:
    m = re.match(r"(?:my|our)\s+(.+)$", what.strip(), re.I)
    if not m:
        return None
    for pattern, attribute in _THINGS:
        if re.fullmatch(pattern, m.group(1).strip(), re.I):
            return attribute
    return None


def extract_forget_requests(text: str, *, role: Role = "user") -> list[ForgetRequest]:
    """Forget requests in a user message; questions such as "can you forget ...?" count."""
    if role != "user":
        return []
    out: list[ForgetRequest] = []
    for sentence in split_sentences(normalize(text)):
        for m in _REQUEST.finditer(sentence):
            what = _TRAILER.sub("", m.group("what").split(",")[0].strip())
            if not what or _IDIOM.match(what):
                continue
            facts = extract_facts(what)
            if facts:
                out += [ForgetRequest(what, f.subject, f.attribute, f.value) for f in facts]
            else:
                out.append(ForgetRequest(what, "user", _thing(what), None))
    return out
