"""Consolidation: merge near-duplicate memories and archive stale low-value ones.

Planning is pure (:func:`plan`): it sees the scope's active memories with their vectors and
returns what to archive and why. :meth:`Memory.consolidate` writes the plan as one store
transaction (status ``archived`` plus a history event naming the survivor or the reason), or
only reports it with ``dry_run=True``. Archived memories leave default search and listings
and come back with :meth:`Memory.restore`.

Two memories are near-duplicates when they share scope and ``memory_type``, their cosine is
at least ``duplicate_similarity`` (>= 0.9, default 0.95) AND their texts agree
(:func:`same_text`): the same numbers, the same negation, and mostly the same content words.
The vector test alone would merge "Likes tea" with "Does not like tea".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engramdb.config import LifecycleConfig
from engramdb.models import Change, MemoryRecord
from engramdb.text.terms import terms
from engramdb.timeutil import to_datetime

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without)\b|n't\b", re.I)
_DAY = 86400.0
#: Content-word overlap (Jaccard) two texts need to count as the same statement.
WORD_OVERLAP = 0.8


def same_text(a: str, b: str) -> bool:
    """Whether two memory texts say the same thing, as far as words can tell.

    >>> same_text("Lives in Porto", "lives in Porto.")
    True
    >>> same_text("Likes tea", "Does not like tea")
    False
    >>> same_text("Has 2 cats", "Has 3 cats")
    False
    """
    if set(_NUMBER.findall(a)) != set(_NUMBER.findall(b)):
        return False
    if bool(_NEGATION.search(a)) != bool(_NEGATION.search(b)):
        return False
    wa, wb = set(terms(a, limit=10_000)), set(terms(b, limit=10_000))
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / len(wa | wb) >= WORD_OVERLAP


def _rank(r: MemoryRecord) -> tuple[float, int, str, int]:
    # The better memory survives: more important, more used, newer, then the fuller text.
    return (r.importance, r.access_count, r.updated_at, len(r.memory))


@dataclass
class Plan:
    """What one consolidation archives: duplicates by survivor, and stale memories."""

    merged: dict[str, list[str]] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    examined: int = 0
    #: Memories planned for archiving but updated by another writer before the write.
    skipped: list[str] = field(default_factory=list)

    def skip(self, ids: Sequence[str]) -> None:
        """Leave out what the store did not archive (each change names the version it was
        decided on; a memory updated since is judged again by the next consolidation)."""
        gone = set(ids)
        self.skipped = [c.id for c in self.changes if c.id in gone]
        self.changes = [c for c in self.changes if c.id not in gone]
        self.stale = [i for i in self.stale if i not in gone]
        merged = {s: [i for i in ids_ if i not in gone] for s, ids_ in self.merged.items()}
        self.merged = {s: ids_ for s, ids_ in merged.items() if ids_}

    def report(self, *, dry_run: bool) -> dict[str, Any]:
        """The public report of :meth:`Memory.consolidate`."""
        return {
            "dry_run": dry_run,
            "examined": self.examined,
            "merged": [{"survivor": s, "archived": ids} for s, ids in self.merged.items()],
            "stale": list(self.stale),
            "archived": sum(len(v) for v in self.merged.values()) + len(self.stale),
            "skipped": list(self.skipped),
        }


def plan(records: Sequence[MemoryRecord], cfg: LifecycleConfig, *, now: float) -> Plan:
    """Decide what to archive among active ``records`` (each with its vector)."""
    out = Plan(examined=len(records))
    groups: dict[tuple[Any, ...], list[MemoryRecord]] = {}
    for r in records:
        key = (r.scope.user_id, r.scope.agent_id, r.scope.run_id, r.memory_type)
        groups.setdefault(key, []).append(r)
    archived: set[str] = set()
    for group in groups.values():
        group.sort(key=_rank, reverse=True)
        if len(group) < 2:
            continue
        matrix = np.stack([np.asarray(r.vector, np.float32) for r in group])
        sims = matrix @ matrix.T
        for j in range(1, len(group)):
            for i in range(j):
                # Survivors only: a memory merged away cannot absorb others.
                if group[i].id in archived or sims[i, j] < cfg.duplicate_similarity:
                    continue
                if same_text(group[i].memory, group[j].memory):
                    _merge(out, group[i], group[j])
                    archived.add(group[j].id)
                    break
    for r in records:
        if r.id not in archived and _is_stale(r, cfg, now):
            out.stale.append(r.id)
            out.changes.append(
                Change(
                    id=r.id,
                    status="archived",
                    event="ARCHIVE",
                    if_updated_at=r.updated_at,
                    reason=(
                        f"stale: importance {r.importance:g} below {cfg.stale_importance:g}, "
                        f"unused for {cfg.stale_unused_days:g}+ days"
                    ),
                )
            )
    return out


def _merge(out: Plan, survivor: MemoryRecord, duplicate: MemoryRecord) -> None:
    out.merged.setdefault(survivor.id, []).append(duplicate.id)
    out.changes.append(
        Change(
            id=duplicate.id,
            status="archived",
            event="ARCHIVE",
            reason=f"near-duplicate of {survivor.id}",
            if_updated_at=duplicate.updated_at,
        )
    )


def _is_stale(r: MemoryRecord, cfg: LifecycleConfig, now: float) -> bool:
    if r.importance >= cfg.stale_importance:
        return False
    created = to_datetime(r.created_at).timestamp()
    used = to_datetime(r.last_accessed_at).timestamp() if r.last_accessed_at else created
    return (
        now - created >= cfg.stale_min_age_days * _DAY
        and now - used >= cfg.stale_unused_days * _DAY
    )
