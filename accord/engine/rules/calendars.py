"""Business-day calendars: working weekdays, holidays, a time zone and a daily cut-off.

A rule file declares them (``calendar us_ship weekdays mon, tue, ... zone "America/New_York"
cutoff 14:00 end``) and rules use them through ``add_business_days``, ``is_business_day`` and
``business_days_between``.

>>> from datetime import datetime, timezone
>>> cal = BusinessCalendar("ship", zone="America/New_York", cutoff=time(14, 0))
>>> placed = datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc)   # Friday 15:00 in New York
>>> cal.add_business_days(placed, 2).isoformat()                # after the cut-off: Monday is day 0
'2026-03-12T03:59:59+00:00'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MAX_SCAN_DAYS", "WEEKDAYS", "BusinessCalendar", "BusinessDayRangeError", "zone_exists"]

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_END_OF_DAY = time(23, 59, 59)
#: How far business-day arithmetic looks: day 0 and the result of ``add_business_days`` lie at
#: most this many days (two years) after the start's local day, so every loop is short.
MAX_SCAN_DAYS = 366 * 2
#: ``business_days_between`` counts across at most this many days (fifty years).
_MAX_BETWEEN_DAYS = 366 * 50


class BusinessDayRangeError(ValueError):
    """Business-day arithmetic asked for something outside its limits: a negative or
    fractional number of days, or a result more than two years ahead (``RULE208``)."""


def _plus(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:  # near the end of the calendar: the search stops there instead
        return date.max


def zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class BusinessCalendar:
    """Which days are working days, in which zone, and when the working day's cut-off is."""

    __slots__ = ("cutoff", "holidays", "name", "weekdays", "zone", "zone_name")

    def __init__(
        self,
        name: str,
        *,
        weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        holidays: Iterable[date] = (),
        zone: str = "UTC",
        cutoff: time | None = None,
    ) -> None:
        self.name = name
        self.weekdays = frozenset(weekdays)
        if not self.weekdays:
            raise ValueError(f"calendar {name!r} has no working weekday")
        self.holidays = frozenset(holidays)
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        self.cutoff = cutoff

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r})"

    def is_business_day(self, day: date | datetime) -> bool:
        """Whether the (local) day is a working day.

        >>> BusinessCalendar("c").is_business_day(date(2026, 3, 7))   # a Saturday
        False
        """
        if isinstance(day, datetime):
            day = day.astimezone(self.zone).date()
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_business_day(self, day: date, *, last: date | None = None) -> date:
        """The first working day strictly after ``day`` and at most ``last`` (default: two
        years after ``day``)."""
        last = last or _plus(day, MAX_SCAN_DAYS)
        current = day
        while current < last:
            current += timedelta(days=1)
            if self.is_business_day(current):
                return current
        raise BusinessDayRangeError(
            f"calendar {self.name!r} has no working day from {day} to {last}: business-day "
            "arithmetic looks at most two years ahead"
        )

    def start_day(self, moment: datetime) -> date:
        """Day 0 for counting: the local day of ``moment`` when it is a working day before the
        cut-off, else the next working day."""
        local = moment.astimezone(self.zone)
        day = local.date()
        late = self.cutoff is not None and local.time() >= self.cutoff
        if self.is_business_day(day) and not late:
            return day
        return self.next_business_day(day)

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The end (23:59:59 local, returned in UTC) of the working day ``days`` working days
        after day 0 of ``moment``.

        The result lies at most two years (:data:`MAX_SCAN_DAYS` days) after the local day of
        ``moment``; asking for more raises :class:`BusinessDayRangeError` after scanning at
        most that far, however large ``days`` is.
        """
        if days < 0:
            raise BusinessDayRangeError(f"business days to add must not be negative, not {days}")
        start = moment.astimezone(self.zone).date()
        last = _plus(start, MAX_SCAN_DAYS)
        day = self.start_day(moment)
        for _ in range(days):  # each step moves at least a day: at most MAX_SCAN_DAYS steps
            try:
                day = self.next_business_day(day, last=last)
            except BusinessDayRangeError:
                raise BusinessDayRangeError(
                    f"{days} working days of calendar {self.name!r} from {start} end after "
                    f"{last}: business-day arithmetic looks at most two years ahead"
                ) from None
        return datetime.combine(day, _END_OF_DAY, self.zone).astimezone(UTC)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after ``start``'s local day up to and including ``end``'s local day
        (negative when ``end`` is earlier)."""
        a = start.astimezone(self.zone).date()
        b = end.astimezone(self.zone).date()
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        if (b - a).days > _MAX_BETWEEN_DAYS:
            raise BusinessDayRangeError(
                f"{a} and {b} are more than fifty years apart: business_days_between counts "
                "working days across at most fifty years"
            )
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return sign * count
