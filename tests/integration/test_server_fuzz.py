"""Hypothesis fuzz of write and search bodies over real HTTP: never a 500, always the error shape.

Bodies mix the real field names with arbitrary JSON values (and arbitrary extra keys), so most
are invalid in some way; each answer must be 2xx or a 4xx JSON error, and the server must stay up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-fuzz-key-0123456789"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", " ", "alice", "user", "*", "eq", "$in", "AND", "2024-01-01T00:00:00Z"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.text(max_size=12), st.sampled_from(["role", "content", "AND", "OR", "in"])
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "x"]), "content": json_values}
)


def body(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={**fields, "extra": json_values, "tenant": st.just("other")}
    )


add_bodies = body(
    {
        "messages": st.one_of(
            st.text(max_size=50), message, st.lists(message, max_size=3), json_values
        ),
        "user_id": st.one_of(st.just("fuzz"), scalars),
        "agent_id": scalars,
        "run_id": scalars,
        "metadata": json_values,
        "infer": st.just(False),
        "timestamp": scalars,
        "memory_type": scalars,
    }
)
search_bodies = body(
    {
        "query": st.one_of(st.text(max_size=60), scalars),
        "user_id": st.one_of(st.just("fuzz"), scalars),
        "agent_id": scalars,
        "run_id": scalars,
        "filters": json_values,
        "limit": scalars,
        "threshold": scalars,
    }
)


@pytest.fixture(scope="module")
def http(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder
) -> Iterator[httpx.Client]:
    memory = Memory(path=tmp_path_factory.mktemp("fuzz"), embedder=embedder)
    app = create_app(memory, ServerSettings(admin_key=ADMIN, rate_limit=0))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        key = client.post("/v1/keys", json={"tenant": "fuzz"}, headers={"X-API-Key": ADMIN})
        client.headers["Authorization"] = f"Bearer {key.json()['key']}"
        client.post(
            "/v1/memories",
            json={"messages": "I like fuzzing parsers", "user_id": "fuzz", "infer": False},
        )
        yield client
    memory.close()


def check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        assert r.status_code in (400, 404, 409, 413, 422), r.text
        err = r.json()["error"]
        assert isinstance(err["type"], str) and isinstance(err["message"], str)


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(payload=search_bodies)
def test_search_bodies_never_500(http: httpx.Client, payload: dict[str, Any]) -> None:
    check(http.post("/v1/search", json=payload))
    check(http.post("/search", json=payload))
    check(http.post("/v3/memories/search/", json=payload))


@FUZZ
@given(payload=add_bodies)
def test_add_bodies_never_500(http: httpx.Client, payload: dict[str, Any]) -> None:
    check(http.post("/v1/memories", json=payload))
    check(http.post("/v3/memories/add/", json=payload))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), json_values.map(lambda v: repr(v).encode())))
def test_raw_bytes_never_500(http: httpx.Client, raw: bytes) -> None:
    check(http.post("/v1/search", content=raw, headers={"content-type": "application/json"}))
    check(http.post("/v1/import", content=raw))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["user_id", "agent_id", "run_id", "filters", "limit", "offset"]),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_list_query_strings_never_500(http: httpx.Client, params: dict[str, str]) -> None:
    check(http.get("/v1/memories", params=params))
    check(http.delete("/v1/memories/", params={**params, "user_id": "nobody-here"}))
