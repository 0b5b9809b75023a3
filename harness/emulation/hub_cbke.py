"""The emulated Comms Hub's Key Establishment server (CBKE responder, suite 2) on the simulated medium.

Topology 2: the hub is the device under test, so its KE server is part of the emulated hub, not of the harness's
stick (harness/drivers/cbke_server.py is the harness-as-hub server, through a coordinator stick's EZSP commands).
The state machine is harness.zigbee.key_establishment.KeResponder, the crypto an in-process CbkeEngine holding the
hub's own suite-2 credentials (certificate from the bench's test CA, subject = the hub's EUI-64). The private key
never leaves the engine.

    joiner's Device_annce -> EmulatedCommsHub calls establish(hub, eui64, nwk, link_key)
    the joiner (KE client) sends Initiate KE to the hub's SE endpoint -> receive() -> KeResponder ...
    outcome: success -> KeyData (the new TC link key) returned; failure -> None, the reason in `outcomes`

Frames that arrive before establish() (the joiner may initiate as soon as it is up) start the exchange; establish()
then waits for it. A partner that never initiates, or stalls, ends the exchange after `timeout` seconds (the
rig's cbke timeout) or the state machine's own timeouts (partner's advertised times + 10 s, docs/cbke.md).
KE frames leave with NWK security only (vectors.md §4.4), from the hub's SE endpoint to the sender's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zigpy.types import EUI64

from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import Certificate, DeviceCredentials, parse_certificate
from harness.zigbee.cbke.engine import CbkeEngine

if TYPE_CHECKING:
    from harness.emulation.comms_hub import EmulatedCommsHub

__all__ = ["HubKeyEstablishment", "HubCbkeResult", "DEFAULT_CBKE_TIMEOUT"]

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
DEFAULT_CBKE_TIMEOUT = 60.0  # seconds from the Device_annce to the end of the exchange (rig timeouts.cbke)


@dataclass
class HubCbkeResult:
    """One joiner's key establishment with the hub."""

    eui64: EUI64
    outcome: ke.KeOutcome
    link_key: bytes | None = field(default=None, repr=False)  # a secret

    @property
    def certificate(self) -> Certificate | None:
        return self.outcome.partner_certificate


@dataclass
class _Exchange:
    eui64: EUI64
    session: ke.KeResponder
    crypto: ke.EngineCrypto
    result: asyncio.Future[HubCbkeResult]
    src_ep: int = 1
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watch: asyncio.Task[None] | None = None


class HubKeyEstablishment:
    """comms_hub.KeyEstablishmentServer: a KE responder per joiner, with the hub's own suite-2 credentials."""

    def __init__(self, credentials: DeviceCredentials, *, endpoint: int = 1, timeout: float = DEFAULT_CBKE_TIMEOUT,
                 config: ke.KeConfig | None = None, unix_time: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.endpoint = endpoint
        self.timeout = timeout
        self.config = config or ke.KeConfig()
        self.unix_time = unix_time
        self.results: dict[EUI64, list[HubCbkeResult]] = {}
        self.on_result: list[Callable[[HubCbkeResult], None]] = []
        self._exchanges: dict[int, _Exchange] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # the credentials hold a private key
        return f"HubKeyEstablishment(subject={self.certificate.subject_hex}, issuer={self.certificate.issuer_hex})"

    @property
    def certificate(self) -> Certificate:
        return parse_certificate(self.credentials.certificate)

    def last_result(self, eui64: EUI64) -> HubCbkeResult | None:
        done = self.results.get(EUI64(eui64), [])
        return done[-1] if done else None

    # -- KeyEstablishmentServer ----------------------------------------------------------------------------

    async def establish(self, hub: EmulatedCommsHub, eui64: EUI64, nwk: int, link_key: bytes) -> bytes | None:
        exchange = self._exchange(hub, EUI64(eui64), nwk)
        try:
            result = await asyncio.wait_for(asyncio.shield(exchange.result), self.timeout)
        except asyncio.TimeoutError:
            result = self._finish(nwk, exchange, ke.KeOutcome(
                False, f"no Key Establishment completed within {self.timeout:g} s of the Device_annce "
                       f"({exchange.session.state.value})", timed_out=True,
                started=exchange.session._started or hub.loop_time, finished=hub.loop_time))
        return result.link_key if result.outcome.success else None

    def receive(self, hub: EmulatedCommsHub, eui64: EUI64, nwk: int, src_ep: int, payload: bytes) -> None:
        """A KE frame from a child of the hub (NWK-secured; the hub checked it is one of its children)."""
        exchange = self._exchange(hub, EUI64(eui64), nwk)
        exchange.src_ep = src_ep
        task = asyncio.get_running_loop().create_task(self._receive(nwk, exchange, bytes(payload)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the exchange --------------------------------------------------------------------------------------

    def _exchange(self, hub: EmulatedCommsHub, eui64: EUI64, nwk: int) -> _Exchange:
        existing = self._exchanges.get(nwk)
        if existing is not None and existing.eui64 == eui64 and not existing.result.done():
            return existing
        loop = asyncio.get_running_loop()
        crypto = ke.EngineCrypto(CbkeEngine(self.credentials))
        exchange: _Exchange

        async def send(frame: ke.KeFrame) -> None:
            hub.send_aps_data(nwk, profile_id=SE_PROFILE, cluster_id=ke.CLUSTER_ID, src_ep=self.endpoint,
                              dst_ep=exchange.src_ep, payload=ke.encode_frame(frame))

        session = ke.KeResponder(crypto, bytes(hub.eui64)[::-1], send, loop.time, self.unix_time,
                                 partner_eui64=bytes(eui64)[::-1], config=self.config)
        exchange = _Exchange(eui64, session, crypto, loop.create_future())
        self._exchanges[nwk] = exchange
        return exchange

    async def _receive(self, nwk: int, exchange: _Exchange, payload: bytes) -> None:
        async with exchange.lock:  # one frame at a time: the machine awaits its crypto between frames
            if exchange.result.done():
                return
            outcome = await exchange.session.receive(payload)
            if outcome is not None:
                self._finish(nwk, exchange, outcome)
            else:
                self._arm(nwk, exchange)

    def _arm(self, nwk: int, exchange: _Exchange) -> None:
        if exchange.watch is not None and not exchange.watch.done():
            return
        session = exchange.session
        loop = asyncio.get_running_loop()

        async def watch() -> None:
            while not session.done and session.deadline is not None:
                await asyncio.sleep(max(0.0, session.deadline - loop.time()) + 0.001)
                async with exchange.lock:
                    outcome = await session.check_timeout()
                if outcome is not None and not exchange.result.done():
                    self._finish(nwk, exchange, outcome)

        exchange.watch = loop.create_task(watch())

    def _finish(self, nwk: int, exchange: _Exchange, outcome: ke.KeOutcome) -> HubCbkeResult:
        if exchange.result.done():
            return exchange.result.result()
        key = None
        if outcome.success and exchange.crypto.stored is not None:
            key = exchange.crypto.stored[1]
        result = HubCbkeResult(exchange.eui64, outcome, key)
        exchange.result.set_result(result)
        if exchange.watch is not None and exchange.watch is not asyncio.current_task():
            exchange.watch.cancel()
        if self._exchanges.get(nwk) is exchange:
            del self._exchanges[nwk]
        self.results.setdefault(exchange.eui64, []).append(result)
        LOGGER.debug("hub CBKE with %s: %s", exchange.eui64, outcome.reason)
        for observer in list(self.on_result):
            observer(result)
        return result

    async def close(self) -> None:
        for exchange in list(self._exchanges.values()):
            if exchange.watch is not None:
                exchange.watch.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
