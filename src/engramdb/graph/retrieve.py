"""The graph channel of search: memories linked to the entities a query names.

1. The query's word n-grams (and the dates it names) are looked up as entity names or
   aliases in scope: these are the *query entities*.
2. Each query entity is weighted by how specific it is, ``1 / log2(1 + links)``: a name on
   every other memory (the user, a chat partner) says little about which one is meant.
3. Memories linked to a query entity score its weight, scaled by
   ``RetrievalConfig.graph_mention_factor`` when the memory only names it rather than being
   about it; neighbours one and two relations away contribute with :data:`HOP_DISCOUNT` per
   hop. Scores add up, so a memory linked to
   two query entities ranks above one linked to either.
4. An entity linked to more memories than the candidate budget pulls none of them in (they
   would be an arbitrary slice of a large set); it only adds its weight to memories the
   other retrievers, or the graph's specific entities, already found, so it acts as a
   gentle filter ("Melanie's" memories among those about camping).

The channel returns a ranked list for :mod:`engramdb.retrieve.fusion`, like vector and
keyword search; with no query entity it is empty and changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from engramdb.filters import Node
from engramdb.graph.entities import query_dates
from engramdb.graph.resolve import KNOWN_ALIASES, normalise
from engramdb.models import Scope
from engramdb.models.graph import RelationRow
from engramdb.text.terms import STOPWORDS, terms

#: Default score factor for a memory that names an entity without being about it.
MENTION_FACTOR = 0.5
#: Score factor per relation hop from a query entity.
HOP_DISCOUNT = 0.5
#: Most n-gram length looked up ("bank of america" is 3).
MAX_NGRAM = 4
#: Relations returned beside search results.
RELATIONS_LIMIT = 20

_WORD = re.compile(r"[\w][\w'’.&+-]*", re.UNICODE)


class GraphReader(Protocol):
    """The store reads the graph channel needs (see :class:`engramdb.store.base.Store`)."""

    def graph_lookup(
        self, scope: Scope, norms: Sequence[str], cap: int, *, first_words: Sequence[str] = ()
    ) -> list[tuple[str, str, int]]: ...

    def graph_links(
        self,
        scope: Scope,
        where: Node | None,
        entity_ids: Sequence[str],
        within: Sequence[int] | None = None,
    ) -> list[tuple[str, int, str]]: ...

    def graph_neighbours(
        self, scope: Scope, entity_ids: Sequence[str], cap: int
    ) -> list[tuple[str, str, int]]: ...

    def graph_relations(
        self,
        scope: Scope,
        entity_ids: Sequence[str] | None,
        *,
        include_invalid: bool = False,
        limit: int = 100,
    ) -> list[RelationRow]: ...


@dataclass
class QueryEntities:
    """The entities a query names: id → (matched normal form, link count up to the cap)."""

    found: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """Entity ids, in match order."""
        return list(self.found)


def query_norms(query: str) -> list[str]:
    """Normal forms of the query's n-grams that could name an entity.

    >>> query_norms("Where did Caroline move from?")
    ['caroline', 'caroline move', 'move']
    """
    words = _WORD.findall(query)
    # An n-gram starting or ending on a stopword names nothing; checked once per word.
    stop = [w.casefold().strip("?!.,") in STOPWORDS for w in words]
    found: dict[str, None] = {}
    for i in range(len(words)):
        if stop[i]:
            continue
        for j in range(i, min(i + MAX_NGRAM, len(words))):
            if stop[j]:
                continue
            norm = normalise(" ".join(words[i : j + 1]))
            if norm and norm not in STOPWORDS:
                found.setdefault(norm)
    out = list(found)
    out += [KNOWN_ALIASES[n] for n in out if n in KNOWN_ALIASES]
    out += query_dates(query)
    return list(dict.fromkeys(out))


def match(store: GraphReader, scope: Scope, query: str, cap: int) -> QueryEntities:
    """The entities in scope that ``query`` names."""
    found = store.graph_lookup(scope, query_norms(query), cap)
    return QueryEntities({eid: (norm, n) for eid, norm, n in found if n > 0})


def topic(query: str, entities: QueryEntities, k: int) -> str:
    """``query`` without the names of its broad entities (linked to more than ``k`` memories).

    A name found on a large part of a scope (the user, a chat partner) says little about
    which memory is meant, yet in a query embedding it weighs like any other word, so
    vector search favours memories that say the name and little else ("Thanks, Melanie!")
    over the ones about what is asked. Vector search is given this text instead; keyword
    and graph search still see the whole query and keep the person's own memories in front.
    ``query`` comes back unchanged when it names no broad entity, or when only function
    words would remain.

    >>> topic("What do Melanie's kids like?", QueryEntities({"e1": ("melanie", 400)}), 50)
    'What do kids like?'
    """
    broad = {norm for norm, links in entities.found.values() if links > k}
    if not broad:
        return query
    words = list(_WORD.finditer(query))
    dropped: set[int] = set()
    for i in range(len(words)):
        # Longest n-gram first, so "New York City" goes whole rather than "New York".
        for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
            if normalise(" ".join(w.group(0) for w in words[i : i + n])) in broad:
                dropped.update(range(i, i + n))
                break
    if not dropped:
        return query
    pieces, pos = [], 0
    for i in sorted(dropped):
        pieces.append(query[pos : words[i].start()])
        pos = words[i].end()
    pieces.append(query[pos:])
    text = re.sub(r"\s+([?!.,;:])", r"\1", " ".join("".join(pieces).split()))
    return text if terms(text) else query


def _weight(links: int) -> float:
    return 1.0 / math.log2(1.0 + max(links, 1))


def ranked(
    store: GraphReader,
    scope: Scope,
    where: Node | None,
    entities: QueryEntities,
    candidates: Sequence[int],
    *,
    k: int,
    hops: int = 2,
    mention_factor: float = MENTION_FACTOR,
) -> list[tuple[int, float]]:
    """(rowid, score) of the memories the query entities point to, best first, at most k."""
    if not entities.found:
        return []
    # weight of each entity reached, and whether it may pull memories in (specific enough).
    reach: dict[str, float] = {}
    pulls: set[str] = set()
    for eid, (_, links) in entities.found.items():
        reach[eid] = _weight(links)
        if links <= k:
            pulls.add(eid)
    frontier = dict(reach)
    for _ in range(hops):
        if not frontier:
            break
        nxt: dict[str, float] = {}
        for src, dst, links in store.graph_neighbours(scope, list(frontier), k):
            if dst in reach or links == 0 or links > k:
                continue
            # Its own specificity, discounted per hop, never above the entity leading to it.
            w = HOP_DISCOUNT * min(frontier[src], _weight(links))
            if w > nxt.get(dst, 0.0):
                nxt[dst] = w
        for dst, w in nxt.items():
            reach[dst] = w
            pulls.add(dst)
        frontier = nxt
    rows = store.graph_links(scope, where, sorted(pulls))
    boost = [eid for eid in reach if eid not in pulls]
    within = sorted({*candidates, *(rowid for _, rowid, _ in rows)})
    if boost and within:
        rows += store.graph_links(scope, where, boost, within)
    scores: dict[int, float] = {}
    for eid, rowid, role in rows:
        factor = 1.0 if role == "subject" else mention_factor
        scores[rowid] = scores.get(rowid, 0.0) + reach[eid] * factor
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def relations(store: GraphReader, scope: Scope, entities: QueryEntities) -> list[RelationRow]:
    """The current relations of the query entities (for ``search``'s ``"relations"``)."""
    if not entities.found:
        return []
    return store.graph_relations(scope, entities.ids, limit=RELATIONS_LIMIT)
