"""The pure context-block builder: budget, currency, dedupe, order, relations, counters."""

from __future__ import annotations

from typing import Any

import pytest

from engramdb.errors import ValidationError
from engramdb.retrieve.context import (
    HEADER,
    RELATIONS_HEADER,
    build_context,
    estimate_tokens,
)


def hit(i: str, text: str, day: str, **extra: Any) -> dict[str, Any]:
    return {"id": i, "memory": text, "valid_at": f"{day}T00:00:00+00:00", **extra}


HITS = [
    hit("a", "Moved to Berlin for a new job", "2024-05-02"),
    hit("b", "Lived in Lisbon with two cats", "2021-01-10"),
    hit("c", "Works at a robotics startup", "2024-05-20"),
]


def test_lines_are_chosen_by_relevance_and_written_oldest_first() -> None:
    out = build_context(HITS, max_tokens=1000)
    assert out["text"].splitlines() == [
        HEADER,
        "- [2021-01-10] Lived in Lisbon with two cats",
        "- [2024-05-02] Moved to Berlin for a new job",
        "- [2024-05-20] Works at a robotics startup",
    ]
    assert out["memories"] == ["a", "b", "c"]  # most relevant first
    assert out["tokens"] == estimate_tokens(out["text"]) and out["relations"] == []


def test_the_budget_is_never_exceeded_and_keeps_the_most_relevant() -> None:
    full = build_context(HITS, max_tokens=1000)["tokens"]
    first = estimate_tokens(f"{HEADER}\n- [2024-05-02] Moved to Berlin for a new job")
    for budget in range(1, full + 1):
        out = build_context(HITS, max_tokens=budget)
        assert out["tokens"] <= budget
        if budget >= first:
            assert out["memories"][0] == "a"
    one = build_context(HITS, max_tokens=first)
    assert one["memories"] == ["a"]
    assert build_context(HITS, max_tokens=5) == {
        "text": "",
        "tokens": 0,
        "memories": [],
        "relations": [],
    }


def test_a_long_line_that_does_not_fit_lets_a_shorter_one_in() -> None:
    long = hit("long", "word " * 80, "2024-01-01")
    out = build_context([long, HITS[0]], max_tokens=40)
    assert out["memories"] == ["a"]


def test_only_current_memories_and_no_near_duplicates() -> None:
    now = "2024-06-01T00:00:00.000000+00:00"
    hits = [
        *HITS,
        hit("old", "Lives in Lisbon", "2020-01-01", invalid_at="2024-05-02T00:00:00+00:00"),
        hit("later", "Will live in Rome", "2024-01-01", invalid_at="2030-01-01T00:00:00+00:00"),
        hit("gone", "Has a bike", "2020-01-01", status="deleted"),
        hit("dup", "moved to Berlin for a new  job!", "2024-05-03"),
        hit("near", "Moved to Berlin for a new job in May", "2024-05-03"),
    ]
    out = build_context(hits, max_tokens=1000, now=now)
    assert out["memories"] == ["a", "b", "c", "later", "near"]


def test_relations_share_the_budget_and_get_their_own_section() -> None:
    rels = [
        {
            "source": "alice",
            "relationship": "WORKS_AT",
            "target": "acme",
            "valid_at": "2024-05-20T00:00:00+00:00",
            "invalid_at": None,
        },
        {"source": "alice", "relationship": "lives_in", "target": "lisbon", "valid_at": None},
        {
            "source": "alice",
            "relationship": "lives_in",
            "target": "porto",
            "valid_at": "2019-01-01T00:00:00+00:00",
            "invalid_at": "2021-01-01T00:00:00+00:00",
        },
    ]
    out = build_context(HITS[:1], rels, max_tokens=1000, now="2024-06-01")
    lines = out["text"].splitlines()
    assert lines[2] == RELATIONS_HEADER
    assert lines[3:] == ["- alice lives in lisbon", "- [2024-05-20] alice works at acme"]
    assert out["relations"] == rels[:2]
    # With room for one line in each section, the first of each list wins.
    two = build_context(HITS[:1], rels[:1], max_tokens=1000)["tokens"]
    room = build_context(HITS, rels, max_tokens=two, now="2024-06-01")
    assert room["memories"] == ["a"] and room["relations"] == rels[:1]


def test_a_custom_counter_is_trusted_even_when_not_additive() -> None:
    out = build_context(HITS, max_tokens=120, token_counter=len)
    assert out["tokens"] == len(out["text"]) <= 120 and out["memories"] == ["a"]

    def lumpy(text: str) -> int:  # charges 50 extra for any text of three lines or more
        return len(text.split()) + (50 if text.count("\n") >= 2 else 0)

    out = build_context(HITS, max_tokens=40, token_counter=lumpy)
    assert out["tokens"] <= 40 and len(out["memories"]) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "100", True, None, 10**9])
def test_bad_budgets_are_refused(bad: Any) -> None:
    with pytest.raises(ValidationError, match="max_tokens"):
        build_context(HITS, max_tokens=bad)


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello world") == 2
    assert estimate_tokens("2024") == 4  # digit by digit, as the calibrating tokenizer did
    assert estimate_tokens("internationalization") == 2  # 20 letters: split once
    assert estimate_tokens("a\nb") == 3
