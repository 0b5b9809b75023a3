"""The SM WAN between the DCC and each Communications Hub, behind a narrow Protocol.

`EmulatedWan` is the in-process link used in CI and domain tests: per-CH up/down with cut()/restore(), every change
recorded with its virtual time. A bench can back `WanLink` with a real WAN driver (a hub's cellular/radio link
switched by a power or RF relay) without the DCC noticing. Install-and-leave (domain.md §2.2) is a hub attached with
the link down; WAN restoration after N days is `restore()` after `clock.advance(days=N)`.

While a CH's link is down its alerts cannot reach the DCC: they wait in the WAN and are delivered in order on
restore [U: model; GBCS alert retention on the CH was not researched].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from harness.errors import LinkError
from harness.smets.clock import Clock
from harness.smets.duis.responses import DeviceLogRead, DeviceResult
from harness.smets.hub import ChfAlert, CommsHub, HubCommand
from harness.smets.identities import Eui64

__all__ = ["WanLink", "EmulatedWan", "WanEvent", "WanDown"]

StateListener = Callable[[Eui64, bool, datetime], None]
AlertListener = Callable[[ChfAlert], None]


class WanDown(LinkError):
    """The SM WAN to this CH is down: the command was not delivered."""


@runtime_checkable
class WanLink(Protocol):
    """What the DCC needs from the SM WAN."""

    def hubs(self) -> list[Eui64]: ...

    def is_up(self, chf: Eui64) -> bool: ...

    def deliver(self, chf: Eui64, command: HubCommand) -> DeviceResult | DeviceLogRead:
        """Carry one command to the CH and return its answer; raise WanDown if the link is down."""
        ...

    def add_state_listener(self, listener: StateListener) -> None: ...

    def add_alert_listener(self, listener: AlertListener) -> None: ...


@dataclass(frozen=True)
class WanEvent:
    at: datetime
    chf: Eui64
    kind: str  # "attached-up", "attached-down", "cut", "restored", "delivered", "refused", "alert", "alert-held"
    detail: str = ""


class EmulatedWan:
    """In-process SM WAN: a link per CH, cut and restored by the test, every event timestamped."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hubs: dict[Eui64, CommsHub] = {}
        self._up: dict[Eui64, bool] = {}
        self._held_alerts: dict[Eui64, list[ChfAlert]] = {}
        self._state_listeners: list[StateListener] = []
        self._alert_listeners: list[AlertListener] = []
        self.events: list[WanEvent] = []

    def attach(self, hub: CommsHub, *, up: bool = True) -> None:
        """Connect a CH; `up=False` is an install-and-leave site with no SM WAN yet."""
        if hub.chf in self._hubs:
            raise LinkError(f"CH {hub.chf.dcc} is already attached to the WAN")
        self._hubs[hub.chf] = hub
        self._up[hub.chf] = up
        self._held_alerts[hub.chf] = []
        hub.alert_observers.append(self._on_hub_alert)
        self._record(hub.chf, "attached-up" if up else "attached-down")
        self._notify_state(hub.chf, up)

    def hub(self, chf: Eui64) -> CommsHub:
        try:
            return self._hubs[chf]
        except KeyError:
            raise LinkError(f"no CH {chf.dcc} attached to the WAN") from None

    def hubs(self) -> list[Eui64]:
        return list(self._hubs)

    def is_up(self, chf: Eui64) -> bool:
        return self._up.get(chf, False)

    def cut(self, chf: Eui64 | None = None) -> None:
        for c in self._select(chf):
            if self._up[c]:
                self._up[c] = False
                self._record(c, "cut")
                self._notify_state(c, False)

    def restore(self, chf: Eui64 | None = None) -> None:
        for c in self._select(chf):
            if not self._up[c]:
                self._up[c] = True
                self._record(c, "restored")
                held, self._held_alerts[c] = self._held_alerts[c], []
                for alert in held:
                    self._forward(alert)
                self._notify_state(c, True)

    def deliver(self, chf: Eui64, command: HubCommand) -> DeviceResult | DeviceLogRead:
        hub = self.hub(chf)
        if not self._up[chf]:
            self._record(chf, "refused", f"{command.srv} {command.request_id}")
            raise WanDown(f"SM WAN to CH {chf.dcc} is down: {command.srv} {command.request_id} not delivered")
        self._record(chf, "delivered", f"{command.srv} {command.use_case} {command.request_id}")
        return hub.handle(command)

    def add_state_listener(self, listener: StateListener) -> None:
        self._state_listeners.append(listener)

    def add_alert_listener(self, listener: AlertListener) -> None:
        self._alert_listeners.append(listener)

    # -- internals --------------------------------------------------------------------------------------------
    def _select(self, chf: Eui64 | None) -> list[Eui64]:
        if chf is None:
            return list(self._hubs)
        self.hub(chf)
        return [chf]

    def _on_hub_alert(self, alert: ChfAlert) -> None:
        if self._up.get(alert.chf, False):
            self._forward(alert)
        else:
            self._held_alerts[alert.chf].append(alert)
            self._record(alert.chf, "alert-held", f"0x{alert.code:04X}")

    def _forward(self, alert: ChfAlert) -> None:
        self._record(alert.chf, "alert", f"0x{alert.code:04X} {alert.cause.value}")
        for listener in list(self._alert_listeners):
            listener(alert)

    def _notify_state(self, chf: Eui64, up: bool) -> None:
        for listener in list(self._state_listeners):
            listener(chf, up, self._clock.now())

    def _record(self, chf: Eui64, kind: str, detail: str = "") -> None:
        self.events.append(WanEvent(self._clock.now(), chf, kind, detail))
