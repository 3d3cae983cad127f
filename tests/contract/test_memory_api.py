"""The public ``Memory`` API against a real store: every behaviour of the issue spec.

Every test takes ``mem`` (parametrised over store backends in ``conftest.py``), so the same
suite will run against each backend.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engramdb import (
    AsyncMemory,
    ConfigError,
    EngramError,
    FilterError,
    Memory,
    MemoryNotFoundError,
    ScopeError,
    ValidationError,
)
from engramdb.embed.local import LocalEmbedder

TS = "2024-06-01T12:00:00Z"
TS_STORED = "2024-06-01T12:00:00.000000+00:00"
SEARCH_KEYS = {
    "id",
    "memory",
    "score",
    "metadata",
    "user_id",
    "agent_id",
    "run_id",
    "created_at",
    "updated_at",
}


def texts(result: dict[str, Any]) -> list[str]:
    return [r["memory"] for r in result["results"]]


def add_one(mem: Memory, text: str, **kwargs: Any) -> str:
    kwargs.setdefault("infer", False)
    out = mem.add(text, **kwargs)
    assert len(out["results"]) == 1
    return str(out["results"][0]["id"])


def snapshot(mem: Memory, ids: list[str] | None = None) -> dict[str, Any]:
    """Everything observable about what is stored, for "bad input changes nothing"."""
    scopes: set[tuple[str, str]] = set()
    stats = mem.stats()
    everyone: dict[str, Any] = {}
    for key in ("user_id", "agent_id", "run_id"):
        for value in _scope_values(mem, key):
            scopes.add((key, value))
    for key, value in sorted(scopes):
        everyone[f"{key}={value}"] = mem.get_all(**{key: value}, limit=10_000)["results"]
    histories = {i: _history_or_none(mem, i) for i in ids or []}
    return {"stats": stats, "get_all": everyone, "history": histories}


def _scope_values(mem: Memory, key: str) -> set[str]:
    # Known scope ids used by these tests; get_all needs a scope, so probe the usual ones.
    candidates = {"alice", "bob", "carol", "travel", "support", "r1", "r2", "u"}
    found = set()
    for c in candidates:
        if mem.get_all(**{key: c}, limit=1)["results"]:
            found.add(c)
    return found


def _history_or_none(mem: Memory, memory_id: str) -> list[dict[str, Any]] | None:
    try:
        return mem.history(memory_id)
    except MemoryNotFoundError:
        return None


# -- add shapes ----------------------------------------------------------------------------


def test_add_string(mem: Memory) -> None:
    out = mem.add("I like green tea", user_id="alice", infer=False)
    assert set(out) == {"results", "usage"}
    assert out["usage"]["llm_calls"] == 0
    [r] = out["results"]
    assert r["event"] == "ADD"
    assert r["memory"] == "I like green tea"
    uuid.UUID(r["id"])
    stored = mem.get(r["id"])
    assert stored is not None
    assert stored["memory"] == "I like green tea"
    assert stored["user_id"] == "alice"
    assert stored["role"] == "user"
    # Lifecycle fields are reported from the start, with their neutral defaults.
    assert stored["importance"] == 0.5
    assert stored["access_count"] == 0
    assert stored["expires_at"] is None
    assert stored["last_accessed_at"] is None


def test_add_dict(mem: Memory) -> None:
    out = mem.add({"role": "assistant", "content": "Noted: tea."}, user_id="alice", infer=False)
    [r] = out["results"]
    assert r["memory"] == "Noted: tea."
    got = mem.get(r["id"])
    assert got is not None and got["role"] == "assistant"


def test_add_list_keeps_order_and_drops_system(mem: Memory) -> None:
    out = mem.add(
        [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "I moved to Lisbon"},
            {"role": "assistant", "content": "Lisbon is lovely"},
            "plain string too",
        ],
        user_id="alice",
        infer=False,
    )
    assert texts(out) == ["I moved to Lisbon", "Lisbon is lovely", "plain string too"]
    assert all(r["event"] == "ADD" for r in out["results"])
    assert len({r["id"] for r in out["results"]}) == 3
    assert {r["memory"] for r in mem.get_all(user_id="alice")["results"]} == set(texts(out))


def test_add_infer_true_default_still_stores(mem: Memory) -> None:
    # Offline (no LLM configured) the default infer=True must still remember something.
    out = mem.add("I am allergic to shellfish", user_id="alice")
    assert out["results"]
    assert all(r["event"] in ("ADD", "UPDATE", "NONE") for r in out["results"])
    assert mem.get_all(user_id="alice")["results"]


def test_add_metadata_is_stored(mem: Memory) -> None:
    meta = {"city": "Lisbon", "n": 3, "ok": True, "tags": ["a", "b"], "nested": {"x": [1]}}
    mid = add_one(mem, "metadata test", user_id="alice", metadata=meta)
    got = mem.get(mid)
    assert got is not None and got["metadata"] == meta


def test_add_does_not_alias_callers_metadata(mem: Memory) -> None:
    meta: dict[str, Any] = {"tags": ["a"]}
    mid = add_one(mem, "alias test", user_id="alice", metadata=meta)
    meta["tags"].append("b")
    meta["new"] = 1
    got = mem.get(mid)
    assert got is not None and got["metadata"] == {"tags": ["a"]}


def test_add_500_messages_in_one_transaction(mem: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_apply = mem.store.apply

    def counting_apply(batch: Any) -> None:
        calls.append(len(batch.inserts))
        real_apply(batch)

    monkeypatch.setattr(mem.store, "apply", counting_apply)
    commits: list[str] = []
    conn = getattr(mem.store, "_conn", None)
    if conn is not None:  # SQLite: count the COMMITs the write issued
        conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message number {i} ok"}
        for i in range(500)
    ]
    out = mem.add(messages, user_id="alice", infer=False, timestamp=TS)
    if conn is not None:
        conn.set_trace_callback(None)
        assert len(commits) == 1
    assert calls == [500]
    assert len(out["results"]) == 500
    assert [r["memory"] for r in out["results"]] == [m["content"] for m in messages]
    assert len({r["id"] for r in out["results"]}) == 500
    stored = mem.get_all(user_id="alice", limit=1000)["results"]
    assert len(stored) == 500
    assert {r["created_at"] for r in stored} == {TS_STORED}
    assert mem.stats()["memories"] == 500
    hit = mem.search("message number 417 ok", user_id="alice", limit=3)["results"]
    assert hit[0]["memory"] == "message number 417 ok"


def test_add_result_and_record_shape(mem: Memory) -> None:
    mid = add_one(mem, "I prefer aisle seats", user_id="alice", agent_id="travel", run_id="r1")
    rec = mem.get(mid)
    assert rec is not None
    assert SEARCH_KEYS - {"score"} <= set(rec)
    assert (rec["user_id"], rec["agent_id"], rec["run_id"]) == ("alice", "travel", "r1")
    assert rec["created_at"] == rec["updated_at"]
    assert datetime.fromisoformat(rec["created_at"]).utcoffset() == timedelta(0)
    hit = mem.search("seat preference", user_id="alice")["results"][0]
    assert set(hit) >= SEARCH_KEYS
    assert hit["id"] == mid
    assert isinstance(hit["score"], float)
    json.dumps(hit)  # plain JSON-serialisable data


# -- scoping ---------------------------------------------------------------------------------


@pytest.fixture
def scoped(mem: Memory) -> dict[str, str]:
    ids = {
        "alice_travel": add_one(
            mem, "Alice prefers aisle seats", user_id="alice", agent_id="travel"
        ),
        "alice": add_one(mem, "Alice is vegetarian", user_id="alice"),
        "alice_r1": add_one(
            mem, "Alice asked about Rome in this chat", user_id="alice", run_id="r1"
        ),
        "travel": add_one(mem, "The travel agent books trains first", agent_id="travel"),
        "bob_travel": add_one(mem, "Bob prefers window seats", user_id="bob", agent_id="travel"),
        "bob": add_one(mem, "Bob is vegan", user_id="bob"),
        "r2": add_one(mem, "Run two scratch note", run_id="r2"),
    }
    return ids


def _ids(result: dict[str, Any]) -> set[str]:
    return {r["id"] for r in result["results"]}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"user_id": "alice"}, {"alice_travel", "alice", "alice_r1"}),
        ({"user_id": "bob"}, {"bob_travel", "bob"}),
        ({"agent_id": "travel"}, {"alice_travel", "travel", "bob_travel"}),
        ({"user_id": "alice", "agent_id": "travel"}, {"alice_travel"}),
        ({"user_id": "bob", "agent_id": "travel"}, {"bob_travel"}),
        ({"run_id": "r1"}, {"alice_r1"}),
        ({"user_id": "alice", "run_id": "r1"}, {"alice_r1"}),
        ({"user_id": "bob", "run_id": "r1"}, set()),
        ({"run_id": "r2"}, {"r2"}),
        ({"user_id": "carol"}, set()),
        ({"user_id": "alice", "agent_id": "travel", "run_id": "r1"}, set()),
    ],
)
def test_scope_combinations(
    mem: Memory, scoped: dict[str, str], scope: dict[str, str], expected: set[str]
) -> None:
    want = {scoped[k] for k in expected}
    assert _ids(mem.get_all(**scope)) == want
    assert _ids(mem.search("seats vegetarian travel Rome note", **scope, limit=50)) == want
    # The same scope given inside filters.
    assert _ids(mem.get_all(filters=scope)) == want
    assert _ids(mem.search("seats", filters=scope, limit=50)) == want


def test_users_are_isolated(mem: Memory, scoped: dict[str, str]) -> None:
    alice_ids = {scoped["alice"], scoped["alice_travel"], scoped["alice_r1"]}
    for query in ("Alice prefers aisle seats", "Alice is vegetarian", "Alice", "Rome"):
        bob = mem.search(query, user_id="bob", limit=100)["results"]
        assert not {r["id"] for r in bob} & alice_ids
        assert all(r["user_id"] == "bob" for r in bob)
    assert not _ids(mem.get_all(user_id="bob", limit=10_000)) & alice_ids
    assert not _ids(mem.get_all(user_id="bob", filters={"memory": {"contains": "Alice"}}))
    assert all(r["user_id"] == "alice" for r in mem.get_all(user_id="alice")["results"])


def test_scope_arguments_and_filters_must_agree(mem: Memory, scoped: dict[str, str]) -> None:
    assert _ids(mem.get_all(user_id="alice", filters={"user_id": "alice"})) == {
        scoped["alice"],
        scoped["alice_travel"],
        scoped["alice_r1"],
    }
    with pytest.raises(ValidationError, match="user_id"):
        mem.get_all(user_id="alice", filters={"user_id": "bob"})
    with pytest.raises(ValidationError, match="user_id"):
        mem.search("x", user_id="alice", filters={"user_id": "bob"})


def test_scope_inside_nested_filters_is_not_a_scope(mem: Memory, scoped: dict[str, str]) -> None:
    # An OR over users is a filter, not a scope: a scope is still required.
    with pytest.raises(ScopeError):
        mem.get_all(filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]})
    got = mem.get_all(agent_id="travel", filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]})
    assert _ids(got) == {scoped["alice_travel"], scoped["bob_travel"]}
    got = mem.get_all(agent_id="travel", filters={"user_id": {"ne": "alice"}})
    assert _ids(got) == {scoped["travel"], scoped["bob_travel"]}


# -- filters end to end ----------------------------------------------------------------------

FILTER_DATA = [
    (
        "veg",
        "I am vegetarian",
        {
            "category": "food",
            "priority": 1,
            "tags": ["diet", "health"],
            "city": "Lisbon",
            "verified": True,
        },
        "2024-01-01T10:00:00Z",
    ),
    (
        "tennis",
        "I play tennis on Sundays",
        {
            "category": "sport",
            "priority": 2,
            "tags": ["hobby", "health"],
            "city": "Porto",
            "verified": False,
        },
        "2024-02-01T10:00:00Z",
    ),
    (
        "sister",
        "My sister lives in Berlin",
        {
            "category": "family",
            "priority": 3,
            "tags": ["family"],
            "city": "Berlin",
            "note": "Ask About Her Job",
        },
        "2024-03-01T10:00:00Z",
    ),
    (
        "peanuts",
        "I am allergic to peanuts",
        {
            "category": "food",
            "priority": 5,
            "tags": ["health", "allergy"],
            "city": "Lisbon",
            "weight": 0.5,
        },
        "2024-04-01T10:00:00Z",
    ),
    ("car", "I drive a blue car", {"category": "misc", "priority": 4}, "2024-05-01T10:00:00Z"),
]


@pytest.fixture
def filtered(mem: Memory) -> dict[str, str]:
    ids = {}
    for key, text, meta, ts in FILTER_DATA:
        ids[key] = add_one(mem, text, user_id="alice", metadata=meta, timestamp=ts)
    # Another user's matching memory must never leak into alice's filtered results.
    add_one(
        mem,
        "Bob is vegetarian too",
        user_id="bob",
        metadata={"category": "food", "priority": 1, "tags": ["diet", "health"]},
        timestamp="2024-01-15T10:00:00Z",
    )
    return ids


MAR_15 = datetime(2024, 3, 15, tzinfo=UTC)

FILTER_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("eq bare", {"category": "food"}, {"veg", "peanuts"}),
    ("eq op", {"category": {"eq": "food"}}, {"veg", "peanuts"}),
    ("eq $op", {"category": {"$eq": "food"}}, {"veg", "peanuts"}),
    ("eq metadata. prefix", {"metadata.category": "sport"}, {"tennis"}),
    ("eq number", {"priority": 3}, {"sister"}),
    ("eq bool true", {"verified": True}, {"veg"}),
    ("eq bool false", {"verified": False}, {"tennis"}),
    ("ne", {"category": {"ne": "food"}}, {"tennis", "sister", "car"}),
    ("ne includes missing key", {"city": {"ne": "Lisbon"}}, {"tennis", "sister", "car"}),
    ("gt", {"priority": {"gt": 2}}, {"sister", "peanuts", "car"}),
    ("gte", {"priority": {"gte": 2}}, {"tennis", "sister", "peanuts", "car"}),
    ("lt", {"priority": {"lt": 2}}, {"veg"}),
    ("lte", {"priority": {"lte": 2}}, {"veg", "tennis"}),
    ("range", {"priority": {"gt": 1, "lt": 5}}, {"tennis", "sister", "car"}),
    ("float", {"weight": {"gte": 0.5}}, {"peanuts"}),
    ("in", {"category": {"in": ["sport", "family"]}}, {"tennis", "sister"}),
    ("in numbers", {"priority": {"in": [1, 4]}}, {"veg", "car"}),
    ("nin", {"category": {"nin": ["food", "misc"]}}, {"tennis", "sister"}),
    ("nin includes missing key", {"city": {"nin": ["Lisbon", "Porto"]}}, {"sister", "car"}),
    ("contains list", {"tags": {"contains": "health"}}, {"veg", "tennis", "peanuts"}),
    ("contains list exact element", {"tags": {"contains": "heal"}}, set()),
    ("contains string", {"note": {"contains": "About"}}, {"sister"}),
    ("contains is case sensitive", {"note": {"contains": "about"}}, set()),
    ("icontains string", {"note": {"icontains": "about HER"}}, {"sister"}),
    ("icontains list", {"tags": {"icontains": "HEALTH"}}, {"veg", "tennis", "peanuts"}),
    ("contains wildcard chars are literal", {"note": {"contains": "%"}}, set()),
    ("icontains wildcard chars are literal", {"note": {"icontains": "_"}}, set()),
    ("exists wildcard", {"city": "*"}, {"veg", "tennis", "sister", "peanuts"}),
    ("missing key eq", {"nonexistent": "x"}, set()),
    ("record memory contains", {"memory": {"contains": "tennis"}}, {"tennis"}),
    ("record memory icontains", {"memory": {"icontains": "VEGETARIAN"}}, {"veg"}),
    ("record role", {"role": "user"}, {"veg", "tennis", "sister", "peanuts", "car"}),
    ("record memory_type", {"memory_type": {"ne": "fact"}}, set()),
    ("record status", {"status": "active"}, {"veg", "tennis", "sister", "peanuts", "car"}),
    ("created_at gte", {"created_at": {"gte": "2024-03-01"}}, {"sister", "peanuts", "car"}),
    (
        "created_at range",
        {"created_at": {"gte": "2024-02-01T10:00:00Z", "lt": "2024-04-01T10:00:00Z"}},
        {"tennis", "sister"},
    ),
    ("created_at zone", {"created_at": {"lt": "2024-02-01T11:00:00+02:00"}}, {"veg"}),
    ("created_at naive is UTC", {"created_at": {"lte": "2024-02-01T10:00:00"}}, {"veg", "tennis"}),
    ("created_at epoch", {"created_at": {"gt": MAR_15.timestamp()}}, {"peanuts", "car"}),
    ("created_at datetime", {"created_at": {"gt": MAR_15}}, {"peanuts", "car"}),
    ("valid_at", {"valid_at": {"lt": "2024-01-02"}}, {"veg"}),
    ("updated_at", {"updated_at": {"gte": "2024-05-01"}}, {"car"}),
    (
        "AND",
        {"AND": [{"category": "food"}, {"priority": {"gt": 1}}]},
        {"peanuts"},
    ),
    ("implicit AND", {"category": "food", "city": "Lisbon", "priority": 1}, {"veg"}),
    ("OR", {"OR": [{"city": "Berlin"}, {"priority": {"gte": 5}}]}, {"sister", "peanuts"}),
    ("NOT", {"NOT": {"category": "food"}}, {"tennis", "sister", "car"}),
    ("NOT list", {"NOT": [{"category": "food"}, {"city": "Lisbon"}]}, {"tennis", "sister", "car"}),
    (
        "nested",
        {
            "OR": [
                {"AND": [{"category": "food"}, {"NOT": {"tags": {"contains": "allergy"}}}]},
                {"city": "Berlin"},
            ]
        },
        {"veg", "sister"},
    ),
    (
        "deeply nested",
        {
            "AND": [
                {"OR": [{"tags": {"contains": "health"}}, {"priority": {"gte": 4}}]},
                {"NOT": {"OR": [{"city": "Porto"}, {"memory": {"icontains": "car"}}]}},
            ]
        },
        {"veg", "peanuts"},
    ),
    ("record id in", {"id": {"in": ["__veg__", "__car__"]}}, {"veg", "car"}),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [pytest.param(f, e, id=name) for name, f, e in FILTER_CASES],
)
def test_filters_end_to_end(
    mem: Memory, filtered: dict[str, str], filters: dict[str, Any], expected: set[str]
) -> None:
    filters = _subst(filters, filtered)
    want = {filtered[k] for k in expected}
    assert _ids(mem.get_all(user_id="alice", filters=filters)) == want
    # Search applies the same filters to both retrievers: the scope has few rows, so every
    # match is a candidate and nothing else may appear.
    got = mem.search("vegetarian tennis sister peanuts car", user_id="alice", filters=filters)
    assert _ids(got) == want
    # Scope given inside the filters gives the same answer.
    inside = {"AND": [{"user_id": "alice"}, filters]}
    assert _ids(mem.get_all(filters=inside)) == want


def _subst(value: Any, ids: dict[str, str]) -> Any:
    """Replace "__key__" placeholders with the id of that memory."""
    if isinstance(value, dict):
        return {k: _subst(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("__") and value.endswith("__"):
        return ids[value[2:-2]]
    return value


def test_filters_on_search_exclude_keyword_matches(mem: Memory, filtered: dict[str, str]) -> None:
    # "vegetarian" matches one memory by keyword; a filter that excludes it wins.
    got = mem.search("vegetarian", user_id="alice", filters={"category": "sport"})
    assert _ids(got) == {filtered["tennis"]}


def test_filter_on_scope_field_other_than_eq(mem: Memory, filtered: dict[str, str]) -> None:
    got = mem.get_all(user_id="alice", filters={"agent_id": {"eq": None}})
    assert len(got["results"]) == 5


# -- search ----------------------------------------------------------------------------------

FACTS = [
    "My sister Ana lives in Berlin",
    "I am allergic to peanuts",
    "I play tennis every Sunday morning",
    "My favourite programming language is Rust",
    "I drive a blue Volkswagen",
    "My dog is called Pixel and is a beagle",
    "I work as a nurse at the city hospital",
    "I'm saving money for a trip to Japan",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Where does my sister live?", FACTS[0]),
        ("Which foods should I avoid?", FACTS[1]),
        ("What sport do I play?", FACTS[2]),
        ("What is the name of my dog?", FACTS[5]),
        ("What's my job?", FACTS[6]),
        ("travel plans abroad", FACTS[7]),
    ],
)
def test_search_ranks_the_clear_match_first(mem: Memory, query: str, expected: str) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    res = mem.search(query, user_id="alice")["results"]
    assert res[0]["memory"] == expected
    assert res[0]["score"] == pytest.approx(1.0)
    scores = [r["score"] for r in res]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_search_exact_text_has_similarity_one(mem: Memory) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    top = mem.search(FACTS[3], user_id="alice")["results"][0]
    assert top["memory"] == FACTS[3]
    assert top["similarity"] == pytest.approx(1.0, abs=1e-3)


def test_search_limit(mem: Memory) -> None:
    mem.add([f"note {i} about gardening" for i in range(15)], user_id="alice", infer=False)
    assert len(mem.search("gardening", user_id="alice", limit=5)["results"]) == 5
    assert len(mem.search("gardening", user_id="alice", limit=1)["results"]) == 1
    assert len(mem.search("gardening", user_id="alice")["results"]) == 10
    assert len(mem.search("gardening", user_id="alice", limit=100)["results"]) == 15


def test_search_threshold(mem: Memory) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    everything = mem.search("my dog", user_id="alice", limit=50)["results"]
    assert len(everything) == len(FACTS)
    kept = mem.search("my dog", user_id="alice", limit=50, threshold=0.3)["results"]
    assert kept, "the dog memory is similar enough"
    assert kept[0]["memory"] == FACTS[5]
    assert all(r["similarity"] >= 0.3 for r in kept)
    assert len(kept) < len(everything)
    dropped = {r["id"] for r in everything} - {r["id"] for r in kept}
    assert all(r["similarity"] < 0.3 for r in everything if r["id"] in dropped)
    assert mem.search("quantum chromodynamics", user_id="alice", threshold=0.95)["results"] == []
    assert len(mem.search("my dog", user_id="alice", limit=50, threshold=-1.0)["results"]) == 8
    assert len(mem.search("my dog", user_id="alice", limit=50, threshold=0)["results"]) >= 1


def test_search_empty_scope_returns_nothing(mem: Memory) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    assert mem.search("dog", user_id="nobody")["results"] == []


def test_search_keyword_only_query_words(mem: Memory) -> None:
    # A query made only of stop words still works (vector side only).
    mem.add(FACTS, user_id="alice", infer=False)
    assert mem.search("what did you do?", user_id="alice")["results"]


def test_search_special_characters_in_query(mem: Memory) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    for q in ['"quoted" AND OR NOT', "dog*", "a:b (c) {d}", "NEAR(x y)", "'; DROP TABLE x; --"]:
        assert isinstance(mem.search(q, user_id="alice")["results"], list)
    assert mem.stats()["memories"] == len(FACTS)


# -- get / get_all / update --------------------------------------------------------------------


def test_get_unknown_is_none(mem: Memory) -> None:
    assert mem.get(str(uuid.uuid4())) is None


def test_get_all_newest_first_limit_offset(mem: Memory) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(6):
        add_one(mem, f"event {i}", user_id="alice", timestamp=base + timedelta(days=i))
    got = texts(mem.get_all(user_id="alice"))
    assert got == [f"event {i}" for i in reversed(range(6))]
    assert texts(mem.get_all(user_id="alice", limit=2)) == ["event 5", "event 4"]
    assert texts(mem.get_all(user_id="alice", limit=2, offset=2)) == ["event 3", "event 2"]
    assert texts(mem.get_all(user_id="alice", offset=10)) == []


def test_get_all_default_limit_is_100(mem: Memory) -> None:
    mem.add([f"fact {i}" for i in range(120)], user_id="alice", infer=False)
    assert len(mem.get_all(user_id="alice")["results"]) == 100
    assert len(mem.get_all(user_id="alice", limit=1000)["results"]) == 120


def test_update_text_is_re_embedded(mem: Memory, open_mem: Callable[..., Memory]) -> None:
    mem.add(FACTS, user_id="alice", infer=False)
    mid = add_one(mem, "I live in Lisbon near the river", user_id="alice")
    # Warm the search caches first, so a stale cached vector would show.
    assert mem.search("Lisbon", user_id="alice")["results"][0]["id"] == mid
    out = mem.update(mid, text="I collect vintage typewriters")
    assert out["id"] == mid
    assert out["memory"] == "I collect vintage typewriters"
    got = mem.get(mid)
    assert got is not None and got["memory"] == "I collect vintage typewriters"
    assert got["hash"] != ""
    top = mem.search("vintage typewriters", user_id="alice")["results"][0]
    assert top["id"] == mid
    assert top["similarity"] > 0.6
    # The old text is gone from both indexes.
    for r in mem.search("I live in Lisbon near the river", user_id="alice", limit=50)["results"]:
        assert "Lisbon" not in r["memory"]
        if r["id"] == mid:
            assert r["similarity"] < 0.5
    keyword = open_mem({"retrieval": {"preset": "keyword"}})
    assert keyword.search("Lisbon river", user_id="alice")["results"] == []
    assert [r["id"] for r in keyword.search("typewriters", user_id="alice")["results"]] == [mid]
    vector = open_mem({"retrieval": {"preset": "vector"}})
    top = vector.search("I collect vintage typewriters", user_id="alice")["results"][0]
    assert top["id"] == mid
    assert top["similarity"] == pytest.approx(1.0, abs=1e-3)


def test_update_changes_updated_at_not_created_at(mem: Memory) -> None:
    mid = add_one(mem, "first text", user_id="alice", timestamp=TS)
    mem.update(mid, text="second text")
    got = mem.get(mid)
    assert got is not None
    assert got["created_at"] == TS_STORED
    assert got["updated_at"] > got["created_at"]


def test_update_metadata_replaces(mem: Memory) -> None:
    mid = add_one(mem, "keep this text", user_id="alice", metadata={"a": 1, "b": 2})
    mem.update(mid, metadata={"c": 3})
    got = mem.get(mid)
    assert got is not None
    assert got["metadata"] == {"c": 3}
    assert got["memory"] == "keep this text"
    assert _ids(mem.get_all(user_id="alice", filters={"c": 3})) == {mid}
    assert mem.get_all(user_id="alice", filters={"a": 1})["results"] == []
    mem.update(mid, metadata={})
    got = mem.get(mid)
    assert got is not None and got["metadata"] == {}


def test_update_text_and_metadata_together(mem: Memory) -> None:
    mid = add_one(mem, "old words", user_id="alice", metadata={"v": 1})
    mem.update(mid, text="new words", metadata={"v": 2})
    got = mem.get(mid)
    assert got is not None
    assert (got["memory"], got["metadata"]) == ("new words", {"v": 2})


# -- history / delete / delete_all / reset ----------------------------------------------------


def test_history_add_update_delete(mem: Memory) -> None:
    mid = add_one(mem, "I like cats", user_id="alice", timestamp=TS)
    assert [h["event"] for h in mem.history(mid)] == ["ADD"]
    mem.update(mid, text="I like dogs")
    mem.update(mid, metadata={"x": 1})
    mem.delete(mid)
    hist = mem.history(mid)
    assert [h["event"] for h in hist] == ["ADD", "UPDATE", "UPDATE", "DELETE"]
    assert (hist[0]["old_memory"], hist[0]["new_memory"]) == (None, "I like cats")
    assert hist[0]["created_at"] == TS_STORED
    assert (hist[1]["old_memory"], hist[1]["new_memory"]) == ("I like cats", "I like dogs")
    assert (hist[2]["old_memory"], hist[2]["new_memory"]) == ("I like dogs", "I like dogs")
    assert (hist[3]["old_memory"], hist[3]["new_memory"]) == ("I like dogs", None)
    assert all(h["memory_id"] == mid for h in hist)
    times = [h["created_at"] for h in hist]
    assert times[1:] == sorted(times[1:])


def test_history_unknown_id(mem: Memory) -> None:
    with pytest.raises(MemoryNotFoundError) as info:
        mem.history("no-such-id")
    assert "no-such-id" in str(info.value)


def test_delete(mem: Memory) -> None:
    keep = add_one(mem, "I like cats", user_id="alice")
    mid = add_one(mem, "I like hamsters", user_id="alice")
    mem.search("hamsters", user_id="alice")  # warm the cache
    out = mem.delete(mid)
    assert out["id"] == mid
    assert mem.get(mid) is None
    assert _ids(mem.get_all(user_id="alice")) == {keep}
    assert mid not in _ids(mem.search("I like hamsters", user_id="alice"))
    with pytest.raises(MemoryNotFoundError):
        mem.delete(mid)
    with pytest.raises(MemoryNotFoundError):
        mem.update(mid, text="back")


def test_delete_all_scoped(mem: Memory, scoped: dict[str, str]) -> None:
    out = mem.delete_all(user_id="alice")
    assert out["deleted"] == 3
    assert mem.get_all(user_id="alice")["results"] == []
    assert mem.search("Alice", user_id="alice")["results"] == []
    assert _ids(mem.get_all(user_id="bob")) == {scoped["bob"], scoped["bob_travel"]}
    assert _ids(mem.get_all(agent_id="travel")) == {scoped["travel"], scoped["bob_travel"]}
    assert mem.get(scoped["r2"]) is not None
    # History survives deletion.
    assert [h["event"] for h in mem.history(scoped["alice"])] == ["ADD", "DELETE"]
    assert mem.delete_all(user_id="alice")["deleted"] == 0


def test_delete_all_by_agent_and_run(mem: Memory, scoped: dict[str, str]) -> None:
    assert mem.delete_all(user_id="bob", agent_id="travel")["deleted"] == 1
    assert mem.get(scoped["bob"]) is not None
    assert mem.delete_all(run_id="r1")["deleted"] == 1
    assert mem.get(scoped["alice"]) is not None
    assert mem.delete_all(agent_id="travel")["deleted"] == 2
    assert mem.stats()["memories"] == 3


def test_delete_all_without_scope_is_an_error_and_deletes_nothing(
    mem: Memory, scoped: dict[str, str]
) -> None:
    before = snapshot(mem, list(scoped.values()))
    with pytest.raises(ScopeError) as info:
        mem.delete_all()
    assert "user_id" in str(info.value)
    assert "delete_all" in str(info.value)
    assert snapshot(mem, list(scoped.values())) == before
    assert mem.stats()["memories"] == len(scoped)


def test_reset(mem: Memory, scoped: dict[str, str]) -> None:
    mem.search("seats", user_id="alice")  # warm a cache
    mem.reset()
    stats = mem.stats()
    assert stats["memories"] == 0
    assert stats["history_rows"] == 0
    for mid in scoped.values():
        assert mem.get(mid) is None
    assert mem.search("seats", user_id="alice")["results"] == []
    mid = add_one(mem, "fresh start", user_id="alice")
    assert _ids(mem.search("fresh start", user_id="alice")) == {mid}


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "stored"),
    [
        ("2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05.000000+00:00"),
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000000+00:00"),
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05.000000+00:00"),
        ("2024-01-02", "2024-01-02T00:00:00.000000+00:00"),
        (1_700_000_000, "2023-11-14T22:13:20.000000+00:00"),
        (1_700_000_000.25, "2023-11-14T22:13:20.250000+00:00"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05.000000+00:00"),
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            "2024-01-02T08:04:05.000000+00:00",
        ),
    ],
)
def test_timestamps(mem: Memory, timestamp: Any, stored: str) -> None:
    mid = add_one(mem, "timestamped", user_id="alice", timestamp=timestamp)
    got = mem.get(mid)
    assert got is not None
    assert got["created_at"] == stored
    assert got["valid_at"] == stored
    assert mem.history(mid)[0]["created_at"] == stored


def test_no_timestamp_means_now(mem: Memory) -> None:
    before = datetime.now(UTC)
    mid = add_one(mem, "now", user_id="alice")
    after = datetime.now(UTC)
    got = mem.get(mid)
    assert got is not None
    created = datetime.fromisoformat(got["created_at"])
    assert before - timedelta(seconds=1) <= created <= after + timedelta(seconds=1)


# -- errors: each typed, and nothing stored changes ---------------------------------------------

BAD_CALLS: list[tuple[str, Callable[[Memory, str], Any], type[Exception], str]] = [
    ("add no scope", lambda m, i: m.add("x", infer=False), ScopeError, "user_id"),
    ("add empty list", lambda m, i: m.add([], user_id="alice"), ValidationError, "empty"),
    ("add empty string", lambda m, i: m.add("  ", user_id="alice"), ValidationError, "empty"),
    (
        "add no content",
        lambda m, i: m.add({"role": "user"}, user_id="alice"),
        ValidationError,
        "content",
    ),
    (
        "add bad role",
        lambda m, i: m.add({"role": "bot", "content": "x"}, user_id="alice"),
        ValidationError,
        "'bot'",
    ),
    (
        "add only system",
        lambda m, i: m.add([{"role": "system", "content": "be nice"}], user_id="alice"),
        ValidationError,
        "system",
    ),
    (
        "add one bad in list",
        lambda m, i: m.add(["good one", "", "another"], user_id="alice", infer=False),
        ValidationError,
        "message 1",
    ),
    ("add not messages", lambda m, i: m.add(42, user_id="alice"), ValidationError, "int"),
    ("add blank user", lambda m, i: m.add("x", user_id=""), ValidationError, "user_id"),
    ("add int agent", lambda m, i: m.add("x", agent_id=7), ValidationError, "agent_id"),
    (
        "add long id",
        lambda m, i: m.add("x", run_id="r" * 300),
        ValidationError,
        "run_id",
    ),
    (
        "add metadata not dict",
        lambda m, i: m.add("x", user_id="alice", metadata=["a"]),
        ValidationError,
        "metadata",
    ),
    (
        "add metadata nan",
        lambda m, i: m.add("x", user_id="alice", metadata={"a": float("nan")}),
        ValidationError,
        "metadata",
    ),
    (
        "add metadata object",
        lambda m, i: m.add("x", user_id="alice", metadata={"a": object()}),
        ValidationError,
        "metadata",
    ),
    (
        "add bad timestamp",
        lambda m, i: m.add("x", user_id="alice", timestamp="last tuesday"),
        ValidationError,
        "last tuesday",
    ),
    (
        "add bool timestamp",
        lambda m, i: m.add("x", user_id="alice", timestamp=True),
        ValidationError,
        "timestamp",
    ),
    ("search no scope", lambda m, i: m.search("cats"), ScopeError, "search"),
    ("search empty query", lambda m, i: m.search(" ", user_id="alice"), ValidationError, "query"),
    ("search query type", lambda m, i: m.search(None, user_id="alice"), ValidationError, "query"),
    (
        "search unknown operator",
        lambda m, i: m.search("x", user_id="alice", filters={"a": {"regex": "."}}),
        FilterError,
        "'regex'",
    ),
    (
        "search bad field",
        lambda m, i: m.search("x", user_id="alice", filters={"no such field": 1}),
        FilterError,
        "'no such field'",
    ),
    (
        "search filters not dict",
        lambda m, i: m.search("x", user_id="alice", filters="a=1"),
        FilterError,
        "dict",
    ),
    (
        "search bad time filter",
        lambda m, i: m.search("x", user_id="alice", filters={"created_at": {"gt": "soon"}}),
        ValidationError,
        "created_at",
    ),
    (
        "search limit 0",
        lambda m, i: m.search("x", user_id="alice", limit=0),
        ValidationError,
        "limit",
    ),
    (
        "search limit str",
        lambda m, i: m.search("x", user_id="alice", limit="5"),
        ValidationError,
        "limit",
    ),
    (
        "search threshold str",
        lambda m, i: m.search("x", user_id="alice", threshold="high"),
        ValidationError,
        "threshold",
    ),
    ("get_all no scope", lambda m, i: m.get_all(), ScopeError, "get_all"),
    (
        "get_all unknown operator",
        lambda m, i: m.get_all(user_id="alice", filters={"NOT": {"a": {"like": "%"}}}),
        FilterError,
        "'like'",
    ),
    (
        "get_all bad offset",
        lambda m, i: m.get_all(user_id="alice", offset=-1),
        ValidationError,
        "offset",
    ),
    (
        "update unknown id",
        lambda m, i: m.update("missing-id", text="x"),
        MemoryNotFoundError,
        "missing-id",
    ),
    ("update nothing", lambda m, i: m.update(i), ValidationError, "text or metadata"),
    ("update blank text", lambda m, i: m.update(i, text="   "), ValidationError, "text"),
    (
        "update metadata type",
        lambda m, i: m.update(i, text="new text", metadata=["x"]),
        ValidationError,
        "metadata",
    ),
    ("delete unknown id", lambda m, i: m.delete("missing-id"), MemoryNotFoundError, "missing-id"),
    ("delete blank id", lambda m, i: m.delete(""), ValidationError, "memory_id"),
    ("delete_all no scope", lambda m, i: m.delete_all(), ScopeError, "delete_all"),
    (
        "delete_all blank scope",
        lambda m, i: m.delete_all(user_id=""),
        ValidationError,
        "user_id",
    ),
    ("history unknown", lambda m, i: m.history("missing-id"), MemoryNotFoundError, "missing-id"),
    ("get blank id", lambda m, i: m.get(""), ValidationError, "memory_id"),
]


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [pytest.param(c, e, f, id=name) for name, c, e, f in BAD_CALLS],
)
def test_bad_input_raises_typed_error_and_changes_nothing(
    mem: Memory,
    call: Callable[[Memory, str], Any],
    error: type[Exception],
    fragment: str,
) -> None:
    mid = add_one(mem, "I like cats", user_id="alice", metadata={"a": 1}, timestamp=TS)
    add_one(mem, "Bob likes dogs", user_id="bob", agent_id="support")
    before = snapshot(mem, [mid])
    with pytest.raises(error) as info:
        call(mem, mid)
    assert isinstance(info.value, EngramError)
    assert fragment in str(info.value)
    assert snapshot(mem, [mid]) == before


def test_error_hierarchy() -> None:
    assert issubclass(ScopeError, ValidationError)
    assert issubclass(FilterError, ValidationError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(MemoryNotFoundError, KeyError)
    err = MemoryNotFoundError("abc")
    assert err.memory_id == "abc"
    assert str(err) == "no memory with id 'abc'"


# -- async parity ------------------------------------------------------------------------------


def _script_sync(m: Memory) -> list[Any]:
    out: list[Any] = []
    added = m.add(FACTS, user_id="alice", infer=False, timestamp=TS)["results"]
    out.append([(r["memory"], r["event"]) for r in added])
    mid = m.add("I like cats", user_id="alice", metadata={"k": "v"}, infer=False, timestamp=TS)[
        "results"
    ][0]["id"]
    out.append(_strip(m.search("Where does my sister live?", user_id="alice")["results"]))
    out.append(_strip(m.get_all(user_id="alice", filters={"k": "v"})["results"]))
    out.append(_strip([m.get(mid)]))
    out.append(m.update(mid, text="I like lions")["memory"])
    out.append([h["event"] for h in m.history(mid)])
    out.append(m.delete(mid)["message"])
    out.append(m.delete_all(user_id="alice")["deleted"])
    out.append(m.stats()["memories"])
    try:
        m.delete_all()
    except ScopeError as exc:
        out.append(type(exc).__name__)
    return out


async def _script_async(m: AsyncMemory) -> list[Any]:
    out: list[Any] = []
    added = (await m.add(FACTS, user_id="alice", infer=False, timestamp=TS))["results"]
    out.append([(r["memory"], r["event"]) for r in added])
    mid = (
        await m.add("I like cats", user_id="alice", metadata={"k": "v"}, infer=False, timestamp=TS)
    )["results"][0]["id"]
    out.append(_strip((await m.search("Where does my sister live?", user_id="alice"))["results"]))
    out.append(_strip((await m.get_all(user_id="alice", filters={"k": "v"}))["results"]))
    out.append(_strip([await m.get(mid)]))
    out.append((await m.update(mid, text="I like lions"))["memory"])
    out.append([h["event"] for h in await m.history(mid)])
    out.append((await m.delete(mid))["message"])
    out.append((await m.delete_all(user_id="alice"))["deleted"])
    out.append((await m.stats())["memories"])
    try:
        await m.delete_all()
    except ScopeError as exc:
        out.append(type(exc).__name__)
    return out


def _strip(results: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """Drop what differs between two stores by construction (ids, wall-clock times)."""
    out: list[dict[str, Any] | None] = []
    for r in results:
        if r is None:
            out.append(None)
            continue
        d = {k: v for k, v in r.items() if k not in ("id", "updated_at")}
        for k in ("score", "similarity"):
            if k in d:
                d[k] = round(d[k], 4)
        out.append(d)
    return out


def test_async_memory_parity(tmp_path: Path, embedder: LocalEmbedder) -> None:
    with Memory(path=tmp_path / "sync", embedder=embedder) as sync_mem:
        expected = _script_sync(sync_mem)

    async def main() -> list[Any]:
        async with AsyncMemory(path=tmp_path / "async", embedder=embedder) as amem:
            return await _script_async(amem)

    got = asyncio.run(main())
    assert got == expected
    assert expected[-1] == "ScopeError"


def test_async_memory_concurrent_calls(tmp_path: Path, embedder: LocalEmbedder) -> None:
    async def main() -> tuple[int, int]:
        async with AsyncMemory(path=tmp_path, embedder=embedder) as amem:
            await asyncio.gather(
                *(amem.add(f"parallel fact {i}", user_id="alice", infer=False) for i in range(20))
            )
            found = await asyncio.gather(
                *(amem.search(f"parallel fact {i}", user_id="alice") for i in range(20))
            )
            return (await amem.stats())["memories"], sum(
                f["results"][0]["memory"] == f"parallel fact {i}" for i, f in enumerate(found)
            )

    assert asyncio.run(main()) == (20, 20)


# -- construction ------------------------------------------------------------------------------


def test_from_config_dict(tmp_path: Path) -> None:
    with Memory.from_config({"home": str(tmp_path)}) as m:
        add_one(m, "configured memory", user_id="alice")
        assert m.search("configured", user_id="alice")["results"][0]["memory"] == (
            "configured memory"
        )
    assert (tmp_path / "memories.db").is_file()


def test_from_config_store_path_and_preset(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "custom.db"
    cfg = {"store": {"path": str(db)}, "retrieval": {"preset": "keyword"}}
    with Memory.from_config(cfg) as m:
        add_one(m, "keyword only search", user_id="alice")
        assert texts(m.search("keyword", user_id="alice")) == ["keyword only search"]
        assert m.search("unrelated", user_id="alice")["results"] == []
    assert db.is_file()


def test_from_config_file(tmp_path: Path) -> None:
    path = tmp_path / "engram.json"
    path.write_text(json.dumps({"home": str(tmp_path / "data")}))
    with Memory.from_config(str(path)) as m:
        add_one(m, "from a file", user_id="alice")
    assert (tmp_path / "data" / "memories.db").is_file()


@pytest.mark.parametrize(
    "cfg",
    [
        {"no_such_option": 1},
        {"retrieval": {"preset": "nope"}},
        {"store": {"provider": "nope"}},
        {"embedder": {"provider": "nope"}},
    ],
)
def test_from_config_errors(tmp_path: Path, cfg: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Memory.from_config({"home": str(tmp_path), **cfg})


def test_close_is_idempotent(tmp_path: Path, embedder: LocalEmbedder) -> None:
    m = Memory(path=tmp_path, embedder=embedder)
    m.close()
    m.close()
