"""What an import read and wrote, and the errors it raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engramdb.errors import EngramError, ValidationError

#: Invalid lines kept in a report; later ones are only counted.
MAX_REPORTED_ERRORS = 1000

#: ``on_progress(done, total)``, called after each written batch.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class LineError:
    """One line that cannot be imported: its 1-based number and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What :func:`import_jsonl` read and wrote."""

    lines: int = 0
    """Non-blank lines read."""
    imported: int = 0
    """Exported memory records written, with their ids and times."""
    added: int = 0
    """Memories created from chat message lines."""
    skipped_existing: int = 0
    """Memory records skipped because their id is already stored (or repeated in the file)."""
    reembedded: int = 0
    """Memory records embedded anew: no vector, another size, or another embedder."""
    episodes: int = 0
    """Episode (raw message) lines written."""
    skipped_episodes: int = 0
    """Episode lines skipped because their id is already stored (or repeated in the file)."""
    feedback: int = 0
    """Feedback lines written (on memories of the tenant)."""
    skipped_feedback: int = 0
    """Feedback lines skipped: id already stored (or repeated), or its memory is not stored."""
    history_lines: int = 0
    """History lines seen. They are not replayed: the store records an ADD row on import."""
    graph: dict[str, int] = field(default_factory=dict)
    """Graph rows written (``entities``, ``aliases``, ``entity_links``, ``relations``,
    ``relation_sources``, ``merges``), already stored (``*_existing``) and dropped for naming
    a memory that is neither in the file nor stored (``*_dropped``); empty without graph
    lines."""
    invalid_count: int = 0
    """Lines that could not be imported."""
    invalid: list[LineError] = field(default_factory=list)
    """The first :data:`MAX_REPORTED_ERRORS` of them."""
    batches: int = 0
    """Write transactions made."""

    @property
    def written(self) -> int:
        """Memories written in total."""
        return self.imported + self.added

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "lines": self.lines,
            "imported": self.imported,
            "added": self.added,
            "skipped_existing": self.skipped_existing,
            "reembedded": self.reembedded,
            "episodes": self.episodes,
            "skipped_episodes": self.skipped_episodes,
            "feedback": self.feedback,
            "skipped_feedback": self.skipped_feedback,
            "history_lines": self.history_lines,
            "graph": dict(self.graph),
            "invalid_count": self.invalid_count,
            "invalid": [{"line": e.line, "reason": e.reason} for e in self.invalid],
            "batches": self.batches,
        }


class ImportValidationError(ValidationError):
    """Some lines are invalid and ``skip_invalid`` was off: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = report.invalid[0] if report.invalid else LineError(0, "?")
        n = report.invalid_count
        super().__init__(
            f"{n} invalid line{'s' if n != 1 else ''}, nothing imported; first: {first}"
            " (use skip_invalid / --skip-invalid to import the valid lines)"
        )


class ImportWriteError(EngramError):
    """A write failed after validation; earlier batches stay written (see ``report``)."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report
