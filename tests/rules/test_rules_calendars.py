"""Business-day calendars: weekends, holidays, cut-offs, time zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from accord.engine.rules import BusinessCalendar, parse_ruleset
from accord.engine.rules.calendars import BusinessDayRangeError
from accord.errors import RuleError

NY = BusinessCalendar("ny", zone="America/New_York", cutoff=time(14, 0))
TIKTOK = BusinessCalendar(
    "tiktok_us",
    holidays=[date(2026, 5, 25), date(2026, 7, 3)],
    zone="America/Los_Angeles",
    cutoff=time(14, 0),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("placed", "days", "expected"),
    [
        # Monday 09:00 New York, before the cut-off: Monday is day 0.
        (utc(2026, 3, 2, 14, 0), 0, utc(2026, 3, 3, 4, 59, 59)),
        (utc(2026, 3, 2, 14, 0), 2, utc(2026, 3, 5, 4, 59, 59)),
        # Monday 14:00 sharp is after the cut-off: Tuesday is day 0.
        (utc(2026, 3, 2, 19, 0), 0, utc(2026, 3, 4, 4, 59, 59)),
        # Friday after the cut-off: Monday is day 0; the DST switch (8 March) moves the offset.
        (utc(2026, 3, 6, 20, 0), 2, utc(2026, 3, 12, 3, 59, 59)),
        # Saturday: Monday is day 0.
        (utc(2026, 3, 7, 15, 0), 1, utc(2026, 3, 11, 3, 59, 59)),
    ],
)
def test_add_business_days(placed: datetime, days: int, expected: datetime) -> None:
    assert NY.add_business_days(placed, days) == expected


def test_holidays_are_skipped() -> None:
    # Friday 22 May 2026 09:00 Los Angeles; Monday 25 May is Memorial Day.
    placed = utc(2026, 5, 22, 16, 0)
    assert TIKTOK.add_business_days(placed, 1) == utc(2026, 5, 27, 6, 59, 59)
    assert not TIKTOK.is_business_day(date(2026, 5, 25))
    assert TIKTOK.is_business_day(date(2026, 5, 26))


def test_local_day_decides_not_utc_day() -> None:
    # 02:00 UTC Tuesday is still Monday evening in Los Angeles.
    assert TIKTOK.start_day(utc(2026, 3, 3, 2, 0)) == date(2026, 3, 3)
    assert TIKTOK.is_business_day(utc(2026, 3, 7, 2, 0))  # UTC Saturday, local Friday
    assert not TIKTOK.is_business_day(utc(2026, 3, 9, 6, 0))  # UTC Monday, local Sunday


def test_business_days_between() -> None:
    assert NY.business_days_between(utc(2026, 3, 6, 15), utc(2026, 3, 10, 15)) == 2
    assert NY.business_days_between(utc(2026, 3, 10, 15), utc(2026, 3, 6, 15)) == -2
    assert NY.business_days_between(utc(2026, 3, 6, 15), utc(2026, 3, 6, 18)) == 0


def test_invalid_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="no working weekday"):
        BusinessCalendar("none", weekdays=[])
    with pytest.raises(ValueError, match="must not be negative"):
        NY.add_business_days(utc(2026, 3, 2), -1)


def test_tiktok_rule_in_the_language() -> None:
    rs = parse_ruleset(
        """
        calendar tiktok_us
          weekdays mon, tue, wed, thu, fri
          holidays 2026-05-25
          zone "America/Los_Angeles"
          cutoff 14:00
        end
        fact placed_at: datetime
        rule ship_by when true then set ship_by = add_business_days(placed_at, 2, tiktok_us)
          because "placed {placed_at}"
        """
    )
    # Friday 15:30 in Los Angeles: after the cut-off, so Monday is day 0 and Wednesday the day.
    d = rs.evaluate({}, facts={"placed_at": "2026-03-06T23:30:00Z"}, now=utc(2026, 3, 7))
    assert d.to_dict()["fields"] == {"ship_by": "2026-03-12T06:59:59Z"}


MONDAYS = BusinessCalendar("mondays", weekdays=[0])


def test_business_day_arithmetic_looks_at_most_two_years_ahead() -> None:
    start = utc(2026, 3, 2, 10)  # a Monday: day 0
    # 104 Mondays after day 0 is 2028-02-28, within 732 days; 105 would be 2028-03-06.
    assert MONDAYS.add_business_days(start, 104) == utc(2028, 2, 28, 23, 59, 59)
    with pytest.raises(BusinessDayRangeError) as info:
        MONDAYS.add_business_days(start, 105)
    assert str(info.value) == (
        "105 working days of calendar 'mondays' from 2026-03-02 end after 2028-03-03: "
        "business-day arithmetic looks at most two years ahead"
    )
    # however many days are asked for, the scan stops at the limit
    with pytest.raises(BusinessDayRangeError, match="looks at most two years ahead"):
        MONDAYS.add_business_days(start, 10**30)
    # the same limit at the end of the calendar, instead of a date overflow
    with pytest.raises(BusinessDayRangeError, match="looks at most two years ahead"):
        NY.add_business_days(utc(9999, 12, 20), 30)


def test_a_calendar_without_a_working_day_in_two_years_is_a_range_error() -> None:
    holidays = [date(2026, 3, 2) + timedelta(weeks=w) for w in range(110)]
    cal = BusinessCalendar("closed", weekdays=[0], holidays=holidays)
    with pytest.raises(BusinessDayRangeError) as info:
        cal.add_business_days(utc(2026, 3, 2, 10), 0)
    assert str(info.value) == (
        "calendar 'closed' has no working day from 2026-03-02 to 2028-03-03: business-day "
        "arithmetic looks at most two years ahead"
    )


def test_business_days_between_spans_at_most_fifty_years() -> None:
    # midnight UTC is the evening before in New York: every weekday of 2026 to 2075
    assert NY.business_days_between(utc(2026, 1, 1), utc(2076, 1, 1)) == 13044
    with pytest.raises(BusinessDayRangeError, match="more than fifty years apart"):
        NY.business_days_between(utc(2026, 1, 1), utc(2077, 1, 1))


MONDAY_RULES = parse_ruleset(
    """
    calendar mondays
      weekdays mon
    end
    fact n: number
    let ship_by = add_business_days(now, n, mondays)
    rule r when true then set ship_by = ship_by because "ship by {ship_by}"
    """,
    filename="mondays.rules",
)


@pytest.mark.parametrize(
    ("n", "message"),
    [
        (
            "1000",
            "let 'ship_by': 1000 working days of calendar 'mondays' go beyond two years: "
            "business-day arithmetic looks at most two years ahead",
        ),
        (
            "105",
            "let 'ship_by': 105 working days of calendar 'mondays' from 2026-03-02 end after "
            "2028-03-03: business-day arithmetic looks at most two years ahead",
        ),
        (
            "1E+30",
            "let 'ship_by': 1E+30 working days of calendar 'mondays' go beyond two years: "
            "business-day arithmetic looks at most two years ahead",
        ),
        ("-1", "let 'ship_by': business days to add must not be negative, not -1"),
        ("2.5", "let 'ship_by': business days to add must be a whole number, not 2.5"),
    ],
)
def test_business_days_beyond_the_limits_are_rule208(n: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        MONDAY_RULES.evaluate({}, facts={"n": n}, now=utc(2026, 3, 2, 10))
    d = info.value.diagnostics[0]
    assert (d.code, d.message, d.file, d.line) == ("RULE208", message, "mondays.rules", 6)
    d = MONDAY_RULES.evaluate({}, facts={"n": "104"}, now=utc(2026, 3, 2, 10))
    assert d.to_dict()["fields"] == {"ship_by": "2028-02-28T23:59:59Z"}
