"""Harness as hub: the Key Establishment server (responder) a Comms Hub runs for each meter that joins.

The crypto is the stick's, through the EZSP suite-2 commands (getCertificate283k1, generateCbkeKeys283k1 and its
handler, calculateSmacs283k1 and its handler, clearTemporaryDataMaybeStoreLinkKey283k1), so the same code runs on
the emulated NCP and on a real SE-capable stick: the hub's private key never reaches the host. The state machine is
harness.zigbee.key_establishment.KeResponder. KE frames for the coordinator's SE endpoint are taken from bellows'
packet stream before zigpy sees them, and answered with NWK security only, from the SE endpoint.

An NCP holds one set of CBKE temporary data, so exchanges run one at a time: a meter that initiates while another
exchange is running waits its turn (EmberZNet instead answers Terminate NO_RESOURCES with a 30 s back-off, which
real meters retry; queueing keeps a bench deterministic, docs/cbke.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bellows.types as bt
import zigpy.types as zt

from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import Certificate, CertificateError, parse_certificate
from harness.zigbee.cbke.engine import CbkeCryptoError, Smacs

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
CALLBACK_TIMEOUT = 30.0  # a real stick's ECC engine takes seconds; the emulated one answers at once


def _ok(status: Any) -> bool:
    return bt.sl_Status.from_ember_status(status) == bt.sl_Status.OK


class EzspCbkeCrypto:
    """KeCrypto over a bellows EZSP object (a real stick or the emulated NCP)."""

    def __init__(self, ezsp: Any, *, timeout: float = CALLBACK_TIMEOUT) -> None:
        self.ezsp = ezsp
        self.timeout = timeout

    async def _with_callback(self, name: str, command: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_callback(frame_name: str, args: Any) -> None:
            if frame_name == name and not future.done():
                future.set_result(args)

        handle = self.ezsp.add_callback(on_callback)
        try:
            (status,) = await command
            if not _ok(status):
                raise CbkeCryptoError(f"{name.replace('Handler', '')}: NCP status {status!r}")
            return await asyncio.wait_for(future, self.timeout)
        finally:
            self.ezsp.remove_callback(handle)

    async def local_certificate(self) -> bytes:
        status, cert = await self.ezsp.getCertificate283k1()
        if not _ok(status):
            raise CbkeCryptoError(f"getCertificate283k1: NCP status {status!r} (no suite-2 CBKE data installed?)")
        return bytes(cert)

    async def generate_ephemeral(self) -> bytes:
        status, public = await self._with_callback("generateCbkeKeysHandler283k1", self.ezsp.generateCbkeKeys283k1())
        if not _ok(status):
            raise CbkeCryptoError(f"generateCbkeKeysHandler283k1: status {status!r}")
        return bytes(public)

    async def calculate_smacs(self, am_initiator: bool, partner_certificate: bytes, partner_ephemeral: bytes) -> Smacs:
        status, initiator, responder = await self._with_callback(
            "calculateSmacsHandler283k1",
            self.ezsp.calculateSmacs283k1(amInitiator=am_initiator,
                                          partnerCertificate=bt.EmberCertificate283k1Data(partner_certificate),
                                          partnerEphemeralPublicKey=bt.EmberPublicKey283k1Data(partner_ephemeral)))
        if not _ok(status):
            raise CbkeCryptoError(f"calculateSmacsHandler283k1: status {status!r}")
        return Smacs(bytes(initiator), bytes(responder))

    async def finish(self, store_link_key: bool) -> None:
        (status,) = await self.ezsp.clearTemporaryDataMaybeStoreLinkKey283k1(storeLinkKey=store_link_key)
        if not _ok(status):
            raise CbkeCryptoError(f"clearTemporaryDataMaybeStoreLinkKey283k1: NCP status {status!r}")


@dataclass(frozen=True)
class StickCbkeData:
    """What a stick holds for CBKE suite 2: whether it can run it, and who issued its certificate.

    Plain strings, so `rig check --json` and the evidence record can carry it as it is."""

    present: bool
    reason: str  # "suite-2 CBKE data installed", or why not
    issuer: str | None = None  # hex, as Wireshark prints it
    subject: str | None = None
    valid_from: int | None = None  # Unix time
    expires: int | None = None  # Unix time; None: no expiry (or no certificate)

    def summary(self) -> str:
        if not self.present:
            return self.reason
        until = "no expiry" if self.expires is None else f"expires {self.expires} (Unix time)"
        return (f"suite-2 (sect283k1) CBKE data installed: certificate issuer {self.issuer}, subject {self.subject}, "
                f"{until}")


async def read_stick_cbke(ezsp: Any) -> StickCbkeData:
    """Ask the stick for its suite-2 certificate (getCertificate283k1), never for its private key.

    A stock EmberZNet build without the ECC library answers LIBRARY_NOT_PRESENT; one with the library but no
    certificate in its manufacturing tokens answers an error status."""
    try:
        status, cert = await ezsp.getCertificate283k1()
    except Exception as exc:  # noqa: BLE001 - an NCP that does not know the command at all (old EZSP)
        return StickCbkeData(False, f"the NCP does not answer getCertificate283k1 ({type(exc).__name__}: {exc})")
    if bt.sl_Status.from_ember_status(status) == bt.sl_Status.OK:
        try:
            parsed = parse_certificate(bytes(cert))
        except CertificateError as exc:
            return StickCbkeData(False, f"the stick's suite-2 certificate does not parse: {exc}")
        return StickCbkeData(True, "suite-2 CBKE data installed", parsed.issuer_hex, parsed.subject_hex,
                             parsed.valid_from, parsed.expires)
    name = getattr(status, "name", str(status))
    if "LIBRARY_NOT_PRESENT" in name:
        return StickCbkeData(False, "no suite-2 CBKE: the NCP firmware has no ECC library (getCertificate283k1: "
                                    f"{name}); an SE build with the sect283k1 library is needed")
    return StickCbkeData(False, f"no suite-2 CBKE data installed (getCertificate283k1: {name}); a Smart Energy "
                                "certificate and key must be written to the stick's manufacturing tokens")


@dataclass
class CbkeResult:
    """What the hub learnt from one meter's key establishment."""

    eui64: zt.EUI64
    outcome: ke.KeOutcome
    link_key: bytes | None = field(default=None, repr=False)  # a secret: KeyData, read back from the key table

    @property
    def certificate(self) -> Certificate | None:
        return self.outcome.partner_certificate


class CbkeServer:
    """KE responder on the coordinator's SE endpoint, for every meter that initiates."""

    def __init__(self, app: Any, *, endpoint: int = 10, config: ke.KeConfig | None = None,
                 unix_time: Callable[[], float] = time.time) -> None:
        self.app = app
        self.endpoint = endpoint
        self.config = config or ke.KeConfig()
        self.unix_time = unix_time
        self.crypto = EzspCbkeCrypto(app._ezsp)
        self.results: dict[zt.EUI64, list[CbkeResult]] = {}
        self.local_certificate: Certificate | None = None
        self._sessions: dict[int, tuple[zt.EUI64, ke.KeResponder]] = {}
        self._busy = asyncio.Lock()
        self._waiters: dict[zt.EUI64, list[asyncio.Future[CbkeResult]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self._watches: dict[int, asyncio.Task[None]] = {}  # per partner: wakes at its session's deadline

    async def load_certificate(self) -> Certificate:
        self.local_certificate = parse_certificate(await self.crypto.local_certificate())
        return self.local_certificate

    # -- packets --------------------------------------------------------------------------------------------

    def tap(self, packet: zt.ZigbeePacket) -> bool:
        """bellows' packet stream, before zigpy: take Key Establishment frames for our SE endpoint."""
        if packet.cluster_id != ke.CLUSTER_ID or packet.profile_id != SE_PROFILE or packet.dst_ep != self.endpoint:
            return False
        if packet.src.addr_mode != zt.AddrMode.NWK or packet.dst.addr_mode != zt.AddrMode.NWK:
            return True  # broadcast KE frames are ignored (EmberZNet does the same)
        task = asyncio.get_running_loop().create_task(self._handle(int(packet.src.address), packet.src_ep,
                                                                   bytes(packet.data.serialize())))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _eui64_of(self, nwk: int) -> zt.EUI64 | None:
        for device in self.app.devices.values():
            if int(device.nwk) == nwk:
                return zt.EUI64(device.ieee)
        return None

    async def _handle(self, nwk: int, src_ep: int, data: bytes) -> None:
        # one frame at a time per partner: the state machine awaits the stick between frames
        lock = self._locks.setdefault(nwk, asyncio.Lock())
        async with lock:
            await self._handle_locked(nwk, src_ep, data)

    async def _handle_locked(self, nwk: int, src_ep: int, data: bytes) -> None:
        existing = self._sessions.get(nwk)
        if existing is None:
            eui64 = self._eui64_of(nwk)
            if eui64 is None:
                LOGGER.info("KE frame from unknown node 0x%04X ignored", nwk)
                return
            await self._busy.acquire()
            loop = asyncio.get_running_loop()

            async def send(frame: ke.KeFrame, nwk: int = nwk, src_ep: int = src_ep) -> None:
                await self._send(nwk, src_ep, frame)

            session = ke.KeResponder(self.crypto, bytes(self.app.state.node_info.ieee)[::-1], send, loop.time,
                                     self.unix_time, partner_eui64=bytes(eui64)[::-1], config=self.config)
            self._sessions[nwk] = (eui64, session)
            self._arm(nwk)
        else:
            eui64, session = existing
        try:
            outcome = await session.receive(data)
        except Exception:
            self._release(nwk)
            raise
        if outcome is not None:
            await self._finished(nwk, eui64, outcome)
        else:
            self._arm(nwk)

    def _arm(self, nwk: int) -> None:
        entry = self._sessions.get(nwk)
        if entry is None or entry[1].deadline is None:
            return
        watch = self._watches.get(nwk)
        if watch is not None and not watch.done():
            return  # it reads the session's deadline again each time it wakes
        eui64, session = entry
        loop = asyncio.get_running_loop()

        async def watch_deadline() -> None:
            while not session.done and session.deadline is not None:
                await asyncio.sleep(max(0.0, session.deadline - loop.time()) + 0.001)
                outcome = await session.check_timeout()
                if outcome is not None and self._sessions.get(nwk, (None, None))[1] is session:
                    await self._finished(nwk, eui64, outcome)

        self._watches[nwk] = loop.create_task(watch_deadline())

    def _release(self, nwk: int) -> None:
        entry = self._sessions.pop(nwk, None)
        watch = self._watches.pop(nwk, None)
        # A finished session's watch would sleep on to the session's last deadline (the partner's confirm time plus
        # 10 s) and keep this server, and with it the whole zigpy application, alive until then: in a fleet, 15 s of
        # finished premises held in memory per worker, five times those in flight (docs/performance.md).
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
        if entry is not None and self._busy.locked():
            self._busy.release()

    async def _finished(self, nwk: int, eui64: zt.EUI64, outcome: ke.KeOutcome) -> None:
        self._release(nwk)
        key = None
        if outcome.success:
            key = await self._stored_key(eui64)
        result = CbkeResult(eui64, outcome, key)
        self.results.setdefault(eui64, []).append(result)
        for waiter in self._waiters.pop(eui64, []):
            if not waiter.done():
                waiter.set_result(result)

    async def _stored_key(self, eui64: zt.EUI64) -> bytes | None:
        """The link key the stick stored for the partner, read back from its key table.

        By hand rather than bellows' read_link_keys, whose v13 unpacking bellows 1.2.1 also uses for v14+ tables,
        where exportLinkKeyByIndex answers (status, context, plaintext_key, key_data)."""
        ezsp = self.app._ezsp
        try:
            _status, size = await ezsp.getConfigurationValue(configId=bt.EzspConfigId.CONFIG_KEY_TABLE_SIZE)
            for index in range(int(size)):
                if ezsp.ezsp_version >= 14:
                    status, context, key, _meta = await ezsp.exportLinkKeyByIndex(index=index)
                    partner = context.eui64
                elif ezsp.ezsp_version >= 13:
                    partner, key, _meta, status = await ezsp.exportLinkKeyByIndex(index=index)
                else:
                    status, entry = await ezsp.getKeyTableEntry(index=index)
                    partner, key = entry.partnerEUI64, entry.key
                if _ok(status) and zt.EUI64(partner) == eui64:
                    return bytes(key)
        except Exception:  # noqa: BLE001 - a stick that will not export keys still completed CBKE
            LOGGER.info("could not read back the CBKE link key for %s", eui64, exc_info=True)
        return None

    async def _send(self, nwk: int, dst_ep: int, frame: ke.KeFrame) -> None:
        packet = zt.ZigbeePacket(
            src=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=self.app.state.node_info.nwk),
            src_ep=self.endpoint,
            dst=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=nwk),
            dst_ep=dst_ep,
            tsn=frame.tsn,
            profile_id=SE_PROFILE,
            cluster_id=ke.CLUSTER_ID,
            data=zt.SerializableBytes(ke.encode_frame(frame)),
            tx_options=zt.TransmitOptions.NONE,  # KE frames carry NWK security only
            radius=0,
        )
        try:
            await self.app.send_packet(packet)
        except Exception as exc:  # noqa: BLE001 - a lost frame is the partner's timeout, not a crash here
            LOGGER.info("KE %s to 0x%04X not delivered: %s", frame.name, nwk, exc)

    # -- waiting --------------------------------------------------------------------------------------------

    async def wait_result(self, eui64: zt.EUI64, timeout: float, *, after: int = 0) -> CbkeResult:
        """The result of the meter's next key establishment (the `after`-th and later)."""
        eui64 = zt.EUI64(eui64)
        done = self.results.get(eui64, [])
        if len(done) > after:
            return done[after]
        future: asyncio.Future[CbkeResult] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(eui64, []).append(future)
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        for task in [*self._tasks, *self._watches.values()]:
            task.cancel()
        self._watches.clear()
