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

__all__ = ["WEEKDAYS", "BusinessCalendar", "zone_exists"]

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_END_OF_DAY = time(23, 59, 59)
#: No calendar has a year without a working day; bounds the search loops (always terminate).
_MAX_SCAN_DAYS = 366 * 2


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

    def next_business_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        for _ in range(_MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_business_day(day):
                return day
        raise ValueError(f"calendar {self.name!r} has no working day within two years")

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
        after day 0 of ``moment``."""
        if days < 0:
            raise ValueError("business days to add must not be negative")
        day = self.start_day(moment)
        for _ in range(days):
            day = self.next_business_day(day)
        return datetime.combine(day, _END_OF_DAY, self.zone).astimezone(UTC)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after ``start``'s local day up to and including ``end``'s local day
        (negative when ``end`` is earlier)."""
        a = start.astimezone(self.zone).date()
        b = end.astimezone(self.zone).date()
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        if (b - a).days > 366 * 50:
            raise ValueError("dates are more than fifty years apart")
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return sign * count
