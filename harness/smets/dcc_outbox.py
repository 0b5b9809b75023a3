"""The DCC's asynchronous channel to its Users: device responses wait here until delivered, then the User collects.

The DCC's test system answers a device Service Request synchronously with an I99 acknowledgement ("accepted and
has passed access control", domain.md §1.12) and delivers the device's response later, asynchronously, by POSTing
the DUIS Response to the User's configured receive-response address, which answers 204 (SmartDCCInnovation
dccboxed-nodered-nodes: README "dccboxed-send ... output any synchronous responses (i.e. ... an acknowledgement or
result of a non-device request)", "dccboxed-receive - Asynchronously receive DUIS responses", src/dccboxed-config.ts).

In the emulation that address is one in-process outbox per User (by User ID): a response is collectable from its
`answered_at` on the virtual clock, in the order the DCC produced them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from harness.smets.clock import Clock
from harness.smets.duis import RequestId, Response
from harness.smets.identities import Eui64

__all__ = ["UserOutbox"]


class UserOutbox:
    """Per-User queues of asynchronous DUIS responses; `collect` takes the ones already delivered."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._boxes: dict[Eui64, list[Response]] = {}
        self.listeners: list[Callable[[Eui64, Response], None]] = []  # e.g. evidence: told on each delivery

    def post(self, user: Eui64, response: Response) -> None:
        """Deliver `response` to `user` (the DCC calls this at the response's delivery time)."""
        self._boxes.setdefault(user, []).append(response)
        for listener in list(self.listeners):
            listener(user, response)

    def collect(self, user: Eui64, request_id: RequestId | None = None) -> list[Response]:
        """Take (remove and return) the responses delivered to `user` so far, oldest first; only those for
        `request_id` if given."""
        box = self._boxes.get(user, [])
        now = self._clock.now()
        taken = [r for r in box if r.answered_at <= now and (request_id is None or r.request_id == request_id)]
        self._boxes[user] = [r for r in box if r not in taken]
        return taken

    def waiting(self, user: Eui64 | None = None) -> list[Response]:
        """Delivered but not yet collected (all Users if `user` is None)."""
        boxes = [self._boxes.get(user, [])] if user is not None else list(self._boxes.values())
        return [r for box in boxes for r in box]

    def last_delivery(self, user: Eui64) -> datetime | None:
        box = self._boxes.get(user, [])
        return box[-1].answered_at if box else None
