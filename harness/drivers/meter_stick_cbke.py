"""The stick-as-meter's Key Establishment client (CBKE initiator, suite 2), through the stick's EZSP commands.

Topology 2: after the stick joins the hub under test with its install-code key, it runs CBKE with the trust centre
as an ESME does. The crypto is the stick's own (getCertificate283k1, generateCbkeKeys283k1, calculateSmacs283k1,
clearTemporaryDataMaybeStoreLinkKey283k1, via harness.drivers.cbke_server.EzspCbkeCrypto), so the same code runs
on the emulated NCP and on a real stick that holds suite-2 CBKE data from the hub's CA; the private key stays in the
stick. The state machine is harness.zigbee.key_establishment.KeInitiator. Frames go to the trust centre (0x0000) on
the hub's SE endpoint with NWK security only; the answers arrive through MeterStick's incomingMessageHandler.

A failed exchange does not make the stick leave on its own: on a hub-under-test bench it is the hub's job to ask a
device that failed CBKE to leave, and the scenario checks that it does (MeterStick.wait_left).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bellows.types as bt

from harness.drivers.cbke_server import EzspCbkeCrypto
from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import Certificate, parse_certificate

if TYPE_CHECKING:
    from harness.drivers.meter_stick import MeterStick

__all__ = ["StickKeyEstablishment", "StickCbkeResult", "TRUST_CENTRE_NWK", "HUB_SE_ENDPOINT"]

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109
TRUST_CENTRE_NWK = 0x0000
HUB_SE_ENDPOINT = 1  # the emulated Comms Hub's SE endpoint (harness/emulation/comms_hub.py HUB_ENDPOINT)


@dataclass
class StickCbkeResult:
    outcome: ke.KeOutcome
    tc_link_key: bytes | None = field(default=None, repr=False)  # a secret: the stick's TC link key afterwards

    @property
    def certificate(self) -> Certificate | None:
        """The hub's certificate, as the stick received it."""
        return self.outcome.partner_certificate


class StickKeyEstablishment:
    """meter_stick.KeyEstablishmentClient: one KeInitiator run per join, crypto in the stick."""

    def __init__(self, *, hub_endpoint: int = HUB_SE_ENDPOINT, timeout: float = 60.0,
                 config: ke.KeConfig | None = None, unix_time: Callable[[], float] = time.time) -> None:
        self.hub_endpoint = hub_endpoint
        self.timeout = timeout
        self.config = config or ke.KeConfig()
        self.unix_time = unix_time
        self.results: list[StickCbkeResult] = []
        self.local_certificate: Certificate | None = None
        self._frames: asyncio.Queue[bytes] | None = None
        self._tag = 0x80

    @property
    def last(self) -> StickCbkeResult | None:
        return self.results[-1] if self.results else None

    def receive(self, sender: int, payload: bytes) -> None:
        """A Key Establishment frame for the stick's endpoint (MeterStick routes cluster 0x0800 here)."""
        if self._frames is not None and sender == TRUST_CENTRE_NWK:
            self._frames.put_nowait(bytes(payload))

    async def establish(self, stick: MeterStick) -> bool:
        ezsp = stick._require()
        assert stick.eui64 is not None
        loop = asyncio.get_running_loop()
        crypto = EzspCbkeCrypto(ezsp)
        frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._frames = frames

        async def send(frame: ke.KeFrame) -> None:
            await self._send(ezsp, frame)

        # partner_eui64 unknown here: the hub's subject is checked against its issuer, not against an address
        session = ke.KeInitiator(crypto, bytes(stick.eui64)[::-1], send, loop.time, self.unix_time,
                                 partner_eui64=None, config=self.config)
        deadline = loop.time() + self.timeout
        try:
            outcome = await self._run(session, frames, deadline)
        finally:
            self._frames = None
        key = await self._tc_link_key(ezsp) if outcome.success else None
        result = StickCbkeResult(outcome, key)
        self.results.append(result)
        LOGGER.info("meter stick %s: CBKE %s (%s, %.3f s)", stick.eui64, "succeeded" if outcome.success else "failed",
                    outcome.reason, outcome.duration)
        return outcome.success

    async def _run(self, session: ke.KeInitiator, frames: asyncio.Queue[bytes], deadline: float) -> ke.KeOutcome:
        loop = asyncio.get_running_loop()
        try:
            self.local_certificate = parse_certificate(await session.crypto.local_certificate())
            await session.start()
        except Exception as exc:  # noqa: BLE001 - no CBKE data, or the link failed: the exchange did not start
            return ke.KeOutcome(False, f"could not start Key Establishment: {type(exc).__name__}: {exc}",
                                started=loop.time(), finished=loop.time())
        while True:
            if session.outcome is not None:
                return session.outcome
            limit = min(deadline, session.deadline if session.deadline is not None else deadline)
            try:
                data = await asyncio.wait_for(frames.get(), max(0.0, limit - loop.time()))
            except asyncio.TimeoutError:
                outcome = await session.check_timeout()
                if outcome is not None:
                    return outcome
                if loop.time() >= deadline:
                    await session.crypto.finish(False)
                    return ke.KeOutcome(False, f"no answer within {self.timeout:g} s ({session.state.value})",
                                        timed_out=True, started=session._started, finished=loop.time())
                continue
            outcome = await session.receive(data)
            if outcome is not None:
                return outcome

    async def _send(self, ezsp: Any, frame: ke.KeFrame) -> None:
        aps = bt.EmberApsFrame(
            profileId=SE_PROFILE, clusterId=ke.CLUSTER_ID, sourceEndpoint=1, destinationEndpoint=self.hub_endpoint,
            options=bt.EmberApsOption.APS_OPTION_ENABLE_ROUTE_DISCOVERY,  # NWK security only, as KE frames go
            groupId=0, sequence=0,
        )  # fmt: skip
        self._tag = 0x80 | ((self._tag + 1) & 0x7F)
        status, _seq = await ezsp.send_unicast(nwk=bt.NWK(TRUST_CENTRE_NWK), aps_frame=aps, message_tag=self._tag,
                                               data=ke.encode_frame(frame))
        if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
            LOGGER.info("meter stick: KE %s not sent: %r", frame.name, status)

    @staticmethod
    async def _tc_link_key(ezsp: Any) -> bytes | None:
        """The TC link key the stick holds now (exportKey on EZSP 13+, getKey before), if the stick gives it."""
        try:
            if ezsp.ezsp_version >= 13:
                context = bt.SecurityManagerContextV13(
                    core_key_type=bt.SecurityManagerKeyType.TC_LINK, key_index=0,
                    derived_type=bt.SecurityManagerDerivedKeyTypeV13.NONE, eui64=bt.EUI64([0] * 8),
                    multi_network_index=0, flags=bt.SecurityManagerContextFlags.NONE, psa_key_alg_permission=0,
                )  # fmt: skip
                answer = await ezsp.exportKey(context=context)
                # v13 answers (key, status), v14+ (status, key, context): read the fields by name
                fields = dict(zip(ezsp._protocol.COMMANDS["exportKey"][2], answer, strict=False))
                status, key = fields["status"], fields["key"]
            else:
                status, struct = await ezsp.getKey(keyType=bt.EmberKeyType.TRUST_CENTER_LINK_KEY)
                key = struct.key
            if bt.sl_Status.from_ember_status(status) != bt.sl_Status.OK:
                return None
            return bytes(key)
        except Exception:  # noqa: BLE001 - a stick that will not export its keys still completed CBKE
            LOGGER.info("could not read back the stick's TC link key", exc_info=True)
            return None
