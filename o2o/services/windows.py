"""Time windows and filters of the analytics views (light: no pandas, for request validation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class Window:
    """A time window [since, until) in UTC epoch seconds; None = open-ended."""

    since: int | None = None
    until: int | None = None

    def iso(self) -> tuple[str | None, str | None]:
        f = lambda t: None if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f(self.since), f(self.until)


@dataclass(frozen=True)
class Filter:
    brands: tuple[str, ...] = ()
    retailers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def args(self):
        return self.brands or None, self.retailers or None, self.categories or None


def parse_time(text: str) -> int:
    """ISO 8601 date or date-time to UTC epoch seconds; a time without a zone is UTC.

    >>> parse_time("2026-11-11T00:00:00+08:00") == parse_time("2026-11-10T16:00:00Z")
    True
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


