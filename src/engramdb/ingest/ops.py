"""The vocabulary shared by every extractor and the reconciler: candidate facts and the
operation decided for each. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Operation = Literal["ADD", "UPDATE", "SUPERSEDE", "DELETE", "NONE"]
Role = Literal["user", "assistant", "system", "tool"]


@dataclass(frozen=True)
class Fact:
    """One candidate memory found in the messages.

    ``attribute`` names the slot the fact fills ("residence", "employer", "pet",
    "preference:coffee", ...). When ``single_valued`` is true, a newer fact for the same
    ``(subject, attribute)`` replaces the older one (SUPERSEDE); otherwise both are kept.
    ``entities`` (name, kind) and ``relations`` (subject, predicate, object) are what an LLM
    said the fact names; the graph links them beside what it finds in the text itself.
    """

    text: str
    subject: str = "user"
    attribute: str | None = None
    value: str | None = None
    single_valued: bool = False
    categories: tuple[str, ...] = ()
    event_time: datetime | None = None
    source_role: Role = "user"
    entities: tuple[tuple[str, str], ...] = ()
    relations: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Decision:
    """What to do with one fact against existing memories.

    ``target`` is the short integer id (as shown to the LLM / reconciler) of the existing
    memory the operation applies to; None for ADD.
    """

    op: Operation
    fact: Fact | None
    target: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Existing:
    """An existing memory as the reconciler sees it: a short integer id, never a UUID."""

    ref: int
    text: str
    attribute: str | None = None
    subject: str | None = None
    created_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
