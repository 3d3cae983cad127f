"""Lost updates and duplicates under concurrent writers: several ``Memory`` objects (each its
own connection, as separate processes would have) write the same rows of one store at once."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.learn.feedback import new_importance

WRITERS = 6
EACH = 6


def _config(backend: str, home: Path) -> dict[str, Any] | None:
    if backend == "sqlite":
        return None
    from engramdb.store.postgres.devserver import fresh_schema

    # One schema shared by every writer (open_memory would make a fresh one per Memory).
    return {"store": {"provider": "postgres", "dsn": fresh_schema(f"race-{home}")}}


def _race(
    home: Path,
    config: dict[str, Any] | None,
    embedder: LocalEmbedder,
    work: Callable[[Memory, int], None],
) -> None:
    """Run ``work(memory, writer)`` in WRITERS threads at once, each with its own Memory."""
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        try:
            with Memory(path=home, config=config, embedder=embedder) as m:
                start.wait(timeout=60)
                work(m, w)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors


def test_concurrent_feedback_loses_no_adjustment(
    backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    config = _config(backend, tmp_path)
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        mid = m.add("Ada prefers green tea", user_id="u", infer=False)["results"][0]["id"]
        start = m.get(mid)["importance"]

    def judge(m: Memory, w: int) -> None:
        for _ in range(EACH):
            m.feedback(mid, "useful")

    _race(tmp_path, config, embedder, judge)
    expected = start
    for _ in range(WRITERS * EACH):
        expected = new_importance(expected, "useful")
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        events = [h for h in m.history(mid) if h["event"] == "FEEDBACK"]
        assert len(events) == WRITERS * EACH
        # Every judgement moved the stored value, none computed from a stale read.
        assert m.get(mid)["importance"] == pytest.approx(expected, abs=1e-5)


COUNTRIES = [
    "Sweden",
    "Norway",
    "Denmark",
    "Finland",
    "Iceland",
    "Spain",
    "Portugal",
    "Italy",
    "Greece",
    "Austria",
    "Poland",
    "Ireland",
]


def test_concurrent_writers_of_one_new_relation_store_it_once(
    backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    config = _config(backend, tmp_path)
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        # The entities exist already, with their final kinds: only the relation is new (a new
        # entity's key, or a kind upgraded, would make the writers wait for each other).
        setup = [f"Anna: I moved from my home country, {c}." for c in COUNTRIES]
        m.add(["Caroline: I talked about it.", *setup], user_id="u", infer=False)
    start = threading.Barrier(WRITERS)

    def state(m: Memory, w: int) -> None:
        for country in COUNTRIES:
            start.wait(timeout=60)  # every writer states the same new relation at once
            text = f"Caroline: I moved from my home country, {country}. ({w})"
            m.add(text, user_id="u", infer=False)

    _race(tmp_path, config, embedder, state)
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        for country in COUNTRIES:
            rels = [
                r
                for r in m.relations(user_id="u", entity="Caroline")
                if (r["relationship"], r["target"]) == ("from", country)
            ]
            # One current relation, stated by every writer's memory.
            assert len(rels) == 1, rels
            assert len(rels[0]["memory_ids"]) == WRITERS


ROUNDS = 30


def test_consolidate_does_not_archive_a_memory_updated_meanwhile(
    backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    config = _config(backend, tmp_path)
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        pairs = []
        for r in range(ROUNDS):
            # Two copies of one statement: consolidate archives the older as a duplicate.
            ids = [
                m.add(text, user_id=f"u{r}", infer=False)["results"][0]["id"]
                for text in (f"Ada lives in Porto since {r}", f"ada lives in Porto since {r}.")
            ]
            pairs.append(ids)
    start = threading.Barrier(2)
    skipped: list[str] = []

    def consolidate(m: Memory) -> None:
        rng = random.Random(7)
        for r in range(ROUNDS):
            start.wait(timeout=60)
            # The update embeds its text first: starting a little later some rounds lets it
            # land between consolidate's read and its write.
            time.sleep(rng.uniform(0, 0.006))
            skipped.extend(m.consolidate(user_id=f"u{r}")["skipped"])

    def update(m: Memory) -> None:
        for r, (dup, _) in enumerate(pairs):
            start.wait(timeout=60)
            m.update(dup, f"Bob owns a red bicycle number {r}")

    errors: list[BaseException] = []

    def run(work: Callable[[Memory], None]) -> None:
        try:
            with Memory(path=tmp_path, config=config, embedder=embedder) as m:
                work(m)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (consolidate, update)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    with Memory(path=tmp_path, config=config, embedder=embedder) as m:
        for dup, _ in pairs:
            events = [h["event"] for h in m.history(dup)]
            # Archiving as a duplicate is decided on the text read: an update consolidate did
            # not see must not be archived by it.
            assert events[-2:] != ["UPDATE", "ARCHIVE"], (dup, events)
            # ... and says so: what it skipped was updated and is still active.
            if dup in skipped:
                assert "ARCHIVE" not in events and m.get(dup)["status"] == "active"
