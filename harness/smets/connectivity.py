"""CH install dates and the CSP first-time SM WAN connectivity measure.

* The "CH First Time Installed Date" is the date the DCC receives 8.14.1 or 8.14.2 (domain.md §1.9 [V], [PM] p.26).
* PM1.2 "First time SM WAN connectivity within 90 days", counted from that date (domain.md §2.2 item 3, §9.4 [V],
  [PM] p.27). The measure here: the first instant at or after the install date when the CH's WAN link was up, minus
  the install date; met if within the target (default 90 days), breached once the target passed without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from harness.smets.identities import Eui64

__all__ = ["ChState", "ConnectivityMeasure", "WanHistory", "FIRST_CONNECTIVITY_TARGET"]

FIRST_CONNECTIVITY_TARGET = timedelta(days=90)  # [PM] p.27 / [MP121]


class ChState(StrEnum):
    """CH lifecycle as 8.14.x reports it (domain.md §9.2 proposed; exact CH status names [U])."""

    PENDING = "Pending"
    INSTALLED_WAN = "Installed (SM WAN)"  # 8.14.1
    INSTALLED_NO_WAN = "Installed (no SM WAN)"  # 8.14.2
    FAULT_RETURN = "Fault return"  # 8.14.3
    NO_FAULT_RETURN = "No fault return"  # 8.14.4


@dataclass(frozen=True)
class ConnectivityMeasure:
    chf: Eui64
    installed_at: datetime
    connected_at: datetime | None
    target: timedelta
    evaluated_at: datetime

    @property
    def elapsed(self) -> timedelta | None:
        return None if self.connected_at is None else self.connected_at - self.installed_at

    @property
    def met(self) -> bool | None:
        """True: connected within the target; False: breached; None: still inside the target, not connected."""
        if self.connected_at is not None:
            return self.connected_at - self.installed_at <= self.target
        if self.evaluated_at - self.installed_at > self.target:
            return False
        return None


class WanHistory:
    """Up-intervals of one CH's WAN link, from the link's state events."""

    def __init__(self) -> None:
        self.intervals: list[list[datetime | None]] = []  # [up_at, down_at or None]

    def up(self, at: datetime) -> None:
        if not self.intervals or self.intervals[-1][1] is not None:
            self.intervals.append([at, None])

    def down(self, at: datetime) -> None:
        if self.intervals and self.intervals[-1][1] is None:
            self.intervals[-1][1] = at

    def first_up_since(self, since: datetime) -> datetime | None:
        for up_at, down_at in self.intervals:
            assert up_at is not None
            if down_at is None or down_at > since:
                return max(up_at, since)
        return None
