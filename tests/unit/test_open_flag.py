"""The pre-serialised Features' open-now flag (o2o/web/features.py) agrees with is_open_at, festival
hours included, at every half hour around the festival."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from o2o.geo.hours import is_open_at, parse_hours, parse_special
from o2o.web.features import Fragment, _open_flag, moment

CASES = [
    ("10:00-22:00", None),
    ("22:00-02:00", None),
    ("10:00-22:00", "2026-11-10 10:00-02:00; 2026-11-12 closed"),
    ("22:00-02:00", "2026-11-11 closed"),
    ("10:00-14:00,17:00-22:00", "2026-11-11 00:00-24:00; 2026-11-13 20:00-06:00"),
    (None, "2026-11-10 10:00-02:00"),
    (None, None),
]


@pytest.mark.parametrize("hours, special", CASES)
def test_the_flag_agrees_with_is_open_at(hours, special):
    frag = Fragment(b"", tuple(parse_hours(hours)) if hours else None, b"1", parse_special(special) or None)
    when = datetime(2026, 11, 9, 0, 0)
    while when < datetime(2026, 11, 15):
        expected = is_open_at(hours, when, special)
        want = {None: b"null", True: b"true", False: b"false"}[expected]
        assert _open_flag(frag, moment(when)) == want, when
        assert frag.open_now(moment(when)) == want, when   # the kept answer follows the minute
        assert frag.open_now(moment(when)) == want, when   # and is the same when asked again
        when += timedelta(minutes=30)


def test_the_festival_night_at_1_30_on_the_11th():
    frag = Fragment(b"", tuple(parse_hours("10:00-22:00")), b"1", parse_special("2026-11-10 10:00-02:00"))
    assert _open_flag(frag, moment(datetime(2026, 11, 11, 1, 30))) == b"true"
    assert _open_flag(frag, moment(datetime(2026, 11, 12, 1, 30))) == b"false"


def test_a_fragment_rebuilds_its_prefix_for_another_host_and_keeps_its_head():
    head = b'{"type":"Feature","id":7,"geometry":null,"properties":{"name":"x"'
    frag = Fragment(head, None, b"7")
    a = frag.prefix(b"https://a.example/go/")
    b = frag.prefix(b"http://b.example:8000/go/")
    assert a == head + b',"go_url":"https://a.example/go/7","open_now":'
    assert b == head + b',"go_url":"http://b.example:8000/go/7","open_now":'
    assert frag.head == head and frag.prefix(b"https://a.example/go/") == a
