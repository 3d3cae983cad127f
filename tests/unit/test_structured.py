"""parse_structured on a corpus of real-world and hostile replies, and the pure helpers
around it: every reply parses to a valid model or raises MalformedReply, nothing else."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from engramdb.ingest.prompts.extract_reconcile import ExtractReconcileReply
from engramdb.llm.base import ChatMessage, Completion, Usage
from engramdb.llm.errors import ExtractionError, LLMError, MalformedReply
from engramdb.llm.retry import RetryPolicy, retry_after_seconds, should_retry
from engramdb.llm.structured import (
    _scan_repair,
    complete_structured,
    inline_refs,
    parse_structured,
    schema_instructions,
    schema_name_for,
    strict_schema,
)

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "malformed_replies.json"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))["cases"]


def reply_of(case: dict[str, Any]) -> Any:
    """The reply text of a corpus case (built ones are prefix + repeat * times + suffix)."""
    if "build" in case:
        b = case["build"]
        return b["prefix"] + b["repeat"] * b["times"] + b["suffix"]
    return case["reply"]


class ScriptedReplies:
    """An in-process LLM that answers from a list (the HTTP providers have their own suite)."""

    provider = "fake"
    model = "fake-1"

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.seen: list[list[ChatMessage]] = []

    async def complete(self, messages: list[ChatMessage], **_: Any) -> Completion:
        self.seen.append(messages)
        return Completion(self.replies.pop(0), 3, 2, self.model, self.provider)

    async def aclose(self) -> None:
        pass


# -- the corpus ---------------------------------------------------------------------------


def test_corpus_is_large_and_mixed() -> None:
    assert len(CORPUS) >= 30
    assert {c["expect"] for c in CORPUS} == {"ok", "malformed"}
    assert len({c["name"] for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_corpus_case(case: dict[str, Any]) -> None:
    text = reply_of(case)
    if case["expect"] == "malformed":
        with pytest.raises(MalformedReply) as info:
            parse_structured(text, ExtractReconcileReply)
        assert info.value.raw == (text if isinstance(text, str) else repr(text))
        assert info.value.reason
        return
    result = parse_structured(text, ExtractReconcileReply)
    assert isinstance(result, ExtractReconcileReply)
    if case["facts"] is None:
        assert len(result.facts) == case["count"]
    else:
        assert [f.text for f in result.facts] == case["facts"]


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_corpus_through_complete_structured(case: dict[str, Any]) -> None:
    """Sent twice (first reply and repair reply): a model or ExtractionError, nothing else."""
    text = reply_of(case)
    llm = ScriptedReplies(text, text)
    usage = Usage()
    call = complete_structured(llm, [ChatMessage("user", "hi")], ExtractReconcileReply, usage=usage)
    if case["expect"] == "ok":
        assert isinstance(asyncio.run(call), ExtractReconcileReply)
        assert usage.calls == 1
    else:
        with pytest.raises(ExtractionError) as info:
            asyncio.run(call)
        assert "fake" in str(info.value)
        assert usage.calls == 2


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="{}[]\":,'\\ tTfFnN0123456789.<>/`abcdefghijkstx\n"),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["facts", "text", "op", "x"]), inner, max_size=4)
            ),
        ).map(json.dumps),
    )
)
def test_any_text_parses_or_is_malformed(text: str) -> None:
    try:
        result = parse_structured(text, ExtractReconcileReply)
    except MalformedReply:
        return
    assert isinstance(result, ExtractReconcileReply)


# -- complete_structured ------------------------------------------------------------------


def test_repair_sends_error_and_bad_reply_back() -> None:
    llm = ScriptedReplies("sorry, no JSON", '{"facts": [{"text": "User likes tea"}]}')
    usage = Usage()
    question = [ChatMessage("system", "rules"), ChatMessage("user", "I like tea")]
    result = asyncio.run(complete_structured(llm, question, ExtractReconcileReply, usage=usage))
    assert [f.text for f in result.facts] == ["User likes tea"]
    assert usage == Usage(calls=2, prompt_tokens=6, completion_tokens=4)
    repair = llm.seen[1]
    assert repair[:2] == question
    assert repair[2] == ChatMessage("assistant", "sorry, no JSON")
    assert repair[3].role == "user" and "no JSON object found" in repair[3].content


def test_repair_of_empty_reply_shows_placeholder() -> None:
    llm = ScriptedReplies("", '{"facts": []}')
    asyncio.run(complete_structured(llm, [ChatMessage("user", "x")], ExtractReconcileReply))
    assert llm.seen[1][1] == ChatMessage("assistant", "(empty reply)")


def test_extraction_error_names_provider_and_truncates_reply() -> None:
    bad = "no json here " * 1000
    llm = ScriptedReplies(bad, bad)
    with pytest.raises(ExtractionError) as info:
        asyncio.run(complete_structured(llm, [ChatMessage("user", "x")], ExtractReconcileReply))
    err = info.value
    assert isinstance(err, LLMError)
    assert err.provider == "fake" and err.reply == bad
    assert "fake" in str(err) and "more characters" in str(err) and len(str(err)) < 1000


# -- pieces -------------------------------------------------------------------------------


class Inner(BaseModel):
    name: str
    tags: list[str] = []


class Outer(BaseModel):
    inner: Inner
    note: str | None = None
    items: list[Inner] = []


class Tree(BaseModel):
    children: list[Tree] = []


class Free(BaseModel):
    data: dict[str, int]


def test_strict_schema_closes_objects_and_requires_all() -> None:
    strict = strict_schema(Outer.model_json_schema())
    assert strict is not None
    assert strict["required"] == ["inner", "note", "items"]
    assert strict["additionalProperties"] is False
    inner = strict["$defs"]["Inner"]
    assert inner["required"] == ["name", "tags"] and inner["additionalProperties"] is False
    assert "default" not in json.dumps(strict)


def test_strict_schema_gives_up_on_free_form_dicts() -> None:
    assert strict_schema(Free.model_json_schema()) is None


def test_inline_refs() -> None:
    inlined = inline_refs(Outer.model_json_schema())
    assert "$defs" not in inlined and "$ref" not in json.dumps(inlined)
    assert inlined["properties"]["inner"]["properties"]["name"]["type"] == "string"
    recursive = Tree.model_json_schema()
    assert inline_refs(recursive) == recursive


def test_schema_name_and_instructions() -> None:
    assert schema_name_for(Outer) == "Outer"
    assert schema_name_for(Outer, "my schema!") == "my_schema_"
    assert len(schema_name_for(Outer, "x" * 100)) == 64
    text = schema_instructions(Outer.model_json_schema())
    assert "JSON" in text and '"inner"' in text and "$ref" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{'a': 'b',}", '{"a": "b"}'),
        ("{'a': \"it's\"}", '{"a": "it\'s"}'),
        ("{'a': 'say \"hi\"'}", '{"a": "say \\"hi\\""}'),
        ("[True, False, None, Truex]", "[true, false, null, Truex]"),
        ('{"keep": "a, }", "b": [1,2,],}', '{"keep": "a, }", "b": [1,2]}'),
    ],
)
def test_scan_repair(text: str, expected: str) -> None:
    assert _scan_repair(text) == expected


def test_parse_prefers_json_fence_over_prose_objects() -> None:
    text = 'Example: {"facts": [{"text": "example"}]}\n```json\n{"facts": [{"text": "real"}]}\n```'
    assert parse_structured(text, ExtractReconcileReply).facts[0].text == "real"


def test_malformed_reply_message_is_short() -> None:
    with pytest.raises(MalformedReply) as info:
        parse_structured("z" * 100_000, ExtractReconcileReply)
    assert len(str(info.value)) < 1000 and len(info.value.raw) == 100_000


def test_retry_after_parsing() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 0.5 ") == 0.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Mon, 01 Jan 2024 00:00:07 GMT", now=now) == 7.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_retries=5, backoff_s=1.0, max_backoff_s=5.0, jitter=0.0)
    assert [policy.delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=60.0) == 5.0
    assert [s for s in (400, 401, 404, 422, 429, 500, 503, 529) if should_retry(s)] == [
        429,
        500,
        503,
        529,
    ]


def test_hostile_large_replies_stay_fast() -> None:
    import time

    nasty = [
        '{"facts": [{"text": "' + "a, 'b' " * 150_000,  # 1 MB, unterminated string
        "{'x': " * 40_000,  # repair-pass bait
        "<think>" + "{" * 100_000,
        "```json\n" + "[" * 200_000,
    ]
    for text in nasty:
        started = time.monotonic()
        with pytest.raises(MalformedReply):
            parse_structured(text, ExtractReconcileReply)
        assert time.monotonic() - started < 2.0
