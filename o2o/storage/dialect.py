"""How one SQL engine spells what the shared queries of :mod:`.core` need, and the repository's time format."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

_ID_LIMIT = 2**63  # ids are 64-bit: anything else names no row


def utc_now() -> str:
    """The current time as the repository hands times out: ISO 8601 UTC with a ``Z``, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def valid_id(value) -> bool:
    return 0 < int(value) < _ID_LIMIT


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells what the shared queries need."""

    name: str
    param: str                  # the driver's placeholder: "?" or "%s"
    iso: str                    # a timestamp column → ISO text ("{}": the column)
    epoch: str                  # a time column → epoch seconds
    from_epoch: str             # an epoch-seconds parameter → the column's type
    as_int: str                 # a boolean column → 0 or 1
    true: str                   # the literal a boolean column equals when set
    hour: str                   # a time column → the start of its UTC hour in epoch seconds
    text_order: str             # appended to ORDER BY of text: byte order on both
    has_meta: str               # one row, one column: whether the meta table exists
    for_update: str             # locks rows read before they are changed ("" where writers are serial)
    max_in: int                 # values in one IN list; 0: a single array parameter (= ANY)

    @functools.lru_cache(maxsize=512)
    def q(self, sql: str) -> str:
        """The driver's SQL for a query written with ``?`` placeholders."""
        if self.param == "?":
            return sql
        return sql.replace("%", "%%").replace("?", self.param)

    def in_list(self, column: str, values: list) -> tuple[str, list]:
        """``column`` is one of ``values``: SQL and its parameters."""
        if self.max_in == 0:
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def chunks(self, values: list) -> Iterator[list]:
        """``values`` in lists small enough for :meth:`in_list`."""
        size = self.max_in or max(len(values), 1)
        for start in range(0, len(values), size):
            yield values[start:start + size]
