"""Opening hours: parse what retailers write, normalise it, and tell whether a store is open.

Accepted: ``10:00-22:00``; several ranges separated by ``,`` ``;`` ``、`` or spaces
(``10:00-14:00,17:00-22:00``); ranges past midnight (``22:00-02:00``); ``24h``, ``24小时``,
``全天``; full-width digits and punctuation (``１０：００～２２：００``) and ``至``/``到``/``~``
as the dash. Times are Beijing time (UTC+8), as the contract says.

>>> normalise_hours(" 9:30 ～ 21:30 ")
'09:30-21:30'
>>> from datetime import datetime
>>> is_open_at("22:00-02:00", datetime(2026, 11, 11, 1, 30))
True

Festival hours are dated exceptions to the daily hours (``special``): ``2026-11-10 10:00-02:00``
(the festival night, open until 02:00 on the 11th), ``2026-11-12 closed``; several separated by
``;`` or new lines. On a date with an exception, the exception replaces the daily hours, and a
range past midnight runs into the next day whatever that day's own hours are.

>>> special = "2026-11-10 10:00-02:00; 2026-11-12 closed"
>>> is_open_at("10:00-22:00", datetime(2026, 11, 11, 1, 30), special)
True
>>> is_open_at("10:00-22:00", datetime(2026, 11, 12, 12, 0), special)
False
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ALL_DAY = "00:00-24:00"

_RANGE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?$")
_ALL_DAY_WORDS = {"24h", "24小时", "24hours", "全天", "24/7", "00:00-24:00", "0:00-24:00"}


class HoursError(ValueError):
    """Opening hours that cannot be understood."""


def _canon_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    for dash in ("~", "～", "至", "到", "—", "–", "－", "−"):
        text = text.replace(dash, "-")
    return text


def parse_hours(text: str) -> list[tuple[int, int]]:
    """Ranges as (open_minute, close_minute) from midnight; close may exceed 1440 (overnight)."""
    if text is None or not str(text).strip():
        raise HoursError("opening hours are empty")
    canon = _canon_text(str(text))
    if canon.replace(" ", "") in _ALL_DAY_WORDS:
        return [(0, 1440)]
    parts = [p for p in re.split(r"[,;、，；]|\s{1,}(?=\d{1,2}:\d{2}\s*-)", canon) if p.strip()]
    ranges = []
    for part in parts:
        m = _RANGE.match(part.strip())
        if not m:
            raise HoursError(f"cannot read {part.strip()!r}: write ranges like 10:00-22:00")
        h1, m1, h2, m2 = int(m[1]), int(m[2] or 0), int(m[3]), int(m[4] or 0)
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise HoursError(f"{part.strip()!r} is not a valid time range")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise HoursError(f"{part.strip()!r} opens and closes at the same time")
        if end < start:
            end += 1440  # past midnight
        ranges.append((start, end))
    if not ranges:  # only separators, e.g. "," or "、"
        raise HoursError(f"no time range in {str(text).strip()!r}: write ranges like 10:00-22:00")
    if len(ranges) > 6:
        raise HoursError("too many opening ranges (at most 6)")
    return ranges


def normalise_hours(text: str) -> str:
    """Canonical ``HH:MM-HH:MM[,HH:MM-HH:MM]`` form; raises :class:`HoursError`."""
    return _format_ranges(parse_hours(text))


_CLOSED_WORDS = {"closed", "close", "休息", "闭店", "不营业", "停业", "关闭", "店休", "歇业", "公休"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
MAX_SPECIAL_DATES = 60


def parse_special(text: str | None) -> dict[date, list[tuple[int, int]]]:
    """Dated exceptions: ``{date: ranges}``, an empty list for a date the store is closed."""
    out: dict[date, list[tuple[int, int]]] = {}
    if text is None or not str(text).strip():
        return out
    for entry in re.split(r"[;；\n]+", unicodedata.normalize("NFKC", str(text))):
        entry = entry.strip()
        if not entry:
            continue
        m = _DATE.match(entry)
        if not m:
            raise HoursError(f"cannot read {entry!r}: write a date and hours, like 2026-11-10 10:00-02:00 "
                             "or 2026-11-12 closed")
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise HoursError(f"{entry[:m.end()].strip()!r} is not a date") from None
        if day in out:
            raise HoursError(f"{day.isoformat()} is given twice")
        rest = entry[m.end():].strip().lstrip(":：").strip()
        if not rest:
            raise HoursError(f"{day.isoformat()} has no hours: add them (10:00-02:00) or write closed")
        out[day] = [] if rest.lower() in _CLOSED_WORDS else parse_hours(rest)
    if len(out) > MAX_SPECIAL_DATES:
        raise HoursError(f"too many dated exceptions (at most {MAX_SPECIAL_DATES})")
    return out


def _format_ranges(ranges: list[tuple[int, int]]) -> str:
    out = []
    for start, end in ranges:
        end_txt = end % 1440 if end > 1440 else end
        out.append(f"{start // 60:02d}:{start % 60:02d}-{end_txt // 60:02d}:{end_txt % 60:02d}")
    return ",".join(out)


def normalise_special(text: str | None) -> str | None:
    """Canonical ``YYYY-MM-DD HH:MM-HH:MM; YYYY-MM-DD closed`` in date order (None when empty)."""
    special = parse_special(text)
    if not special:
        return None
    return "; ".join(f"{d.isoformat()} {_format_ranges(r) if r else 'closed'}" for d, r in sorted(special.items()))


def ranges_on(hours: str | None, special, day: date) -> list[tuple[int, int]] | None:
    """The opening ranges of ``day``: its dated exception, else the daily hours; None if unknown."""
    if isinstance(special, str) or special is None:
        try:
            special = parse_special(special)
        except HoursError:
            special = {}
    if day in special:
        return special[day]
    if not hours:
        return None
    try:
        return parse_hours(hours)
    except HoursError:
        return None


def is_open_at(hours: str | None, when: datetime, special: str | dict | None = None) -> bool | None:
    """Whether a store with these hours (and dated exceptions) is open at ``when`` (naive = Beijing
    time); None if unknown."""
    if not hours and not special:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(BEIJING)
    if isinstance(special, str) or special is None:
        try:
            special = parse_special(special)
        except HoursError:
            special = {}
    minute = when.hour * 60 + when.minute
    today = ranges_on(hours, special, when.date())
    yesterday = ranges_on(hours, special, when.date() - timedelta(days=1))
    if today is None and yesterday is None:
        return None
    # Today's ranges, or yesterday's range that runs past midnight into today.
    if any(start <= minute < end for start, end in today or ()):
        return True
    return any(start <= minute + 1440 < end for start, end in yesterday or ())


def now_beijing() -> datetime:
    return datetime.now(BEIJING)


def coming_special(special: str | dict | None, now: datetime) -> list[tuple[date, list[tuple[int, int]]]]:
    """The dated exceptions still to come at ``now`` (naive = Beijing time), in date order: today's
    and later ones, and yesterday's while its late night still runs into today.

    >>> coming_special("2026-11-10 10:00-02:00; 2026-11-12 closed", datetime(2026, 11, 11, 1, 30))
    [(datetime.date(2026, 11, 10), [(600, 1560)]), (datetime.date(2026, 11, 12), [])]
    """
    if isinstance(special, str) or special is None:
        try:
            special = parse_special(special)
        except HoursError:
            return []
    if now.tzinfo is not None:
        now = now.astimezone(BEIJING)
    today, minute = now.date(), now.hour * 60 + now.minute
    yesterday = today - timedelta(days=1)
    return [(day, ranges) for day, ranges in sorted(special.items())
            if day >= today or (day == yesterday and any(end > minute + 1440 for _, end in ranges))]
