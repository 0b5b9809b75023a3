"""Topology 2 with CBKE: UNMODIFIED bellows drives the emulated NCP's joining side and its EZSP suite-2 CBKE commands
(harness/drivers/meter_stick_cbke.py) against the emulated Comms Hub's KE server (harness/emulation/hub_cbke.py).

The hub's join decisions are the real CHF Device Log's (harness/smets/hub_han.py); both certificates come from a test
CA generated here (harness/zigbee/cbke/certificate.py), the stick's burnt into the emulated NCP as a factory would.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from harness.drivers.meter_stick import MeterStick
from harness.drivers.meter_stick_cbke import StickKeyEstablishment
from harness.emulation.comms_hub import EmulatedCommsHub
from harness.emulation.hub_cbke import HubKeyEstablishment
from harness.emulation.medium import Medium
from harness.emulation.ncp.joining import EmulatedJoinerStack
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.errors import JoinTimeout
from harness.smets.clock import VirtualClock
from harness.smets.device_log import ChfDeviceLog
from harness.smets.duis.request_id import RequestId
from harness.smets.hub import CommsHub, HubCommand
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64
from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import CertificateAuthority
from harness.zigbee.security import aes_mmo_hash

SPEC_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")  # vectors.md 1.2 (with its CRC)
SPEC_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
CHF = "00-DB-12-34-56-78-90-A2"
STICK = "00:DB:12:34:56:78:90:A0"
METERING = 0x0702


@dataclass
class Bench:
    hub: CommsHub
    node: EmulatedCommsHub
    server: HubKeyEstablishment
    ncp: EmulatedNcp
    stick: MeterStick
    client: StickKeyEstablishment
    ca: CertificateAuthority

    @property
    def stick_eui(self) -> Eui64:
        return Eui64.parse(STICK)

    def add(self) -> None:
        """SRV 8.11 CCS01 Add, as the DCC sends it, straight to the CHF model."""
        rid = RequestId(Eui64.parse("90-B3-D5-1F-30-01-00-00"), Eui64.parse(CHF), 1)
        result = self.hub.handle(HubCommand(rid, "8.11", "CCS01", Eui64.parse(CHF), device=self.stick_eui,
                                            device_type=DeviceType.ESME, install_code=SPEC_CODE,
                                            join_time_period=90))  # type: ignore[arg-type]
        assert result.success, result


@contextlib.asynccontextmanager
async def bench(version: int, transport: str, *, stick_issuer: CertificateAuthority | None = None
                ) -> AsyncIterator[Bench]:
    clock = VirtualClock()
    hub = CommsHub(clock, CHF, device_log=ChfDeviceLog(clock))
    authority = ChfJoinAuthority(hub, clock)
    medium = Medium()
    ca = CertificateAuthority.generate()
    server = HubKeyEstablishment(ca.issue(bytes(Eui64.parse(CHF).to_zigpy())[::-1], valid_from=0), timeout=10)
    node = EmulatedCommsHub(medium, Eui64.parse(CHF).to_zigpy(), authority, channel=15, annce_timeout=1.0,
                            key_establishment=server)
    authority.leave_requesters.append(lambda eui: node.request_leave(eui.to_zigpy()))
    ncp = EmulatedNcp(version, eui64=STICK, strict=True, stack=EmulatedJoinerStack(medium))
    stick_eui = Eui64.parse(STICK).to_zigpy()
    ncp.install_cbke_data((stick_issuer or ca).issue(bytes(stick_eui)[::-1], valid_from=0))
    client = StickKeyEstablishment(timeout=10)
    async with contextlib.AsyncExitStack() as stack:
        node.power_on()
        stack.push_async_callback(node.power_off)
        stack.push_async_callback(server.close)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        stick = MeterStick(url, SPEC_KEY, channels=(11, 15, 20), scan_duration=1, summation=77,
                           key_establishment=client)
        stack.push_async_callback(stick.close)
        await stick.connect()
        yield Bench(hub, node, server, ncp, stick, client, ca)
    ncp.check()  # strict: bellows sent nothing the emulator lacks a handler for
    assert not medium.node_errors


@pytest.mark.parametrize(("version", "transport"), [(13, "pty"), (14, "tcp")])
async def test_stick_joins_and_completes_cbke_so_the_tc_link_key_is_the_cbke_key(version: int,
                                                                                 transport: str) -> None:
    async with bench(version, transport) as b:
        b.add()
        await b.stick.join(timeout=15)
        eui = b.stick_eui.to_zigpy()
        hub_side = b.server.last_result(eui)
        assert hub_side is not None and hub_side.outcome.success, hub_side
        cbke_key = hub_side.link_key
        assert cbke_key is not None and cbke_key != SPEC_KEY
        # the stick's side, through bellows: it completed the exchange and its TC link key is now the CBKE key
        stick_side = b.client.last
        assert stick_side is not None and stick_side.outcome.success, stick_side
        assert stick_side.tc_link_key == cbke_key
        assert b.ncp.nv.tc_link_key == cbke_key.hex()
        # each side checked the other's certificate: same CA, subjects are the two EUI-64s
        assert stick_side.certificate is not None and stick_side.certificate.subject_hex == "00DB1234567890A2"
        assert hub_side.certificate is not None and hub_side.certificate.subject_hex == "00DB1234567890A0"
        assert hub_side.certificate.issuer == b.ca.issuer == stick_side.certificate.issuer
        # the CHF recorded the join with the CBKE key (its hash is what 0x8F12 reports), not the install-code key
        entry = b.hub.device_log.entry(STICK)
        assert entry.joined and entry.tc_link_key == cbke_key
        assert entry.hashed_tc_link_key == aes_mmo_hash(cbke_key)
        assert [d.outcome for d in b.node.decisions_for(eui)] == ["key-sent", "joined"]
        assert "CBKE completed" in b.node.decisions_for(eui)[-1].reason
        assert [a.cause.value for a in b.hub.alerts] == ["added", "joined"] and b.hub.alerts[-1].code == 0x8F12
        # and the meter still answers the hub after CBKE
        assert await b.node.read_attributes(eui, METERING, [0x0000]) == {0x0000: 77}


@pytest.mark.parametrize("version", [13, 14])
async def test_a_stick_certified_by_another_issuer_is_made_to_leave(version: int) -> None:
    stranger = CertificateAuthority.generate()
    async with bench(version, "pty", stick_issuer=stranger) as b:
        b.add()
        with pytest.raises(JoinTimeout, match="Key Establishment with the hub failed"):
            await b.stick.join(timeout=15)
        await b.stick.wait_left(5)  # the hub asked it to leave; the stick does not leave on its own
        assert not b.stick.is_joined and b.stick.leaves
        eui = b.stick_eui.to_zigpy()
        outcomes = [d.outcome for d in b.node.decisions_for(eui)]
        assert outcomes == ["key-sent", "cbke-failed", "leave-requested"], outcomes
        failed = b.node.decisions_for(eui)[1]
        assert stranger.issuer.hex().upper() in failed.reason and "not our CA" in failed.reason
        hub_side = b.server.last_result(eui)
        assert hub_side is not None and hub_side.outcome.status is ke.TerminateStatus.UNKNOWN_ISSUER
        assert hub_side.outcome.terminate_sent
        stick_side = b.client.last
        assert stick_side is not None and stick_side.outcome.terminate_received
        assert stick_side.outcome.status is ke.TerminateStatus.UNKNOWN_ISSUER
        assert not b.hub.device_log.entry(STICK).joined
        assert [a.cause.value for a in b.hub.alerts] == ["added"]  # no 0x8F12 "joined" for the DCC
