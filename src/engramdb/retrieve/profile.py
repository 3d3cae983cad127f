"""A consolidated profile of a user from their current facts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engramdb.models import MemoryRecord


def build_profile(records: Sequence[MemoryRecord]) -> dict[str, Any]:
    """Group current facts by attribute: one value for slots that a newer fact supersedes
    (residence, employer, a favourite X), every value for the others (pets, hobbies).

    Extracted facts without an attribute are listed under ``"other"`` (memories stored
    verbatim are not facts and are left out); each value carries the memory id and the time it
    became valid, so a caller can cite it.
    """
    attributes: dict[str, list[dict[str, Any]]] = {}
    other: list[dict[str, Any]] = []
    for rec in sorted(records, key=lambda r: (r.valid_at or r.created_at, r.id)):
        if rec.memory_type not in ("fact", "preference") or "source" not in rec.metadata:
            continue
        entry = {
            "memory": rec.memory,
            "value": rec.metadata.get("value"),
            "id": rec.id,
            "since": rec.valid_at or rec.created_at,
        }
        attribute = rec.metadata.get("attribute")
        if isinstance(attribute, str) and rec.metadata.get("subject", "user") == "user":
            attributes.setdefault(attribute, []).append(entry)
        else:
            other.append(entry)
    return {"attributes": attributes, "other": other}
