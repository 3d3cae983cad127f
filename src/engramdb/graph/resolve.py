"""Entity resolution: when two names denote the same entity.

Three steps, most certain first:

1. :func:`normalise` folds case, accents, possessives, a leading article and spacing, so
   "The Louvre's" and "louvre" share one key;
2. aliases: a few well-known short forms (:data:`KNOWN_ALIASES`), and an all-capitals
   acronym matching the initials of a longer name already known ("NYC" / "New York City");
3. embedding similarity, guarded: only for people, places and organisations, only between
   names that share their first word, and only at cosine >= :data:`SIMILARITY_THRESHOLD`
   ("Lake Tahoe" / "Lake Tahoe trip" may merge, "Lake Tahoe" / "Lake Como" may not).
   Anything looser merges different people who share a first name.

Merges decided here are recorded as aliases of the existing entity (and are reversible
through :meth:`Memory.unmerge <engramdb.Memory.unmerge>` when made by hand).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

#: Cosine two names' embeddings must reach to be merged (after the first-word guard).
SIMILARITY_THRESHOLD = 0.9

# Common short forms whose expansion nobody would guess from initials alone.
KNOWN_ALIASES: dict[str, str] = {
    "nyc": "new york city",
    "ny": "new york",
    "la": "los angeles",
    "sf": "san francisco",
    "uk": "united kingdom",
    "us": "united states",
    "usa": "united states",
    "u.s.": "united states",
    "u.k.": "united kingdom",
    "dc": "washington dc",
    "uae": "united arab emirates",
}

_POSSESSIVE = re.compile(r"['’]s?$")
_SPACE = re.compile(r"\s+")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(name: str) -> str:
    """The resolution key of a name.

    >>> normalise("  The Louvre's ")
    'louvre'
    >>> normalise("São  Paulo")
    'sao paulo'
    """
    text = name
    if not text.isascii():
        # ASCII has nothing to decompose; skipping it keeps query n-grams cheap.
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _EDGES.sub("", _SPACE.sub(" ", text.casefold().replace("’", "'")))
    text = _POSSESSIVE.sub("", text).strip()
    return _EDGES.sub("", _ARTICLE.sub("", text))


def initials(norm: str) -> str:
    """First letters of a normal form's words ("new york city" → "nyc")."""
    return "".join(w[0] for w in norm.split() if w)


def alias_target(norm: str, known: Callable[[str], bool]) -> str | None:
    """The normal form ``norm`` is an alias of, if that form is ``known`` in the scope."""
    target = KNOWN_ALIASES.get(norm)
    if target is not None and known(target):
        return target
    return None


def acronym_of(norm: str, candidates: Sequence[str]) -> str | None:
    """The candidate whose initials spell ``norm`` (2-5 letters, several words), if exactly
    one does: an ambiguous acronym is left alone."""
    if not 2 <= len(norm) <= 5 or not norm.isalpha():
        return None
    hits = [c for c in candidates if len(c.split()) == len(norm) and initials(c) == norm]
    return hits[0] if len(hits) == 1 else None


def similar(
    name_vec: npt.NDArray[np.float32],
    candidate_vecs: npt.NDArray[np.float32],
    *,
    threshold: float = SIMILARITY_THRESHOLD,
) -> int | None:
    """Index of the candidate most similar to ``name_vec`` if it reaches ``threshold``."""
    if len(candidate_vecs) == 0:
        return None
    sims = candidate_vecs @ name_vec
    best = int(np.argmax(sims))
    return best if float(sims[best]) >= threshold else None


def first_word(norm: str) -> str:
    """The guard for similarity merges: names must share this."""
    return norm.split(" ", 1)[0]
