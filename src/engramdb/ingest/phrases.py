"""Text plumbing for the offline extractor: normalising chat text, splitting it into
sentences and clauses, and cutting clean value phrases out of a clause. Pure functions."""

from __future__ import annotations

import re

# Contractions are expanded first so every rule only has to know one spelling
# ("I am", "do not"); chat text often drops the apostrophe ("im", "dont").
_CONTRACTIONS: tuple[tuple[str, str], ...] = (
    (r"\b(i|we|you|they)['’]d\s+(?=been\b|had\b|gone\b|done\b|\w+ed\b)", r"\1 had "),
    (r"\bi['’]m\b|\bim\b(?=\s+\w)", "I am"),
    (r"\bi['’]ve\b|\bive\b(?=\s+\w)", "I have"),
    (r"\bi['’]ll\b", "I will"),
    (r"\bi['’]d\b", "I would"),
    (r"\b(we|you|they)['’]re\b", r"\1 are"),
    (r"\b(we|you|they)['’]ve\b", r"\1 have"),
    (r"\b(we|you|they|he|she|it)['’]ll\b", r"\1 will"),
    (r"\b(we|you|they|he|she)['’]d\b", r"\1 would"),
    (r"\b(he|she|it)['’]s\s+(?=been\b|got\b)", r"\1 has "),
    (r"\b(he|she|it|that|there|what|who)['’]s\b", r"\1 is"),
    (r"\b(can['’]?t|cannot)\b", "can not"),
    (r"\bwon['’]?t\b", "will not"),
    (r"\b(do|does|did|is|are|was|were|have|has|had|should|would|could)n['’]?t\b", r"\1 not"),
    (r"\bgonna\b", "going to"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "have to"),
    (r"\blet['’]s\b", "let us"),
    (r"\bfavorite", "favourite"),
    (r"\bfav\b", "favourite"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), r) for p, r in _CONTRACTIONS)
_ABBREVIATIONS = re.compile(r"\b(Dr|Mr|Mrs|Ms|St|Jr|Sr|Prof|Mt|vs|etc|e\.g|i\.e|U\.S|U\.K)\.", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+|(?<=[.!?])(?=[A-Z])")
_ARTICLES = re.compile(r"^(?:the|a|an|some|my|our)\s+", re.IGNORECASE)
_PREPOSITIONS = frozenset(["of", "on", "in", "with", "at", "from", "for", "by", "about"])
_NO_SINGULAR = ("ss", "us", "is", "ics", "os", "news", "series", "species", "ies")


def normalize(text: str) -> str:
    """Straight quotes, expanded contractions, single spaces."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences with their closing punctuation, so a question keeps its "?"."""
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\0"), text)
    parts = (p.replace("\0", ".").strip() for p in _SENTENCE_END.split(protected))
    return [p for p in parts if p]


def strip_article(phrase: str) -> str:
    """``phrase`` without a leading article or possessive ("the Beatles" -> "Beatles")."""
    return _ARTICLES.sub("", phrase.strip())


def singular(word: str) -> str:
    """A cheap English singular for the last word of a key ("horror movies" -> "horror movie").

    Proper nouns and words that only look plural ("tennis", "news") are left alone.
    """
    if not word or word[0].isupper() or len(word) < 4 or word.endswith(_NO_SINGULAR[:-1]):
        return word
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 5 and lower not in ("movies", "cookies", "smoothies"):
        return word[:-3] + "y"
    if lower.endswith(("ches", "shes", "xes", "sses", "oes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return word[:-1]
    return word


def key_of(phrase: str) -> str:
    """A normalised attribute key: lowercase, no article, singular last word."""
    words = strip_article(phrase).rstrip(".,!?").split()
    if not words:
        return ""
    # The head noun is the last word before a preposition: "walks on the beach".
    head = next(
        (i - 1 for i, w in enumerate(words) if i and w.lower() in _PREPOSITIONS), len(words) - 1
    )
    words[head] = singular(words[head])
    return " ".join(words).lower()


def base_form(gerund: str) -> str:
    """ "moving" -> "move", "running" -> "run", "visiting" -> "visit" (good enough for plans)."""
    w = gerund.lower()
    if not w.endswith("ing") or len(w) < 5:
        return gerund
    stem = w[:-3]
    if stem.endswith("y") or stem.endswith(("ee", "oo")) or w in ("going", "being", "doing"):
        return stem
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    vowels = re.findall(r"[aeiou]+", stem)
    if len(stem) == 2 or re.search(r"(?:[vcz]|dg|[^aeiourl]l)$", stem):
        return stem + "e"
    if len(vowels) == 1 and re.search(r"[^aeiou][aeiou][^aeiouwxy]$", stem):
        return stem + "e"
    return stem


def capitalize_first(text: str) -> str:
    """``text`` with only its first letter raised."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """``text`` with its first letter lowered unless it starts a proper noun or acronym."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]
