"""Time for the domain model: an injected clock, never the wall clock.

A 90-day DCC target or a 5-working-day hand-over then runs in microseconds: tests call `advance(days=90)`.
Scheduled callbacks (join windows closing, a Service Management request resolving) fire in time order as the
clock passes their due time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, so working-day tests read naturally


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(order=True)
class _Timer:
    due: datetime
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerHandle:
    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def due(self) -> datetime:
        return self._timer.due

    def cancel(self) -> None:
        self._timer.cancelled = True


class VirtualClock:
    """A clock that moves only when told to. Times are timezone-aware UTC."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock start must be timezone-aware")
        self._now = start
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def call_at(self, due: datetime, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(due, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return TimerHandle(timer)

    def call_later(self, delay: timedelta, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self._now + delay, callback)

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move forward, firing due timers in order with the clock set to each timer's due time."""
        delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if delta < timedelta(0):
            raise ValueError(f"cannot move a clock backwards (asked for {delta})")
        return self.advance_to(self._now + delta)

    def advance_to(self, target: datetime) -> datetime:
        if target < self._now:
            raise ValueError(f"cannot move a clock backwards from {self._now} to {target}")
        while self._timers and self._timers[0].due <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.due)
            timer.callback()
        self._now = target
        return self._now
