"""Working days for the MP121 5-Working-Day deadline (domain.md §2.3, §9.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from harness.errors import InputError
from harness.smets.workdays import (
    ENGLAND_AND_WALES_BANK_HOLIDAYS,
    add_working_days,
    is_working_day,
    next_working_day,
    working_days_between,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "d",
    [
        "2025-04-18", "2025-04-21", "2025-12-25", "2025-12-26",  # gov.uk list, 2025
        "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-28",  # 2026, Boxing Day moved
        "2027-03-26", "2027-03-29", "2027-12-27", "2027-12-28",  # 2027: both Christmas holidays substituted
    ],
)
def test_bank_holidays_are_not_working_days(d: str) -> None:
    assert not is_working_day(date.fromisoformat(d))


def test_weekends_are_not_working_days_and_weekdays_are() -> None:
    assert not is_working_day(date(2026, 1, 10))  # Saturday
    assert not is_working_day(date(2026, 1, 11))  # Sunday
    assert is_working_day(date(2026, 1, 12))  # Monday
    assert is_working_day(date(2026, 12, 29))  # Tuesday between the substitute day and New Year


def test_each_year_has_eight_holidays() -> None:
    for year in range(2025, 2029):
        assert sum(1 for d in ENGLAND_AND_WALES_BANK_HOLIDAYS if d.year == year) == 8
    assert all(d.weekday() < 5 for d in ENGLAND_AND_WALES_BANK_HOLIDAYS)  # substitutes are weekdays


def test_five_working_days_from_a_monday_is_the_next_monday() -> None:
    assert add_working_days(at("2026-01-05T09:00"), 5) == at("2026-01-12T09:00")


def test_five_working_days_over_easter_2026() -> None:
    # Thu 2 Apr + 5 WD skips Good Friday 3 Apr, the weekend and Easter Monday 6 Apr: Tue 7 .. Fri 10, Mon 13.
    assert add_working_days(at("2026-04-02T15:30"), 5) == at("2026-04-13T15:30")


def test_five_working_days_over_christmas_2027() -> None:
    # Thu 23 Dec 2027: Fri 24 (1); Mon 27 and Tue 28 are substitute days; Wed 29 (2), Thu 30 (3), Fri 31 (4);
    # Mon 3 Jan 2028 is New Year's substitute day, so Tue 4 Jan (5).
    assert add_working_days(at("2027-12-23T10:00"), 5) == at("2028-01-04T10:00")
    assert add_working_days(at("2027-12-23T10:00"), 4) == at("2027-12-31T10:00")


def test_a_request_on_a_non_working_day_counts_from_the_next_working_day() -> None:
    # Saturday 10 Jan 2026 is treated as Monday 12 Jan 00:00; 5 WD later is Monday 19 Jan 00:00.
    assert add_working_days(at("2026-01-10T14:00"), 5) == at("2026-01-19T00:00")
    assert add_working_days(at("2026-01-10T14:00"), 0) == at("2026-01-12T00:00")
    assert add_working_days(at("2026-01-12T14:00"), 0) == at("2026-01-12T14:00")


def test_helpers() -> None:
    assert next_working_day(date(2026, 4, 2)) == date(2026, 4, 7)
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 13)) == 5
    assert working_days_between(date(2026, 4, 13), date(2026, 4, 2)) == 0


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="-1"):
        add_working_days(at("2026-01-05T09:00"), -1)
    with pytest.raises(InputError, match="2030-01-02.*outside the bank-holiday data"):
        is_working_day(date(2030, 1, 2))
    assert is_working_day(date(2030, 1, 2), holidays=frozenset())  # a lab's own holiday list
