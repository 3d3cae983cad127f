"""Query text to keyword terms."""

from __future__ import annotations

from engramdb.text.terms import STOPWORDS, terms


def test_doc_example() -> None:
    assert terms("What did Caroline research after the support group?") == [
        "caroline",
        "research",
        "support",
        "group",
    ]


def test_lower_cased_and_deduplicated_in_order() -> None:
    assert terms("Tea tea TEA coffee Tea") == ["tea", "coffee"]


def test_only_stopwords_gives_nothing() -> None:
    assert terms("what did you do with it?") == []
    assert terms("") == []
    assert terms("?!... ---") == []


def test_possessives_and_apostrophes() -> None:
    assert terms("Alice's dog") == ["alice", "dog"]
    assert terms("Alice’s dog") == ["alice", "dog"]
    assert terms("'quoted' words-") == ["quoted", "words"]


def test_hyphenated_words_stay_whole() -> None:
    assert terms("state-of-the-art gluten-free") == ["state-of-the-art", "gluten-free"]


def test_unicode_words() -> None:
    assert terms("Café in São Paulo, Zürich") == ["café", "são", "paulo", "zürich"]


def test_numbers_are_terms() -> None:
    assert terms("born in 1987 at 5pm") == ["born", "1987", "5pm"]


def test_limit() -> None:
    words = [f"w{i}" for i in range(50)]
    assert terms(" ".join(words)) == words[:32]
    assert terms(" ".join(words), limit=3) == words[:3]


def test_stopwords_are_lower_case_words() -> None:
    assert all(w == w.lower() and " " not in w for w in STOPWORDS)
    assert {"the", "a", "what", "did"} <= STOPWORDS
