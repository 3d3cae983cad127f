"""Hypothesis fuzz of the learning routes over real HTTP: feedback and lessons bodies mixing
real field names with arbitrary JSON values never get a 500, always the error shape."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.test_server_fuzz import FUZZ, body, check, http, json_values, scalars

__all__ = ["http"]  # the module-scoped server fixture, shared with test_server_fuzz

feedback_bodies = body(
    {
        "signal": st.one_of(st.sampled_from(["useful", "not_useful", "wrong"]), scalars),
        "note": st.one_of(st.text(max_size=40), scalars),
        "query": st.one_of(st.text(max_size=40), json_values),
    }
)
lessons_bodies = body(
    {
        "task": st.one_of(st.text(max_size=60), scalars),
        "agent_id": st.one_of(st.just("fuzz-agent"), scalars),
        "user_id": scalars,
        "limit": scalars,
        "threshold": scalars,
    }
)


@FUZZ
@given(payload=feedback_bodies, target=st.sampled_from(["real", "missing", " ", "%00"]))
def test_feedback_bodies_never_500(
    http: httpx.Client, payload: dict[str, Any], target: str
) -> None:
    if target == "real":
        # A "wrong" judgement flags the memory out of listings: add another when none is left.
        found = http.get("/v1/memories", params={"user_id": "fuzz", "limit": 1}).json()["results"]
        if not found:
            add = {"messages": "fuzz target", "user_id": "fuzz", "infer": False}
            found = http.post("/v1/memories", json=add).json()["results"]
        target = found[0]["id"]
    check(http.post(f"/v1/memories/{target}/feedback", json=payload))


@FUZZ
@given(payload=lessons_bodies)
def test_lessons_bodies_never_500(http: httpx.Client, payload: dict[str, Any]) -> None:
    check(http.post("/v1/lessons", json=payload))
