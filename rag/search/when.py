"""Time expressions in questions: years, months, dates, ranges and relative windows.

Read by `rag.search.query`. Every expression resolves against a reference date (the newest paper's
date in the digest), never against today, so "since March" means the digest's March. A month
or year counts only after a time word ("in", "since", "published") or before a paper noun,
because "may" and "march" are verbs and "GPT-2024"-like tokens are names. Bounds: "after" and
"before" exclude the month or year they name; "since" and "until" include it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from rag.search.vocabulary import PAPER_NOUN, POSTED

_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve".split()
NUMBER = rf"(?P<n>\d{{1,3}}(?![\d.])|{'|'.join(_NUMBER_WORDS)})\b"
_YEAR = r"(?:199\d|20\d\d)"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?(?!\d)"
# One time expression, as group 1: an ISO date, "[5] March [5][, 2025]", or a year.
_T = (
    rf"(?<![\w.-])(\d{{4}}-\d\d-\d\d|(?:{_DAY}\s+)?{_MONTH}(?:\s+{_DAY})?(?:,?\s+{_YEAR})?"
    rf"|{_YEAR})(?![\w-]|\.\d)"
)
PUBLISHED = rf"(?:{POSTED}\s+)?"
_RANGES = [
    rf"\b{PUBLISHED}(?:between|from)\s+{_T}\s+(?:and|to|until|till|through)\s+{_T}",
    rf"(?<![\w.-])({_YEAR})\s*[-–]\s*({_YEAR})(?![\w-])",
]
_BOUNDS = re.compile(
    rf"\b{PUBLISHED}(since|after|later than|newer than|more recent than|starting(?: from| in)?|"
    rf"from|before|earlier than|older than|prior to|until|till|up to|through|no later than)\s+"
    rf"{_T}(\s+on(?:wards?)?\b)?",
    re.I,
)
_WINDOW = re.compile(
    rf"\b{PUBLISHED}(?:(?:in|during|over|within|from) )?the (?:last|past) (?:{NUMBER}\s+)?"
    r"(?P<unit>day|week|month|year)s?\b",
    re.I,
)
_CALENDAR = re.compile(rf"\b{PUBLISHED}(?:(?:in|from|during) )?(this|last) (year|month)\b", re.I)
_AFTER_WORD = re.compile(
    rf"\b(?:{POSTED}(?: in| during| on)?|in|from|during|of|for|on)\s+"
    rf"(?:the (?:year|month)\s+(?:of\s+)?|an?\s+)?{_T}",
    re.I,
)
# Parts of a year: "the first quarter of 2025", "Q3 2024", "the second half of 2024",
# "the first three months of 2025"; without a year, the reference year.
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": 4, "final": 4}
_PART_OF_YEAR = re.compile(
    rf"\b{PUBLISHED}(?:(?:in|during|over|within|from) )?(?:the )?(?:"
    r"(?P<qword>first|second|third|fourth|last|final) quarter|q(?P<qnum>[1-4])"
    r"|(?P<hword>first|second|last|latter) half|h(?P<hnum>[12])"
    r"|(?P<mword>first|last) (?P<months>three|six|3|6|one|1)? ?months?"
    r"|(?:(?P<which>this|last) )?(?P<season>spring|summer|autumn|winter"
    r"|fall(?=,?\s+(?:of\s+)?(?:199\d|20\d\d))|(?<=this )fall|(?<=last )fall))"
    rf"(?:\s*(?:of|in)?\s*(?P<year>{_YEAR}))?\b",
    re.I,
)
# Days readers name instead of dates: a day of that year, or of any year without one.
_HOLIDAYS = {
    "new year's day": (1, 1),
    "new year's eve": (12, 31),
    "christmas eve": (12, 24),
    "christmas": (12, 25),
    "christmas day": (12, 25),
    "halloween": (10, 31),
    "valentine's day": (2, 14),
}
_HOLIDAY = re.compile(
    r"\b(?P<h>new year['’]?s day|new year['’]?s eve|christmas eve|christmas(?: day)?|halloween"
    rf"|valentine['’]?s day)(?:,?\s*(?:of |in )?(?P<year>{_YEAR}))?\b",
    re.I,
)
# "dated May 5, whatever the year": a month (and day) in any year, not the reference year's.
_ANY_YEAR = re.compile(
    r",?\s*\b(?:in |of )?(?:any|every|whatever the|whichever|each) year\b|\b(?:regardless|"
    r"irrespective) of (?:the )?year\b|\bacross (?:all )?(?:the )?years\b|\bno matter "
    r"(?:the|which|what) year\b|\b(?:in |of |from )?all (?:the )?years\b",
    re.I,
)
_BEFORE_NOUN = re.compile(rf"{_T}(?:'s)?(?=\s+(?:[\w-]+\s+){{0,2}}?{PAPER_NOUN}\b)", re.I)


def number(match: re.Match) -> int:
    n = (match.groupdict().get("n") or "0").lower()
    return int(n) if n.isdigit() else _NUMBER_WORDS.index(n) + 1


def blank(work: str, match: re.Match) -> str:
    return work[: match.start()] + " " * (match.end() - match.start()) + work[match.end() :]


def _months_later(day: dt.date, months: int) -> dt.date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def _month_number(text: str) -> int:
    return "janfebmaraprmayjunjulaugsepoctnovdec".index(re.sub(r"[^a-z]", "", text)[:3]) // 3 + 1


def _time_span(text: str, reference: dt.date) -> tuple[dt.date, dt.date, bool] | None:
    """First and last day a time expression covers, and whether it is a bare year."""
    t = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b", "", text.lower())  # "3rd March" -> "3 march"
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", t):
            return dt.date.fromisoformat(t), dt.date.fromisoformat(t), False
        if re.fullmatch(_YEAR, t):
            return dt.date(int(t), 1, 1), dt.date(int(t), 12, 31), True
        month = _month_number(t)
        day, year = re.search(r"(?<!\d)\d{1,2}(?!\d)", t), re.search(_YEAR, t)
        first = dt.date(
            int(year.group()) if year else reference.year, month, int(day.group()) if day else 1
        )
        if not year and first > reference:
            first = first.replace(year=first.year - 1)  # "since March" in February: last March
        return first, first if day else _months_later(first, 1) - dt.timedelta(days=1), False
    except ValueError:  # "February 30", "2025-13-01": not a date, so not a filter
        return None


def time_filters(work: str, reference: dt.date) -> tuple[dict, str]:
    """Year, since and until from date phrases (each narrows the range), and `work` without them."""
    found: dict = {}
    # Longer phrases first: "from March to May 2024" is one range before it is two dates.
    for reader in (_ranges, _bounds, _parts_of_year, _windows, _calendar, _holidays):
        work = reader(work, reference, found)
    return found, _named_dates(work, reference, found)


_ONE_DAY = dt.timedelta(days=1)


def _narrow(found: dict, since: dt.date | None, until: dt.date | None) -> None:
    # Each bound only narrows: a later start, an earlier end.
    known_since, known_until = found.get("since"), found.get("until")
    found["since"] = max(since, known_since) if since and known_since else since or known_since
    found["until"] = min(until, known_until) if until and known_until else until or known_until


def _ranges(work: str, reference: dt.date, found: dict) -> str:
    """'between March and May 2024', 'from 2023 to 2024'."""
    for m in (m for pattern in _RANGES for m in re.finditer(pattern, work, re.I)):
        start, end = _time_span(m.group(1), reference), _time_span(m.group(2), reference)
        if start and end:
            _narrow(found, start[0], end[1])
            work = blank(work, m)
    return work


def _bounds(work: str, reference: dt.date, found: dict) -> str:
    """'after March 2024', 'no later than 2023', 'since May'."""
    for m in _BOUNDS.finditer(work):
        word, span = m.group(1).lower(), _time_span(m.group(2), reference)
        if span is None or word == "from" and not m.group(3):
            continue  # a plain "from 2024" is a year, read below
        if word in ("after", "later than", "newer than", "more recent than"):
            _narrow(found, span[1] + _ONE_DAY, None)
        elif word in ("before", "earlier than", "older than", "prior to"):
            _narrow(found, None, span[0] - _ONE_DAY)
        elif word in ("until", "till", "up to", "through", "no later than"):
            _narrow(found, None, span[1])
        else:
            _narrow(found, span[0], None)
        work = blank(work, m)
    return work


def _parts_of_year(work: str, reference: dt.date, found: dict) -> str:
    """'Q2 2024', 'the first half of 2023', 'last summer'."""
    for m in _PART_OF_YEAR.finditer(work):
        relative = m.group("season") and m.group("which")
        if (m.group("mword") or m.group("season")) and not m.group("year") and not relative:
            continue  # "the last six months" is a window back from the reference date; a
            # season needs its year, since "spring" alone is as often a word as a date
        year = int(m.group("year")) if m.group("year") else reference.year
        first, months = _part_of_year(m)
        start = dt.date(year, first, 1)
        if (
            relative
            and m.group("which").lower() == "last"
            and (_months_later(start, months) > reference)
        ):
            start = start.replace(year=year - 1)  # "last summer": the latest one that is over
        _narrow(found, start, _months_later(start, months) - _ONE_DAY)
        work = blank(work, m)
    return work


def _windows(work: str, reference: dt.date, found: dict) -> str:
    """'in the past two weeks', 'the last six months'."""
    for m in _WINDOW.finditer(work):
        count, unit = number(m) or 1, m.group("unit").lower()
        days = {"day": count, "week": 7 * count}.get(unit)
        months = count * (12 if unit == "year" else 1)
        since = reference - dt.timedelta(days=days) if days else _months_later(reference, -months)
        _narrow(found, since, None)
        work = blank(work, m)
    return work


def _calendar(work: str, reference: dt.date, found: dict) -> str:
    """'this year', 'last month'."""
    for m in _CALENDAR.finditer(work):
        back = int(m.group(1).lower() == "last")
        if m.group(2).lower() == "year":
            found["year"] = reference.year - back
        else:
            first = _months_later(reference.replace(day=1), -back)
            _narrow(found, first, _months_later(first, 1) - _ONE_DAY)
        work = blank(work, m)
    return work


def _holidays(work: str, reference: dt.date, found: dict) -> str:
    """'on Christmas 2024', 'on Valentine's Day' (a day of any year)."""
    for m in _HOLIDAY.finditer(work):
        month, day = _HOLIDAYS[re.sub(r"['’]", "'", m.group("h").lower())]
        if m.group("year"):
            date = dt.date(int(m.group("year")), month, day)
            _narrow(found, date, date)
        else:
            found["month"], found["day"] = month, day
        work = blank(work, m)
    return work


def _named_dates(work: str, reference: dt.date, found: dict) -> str:
    """'in 2024', 'dated March 11', 'May 2024 papers': a year, a month or a day."""
    any_year = _ANY_YEAR.search(work)
    if any_year:
        work = blank(work, any_year)
    for pattern in (_AFTER_WORD, _BEFORE_NOUN):
        for m in pattern.finditer(work):
            span = _time_span(m.group(1), reference)
            yearless_noun = pattern is _BEFORE_NOUN and not re.search(r"\d{4}", m.group(1))
            if span is None or yearless_noun and not any_year:
                continue  # a bare month before a noun ("may papers") is too likely a verb
            if yearless := _yearless(m.group(1)):
                month, day = yearless
                if day is not None or any_year:
                    # "dated March 11" names a day of the listing, whichever year it fell in.
                    found["month"], found["day"] = month, day
                    work = blank(work, m)
                    continue
            if span[2]:
                found["year"] = span[0].year
            else:
                _narrow(found, span[0], span[1])
            work = blank(work, m)
    return work


def _part_of_year(m: re.Match) -> tuple[int, int]:
    """First month and length in months of a quarter, a half or "the first three months"."""
    if m.group("qword") or m.group("qnum"):
        quarter = int(m.group("qnum") or _QUARTER_WORDS[m.group("qword").lower()])
        return 3 * quarter - 2, 3
    if m.group("hword") or m.group("hnum"):
        second = (m.group("hnum") or "") == "2" or (m.group("hword") or "").lower() != "first"
        return (7 if second else 1), 6
    if m.group("season"):
        # Northern seasons by whole months: spring is March to May; winter starts in December.
        return _SEASONS[m.group("season").lower()], 3
    months = {"three": 3, "3": 3, "six": 6, "6": 6}.get((m.group("months") or "").lower(), 1)
    return (1 if m.group("mword").lower() == "first" else 13 - months), months


def _yearless(text: str) -> tuple[int, int | None] | None:
    """(month, day or None) of a month expression that names no year, else None."""
    t = text.lower()
    if re.search(r"\d{4}", t):
        return None
    month = _month_number(t)
    day = re.search(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?(?!\d)", t)
    return month, int(day.group(1)) if day else None
