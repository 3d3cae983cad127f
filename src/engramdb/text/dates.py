"""Find date expressions in a sentence and resolve them against the message's own time.

Relative phrases ("yesterday", "last month", "two years ago") are resolved against the
timestamp of the message they were said in, never against today: a chat log imported a
year late must still place "last month" in the right month. Every resolved time is the
timezone-aware UTC start of the period the phrase names (midnight of the day, the Monday of
the week, the first of the month, ...); :attr:`TimeExpr.granularity` says how wide it is.

>>> from datetime import UTC, datetime
>>> resolve_time("I moved to Paris last month", datetime(2024, 3, 15, tzinfo=UTC)).isoformat()
'2024-02-01T00:00:00+00:00'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from engramdb.text.date_patterns import (
    MONTH_NAMES,
    PATTERNS,
    Granularity,
    Handler,
    Match,
    Prefer,
    is_relative,
)

__all__ = [
    "Granularity",
    "Prefer",
    "TimeExpr",
    "find_time_expressions",
    "query_time_expressions",
    "resolve_time",
]


@dataclass(frozen=True)
class TimeExpr:
    """One date expression found in a text.

    ``span`` indexes the text that was searched. ``start`` is None when the phrase is
    relative and no anchor was given.
    """

    text: str
    span: tuple[int, int]
    start: datetime | None
    granularity: Granularity
    relative: bool

    def describe(self) -> str:
        """An absolute phrase for a memory text: "in February 2024", "on 2024-03-14"."""
        if self.start is None:
            return self.text
        phrase = self._absolute()
        # "since 2019" keeps its meaning; "in 2019" would claim it only held that year.
        if re.match(r"(?i)since\b", self.text):
            return "since " + phrase.split(" ", 1)[1].removeprefix("the week of ")
        return phrase

    def _absolute(self) -> str:
        assert self.start is not None
        d = self.start.date()
        if self.granularity == "day":
            return f"on {d.isoformat()}"
        if self.granularity == "week":
            return f"in the week of {d.isoformat()}"
        if self.granularity == "weekend":
            return f"on the weekend of {d.isoformat()}"
        if self.granularity == "month":
            return f"in {MONTH_NAMES[d.month - 1]} {d.year}"
        if self.granularity == "season":
            season = {3: "spring", 6: "summer", 9: "autumn", 12: "winter"}[d.month]
            return f"in {season} {d.year}"
        if self.granularity == "decade":
            return f"in the {d.year}s"
        return f"in {d.year}"


def find_time_expressions(
    text: str, anchor: datetime | None = None, *, prefer: Prefer = "past"
) -> list[TimeExpr]:
    """Every date expression in ``text``, left to right, without overlaps.

    ``prefer`` settles phrases that do not say which side of the anchor they are on
    ("on Friday", "in May"): a past-tense sentence wants "past", a plan "future".
    """
    day = anchor.astimezone(UTC).date() if anchor is not None else None
    found: list[tuple[int, int, Handler, re.Match[str]]] = []
    for pattern, handler in PATTERNS:
        for m in pattern.finditer(text):
            found.append((m.start(), m.end(), handler, m))
    # Longest match first at each position, so "May 3, 2021" beats "May 3".
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[TimeExpr] = []
    taken_until = -1
    for start, end, handler, m in found:
        if start < taken_until:
            continue
        view = Match(m)
        resolved = handler(view, day, prefer)
        relative = is_relative(handler, view)
        if resolved is None and (not relative or day is not None):
            continue
        begin = (
            datetime(resolved[0].year, resolved[0].month, resolved[0].day, tzinfo=UTC)
            if resolved
            else None
        )
        granularity: Granularity = resolved[1] if resolved else "day"
        out.append(TimeExpr(m.group(0), (start, end), begin, granularity, relative))
        taken_until = end
    return out


@functools.lru_cache(maxsize=256)
def query_time_expressions(query: str) -> tuple[TimeExpr, ...]:
    """:func:`find_time_expressions` of a search query (no anchor), remembered.

    One search reads its query's dates twice (the graph channel looks them up as entities,
    the time channels take a period from them); without an anchor the answer depends on
    the text alone, so the second read is free.
    """
    return tuple(find_time_expressions(query))


def resolve_time(
    phrase_or_text: str, anchor: datetime, *, prefer: Prefer = "past"
) -> datetime | None:
    """The UTC start of the first date expression in ``phrase_or_text``, or None.

    >>> from datetime import UTC, datetime
    >>> resolve_time("two years ago", datetime(2024, 3, 15, tzinfo=UTC)).year
    2022
    """
    for expr in find_time_expressions(phrase_or_text, anchor, prefer=prefer):
        if expr.start is not None:
            return expr.start
    return None
