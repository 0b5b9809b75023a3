"""Harness as hub: the CHF Device Log drives the HAN coordinator.

* An entry added (SRV 8.11 Add -> CCS01) installs the link key the CHF accepts for that device now (from the
  install code with the rig's CRC mode, or the historic key in the first half of a re-add's window) and opens
  joining for that device only; a real device's operator is asked to press its join button.
* A join observed on the coordinator fills the entry's hashed TC link key; the hub then raises 0x8F12 and the DCC
  moves the SMI status.
* An entry removed (CCS02) revokes the key and asks the device to leave.
* The join window is the CHF's (JoinTimePeriod, on the virtual clock): the coordinator is permitted for what is left
  of it (at most 254 s, EZSP's longest finite permit), and when the window closes on the virtual clock with the
  device still not joined, the key is revoked, so a late device is refused on the air as a real CH would.

The hashed TC link key a real CH reports comes from the key it holds after CBKE. When the coordinator runs CBKE
(harness/drivers/cbke_server.py), the join is complete only once key establishment succeeded, and the hash is
AES-MMO of the key CBKE produced; a meter that fails CBKE (e.g. a certificate from an unknown issuer) is not recorded
as joined. Without CBKE (a real stick holding no suite-2 data) the hash is AES-MMO of the install-code link key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from zigpy.types import EUI64

from harness.drivers.base import Coordinator, JoinedDevice
from harness.errors import SecurityError
from harness.evidence.bundle import EvidenceBundle
from harness.smets.clock import VirtualClock
from harness.smets.hub import CommsHub, DeviceLogChange, LogChangeKind
from harness.smets.identities import Eui64
from harness.zigbee.security import aes_mmo_hash

MAX_PERMIT_SECONDS = 254  # permitJoining takes 1..254 s; 255 means "until closed", which a bench never wants


def hashed_tc_link_key(link_key: bytes) -> bytes:
    return aes_mmo_hash(link_key)


@dataclass
class Permit:
    eui64: Eui64
    link_key: bytes = field(repr=False)  # a secret
    permitted_at: float  # wall clock (time.monotonic)


class HanLink:
    def __init__(self, hub: CommsHub, coordinator: Coordinator, evidence: EvidenceBundle, clock: VirtualClock, *,
                 on_permit: Callable[[Eui64], Awaitable[None]] | None = None,
                 cbke_timeout: float | None = None) -> None:
        self.hub = hub
        self.cbke_timeout = cbke_timeout  # the rig's timeouts.cbke; None: the join's own timeout
        self.coordinator = coordinator
        self.evidence = evidence
        self.clock = clock
        self.permits: dict[Eui64, Permit] = {}
        self._on_permit = on_permit
        self._tasks: list[asyncio.Task[None]] = []
        self._failures: list[BaseException] = []
        hub.log_observers.append(self._on_log_change)

    # -- hub -> coordinator --------------------------------------------------------------------------------
    def _on_log_change(self, change: DeviceLogChange) -> None:
        if change.kind is LogChangeKind.ADDED:
            keys = self.hub.device_log.accepted_link_keys(change.device)
            closes = change.join_window_closes
            if keys and closes is not None:
                remaining = (closes - self.clock.now()).total_seconds()
                seconds = int(min(MAX_PERMIT_SECONDS, max(1, remaining)))
                # Recorded now, not when the task runs, so a window that closes first revokes what was granted.
                self.permits[change.device] = Permit(change.device, keys[0], time.monotonic())
                self._spawn(self._permit(change.device, seconds))
                self.clock.call_at(closes, lambda: self._window_closed(change.device))
        elif change.kind is LogChangeKind.REMOVED:
            self._spawn(self._revoke(change.device))

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except BaseException as exc:  # surfaced by settle(), so a scenario fails with the real cause
                self._failures.append(exc)

        self._tasks.append(asyncio.get_running_loop().create_task(guarded()))

    async def _permit(self, eui: Eui64, seconds: int) -> None:
        permit = self.permits[eui]
        await self.coordinator.permit_install_code(eui.to_zigpy(), permit.link_key, seconds)
        permit.permitted_at = time.monotonic()
        self.evidence.timeline.record("han.permit", device=eui.dcc, seconds=seconds, link_key=permit.link_key)
        if self._on_permit is not None:
            await self._on_permit(eui)

    def _window_closed(self, eui: Eui64) -> None:
        entry = self.hub.device_log.get(eui)
        if eui in self.permits and (entry is None or not entry.joined):
            self._spawn(self._revoke(eui, leave=False, why="join window closed"))

    async def _revoke(self, eui: Eui64, *, leave: bool = True, why: str = "removed from the CHF Device Log") -> None:
        self.permits.pop(eui, None)
        await self.coordinator.revoke(eui.to_zigpy())
        if leave:
            await self.coordinator.remove(eui.to_zigpy())
        self.evidence.timeline.record("han.revoke", device=eui.dcc, reason=why)

    async def settle(self) -> None:
        """Wait for every coordinator action the hub has asked for; re-raise the first failure."""
        while self._tasks:
            tasks, self._tasks = self._tasks, []
            await asyncio.gather(*tasks)
        if self._failures:
            failure, self._failures = self._failures[0], []
            raise failure

    # -- coordinator -> hub --------------------------------------------------------------------------------
    async def _key_establishment(self, eui: Eui64, timeout: float) -> bytes:
        """Wait for the meter's CBKE; the key it produced, or SecurityError naming why (and the issuer)."""
        result = await self.coordinator.wait_key_established(EUI64(eui.to_zigpy()), timeout)  # type: ignore[attr-defined]
        outcome, cert = result.outcome, result.certificate
        self.evidence.timeline.record(
            "han.cbke", device=eui.dcc, suite=2, success=outcome.success, reason=outcome.reason,
            status=outcome.status.name if outcome.status is not None else None,
            issuer=cert.issuer_hex if cert else None, subject=cert.subject_hex if cert else None,
            duration_s=round(outcome.duration, 3))
        if not outcome.success:
            raise SecurityError(f"{eui.dcc} joined but failed CBKE, so the CHF does not record the join: "
                                f"{outcome.reason}")
        self.evidence.record.measure(f"cbke_duration.{eui.dcc}", outcome.duration, "s")
        if result.link_key is None:
            raise SecurityError(f"{eui.dcc} completed CBKE but the stick's key table has no link key for it")
        return result.link_key

    async def wait_for_join(self, eui: Eui64, timeout: float) -> JoinedDevice:
        """Wait until the coordinator has admitted and interviewed the device; then the CHF records the join."""
        await self.settle()
        joined = await self.coordinator.wait_joined(EUI64(eui.to_zigpy()), timeout)
        permit = self.permits.get(eui)
        if permit is None:  # no key the CHF accepts: recording a join would invent its hash
            raise SecurityError(f"{eui.dcc} is on the HAN although the CHF Device Log holds no open permit for it "
                                "(never added, removed, or its join window closed)")
        link_key = permit.link_key
        if getattr(self.coordinator, "cbke", None) is not None:
            link_key = await self._key_establishment(eui, self.cbke_timeout if self.cbke_timeout else timeout)
        latency = time.monotonic() - permit.permitted_at
        self.hub.device_joined(eui, hashed_tc_link_key(link_key), link_key=link_key)
        self.evidence.timeline.record("han.join", device=eui.dcc, nwk=f"0x{joined.nwk:04X}",
                                      endpoints=list(joined.endpoints), latency_s=round(latency, 3))
        self.evidence.record.measure(f"join_latency.{eui.dcc}", latency, "s")
        return joined
