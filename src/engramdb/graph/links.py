"""The write side of the graph: what a memory links to, resolved against the scope.

:func:`for_memory` turns one memory's text (and, on the LLM path, the entities and
relations the model named for its fact) into a :class:`GraphWrite`; :func:`resolve` maps
new names onto entities the scope already knows (aliases, guarded embedding similarity)
before the batch is applied, so the store only ever upserts by normal form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from engramdb.embed.base import Embedder
from engramdb.graph.entities import Extracted, extract
from engramdb.graph.resolve import KNOWN_ALIASES, acronym_of, first_word, similar
from engramdb.models import Scope, WriteBatch
from engramdb.models.graph import ENTITY_KINDS, EntityKind, EntityMention, GraphWrite
from engramdb.timeutil import to_datetime

#: Kinds similarity may merge: two different dates or things that look alike are not one.
_MERGEABLE = frozenset({"person", "place", "organisation"})


@dataclass(frozen=True)
class Hint:
    """Entities and relations an LLM named for a fact: ``(name, kind)`` and
    ``(subject, predicate, object)``."""

    entities: tuple[tuple[str, str], ...] = ()
    relations: tuple[tuple[str, str, str], ...] = ()


class _Lookup(Protocol):
    def graph_lookup_many(
        self, requests: Sequence[tuple[Scope, Sequence[str], Sequence[str]]], cap: int
    ) -> list[list[tuple[str, str, int]]]: ...


def _kind(value: str) -> EntityKind:
    value = value.strip().lower()
    aliases = {"organization": "organisation", "org": "organisation", "location": "place"}
    value = aliases.get(value, value)
    for kind in ENTITY_KINDS:
        if kind == value:
            return kind
    return "thing"


def _predicate(text: str) -> str:
    return "_".join(text.strip().lower().split())[:64] or "related_to"


def _with_hint(out: Extracted, hint: Hint) -> None:
    # "user" (as the prompt asks the model to name the user) becomes the scope's user in add().
    for entity, kind in hint.entities:
        out.add(entity, _kind(kind))
    for subj, pred, obj in hint.relations:
        out.relate(out.add(subj, "thing"), _predicate(pred), out.add(obj, "thing"))


#: The relation a rule-extracted slot states, and the kind of its value.
SLOT_RELATIONS: dict[str, tuple[str, EntityKind]] = {
    "residence": ("lives_in", "place"),
    "hometown": ("from", "place"),
    "nationality": ("nationality", "thing"),
    "employer": ("works_at", "organisation"),
    "school": ("studies_at", "organisation"),
    "spouse": ("spouse", "person"),
    "partner": ("partner", "person"),
    "pet": ("pet", "thing"),
}


def hint_for(
    subject: str,
    attribute: str | None,
    value: str | None,
    entities: Sequence[tuple[str, str]] = (),
    relations: Sequence[tuple[str, str, str]] = (),
) -> Hint:
    """A fact's graph hint: the LLM's entities and relations, plus the relation its slot
    states ("residence" = "Lisbon" → subject lives_in Lisbon) for short values."""
    ents = list(entities)
    rels = list(relations)
    if attribute and value and len(value.split()) <= 5:
        predicate, kind = SLOT_RELATIONS.get(
            attribute, (_predicate(attribute.replace(":", " ")), "thing")
        )
        ents.append((value, kind))
        rels.append((subject, predicate, value))
    return Hint(tuple(ents), tuple(rels))


def for_memory(
    memory_id: str,
    text: str,
    scope: Scope,
    *,
    at: str,
    valid_at: str | None = None,
    episode_ids: Sequence[str] = (),
    speaker: str | None = None,
    hint: Hint | None = None,
) -> GraphWrite:
    """The graph rows of one memory: deterministic extraction, plus the LLM's ``hint``.

    >>> from engramdb.models import Scope
    >>> g = for_memory("m1", "I moved to Lisbon.", Scope(user_id="ana"), at="2024-01-01")
    >>> [(r.subject.name, r.predicate, r.object.name) for r in g.relations]
    [('ana', 'lives_in', 'Lisbon')]
    """
    said = to_datetime(at)
    self_name = scope.user_id or scope.agent_id
    out = extract(text, said_at=said, speaker=speaker, self_name=self_name)
    if hint is not None:
        _with_hint(out, hint)
    entities = [replace(e, subject=e.norm in out.subjects) for e in out.entities]
    return GraphWrite(
        memory_id=memory_id,
        scope=scope,
        entities=entities,
        relations=list(out.relations),
        valid_at=valid_at,
        created_at=at,
        episode_ids=list(episode_ids),
    )


def resolve(store: _Lookup, embedder: Embedder | None, batch: WriteBatch) -> None:
    """Map each mention of ``batch.graph`` onto an entity its scope already knows, in place.

    A known short form ("NYC") becomes its expansion when the scope knows that, an acronym
    the name its letters spell when that is said in the same write; a new
    person, place or organisation whose name shares its first word with a known one of the
    same scope merges into it when their embeddings reach the guarded threshold. What was
    mapped keeps its own normal form as an alias, so later lookups find it directly.
    """
    by_scope: dict[Scope, list[GraphWrite]] = {}
    for item in batch.graph:
        by_scope.setdefault(item.scope, []).append(item)
    scope_norms = {
        scope: sorted({e.norm for g in items for e in g.entities})
        for scope, items in by_scope.items()
    }
    requests: list[tuple[Scope, list[str], list[str]]] = []
    for scope, items in by_scope.items():
        norms = scope_norms[scope]
        expansions = sorted({KNOWN_ALIASES[n] for n in norms if n in KNOWN_ALIASES})
        firsts = sorted(
            {first_word(e.norm) for g in items for e in g.entities if e.kind in _MERGEABLE}
        )
        requests.append((scope, [*norms, *expansions], firsts))
    # One round of lookups for every scope of the write (an import batch spans many).
    answers = store.graph_lookup_many(requests, 0)
    for (scope, items), found in zip(by_scope.items(), answers, strict=True):
        norms = scope_norms[scope]
        known = {norm for _, norm, _ in found}
        mapping: dict[str, str] = {}
        acronyms = {
            e.norm for g in items for e in g.entities if e.name.isupper() and e.kind != "date"
        }
        for norm in norms:
            target = KNOWN_ALIASES.get(norm)
            if norm not in known and target is not None and (target in known or target in norms):
                mapping[norm] = target
            elif norm in acronyms and norm not in known:
                # "New York Stock Exchange (NYSE)": initials of a name said alongside.
                spelled = acronym_of(norm, sorted((known | set(norms)) - {norm}))
                if spelled is not None:
                    mapping[norm] = spelled
        new = [
            e
            for g in items
            for e in g.entities
            if e.kind in _MERGEABLE and e.norm not in known and e.norm not in mapping
        ]
        if new and embedder is not None:
            mapping.update(_similar(new, known, embedder))
        if not mapping:
            continue
        for g in items:
            g.entities = [
                replace(e, norm=mapping[e.norm], alias=e.norm) if e.norm in mapping else e
                for e in g.entities
            ]
            g.relations = [
                replace(
                    r,
                    subject=replace(r.subject, norm=mapping.get(r.subject.norm, r.subject.norm)),
                    object=replace(r.object, norm=mapping.get(r.object.norm, r.object.norm)),
                )
                for r in g.relations
            ]


def _similar(new: list[EntityMention], known: set[str], embedder: Embedder) -> dict[str, str]:
    pairs: list[tuple[str, list[str]]] = []
    for mention in {e.norm: e for e in new}.values():
        head = first_word(mention.norm)
        candidates = sorted(k for k in known if k != mention.norm and first_word(k) == head)
        if candidates:
            pairs.append((mention.norm, candidates))
    if not pairs:
        return {}
    texts = sorted({t for norm, cands in pairs for t in (norm, *cands)})
    vectors = dict(zip(texts, np.asarray(embedder.embed(texts), dtype=np.float32), strict=True))
    out: dict[str, str] = {}
    for norm, cands in pairs:
        best = similar(vectors[norm], np.stack([vectors[c] for c in cands]))
        if best is not None:
            out[norm] = cands[best]
    return out
