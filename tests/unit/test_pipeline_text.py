"""The LLM extractor's reply clean-up before decisions: text that cannot be stored."""

from __future__ import annotations

from engramdb.ingest.extractors import valid_text
from engramdb.ingest.prompts.extract_reconcile import ExtractReconcileReply, FactOut


def test_clean_reply_is_returned_unchanged() -> None:
    reply = ExtractReconcileReply(facts=[FactOut(text="User likes tea ☕ 🍵")])
    assert valid_text(reply) is reply


def test_lone_surrogates_become_replacement_characters() -> None:
    reply = ExtractReconcileReply(
        facts=[FactOut(text="a\ud800b", categories=["food\udfff"], reason="\udc00")]
    )
    clean = valid_text(reply)
    fact = clean.facts[0]
    assert fact.text == "a\ufffdb"
    assert fact.categories == ["food\ufffd"]
    assert fact.reason == "\ufffd"
    for value in (fact.text, *fact.categories, fact.reason or ""):
        value.encode("utf-8")  # storable
