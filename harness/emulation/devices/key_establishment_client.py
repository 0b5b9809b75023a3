"""The meter side of CBKE: after joining, an SE device runs Key Establishment with the trust centre as the KE
client (initiator), installs KeyData as its new TC link key, and leaves the network if it fails or times out
(SE 1.x: a device that cannot establish a key with the TC must leave).

The state machine is harness.zigbee.key_establishment.KeInitiator; the crypto is an in-process CbkeEngine with
the device's certificate and private key. Frames go to the coordinator (0x0000) on the hub's SE endpoint with
NWK security only, as Key Establishment frames are sent (vectors.md §4.4).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.emulation.zcl_server import SE_PROFILE
from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import DeviceCredentials
from harness.zigbee.cbke.engine import CbkeEngine

if TYPE_CHECKING:
    from harness.emulation.devices.base import EmulatedDevice

LOGGER = logging.getLogger(__name__)

TRUST_CENTRE_NWK = 0x0000
HUB_SE_ENDPOINT = 10  # the harness coordinator's SE endpoint (harness/drivers/ezsp.py SE_ENDPOINT)
SUITE_ATTRIBUTE_TYPE = 0x31  # enum16


class KeyEstablishmentClient:
    def __init__(self, device: EmulatedDevice, credentials: DeviceCredentials, *, endpoint: int = 1,
                 hub_endpoint: int = HUB_SE_ENDPOINT, config: ke.KeConfig | None = None,
                 unix_time: Callable[[], float] = time.time) -> None:
        self.device = device
        self.credentials = credentials
        self.endpoint = endpoint
        self.hub_endpoint = hub_endpoint
        self.config = config or ke.KeConfig()
        self.unix_time = unix_time
        self.session: ke.KeInitiator | None = None
        self.crypto: ke.EngineCrypto | None = None
        self.outcomes: list[ke.KeOutcome] = []
        self.established = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        device.endpoints[endpoint].set_attribute(ke.CLUSTER_ID, ke.ATTR_KEY_ESTABLISHMENT_SUITE, ke.SUITE_2,
                                                 zcl_type=SUITE_ATTRIBUTE_TYPE)

    def start(self) -> None:
        """Begin key establishment (after the join)."""
        self.stop()
        self.established.clear()
        self.crypto = ke.EngineCrypto(CbkeEngine(self.credentials))
        loop = asyncio.get_running_loop()
        self.session = ke.KeInitiator(self.crypto, self.credentials_subject, self._send, loop.time, self.unix_time,
                                      partner_eui64=None, config=self.config)
        loop.create_task(self._start(self.session))

    @property
    def credentials_subject(self) -> bytes:
        return bytes(self.credentials.certificate[28:36])

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _start(self, session: ke.KeInitiator) -> None:
        await session.start()
        self._arm(session)

    async def _send(self, frame: ke.KeFrame) -> None:
        self.device.send_aps_data(TRUST_CENTRE_NWK, profile_id=SE_PROFILE, cluster_id=ke.CLUSTER_ID,
                                  src_ep=self.endpoint, dst_ep=self.hub_endpoint, payload=ke.encode_frame(frame))

    def _arm(self, session: ke.KeInitiator) -> None:
        self.stop()
        if session.deadline is None:
            return
        loop = asyncio.get_running_loop()

        async def wait() -> None:
            assert session.deadline is not None
            await asyncio.sleep(max(0.0, session.deadline - loop.time()))
            outcome = await session.check_timeout()
            if outcome is not None:
                self._finished(outcome)
            elif not session.done:
                self._arm(session)

        self._timer = loop.create_task(wait())

    def receive(self, payload: bytes) -> None:
        session = self.session
        if session is None or session.done:
            return
        asyncio.get_running_loop().create_task(self._receive(session, payload))

    async def _receive(self, session: ke.KeInitiator, payload: bytes) -> None:
        outcome = await session.receive(payload)
        if outcome is not None:
            self._finished(outcome)
        else:
            self._arm(session)

    def _finished(self, outcome: ke.KeOutcome) -> None:
        self.stop()
        self.outcomes.append(outcome)
        if outcome.success and self.crypto is not None and self.crypto.stored is not None:
            _partner, key = self.crypto.stored
            self.device.key_established(key, outcome)
            self.established.set()
        else:
            LOGGER.info("%s %s: CBKE failed: %s", self.device.kind, self.device.eui64, outcome.reason)
            self.device.key_establishment_failed(outcome)
