"""When commercial SMS may reach French numbers: the legal sending hours.

French practice (the operators' charter) allows commercial SMS Monday to Saturday,
08:00 to 20:00 Europe/Paris, never on Sundays or French public holidays. Sources differ
on the evening limit, so the window is a platform setting (SMS_FRENCH_SENDING_HOURS,
"Mon-Sat 08:00-20:00"). The calendar comes from the `holidays` package (national list).

Pure Python, no Django import.

>>> window = SendingWindow.from_setting("Mon-Sat 08:00-20:00")
>>> sunday = datetime(2026, 11, 22, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))
>>> next_allowed(sunday, window).isoformat()
'2026-11-23T08:00:00+01:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO weekdays 1..7
_SETTING = re.compile(
    r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
# A year has at most a few dozen closed days: a search never needs more than this.
_MAX_DAYS_AHEAD = 400


@dataclass(frozen=True)
class SendingWindow:
    """Allowed ISO weekdays and hours [start, end) in `timezone`, minus `country` holidays."""

    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(1, 7)))
    start: time = time(8, 0)
    end: time = time(20, 0)
    timezone: str = "Europe/Paris"
    country: str = "FR"

    def __post_init__(self) -> None:
        if not self.weekdays:
            raise ValueError("A sending window needs at least one weekday.")
        if not self.weekdays <= set(range(1, 8)):
            raise ValueError(f"Weekdays are 1 (Monday) to 7 (Sunday), not {sorted(self.weekdays)}.")
        if self.start >= self.end:
            raise ValueError(
                f"The window must start before it ends ({self.start:%H:%M}-{self.end:%H:%M})."
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"Unknown time zone {self.timezone!r}.") from None

    @classmethod
    def from_setting(cls, text: str, *, timezone: str = "Europe/Paris") -> SendingWindow:
        """Read "Mon-Sat 08:00-20:00", "mon-fri 09:00-19:30" or "Mon,Tue,Sat 08:00-20:00"."""
        match = _SETTING.match(text or "")
        if not match:
            raise ValueError(
                f"Sending hours {text!r} must look like 'Mon-Sat 08:00-20:00' "
                "(days, a space, then start-end in 24-hour time)."
            )
        return cls(
            weekdays=_parse_days(match["days"]),
            start=_parse_time(match["start"]),
            end=_parse_time(match["end"]),
            timezone=timezone,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def open_on(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays and day not in _holidays(self.country, day.year)


def _parse_day(name: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAY_NAMES:
        raise ValueError(f"Unknown day {name.strip()!r}: use Mon, Tue, Wed, Thu, Fri, Sat, Sun.")
    return DAY_NAMES.index(key) + 1


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"Empty day in {text!r}.")
        if "-" in part:
            first, _sep, last = part.partition("-")
            start, stop = _parse_day(first), _parse_day(last)
            if stop < start:
                raise ValueError(f"Day range {part.strip()!r} runs backwards.")
            days.update(range(start, stop + 1))
        else:
            days.add(_parse_day(part))
    return frozenset(days)


def _parse_time(text: str) -> time:
    hours, minutes = (int(piece) for piece in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day.")
    return time.max if hours == 24 else time(hours, minutes)


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def is_allowed(moment: datetime, window: SendingWindow) -> bool:
    if moment.tzinfo is None:
        raise ValueError("A naive datetime has no time zone: give an aware one.")
    local = moment.astimezone(window.zone)
    return window.open_on(local.date()) and window.start <= local.time() < window.end


def next_allowed(moment: datetime, window: SendingWindow) -> datetime:
    """`moment` if sending is allowed then, else the start of the next allowed day.

    The answer is aware, in the window's zone; 08:00 on a day of a clock change is 08:00
    wall-clock time.
    """
    if is_allowed(moment, window):
        return moment.astimezone(window.zone)
    local = moment.astimezone(window.zone)
    day = local.date()
    if window.open_on(day) and local.time() < window.start:
        return datetime.combine(day, window.start, tzinfo=window.zone)
    for _ahead in range(_MAX_DAYS_AHEAD):
        day += timedelta(days=1)
        if window.open_on(day):
            return datetime.combine(day, window.start, tzinfo=window.zone)
    raise ValueError("No allowed sending day within a year: check the sending hours.")
