"""The date-expression table behind :mod:`engramdb.text.dates`: one regex and one
resolver per kind of phrase. Resolvers get the anchor's UTC date (None when unknown) and
return the start of the named period with its granularity, or None."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal

Granularity = Literal["day", "week", "weekend", "month", "season", "year", "decade"]
Prefer = Literal["past", "future"]

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for name in names
}
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = {
    d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))
}
_WEEKDAYS["sunday"] = 6
_SEASON_START = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_HOLIDAYS = {
    "christmas eve": (12, 24),
    "christmas": (12, 25),
    "new year's eve": (12, 31),
    "new year's day": (1, 1),
    "new year's": (1, 1),
    "halloween": (10, 31),
    "valentine's day": (2, 14),
}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "a couple": 2,
}

_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUM_RE = (
    r"(?:\d{1,3}|a couple(?: of)?|an?|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|fifteen|twenty|thirty)"
)
_UNIT_RE = r"(?:day|week|month|year|decade)s?"
_YEAR_RE = r"(?:19|20)\d{2}"
# Hedges that narrow a period ("early May", "the end of 2019") but keep its resolution.
_PART_RE = r"(?:(?:early|mid|late)[\s-]+|(?:the\s+)?(?:end|beginning|start|middle)\s+of\s+)"


Resolved = tuple[date, Granularity] | None
Handler = Callable[["Match", date | None, Prefer], Resolved]


class Match:
    """A match view that folds alternative group names ("n2", "season2") into the main ones."""

    def __init__(self, m: re.Match[str]) -> None:
        self.groups = {k.rstrip("2"): v for k, v in m.groupdict().items() if v is not None}

    def get(self, key: str) -> str | None:
        return self.groups.get(key)

    def __getitem__(self, key: str) -> str:
        return self.groups[key]


def _num(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _shift(d: date, unit: str, n: int) -> tuple[date, Granularity]:
    """``d`` moved by ``n`` units, snapped to the start of that unit's period."""
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return d + timedelta(days=n), "day"
    if unit == "week":
        monday = d - timedelta(days=d.weekday())
        return monday + timedelta(weeks=n), "week"
    if unit == "month":
        return _add_months(d, n), "month"
    years = n * 10 if unit == "decade" else n
    return date(d.year + years, 1, 1), "year"


def _pick_year(month: int, day: int, anchor: date, prefer: Prefer) -> date | None:
    """The nearest (month, day) on the side of ``anchor`` that ``prefer`` names."""
    for year in (
        (anchor.year, anchor.year - 1) if prefer == "past" else (anchor.year, anchor.year + 1)
    ):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if (prefer == "past" and d <= anchor) or (prefer == "future" and d >= anchor):
            return d
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _iso(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    d = _safe_date(int(m["y"]), int(m["m"]), int(m["d"]))
    return (d, "day") if d else None


def _month_day(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    month, day = _MONTHS[m["mon"].lower().rstrip(".")], int(m["day"])
    if m.get("year"):
        d = _safe_date(int(m["year"]), month, day)
    elif anchor is None:
        return None
    else:
        d = _pick_year(month, day, anchor, prefer)
    return (d, "day") if d else None


def _month_year(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    return date(int(m["year"]), _MONTHS[m["mon"].lower()], 1), "month"


def _month(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    month = _MONTHS[m["mon"].lower()]
    here = anchor.year * 12 + anchor.month - 1
    which = (m.get("which") or "").lower()
    if which == "this":
        return date(anchor.year, month, 1), "month"
    # The nearest occurrence of that month strictly before ("last") or after ("next") the
    # anchor's month; a bare "in May" may be the anchor's own month.
    strict = which in ("last", "next")
    direction: Prefer = "past" if which == "last" else "future" if which == "next" else prefer
    for delta in range(13):
        if strict and delta == 0:
            continue
        idx = here - delta if direction == "past" else here + delta
        if idx % 12 + 1 == month:
            return date(idx // 12, month, 1), "month"
    return None


def _year(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    return date(int(m["year"]), 1, 1), "year"


def _decade(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    digits = m["dec"]
    if len(digits) == 4:
        year = int(digits)
    else:
        tens = int(digits[0])
        year = (1900 if tens >= 3 else 2000) + tens * 10
    return date(year, 1, 1), "decade"


def _day_word(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    word = m["word"].lower()
    offset = {"day before yesterday": -2, "yesterday": -1, "last night": -1}
    offset |= {"day after tomorrow": 2, "tomorrow": 1}
    delta = next((v for k, v in offset.items() if k in word), 0)
    return anchor + timedelta(days=delta), "day"


def _ago(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    return _shift(anchor, m["unit"], -_num(m["n"]))


def _from_now(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    return _shift(anchor, m["unit"], _num(m["n"]))


def _this_last_next(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    which, unit = m["which"].lower(), m["unit"].lower()
    step = -1 if which in ("last", "past") else 1 if which in ("next", "coming") else 0
    if unit == "weekend":
        saturday = anchor - timedelta(days=anchor.weekday()) + timedelta(days=5)
        return saturday + timedelta(weeks=step), "weekend"
    if unit == "year":
        return date(anchor.year + step, 1, 1), "year"
    if unit == "decade":
        return date(anchor.year // 10 * 10 + 10 * step, 1, 1), "decade"
    return _shift(anchor, unit, step)


def _weekday(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    target = _WEEKDAYS[m["wd"].lower()]
    which = (m.get("which") or "").lower()
    if which == "this":
        return anchor - timedelta(days=anchor.weekday()) + timedelta(days=target), "day"
    direction = (
        "past"
        if which in ("last", "past")
        else "future"
        if which
        in (
            "next",
            "coming",
        )
        else prefer
    )
    for delta in range(1, 8):
        d = (
            anchor - timedelta(days=delta)
            if direction == "past"
            else anchor + timedelta(days=delta)
        )
        if d.weekday() == target:
            return d, "day"
    return None


def _season_start(season: str, year: int) -> date:
    return date(year, _SEASON_START[season], 1)


def _season(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    season = m["season"].lower()
    if m.get("year"):
        return _season_start(season, int(m["year"])), "season"
    if anchor is None:
        return None
    which = (m.get("which") or "").lower()
    starts = [_season_start(season, y) for y in range(anchor.year - 2, anchor.year + 2)]
    # The instance of that season the anchor lies in, if any (a season lasts three months).
    current = next((s for s in starts if s <= anchor < _add_months(s, 3)), None)
    if which == "this":
        chosen = current or next(s for s in starts if s > anchor)
    elif which in ("last", "past"):
        chosen = max(s for s in starts if s <= anchor and s != current)
    elif which in ("next", "coming"):
        chosen = min(s for s in starts if s > anchor)
    elif prefer == "past":
        chosen = max(s for s in starts if s <= anchor)
    else:
        chosen = current or min(s for s in starts if s > anchor)
    return chosen, "season"


def _holiday(m: Match, anchor: date | None, prefer: Prefer) -> Resolved:
    if anchor is None:
        return None
    month, day = _HOLIDAYS[m["hol"].lower().replace("’", "'")]
    which = (m.get("which") or "").lower()
    if which == "this":
        return date(anchor.year, month, day), "day"
    direction: Prefer = "past" if which == "last" else "future" if which == "next" else prefer
    d = _pick_year(month, day, anchor, direction)
    if d is not None and which in ("last", "next") and d == anchor:
        d = _pick_year(month, day, anchor + timedelta(days=-1 if which == "last" else 1), direction)
    return (d, "day") if d else None


ABSOLUTE = (_iso, _month_day, _month_year, _year, _decade)


def is_relative(handler: Handler, m: Match) -> bool:
    """Whether the phrase needs an anchor ("last May" does, "May 2021" does not)."""
    return handler not in ABSOLUTE and not (handler is _season and m.get("year"))


PATTERNS: tuple[tuple[re.Pattern[str], Handler], ...] = tuple(
    (re.compile(p, re.IGNORECASE), h)
    for p, h in (
        (r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b", _iso),
        (
            rf"\b(?:on\s+)?(?:the\s+)?(?P<mon>{_MONTH_RE})\.?\s+(?P<day>\d{{1,2}})"
            rf"(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>{_YEAR_RE})\b)?",
            _month_day,
        ),
        (
            rf"\b(?:on\s+)?(?:the\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
            rf"(?P<mon>{_MONTH_RE})\b\.?(?:,?\s+(?P<year>{_YEAR_RE})\b)?",
            _month_day,
        ),
        (
            rf"\b(?:(?:back\s+)?(?:in|during|since|by|until|from)\s+)?{_PART_RE}?"
            rf"(?P<mon>{_MONTH_RE})\.?,?\s+(?:of\s+)?(?P<year>{_YEAR_RE})\b",
            _month_year,
        ),
        (
            rf"\b(?:(?P<which>this|last|next)\s+|(?:(?:back\s+)?(?:in|during|since|by|until|"
            rf"over|from)\s+){_PART_RE}?|{_PART_RE})(?P<mon>{_MONTH_RE})\b(?!\s*\d)",
            _month,
        ),
        (
            rf"\b(?:(?:back\s+)?in|since|during|from|until|till|by|around|circa|{_PART_RE})"
            rf"(?:\s+the\s+year)?[\s-]*(?P<year>{_YEAR_RE})\b(?!-\d)",
            _year,
        ),
        (
            r"\b(?:in\s+|during\s+)?the\s+(?:early\s+|mid\s+|late\s+)?(?P<dec>(?:19|20)\d0|\d0)'?s\b",
            _decade,
        ),
        (
            r"\b(?P<word>(?:the\s+)?day\s+before\s+yesterday|(?:the\s+)?day\s+after\s+tomorrow"
            r"|yesterday|tomorrow|today|tonight|last\s+night|earlier\s+today"
            r"|this\s+(?:morning|afternoon|evening))\b",
            _day_word,
        ),
        (rf"\b(?P<n>{_NUM_RE})\s+(?P<unit>{_UNIT_RE})\s+ago\b", _ago),
        (
            rf"\b(?:in\s+(?P<n>{_NUM_RE})\s+(?P<unit>{_UNIT_RE})(?:'?\s*time)?"
            rf"|(?P<n2>{_NUM_RE})\s+(?P<unit2>{_UNIT_RE})\s+from\s+now)\b",
            _from_now,
        ),
        (
            r"\b(?:(?:earlier|later)\s+|(?:over\s+)?the\s+)?(?P<which>this|last|next|past|coming)"
            r"\s+(?P<unit>week|weekend|month|year|decade)\b",
            _this_last_next,
        ),
        (
            r"\b(?:(?P<which>last|this|next|coming|past)\s+|on\s+)(?P<wd>monday|tuesday|wednesday"
            r"|thursday|friday|saturday|sunday)\b",
            _weekday,
        ),
        (
            rf"\b(?:(?:(?P<which>this|last|next|past|coming)|(?:in|during|over)(?:\s+the)?)\s+"
            rf"(?P<season>spring|summer|fall|autumn|winter)(?:\s+(?:of\s+)?(?P<year>{_YEAR_RE}))?"
            rf"|(?:the\s+)?(?P<season2>spring|summer|fall|autumn|winter)\s+(?:of\s+)?"
            rf"(?P<year2>{_YEAR_RE}))\b",
            _season,
        ),
        (
            r"\b(?:(?P<which>last|this|next)\s+|(?:on|at|over|for)\s+)(?P<hol>christmas eve"
            r"|christmas|new year['’]s eve|new year['’]s day|new year['’]s|halloween"
            r"|valentine['’]s day)",
            _holiday,
        ),
    )
)
