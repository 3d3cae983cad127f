"""Random sequences of writes checked against a plain Python model of what should be stored:
scoping, filters, update and delete behave the same on every backend."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import open_memory

from engramdb.embed.local import LocalEmbedder

USERS = ["u1", "u2", "u3"]
WORDS = ["apple", "river", "chess", "violin", "harbor", "garden"]

add_op = st.tuples(
    st.just("add"),
    st.sampled_from(USERS),
    st.sampled_from(WORDS),
    st.integers(min_value=0, max_value=5),
    st.sampled_from(["red", "blue", None]),
)
update_op = st.tuples(st.just("update"), st.integers(0, 50), st.sampled_from(WORDS))
delete_op = st.tuples(st.just("delete"), st.integers(0, 50))
delete_all_op = st.tuples(st.just("delete_all"), st.sampled_from(USERS))
ops = st.lists(st.one_of(add_op, add_op, update_op, delete_op, delete_all_op), max_size=14)
queries = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.integers(0, 5),
        st.sampled_from(["gte", "lt", "eq", "ne"]),
        st.sampled_from(["red", "blue"]),
    ),
    min_size=1,
    max_size=4,
)


def _matches(meta: dict[str, Any], n: int, op: str, colour: str) -> bool:
    k = meta["k"]
    hit = {"gte": k >= n, "lt": k < n, "eq": k == n, "ne": k != n}[op]
    # "ne" matches a missing key too (documented); "tag" is the second condition, ORed.
    return hit or meta.get("tag") == colour


def _run(backend: str, embedder: LocalEmbedder, steps: list[Any], checks: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        m = open_memory(backend, Path(tmp), embedder)
        model: dict[str, dict[str, Any]] = {}  # id -> {user, text, meta}
        order: list[str] = []
        try:
            for step in steps:
                if step[0] == "add":
                    _, user, word, k, tag = step
                    meta: dict[str, Any] = {"k": k}
                    if tag is not None:
                        meta["tag"] = tag
                    text = f"{user} likes {word} number {len(order)}"
                    mid = m.add(text, user_id=user, metadata=meta, infer=False)["results"][0]["id"]
                    model[mid] = {"user": user, "text": text, "meta": meta}
                    order.append(mid)
                elif step[0] == "update" and order:
                    mid = order[step[1] % len(order)]
                    if mid in model:
                        m.update(mid, text=f"updated {step[2]}")
                        model[mid]["text"] = f"updated {step[2]}"
                elif step[0] == "delete" and order:
                    mid = order[step[1] % len(order)]
                    if mid in model:
                        m.delete(mid)
                        del model[mid]
                elif step[0] == "delete_all":
                    m.delete_all(user_id=step[1])
                    model = {i: r for i, r in model.items() if r["user"] != step[1]}
            for user, n, op, colour in checks:
                filters = {"OR": [{"k": {op: n}}, {"tag": colour}]}
                got = m.get_all(user_id=user, filters=filters, limit=1000)["results"]
                want = {
                    i
                    for i, r in model.items()
                    if r["user"] == user and _matches(r["meta"], n, op, colour)
                }
                assert {g["id"] for g in got} == want
                for g in got:
                    assert g["memory"] == model[g["id"]]["text"]
                    assert g["user_id"] == user
            for mid in order:
                assert (m.get(mid) is not None) == (mid in model)
        finally:
            m.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=ops, checks=queries)
def test_store_agrees_with_a_simple_model(
    backend: str, embedder: LocalEmbedder, steps: list[Any], checks: list[Any]
) -> None:
    _run(backend, embedder, steps, checks)
