"""Festival hours as the pages say them, in the page's language.

``2026-11-10 10:00-02:00; 2026-11-12 closed`` reads ``11月10日 10:00–次日02:00`` and ``11月12日 休息``
on a Chinese page, ``Nov 10 10:00–02:00 (next day)`` and ``Nov 12 closed`` on an English one.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_skeleton
from flask_babel import get_locale, gettext as _, pgettext

from ..geo.hours import coming_special


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def range_text(start: int, end: int) -> str:
    """One opening range; a range past midnight says so (``10:00–次日02:00``)."""
    if end > 1440:
        return _("%(start)s–%(end)s (next day)", start=_clock(start), end=_clock(end - 1440))
    return f"{_clock(start)}–{_clock(end)}"


def special_lines(special_hours: str | None, now: datetime) -> list[tuple[str, str]]:
    """The coming dated exceptions as ``(date, hours)`` texts, in date order."""
    locale = get_locale() or "zh_Hans_CN"
    return [(format_skeleton("MMMd", day, locale=locale),
             ", ".join(range_text(s, e) for s, e in ranges) if ranges else pgettext("festival hours", "closed"))
            for day, ranges in coming_special(special_hours, now)]
