"""Time-aware search on every store backend: 'when' questions and named periods."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import open_memory

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

STUDIO = [
    ("Jon: My dance studio is my passion and my dream", "2023-01-10"),
    ("Jon: The dance studio needs new mirrors and a sound system", "2023-02-10"),
    ("Jon: I love teaching kids at my dance studio", "2023-03-10"),
    ("Jon: Finally opened my own place last week, what a day!", "2023-04-10"),
    ("Jon: I went hiking in the mountains", "2023-07-10"),
    ("Jon: Cooked a big pasta dinner for friends", "2023-08-20"),
]


def _ranks(m: Memory, query: str, needle: str) -> int:
    hits = m.search(query, user_id="jon", limit=10)["results"]
    return next(i for i, h in enumerate(hits) if needle in h["memory"])


def test_when_questions_lift_memories_that_carry_a_time(
    backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    base = open_memory(backend, tmp_path, embedder)
    for text, day in STUDIO:
        base.add(text, user_id="jon", infer=False, timestamp=day)
    off = Memory(config={"retrieval": {"temporal": False}}, store=base.store, embedder=embedder)
    query = "When did Jon open his dance studio?"
    assert _ranks(base, query, "last week") == 0
    assert _ranks(off, query, "last week") > 0
    # A period named in the query pulls in what was valid then, on topic or not.
    period = "What did Jon do in July 2023?"
    assert _ranks(base, period, "hiking") == 0
    # A month without a year: any year's August.
    august = "What did Jon eat in August?"
    assert _ranks(base, august, "pasta") < _ranks(off, august, "pasta")
    # Queries not about time rank exactly as without the temporal lists.
    plain = "What does Jon need for the studio?"
    assert [h["id"] for h in base.search(plain, user_id="jon")["results"]] == [
        h["id"] for h in off.search(plain, user_id="jon")["results"]
    ]
    base.close()
