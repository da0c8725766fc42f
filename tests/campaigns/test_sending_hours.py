"""The French sending hours: edges of the window, Sundays, public holidays, clock changes,
and the platform setting's parser."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.sending_hours import SendingWindow, is_allowed, next_allowed

PARIS = ZoneInfo("Europe/Paris")
WINDOW = SendingWindow.from_setting("Mon-Sat 08:00-20:00")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (paris(2026, 11, 24, 7, 59), paris(2026, 11, 24, 8, 0)),  # Tuesday, too early
        (paris(2026, 11, 24, 8, 0), paris(2026, 11, 24, 8, 0)),
        (paris(2026, 11, 24, 19, 59), paris(2026, 11, 24, 19, 59)),
        (paris(2026, 11, 24, 20, 0), paris(2026, 11, 25, 8, 0)),  # end is exclusive
        (paris(2026, 11, 28, 20, 30), paris(2026, 11, 30, 8, 0)),  # Saturday night → Monday
        (paris(2026, 11, 29, 11, 0), paris(2026, 11, 30, 8, 0)),  # Sunday
        (paris(2026, 5, 1, 10, 0), paris(2026, 5, 2, 8, 0)),  # Labour Day, a Friday
        (paris(2026, 12, 24, 21, 0), paris(2026, 12, 26, 8, 0)),  # Christmas
        (paris(2027, 3, 27, 21, 0), paris(2027, 3, 30, 8, 0)),  # Easter Monday 2027: Tuesday
        (paris(2027, 3, 28, 12, 0), paris(2027, 3, 30, 8, 0)),  # spring clock change weekend
        (paris(2026, 10, 25, 12, 0), paris(2026, 10, 26, 8, 0)),  # autumn clock change
    ],
)
def test_next_allowed(moment: datetime, expected: datetime) -> None:
    result = next_allowed(moment, WINDOW)
    assert result == expected
    assert result.astimezone(PARIS).hour == expected.hour


def test_a_moment_in_another_zone_is_read_in_paris_time() -> None:
    # 06:30 UTC on a Tuesday in November is 07:30 in Paris: wait until 08:00.
    assert next_allowed(datetime(2026, 11, 24, 6, 30, tzinfo=UTC), WINDOW) == paris(
        2026, 11, 24, 8, 0
    )
    with pytest.raises(ValueError, match="naive"):
        is_allowed(datetime(2026, 11, 24, 10, 0), WINDOW)


@pytest.mark.parametrize(
    ("setting", "weekdays", "start", "end"),
    [
        ("mon-fri 09:00-19:30", {1, 2, 3, 4, 5}, "09:00", "19:30"),
        ("Mon,Tue,Sat 08:00-20:00", {1, 2, 6}, "08:00", "20:00"),
        ("Monday-Saturday 8:00-20:00", {1, 2, 3, 4, 5, 6}, "08:00", "20:00"),
    ],
)
def test_the_setting_accepts_readable_forms(
    setting: str, weekdays: set[int], start: str, end: str
) -> None:
    window = SendingWindow.from_setting(setting)
    assert window.weekdays == weekdays
    assert (f"{window.start:%H:%M}", f"{window.end:%H:%M}") == (start, end)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("", "must look like"),
        ("Mon-Sat", "must look like"),
        ("Mon-Sat 20:00-08:00", "start before it ends"),
        ("Sat-Mon 08:00-20:00", "runs backwards"),
        ("Lun-Sam 08:00-20:00", "Unknown day"),
        ("Mon-Sat 08:00-25:00", "not a time of day"),
    ],
)
def test_the_setting_refuses_what_it_cannot_read(setting: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SendingWindow.from_setting(setting)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 1)))
def test_next_allowed_is_allowed_and_never_earlier(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    result = next_allowed(moment, WINDOW)
    assert result >= moment
    assert is_allowed(result, WINDOW)
    # Nothing allowed between: either it is the moment itself, or the start of a day.
    if result != moment:
        local = result.astimezone(PARIS)
        assert (local.hour, local.minute) == (8, 0)
        assert (result - moment).days < 5
