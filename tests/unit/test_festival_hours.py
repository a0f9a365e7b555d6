"""Festival hours: dated exceptions to a store's daily hours, in Beijing time, past midnight too."""

from datetime import date, datetime, timezone

import pytest

from o2o.geo.hours import HoursError, is_open_at, normalise_special, parse_special, ranges_on

DAILY = "10:00-22:00"
FESTIVAL = "2026-11-10 10:00-02:00；2026/11/11 00:00-24:00\n2026年11月12日 闭店"


def bj(day, hh, mm=0):
    return datetime(2026, 11, day, hh, mm)


@pytest.mark.parametrize("when,expected", [
    (bj(9, 23, 0), False),    # an ordinary evening: daily hours
    (bj(10, 23, 30), True),   # the festival night, open late
    (bj(11, 0, 0), True),     # midnight on the 11th: the 11th is open all day anyway
    (bj(11, 1, 59), True),
    (bj(11, 23, 59), True),   # the 11th open all day
    (bj(12, 0, 30), False),   # the 11th's range ends at 24:00; the 12th is closed
    (bj(12, 12, 0), False),   # closed all the 12th
    (bj(13, 9, 59), False),   # back to daily hours
    (bj(13, 10, 0), True),
])
def test_open_now_honours_the_festival(when, expected):
    assert is_open_at(DAILY, when, FESTIVAL) is expected


def test_a_late_night_runs_into_a_day_with_its_own_exception():
    special = "2026-11-10 10:00-02:00; 2026-11-11 closed"
    assert is_open_at(DAILY, bj(11, 1, 30), special) is True      # still the 10th's night
    assert is_open_at(DAILY, bj(11, 2, 0), special) is False
    assert is_open_at(DAILY, bj(11, 12, 0), special) is False


def test_beijing_time_whatever_the_clock_zone():
    utc = datetime(2026, 11, 10, 17, 30, tzinfo=timezone.utc)     # 01:30 on the 11th in Beijing
    assert is_open_at(DAILY, utc, "2026-11-10 10:00-02:00") is True
    assert is_open_at(DAILY, utc) is False


def test_only_exceptions_and_no_daily_hours():
    assert is_open_at(None, bj(10, 23), "2026-11-10 10:00-02:00") is True
    assert is_open_at(None, bj(9, 12), "2026-11-10 10:00-02:00") is None   # unknown on other days
    assert is_open_at(None, bj(9, 12)) is None


def test_normalised_in_date_order():
    assert normalise_special(FESTIVAL) == "2026-11-10 10:00-02:00; 2026-11-11 00:00-24:00; 2026-11-12 closed"
    assert normalise_special("  ") is None
    assert parse_special("2026-11-12 closed") == {date(2026, 11, 12): []}
    assert ranges_on(DAILY, FESTIVAL, date(2026, 11, 12)) == []
    assert ranges_on(DAILY, FESTIVAL, date(2026, 11, 13)) == [(600, 1320)]


@pytest.mark.parametrize("text,words", [
    ("11-10 10:00-02:00", "cannot read"),
    ("2026-02-30 10:00-22:00", "not a date"),
    ("2026-11-10", "no hours"),
    ("2026-11-10 10:00-25:00", "not a valid time range"),
    ("2026-11-10 closed; 2026-11-10 10:00-22:00", "given twice"),
    ("2026-11-10 whenever", "cannot read"),
])
def test_bad_exceptions_say_why(text, words):
    with pytest.raises(HoursError, match=words):
        parse_special(text)
