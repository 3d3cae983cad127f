"""export_jsonl / import_jsonl on real SQLite stores with the real local embedder.

``embedder`` is the session-wide fixture from ``tests/conftest.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engramdb import Memory, ValidationError
from engramdb.embed.base import Embedder
from engramdb.models import Scope
from engramdb.transfer import ImportValidationError, export_jsonl, import_jsonl


@pytest.fixture
def make_memory(tmp_path: Path, embedder: Embedder) -> Iterator[Any]:
    opened: list[Memory] = []

    def make(name: str = "a") -> Memory:
        m = Memory(path=tmp_path / name, embedder=embedder)
        opened.append(m)
        return m

    yield make
    for m in opened:
        m.close()


def dump(memory: Memory, **kwargs: Any) -> list[str]:
    buf = io.StringIO()
    export_jsonl(memory, buf, **kwargs)
    return buf.getvalue().splitlines()


def total(memory: Memory) -> int:
    return int(memory.stats()["memories"])


def seeded(memory: Memory) -> list[str]:
    ids = []
    ids += [
        r["id"]
        for r in memory.add(
            "I live in Lisbon",
            user_id="alice",
            metadata={"topic": "home", "n": 1},
            timestamp="2024-01-02T03:04:05Z",
        )["results"]
    ]
    ids += [r["id"] for r in memory.add("I like green tea", user_id="alice")["results"]]
    ids += [r["id"] for r in memory.add("Bob plays chess", user_id="bob", agent_id="x")["results"]]
    memory.update(ids[1], text="I like jasmine tea")
    return ids


# -- export -------------------------------------------------------------------------------


def test_export_writes_header_memories_and_history(make_memory: Any) -> None:
    m = make_memory()
    ids = seeded(m)
    lines = [json.loads(x) for x in dump(m)]
    assert lines[0]["type"] == "header"
    assert lines[0]["dims"] == m.embedder.dims
    memories = [x for x in lines if x["type"] == "memory"]
    assert [x["id"] for x in memories] == ids  # oldest first
    assert all("vector" not in x for x in memories)
    history = [x for x in lines if x["type"] == "history"]
    assert [(h["memory_id"], h["event"]) for h in history] == [
        (ids[0], "ADD"),
        (ids[1], "ADD"),
        (ids[1], "UPDATE"),
        (ids[2], "ADD"),
    ]


def test_export_scope_and_options(make_memory: Any) -> None:
    m = make_memory()
    seeded(m)
    buf = io.StringIO()
    assert export_jsonl(m, buf, user_id="alice", include_history=False) == 2
    kinds = [json.loads(x)["type"] for x in buf.getvalue().splitlines()]
    # The graph comes last: entities before what names them (links, relations, merges).
    assert kinds[:5] == ["header", "memory", "memory", "episode", "episode"]
    assert kinds[5:] == sorted(kinds[5:], key=["entity", "entity_links", "relation"].index)
    assert "entity" in kinds
    buf = io.StringIO()
    export_jsonl(
        m,
        buf,
        user_id="alice",
        include_history=False,
        include_episodes=False,
        include_graph=False,
    )
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["type"] for x in lines] == ["header", "memory", "memory"]
    assert lines[0]["graph"] is False
    assert export_jsonl(m, io.StringIO(), agent_id="x") == 1
    assert export_jsonl(m, io.StringIO(), user_id="nobody") == 0
    with pytest.raises(ValidationError):
        export_jsonl(m, io.StringIO(), user_id="")


# -- round trip ---------------------------------------------------------------------------


def test_round_trip_keeps_ids_times_metadata_and_is_idempotent(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    ids = seeded(src)
    lines = dump(src)
    report = import_jsonl(dst, lines)
    assert (report.imported, report.skipped_existing, report.invalid_count) == (3, 0, 0)
    assert report.reembedded == 3  # exported without vectors
    assert report.history_lines == 4
    assert (report.episodes, report.skipped_episodes) == (3, 0)
    for user in ("alice", "bob"):
        assert dst.episodes(user_id=user) == src.episodes(user_id=user)
    for memory_id in ids:
        a, b = src.get(memory_id), dst.get(memory_id)
        assert a is not None and b is not None
        for key in ("memory", "hash", "metadata", "user_id", "agent_id", "created_at", "role"):
            assert a[key] == b[key], key
    first = dst.get(ids[0])
    assert first is not None and first["created_at"] == "2024-01-02T03:04:05.000000+00:00"
    hits = dst.search("where do I live?", user_id="alice")["results"]
    assert hits[0]["id"] == ids[0]

    again = import_jsonl(dst, lines)
    assert (again.imported, again.skipped_existing, again.batches) == (0, 3, 0)
    assert (again.episodes, again.skipped_episodes) == (0, 3)
    assert total(dst) == 3
    assert len(dst.episodes(user_id="alice")) == 2


def test_episodes_exported_before_extraction_arrive_failed(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    src.add("I live in Lisbon", user_id="alice")
    lines = [json.loads(x) for x in dump(src)]
    [episode] = [x for x in lines if x["type"] == "episode"]
    assert episode["status"] == "done" and episode["batch_id"]
    episode["status"] = "queued"
    report = import_jsonl(dst, [json.dumps(episode)])
    assert report.episodes == 1
    [got] = dst.episodes(user_id="alice")
    assert got["status"] == "failed" and "reprocess" in got["error"]
    assert total(dst) == 0  # no memory line: the raw message alone is kept


def test_bad_episode_line_is_reported(make_memory: Any) -> None:
    m = make_memory()
    bad = {"type": "episode", "id": "e1", "batch_id": "b", "role": "user", "user_id": "a"}
    with pytest.raises(ImportValidationError, match="content"):
        import_jsonl(m, [json.dumps(bad)])
    assert m.episodes(user_id="a") == []


def test_vectors_round_trip_exactly(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    seeded(src)
    report = import_jsonl(dst, dump(src, include_vectors=True))
    assert report.imported == 3 and report.reembedded == 0
    scope = Scope(tenant=src.tenant)
    before = {r.id: r.vector for r in src.store.iter_all(scope, with_vectors=True)}
    after = {r.id: r.vector for r in dst.store.iter_all(scope, with_vectors=True)}
    assert before.keys() == after.keys()
    for key, vec in before.items():
        assert np.array_equal(vec, after[key])


def test_vector_of_another_size_is_reembedded(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    seeded(src)
    lines = []
    for line in dump(src, include_vectors=True):
        obj = json.loads(line)
        if obj["type"] == "memory" and obj["user_id"] == "bob":
            obj["vector"] = [0.5, 0.5, 0.5]
        lines.append(json.dumps(obj))
    report = import_jsonl(dst, lines)
    assert report.imported == 3 and report.reembedded == 1
    hits = dst.search("chess", user_id="bob")["results"]
    assert hits and hits[0]["similarity"] > 0.3


def test_vectors_from_another_embedder_are_reembedded(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    seeded(src)
    lines = dump(src, include_vectors=True)
    header = json.loads(lines[0])
    header["embedder"] = "openai:text-embedding-3-small"
    report = import_jsonl(dst, [json.dumps(header), *lines[1:]])
    assert report.reembedded == 3


def test_scope_arguments_replace_the_files(make_memory: Any) -> None:
    src, dst = make_memory("src"), make_memory("dst")
    seeded(src)
    import_jsonl(dst, dump(src, user_id="alice"), user_id="carol")
    assert len(dst.get_all(user_id="carol")["results"]) == 2
    assert dst.get_all(user_id="alice")["results"] == []


def test_status_and_invalid_at_are_kept(make_memory: Any) -> None:
    m = make_memory()
    line = {
        "type": "memory",
        "id": "old-fact",
        "memory": "I live in Lisbon",
        "user_id": "alice",
        "created_at": "2024-01-01T00:00:00Z",
        "status": "superseded",
        "invalid_at": "2024-06-01T00:00:00Z",
    }
    import_jsonl(m, [json.dumps(line)])
    got = m.get("old-fact")
    assert got is not None
    assert got["status"] == "superseded"
    assert got["invalid_at"] == "2024-06-01T00:00:00.000000+00:00"
    assert m.get_all(user_id="alice")["results"] == []  # not active


def test_repeated_id_in_one_file_is_skipped(make_memory: Any) -> None:
    m = make_memory()
    line = json.dumps({"type": "memory", "id": "x1", "memory": "a", "user_id": "u"})
    report = import_jsonl(m, [line, line])
    assert (report.imported, report.skipped_existing) == (1, 1)


# -- chat lines ---------------------------------------------------------------------------


def test_chat_lines_go_through_add(make_memory: Any) -> None:
    m = make_memory()
    lines = [
        json.dumps({"role": "user", "content": "I have a dog named Rex", "user_id": "dan"}),
        json.dumps({"role": "assistant", "content": "Rex is a great name", "user_id": "dan"}),
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "be nice"},
                    {"role": "user", "content": "I moved to Oslo"},
                ],
                "user_id": "dan",
                "timestamp": "2023-05-08T13:56:00+02:00",
                "metadata": {"session": 2},
            }
        ),
    ]
    report = import_jsonl(m, lines)
    assert report.added == 3
    assert report.batches == 2  # the first two lines share scope/time/metadata: one add()
    oslo = m.search("Oslo", user_id="dan", limit=1)["results"][0]
    assert oslo["created_at"] == "2023-05-08T11:56:00.000000+00:00"
    assert oslo["metadata"] == {"session": 2}


def test_chat_lines_take_the_scope_argument(make_memory: Any) -> None:
    m = make_memory()
    report = import_jsonl(m, ['{"role": "user", "content": "hello"}'], agent_id="bot")
    assert report.added == 1
    assert len(m.get_all(agent_id="bot")["results"]) == 1


def test_batches_respect_batch_size(make_memory: Any) -> None:
    m = make_memory()
    lines = [json.dumps({"role": "user", "content": f"fact {i}"}) for i in range(10)]
    seen: list[tuple[int, int]] = []
    report = import_jsonl(
        m, lines, user_id="u", batch_size=4, on_progress=lambda d, t: seen.append((d, t))
    )
    assert report.added == 10 and report.batches == 3
    assert seen[0] == (0, 10) and seen[-1] == (10, 10)


# -- invalid input ------------------------------------------------------------------------


def test_bad_line_stops_the_import_before_any_write(make_memory: Any) -> None:
    m = make_memory()
    good = [json.dumps({"role": "user", "content": f"fact {i}", "user_id": "u"}) for i in range(20)]
    lines = [*good, "{not json", *good]
    with pytest.raises(ImportValidationError) as info:
        import_jsonl(m, lines, batch_size=5)
    assert "line 21" in str(info.value)
    assert info.value.report.invalid[0].line == 21
    assert total(m) == 0


def test_skip_invalid_imports_the_rest_and_reports(make_memory: Any) -> None:
    m = make_memory()
    lines = [
        '{"role": "user", "content": "keep me", "user_id": "u"}',
        "",
        "[1, 2]",
        '{"role": "user", "content": "no scope"}',
        '{"type": "memory", "id": "m1", "memory": "", "user_id": "u"}',
        '{"type": "memory", "id": "m2", "memory": "x", "user_id": "u", "vector": [NaN]}',
        '{"role": "user", "content": "bad time", "user_id": "u", "timestamp": "soon"}',
        '{"type": "header", "dims": 3}',
        '{"type": "wat"}',
        '{"hello": 1}',
        '{"role": "user", "content": "keep me too", "user_id": "u"}',
    ]
    report = import_jsonl(m, lines, skip_invalid=True)
    assert report.added == 2
    assert [e.line for e in report.invalid] == [3, 4, 5, 6, 7, 8, 9, 10]
    reasons = " | ".join(e.reason for e in report.invalid)
    for fragment in ("JSON object", "no user_id", "'memory'", "not valid JSON", "ISO-8601"):
        assert fragment in reasons
    assert "first line" in reasons
    assert total(m) == 2


def test_bom_and_blank_lines_are_fine(make_memory: Any) -> None:
    m = make_memory()
    report = import_jsonl(m, ['\ufeff{"role": "user", "content": "hi", "user_id": "u"}\n', "\n"])
    assert report.added == 1 and report.lines == 1


def test_batch_size_must_be_positive(make_memory: Any) -> None:
    with pytest.raises(ValidationError):
        import_jsonl(make_memory(), [], batch_size=0)


def test_empty_input_imports_nothing(make_memory: Any) -> None:
    report = import_jsonl(make_memory(), [])
    assert report.lines == 0 and report.written == 0


@pytest.mark.parametrize(
    "vector",
    [[True] * 384, ["0.1"] * 384, [1e39] * 384, [None] * 384, "0.1,0.2", [[0.1]] * 384],
)
def test_bad_vectors_are_refused(make_memory: Any, vector: Any) -> None:
    m = make_memory()
    line = {"type": "memory", "id": "m1", "memory": "x", "user_id": "a", "vector": vector}
    with pytest.raises(ImportValidationError, match="vector must be a list of finite numbers"):
        import_jsonl(m, [json.dumps(line)])
    assert total(m) == 0


def test_integer_vectors_are_numbers(make_memory: Any) -> None:
    m = make_memory()
    line = {"type": "memory", "id": "m1", "memory": "x", "user_id": "a", "vector": [0] * 383 + [1]}
    header = {"type": "header", "embedder": m.embedder.name, "dims": m.embedder.dims}
    report = import_jsonl(m, [json.dumps(header), json.dumps(line)])
    assert (report.imported, report.reembedded) == (1, 0)
