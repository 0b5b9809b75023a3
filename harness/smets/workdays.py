"""Working days, for deadlines such as MP121's "reply within 5 Working Days" (domain.md §2.3, [MP121]).

Definition used: a Working Day is a day that is not a Saturday, a Sunday or a bank holiday in England and Wales.
MP121 gives the 5-Working-Day obligation but no definition of its own; this reading follows the SEC's defined term
(SEC Section A "Working Day": not a weekend day, Christmas Day, Good Friday or a bank holiday) — the SEC text is not
in research/, so treat the exact wording as [U]. Christmas Day and Good Friday are in the holiday list anyway.
The holiday set is a parameter, so a lab can supply Scotland's or Northern Ireland's.

Dates are taken from the datetime as given (the harness clock runs in UTC; around midnight UK local time may be a
day later in summer, an hour's difference that this model ignores).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Final

from harness.errors import InputError

__all__ = [
    "ENGLAND_AND_WALES_BANK_HOLIDAYS",
    "is_working_day",
    "next_working_day",
    "add_working_days",
    "working_days_between",
]

# England and Wales bank holidays, from https://www.gov.uk/bank-holidays (its JSON feed
# https://www.gov.uk/bank-holidays.json, division "england-and-wales"). 2025-2027 as published there.
# 2028 is not yet published on gov.uk at the time of writing: those dates follow the usual rules (Banking and
# Financial Dealings Act 1971 schedule, Easter from the calendar, substitute Monday/Tuesday when a holiday falls at
# a weekend) and should be checked when gov.uk lists them.
ENGLAND_AND_WALES_BANK_HOLIDAYS: Final[frozenset[date]] = frozenset(
    date.fromisoformat(d)
    for d in (
        # 2025
        "2025-01-01",  # New Year's Day
        "2025-04-18",  # Good Friday
        "2025-04-21",  # Easter Monday
        "2025-05-05",  # Early May bank holiday
        "2025-05-26",  # Spring bank holiday
        "2025-08-25",  # Summer bank holiday
        "2025-12-25",  # Christmas Day
        "2025-12-26",  # Boxing Day
        # 2026
        "2026-01-01",  # New Year's Day
        "2026-04-03",  # Good Friday
        "2026-04-06",  # Easter Monday
        "2026-05-04",  # Early May bank holiday
        "2026-05-25",  # Spring bank holiday
        "2026-08-31",  # Summer bank holiday
        "2026-12-25",  # Christmas Day
        "2026-12-28",  # Boxing Day (substitute day: 26 Dec is a Saturday)
        # 2027
        "2027-01-01",  # New Year's Day
        "2027-03-26",  # Good Friday
        "2027-03-29",  # Easter Monday
        "2027-05-03",  # Early May bank holiday
        "2027-05-31",  # Spring bank holiday
        "2027-08-30",  # Summer bank holiday
        "2027-12-27",  # Christmas Day (substitute day: 25 Dec is a Saturday)
        "2027-12-28",  # Boxing Day (substitute day: 26 Dec is a Sunday)
        # 2028 (computed by the usual rules; not yet published by gov.uk)
        "2028-01-03",  # New Year's Day (substitute day: 1 Jan is a Saturday)
        "2028-04-14",  # Good Friday
        "2028-04-17",  # Easter Monday
        "2028-05-01",  # Early May bank holiday
        "2028-05-29",  # Spring bank holiday
        "2028-08-28",  # Summer bank holiday
        "2028-12-25",  # Christmas Day
        "2028-12-26",  # Boxing Day
    )
)
COVERED_YEARS: Final = range(2025, 2029)


def _check_year(d: date, holidays: Collection[date]) -> None:
    if holidays is ENGLAND_AND_WALES_BANK_HOLIDAYS and d.year not in COVERED_YEARS:
        raise InputError(
            f"date {d.isoformat()} is outside the bank-holiday data (England and Wales "
            f"{COVERED_YEARS.start}-{COVERED_YEARS.stop - 1}); pass holidays= for other years"
        )


def is_working_day(d: date, holidays: Collection[date] = ENGLAND_AND_WALES_BANK_HOLIDAYS) -> bool:
    """Not a Saturday, Sunday or (England and Wales) bank holiday."""
    if isinstance(d, datetime):
        d = d.date()
    _check_year(d, holidays)
    return d.weekday() < 5 and d not in holidays


def next_working_day(d: date, holidays: Collection[date] = ENGLAND_AND_WALES_BANK_HOLIDAYS) -> date:
    """The first working day strictly after `d`."""
    d = d + timedelta(days=1)
    while not is_working_day(d, holidays):
        d += timedelta(days=1)
    return d


def add_working_days(
    start: datetime, n: int, holidays: Collection[date] = ENGLAND_AND_WALES_BANK_HOLIDAYS
) -> datetime:
    """`start` moved forward by `n` working days, keeping its time of day.

    Convention: the day of receipt is day 0 and counting starts the next working day, so a request made on
    Monday 09:00 with n = 5 is due the following Monday 09:00 (with no bank holiday in between). A request
    received on a non-working day is treated as received at 00:00 on the next working day: a Saturday request
    is due, for n = 5, at 00:00 on the 5th working day after that Monday. n = 0 gives `start` itself, rolled
    forward to the next working day's 00:00 if it falls on a non-working day.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InputError(f"working-day count {n!r} is not a non-negative integer")
    current = start
    if not is_working_day(start.date(), holidays):
        current = datetime.combine(next_working_day(start.date(), holidays), time(0), tzinfo=start.tzinfo)
    day = current.date()
    for _ in range(n):
        day = next_working_day(day, holidays)
    return datetime.combine(day, current.timetz())


def working_days_between(
    start: date, end: date, holidays: Collection[date] = ENGLAND_AND_WALES_BANK_HOLIDAYS
) -> int:
    """Working days d with start < d <= end (0 if end <= start)."""
    count = 0
    d = start
    while d < end:
        d += timedelta(days=1)
        if is_working_day(d, holidays):
            count += 1
    return count
