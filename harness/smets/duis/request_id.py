"""DUIS RequestID (`originator EUI : target EUI : counter`) and the DCC's anti-replay guard.

Shape from the RTDS templates ([DT], domain.md §1.2 [V]): `90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002`.
Counter range 0 < counter < 2^64 from DUGIS v0.8 (domain.md §11, secondary). The counter must strictly increase per
originator: the DCC refuses a replayed or non-increasing counter (domain.md §10.20/§10.23; the DUIS response code
for that refusal was not found [U], so the guard raises `ReplayRefused`).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import InputError, SrvRejected
from harness.smets.identities import Eui64

__all__ = ["RequestId", "AntiReplay", "ReplayRefused", "COUNTER_LIMIT"]

COUNTER_LIMIT = 1 << 64


@dataclass(frozen=True, order=True)
class RequestId:
    originator: Eui64
    target: Eui64
    counter: int

    def __post_init__(self) -> None:
        if not isinstance(self.counter, int) or not 0 < self.counter < COUNTER_LIMIT:
            raise InputError(f"counter must be > 0 and < 2^64, got {self.counter!r}", where="RequestID")

    @classmethod
    def parse(cls, text: str, *, where: str = "RequestID") -> RequestId:
        parts = text.strip().split(":") if isinstance(text, str) else []
        if len(parts) != 3:
            raise InputError(
                f"{text!r} is not originator:target:counter "
                "(e.g. 90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002)",
                where=where,
            )
        originator = Eui64.parse(parts[0], where=f"{where} originator")
        target = Eui64.parse(parts[1], where=f"{where} target")
        raw = parts[2]
        if not raw.isascii() or not raw.lstrip("-").isdigit():
            raise InputError(f"counter {raw!r} is not a whole number", where=where)
        counter = int(raw)
        if counter <= 0:
            raise InputError(f"counter must be > 0, got {counter}", where=where)
        if counter >= COUNTER_LIMIT:
            raise InputError(f"counter must be < 2^64, got {counter}", where=where)
        return cls(originator, target, counter)

    def __str__(self) -> str:
        # DUIS prints the EUIs in the dashed upper-case form and the counter in decimal.
        return f"{self.originator.dcc}:{self.target.dcc}:{self.counter}"


class ReplayRefused(SrvRejected):
    """A RequestID whose counter is not greater than every counter already accepted from its originator."""


class AntiReplay:
    """Per-originator high-water mark: a request is accepted only if its counter beats every earlier one."""

    def __init__(self) -> None:
        self._highest: dict[Eui64, int] = {}

    def highest(self, originator: Eui64) -> int | None:
        return self._highest.get(originator)

    def would_accept(self, request_id: RequestId) -> bool:
        last = self._highest.get(request_id.originator)
        return last is None or request_id.counter > last

    def accept(self, request_id: RequestId) -> None:
        """Record the counter, or raise ReplayRefused (nothing is recorded then)."""
        last = self._highest.get(request_id.originator)
        if last is not None and request_id.counter <= last:
            raise ReplayRefused(
                f"RequestID {request_id}: counter {request_id.counter} is not greater than {last}, the highest "
                f"already accepted from originator {request_id.originator.dcc} (replay refused)"
            )
        self._highest[request_id.originator] = request_id.counter
