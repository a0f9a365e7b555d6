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
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

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
    out = []
    for start, end in parse_hours(text):
        end_txt = end % 1440 if end > 1440 else end
        out.append(f"{start // 60:02d}:{start % 60:02d}-{end_txt // 60:02d}:{end_txt % 60:02d}")
    return ",".join(out)


def is_open_at(hours: str | None, when: datetime) -> bool | None:
    """Whether a store with these hours is open at ``when`` (naive = Beijing time); None if unknown."""
    if not hours:
        return None
    try:
        ranges = parse_hours(hours)
    except HoursError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(BEIJING)
    minute = when.hour * 60 + when.minute
    for start, end in ranges:
        # Today's range, or yesterday's range that runs past midnight into today.
        if start <= minute < end or start <= minute + 1440 < end:
            return True
    return False


def now_beijing() -> datetime:
    return datetime.now(BEIJING)
