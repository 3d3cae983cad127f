"""A prompt-ready, token-budgeted block of current memories (and relations), with dates.

:func:`build_context` is pure: it takes search hits (best first) and relations, and packs
them into a block. :meth:`engramdb.Memory.context` does the search and calls it.

Packing and order. Lines are *chosen* by relevance: hits are taken best first and each one
that still fits the budget goes in (a long line that does not fit is skipped, and a shorter,
less relevant one may still take its place). The chosen lines are then *written* oldest first.
A model reads a dated list like a diary: when two lines disagree the later one is the newer
state of affairs, and "when" questions can be answered by reading down the dates; a
relevance-ordered list interleaves years and makes both harder. Relations (from a graph
search) share the budget with memories, one relation for each memory in turn, and are
written after them under their own heading.

Token counting. :func:`estimate_tokens` counts one token per word, one per digit, one per
punctuation mark and one per newline, and splits words longer than ten letters. Against a
real LLM tokenizer (Gemma 3's, 262k vocabulary) on 1,451 dated LoCoMo dialogue lines it was
within 0.2% of the total, with a median per-line error of 0% and a 90th percentile of 2.6%;
the common "4 characters a token" rule undercounted the same lines by 15%. Tokenizers with
smaller vocabularies (GPT-2's 50k) split more and will count ~5-15% more than this
estimate; tokenizers that group digits count fewer. Pass ``token_counter`` to use the exact
tokenizer of your model.

>>> hits = [{"id": "a", "memory": "Is vegetarian", "valid_at": "2024-03-15T00:00:00+00:00"}]
>>> build_context(hits, max_tokens=100)["text"].splitlines()[1]
'- [2024-03-15] Is vegetarian'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engramdb.errors import ValidationError

__all__ = ["HEADER", "RELATIONS_HEADER", "TokenCounter", "build_context", "estimate_tokens"]

TokenCounter = Callable[[str], int]

HEADER = "Relevant memories, oldest first (the date is when each became true):"
RELATIONS_HEADER = "Relations (the date is when each became true):"
MAX_BUDGET = 1_000_000

_TOKEN = re.compile(r"[^\W\d_]+|\d|\n|[^\w\s]|_")
_LONG_WORD = 10
_WORDS = re.compile(r"\w+")
# Two lines whose word sets overlap this much say the same thing (a repeated message, a fact
# restated with one word changed); the block keeps the more relevant one.
_NEAR_DUPLICATE = 0.85


def estimate_tokens(text: str) -> int:
    """LLM tokens in ``text``, estimated without a tokenizer (see the module notes for its error).

    >>> estimate_tokens("Alice moved to Lisbon on 2024-03-15.")
    16
    """
    n = 0
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        n += 1 + (len(word) - 1) // _LONG_WORD if word.isalpha() else 1
    return n


def check_budget(max_tokens: Any) -> int:
    """``max_tokens`` as a positive int, or a :class:`ValidationError` naming the problem."""
    if (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= MAX_BUDGET
    ):
        raise ValidationError(
            f"max_tokens must be an integer from 1 to {MAX_BUDGET}, not {max_tokens!r}"
        )
    return max_tokens


@dataclass
class _Line:
    kind: str  # "memory" or "relation"
    text: str
    when: str
    item: dict[str, Any]
    words: frozenset[str]


def _day(value: Any) -> str:
    return str(value)[:10] if value else ""


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _memory_line(hit: dict[str, Any]) -> _Line:
    when = hit.get("valid_at") or hit.get("created_at") or ""
    text = _one_line(hit.get("memory", ""))
    day = _day(when)
    return _Line(
        "memory",
        f"- [{day}] {text}" if day else f"- {text}",
        str(when),
        hit,
        frozenset(_WORDS.findall(text.lower())),
    )


def _relation_line(rel: dict[str, Any]) -> _Line:
    verb = _one_line(str(rel.get("relationship", "")).replace("_", " ").lower())
    text = f"{_one_line(rel.get('source', ''))} {verb} {_one_line(rel.get('target', ''))}"
    when = rel.get("valid_at") or ""
    day = _day(when)
    return _Line(
        "relation",
        f"- [{day}] {text}" if day else f"- {text}",
        str(when),
        rel,
        frozenset(_WORDS.findall(text.lower())),
    )


def _is_current(item: dict[str, Any], now: str) -> bool:
    # ISO-8601 UTC strings compare in time order; any end time beats the empty ``now``.
    if item.get("status", "active") != "active":
        return False
    ends = item.get("invalid_at")
    return not ends or str(ends) > now


def _interleave(a: Sequence[_Line], b: Sequence[_Line]) -> Iterable[_Line]:
    for i in range(max(len(a), len(b))):
        if i < len(a):
            yield a[i]
        if i < len(b):
            yield b[i]


def _near_duplicate(line: _Line, kept: Iterable[_Line]) -> bool:
    for other in kept:
        if line.text == other.text:
            return True
        union = len(line.words | other.words)
        if union and len(line.words & other.words) / union >= _NEAR_DUPLICATE:
            return True
    return False


def _render(chosen: Sequence[_Line]) -> str:
    memories = sorted((ln for ln in chosen if ln.kind == "memory"), key=lambda ln: ln.when)
    relations = sorted((ln for ln in chosen if ln.kind == "relation"), key=lambda ln: ln.when)
    parts: list[str] = []
    if memories:
        parts += [HEADER, *(ln.text for ln in memories)]
    if relations:
        parts += [RELATIONS_HEADER, *(ln.text for ln in relations)]
    return "\n".join(parts)


def build_context(
    hits: Sequence[dict[str, Any]],
    relations: Sequence[dict[str, Any]] = (),
    *,
    max_tokens: int,
    now: str = "",
    token_counter: TokenCounter | None = None,
) -> dict[str, Any]:
    """Pack ``hits`` (search results, best first) and ``relations`` into a dated block.

    Memories that are not active, or whose ``invalid_at`` is at or before ``now`` (an ISO
    time; empty = ignore), are left out, as are relations that have ended. Returns
    ``{"text", "tokens", "memories", "relations"}``: the block (``""`` when nothing fits),
    its token count, the ids of the memories in it (most relevant first) and the relation
    dicts in it. ``tokens`` never exceeds ``max_tokens``.
    """
    budget = check_budget(max_tokens)
    count = token_counter or estimate_tokens
    mem_lines = [_memory_line(h) for h in hits if _is_current(h, now)]
    rel_lines = [_relation_line(r) for r in relations if _is_current(r, now)]
    chosen: list[_Line] = []
    used = {"memory": 0, "relation": 0}
    for line in _interleave(mem_lines, rel_lines):
        if _near_duplicate(line, chosen):
            continue
        # Each line (and the heading its section's first line brings) costs its tokens and
        # a newline; the block's first line has no newline before it, hence the - 1.
        cost = count(line.text) + 1
        if not used[line.kind]:
            cost += count(HEADER if line.kind == "memory" else RELATIONS_HEADER) + 1
        if sum(used.values()) + cost - 1 > budget:
            continue
        chosen.append(line)
        used[line.kind] += cost
    text = _render(chosen)
    # A custom counter need not be additive over lines: trust only the count of the text.
    while chosen and count(text) > budget:
        chosen.pop()
        text = _render(chosen)
    return {
        "text": text,
        "tokens": count(text) if text else 0,
        "memories": [ln.item.get("id") for ln in chosen if ln.kind == "memory"],
        "relations": [ln.item for ln in chosen if ln.kind == "relation"],
    }
