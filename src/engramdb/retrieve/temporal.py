"""Time-aware retrieval: two extra candidate lists for queries that are about time.

A question about time is answered by a memory that *carries* a time, and the words of the
question rarely say which one: "When did Jon go to the fair?" is answered by "Yesterday I
went to a fair to show off my studio", where "yesterday" is the answer (resolved against
the date the message was said). Plain semantic and keyword ranking treat "yesterday" as
noise. So, when a query asks about time:

``time_cue``
    Among the candidates the other retrievers found, the memories that mention a time
    ("yesterday", "last week", "three years ago", "in May", "2019", a weekday...) are
    listed again, in the vector ranking's order. Fused with the others this lifts
    time-bearing memories that are already on topic; it cannot bring in off-topic ones.

``time_window``
    When the query names a period ("in July 2022", "on 1 May, 2022", "in 2019", or "in May"
    of any year), the candidates whose ``valid_at`` falls in it are listed again. The period
    is stretched by :data:`SLACK_DAYS` after its end because a message often tells of the
    days just before it ("last night", "last week"), and a verbatim message's ``valid_at`` is
    when it was said; facts extracted with a resolved event time have ``valid_at`` at the
    event itself and fall inside the period.

Every listed candidate gets the same score, so with the default score fusion each gains a
fixed lift (its list's weight). Only candidates the vector and keyword retrievers already
found are lifted: time alone never brings in an off-topic memory. Choices were made on
principle and then measured once (bench/locomo.py): searching the store again inside the
period (a second, filtered vector search) lifted category-2 recall a little more (+0.002)
but overall recall less (-0.008) and costs a full scan, so the cheaper list was kept.
Queries that are not about time pay one regex and one date scan of the query.

>>> intent("When did Jon go to the fair?").asks_when
True
>>> intent("Where did Joanna travel in July 2022?").window
('2022-07-01T00:00:00.000000+00:00', '2022-08-08T00:00:00.000000+00:00')
>>> intent("What does Jon like to eat?") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engramdb.store.base import Store
from engramdb.text.dates import Granularity, query_time_expressions
from engramdb.timeutil import iso

__all__ = ["SLACK_DAYS", "TimeIntent", "channels", "has_time_cue", "intent"]

#: Days after a named period whose messages may still tell of it ("last week", "yesterday").
SLACK_DAYS = 7

_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WEEKDAYS = _words("monday tuesday wednesday thursday friday saturday sunday")
# Month names that are also ordinary words count only after a preposition or before a day.
_PLAIN_MONTHS = _words(
    "january february april june july august september october november december"
)
_WORDY_MONTHS = frozenset(["march", "may"])
_UNITS = _words(
    """day days week weeks weekend weekends fortnight month months year years decade
    decades night nights morning mornings afternoon afternoons evening evenings summer
    summers winter winters spring springs autumn autumns fall"""
)
# Words that place something in time on their own.
_ALONE = (
    _words("yesterday today tonight tomorrow recently lately nowadays ago since")
    | _WEEKDAYS
    | _PLAIN_MONTHS
)
# Words before a unit that make it a time: "last week", "three years", "every summer".
_BEFORE_UNIT = _words(
    """last next this past coming previous every a an one two three four five six seven
    eight nine ten several few couple"""
)
_BEFORE_MONTH = _words("in on during since until by of back early late mid")
_TOKENS = re.compile(r"[a-z]+|\d+")
# Questions about time: when, what date/year/month, how long, since when, how many years...
_ASKS_WHEN = re.compile(
    r"\b(?:when|since\s+when|how\s+long|how\s+many\s+(?:days|weeks|months|years)"
    r"|(?:what|which)\s+(?:date|day|time|year|month|week|weekend|season|decade)"
    r"|in\s+what\s+(?:year|month)|how\s+(?:old|recently|often))\b",
    re.IGNORECASE,
)
# "in May", "during early June": a month with no year after it (and no day before it).
_BARE_MONTH = re.compile(
    rf"\b(?:in|during)\s+(?:early\s+|late\s+|mid-?\s*)?({_MONTH})\b(?!\s*,?\s*\d)",
    re.IGNORECASE,
)
_MONTH_NUMBER = {
    name: i + 1
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_SPAN: dict[Granularity, timedelta] = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "weekend": timedelta(days=2),
    "month": timedelta(days=31),
    "season": timedelta(days=92),
    "year": timedelta(days=366),
    "decade": timedelta(days=3653),
}


@dataclass(frozen=True)
class TimeIntent:
    """What a query asks about time: whether it asks *when*, and the period it names.

    ``window`` is ``(start, end)`` as stored ISO strings, ``end`` exclusive and already
    stretched by :data:`SLACK_DAYS`; None when the query names no absolute period.
    ``month`` (1-12) is a month named without a year ("in May"), which may be any year's.
    """

    asks_when: bool
    window: tuple[str, str] | None
    month: int | None = None


def has_time_cue(text: str) -> bool:
    """True when ``text`` mentions a time.

    A word scan rather than a date parser: it runs on every candidate of a query about
    time, so it must cost microseconds.

    >>> has_time_cue("I painted that lake sunrise last year!"), has_time_cue("I love art")
    (True, False)
    """
    tokens = _TOKENS.findall(text.lower())
    for i, tok in enumerate(tokens):
        if tok in _ALONE:
            return True
        prev = tokens[i - 1] if i else ""
        if tok.isdigit():
            if len(tok) == 4 and tok[:2] in ("19", "20"):
                return True
            continue
        if tok in _UNITS and (prev in _BEFORE_UNIT or prev.isdigit()):
            return True
        if tok in _WORDY_MONTHS and (
            prev in _BEFORE_MONTH
            or prev.isdigit()
            or (i + 1 < len(tokens) and tokens[i + 1].isdigit())
        ):
            return True
    return False


def _end(start: datetime, granularity: Granularity) -> datetime:
    if granularity == "month":
        # The first of the next month: months differ in length.
        nxt = start.replace(day=1) + timedelta(days=32)
        return nxt.replace(day=1)
    if granularity == "year":
        return start.replace(year=start.year + 1)
    return start + _SPAN[granularity]


def intent(query: str) -> TimeIntent | None:
    """The time intent of ``query``, or None when it is not about time.

    Relative phrases in a query ("last month") have no anchor to resolve against (the query
    may be asked long after the conversation), so only absolute periods make a window.
    """
    asks = _ASKS_WHEN.search(query) is not None
    window = None
    for expr in query_time_expressions(query):
        if expr.start is not None and not expr.relative:
            start = expr.start.astimezone(UTC)
            end = _end(start, expr.granularity) + timedelta(days=SLACK_DAYS)
            window = (iso(start), iso(end))
            break
    month = None
    if window is None and (bare := _BARE_MONTH.search(query)):
        month = _MONTH_NUMBER[bare.group(1)[:3].lower()]
    if not asks and window is None and month is None:
        return None
    return TimeIntent(asks, window, month)


def _in_month(valid_at: str | None, month: int) -> bool:
    """``valid_at`` is in ``month`` of some year, or in the first days of the next month."""
    if not valid_at:
        return False
    m, d = int(valid_at[5:7]), int(valid_at[8:10])
    return m == month or (m == month % 12 + 1 and d <= SLACK_DAYS)


def channels(
    store: Store, query: str, ranked: dict[str, list[tuple[int, float]]]
) -> dict[str, list[tuple[int, float]]]:
    """The ``time_cue`` and ``time_window`` lists for ``query`` (empty when not about time).

    ``ranked`` holds the other retrievers' lists; both time lists re-list some of their
    candidates, in vector order (keyword-only candidates after).
    """
    found = intent(query)
    if found is None:
        return {}
    order: dict[int, float] = {}
    for name in ("vector", "keyword"):
        for rank, (rowid, _) in enumerate(ranked.get(name, [])):
            order.setdefault(rowid, float(-rank) if name == "vector" else -1e6 - rank)
    records = store.get_many(list(order))
    pool = sorted((r for r in order if r in records), key=lambda r: -order[r])
    # One score for every listed candidate: a time cue, or being in the period, is a yes/no
    # signal, so each gets the same lift.
    out = {"time_cue": [(r, 1.0) for r in pool if has_time_cue(records[r].memory)]}
    if found.window is not None:
        lo, hi = found.window
        out["time_window"] = [(r, 1.0) for r in pool if lo <= (records[r].valid_at or "") < hi]
    elif found.month is not None:
        out["time_window"] = [(r, 1.0) for r in pool if _in_month(records[r].valid_at, found.month)]
    return out


def weights_for(names: Sequence[str], cue: float, window: float) -> dict[str, float]:
    """Fusion weights of the temporal lists in ``names``."""
    table = {"time_cue": cue, "time_window": window}
    return {n: table[n] for n in names if n in table}
