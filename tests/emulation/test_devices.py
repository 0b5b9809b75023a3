"""Emulated SE devices on the radio: ZDO and ZCL answers, sleepy polling, power, GB CRC mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.types import EUI64, KeyData
from zigpy.zcl import foundation

from harness.emulation.devices import EmulatedDevice, EmulatedEsme, EmulatedGsme, EmulatedIhd
from harness.emulation.medium import Medium
from harness.emulation.stack import EmulatedCoordinatorStack
from harness.emulation.stack_api import ApsMessage
from harness.emulation.zdo_server import parse_zdo_frame
from tests.emulation.radio_side import FAST, SPEC_INSTALL_CODE, SPEC_LINK_KEY, NcpSide, start_coordinator

SE = 0x0109
METERING = 0x0702
ESME_EUI = EUI64.convert("00:0D:6F:00:00:00:00:01")
GSME_EUI = EUI64.convert("00:0D:6F:00:00:00:00:02")
IHD_EUI = EUI64.convert("00:0D:6F:00:00:00:00:03")


class Han:
    def __init__(self) -> None:
        self.medium = Medium()
        self.side = NcpSide()
        self.stack: EmulatedCoordinatorStack = start_coordinator(self.medium, self.side)
        self.devices: list[EmulatedDevice] = []
        self.tsn = 0

    async def join(self, device: EmulatedDevice, key: bytes = SPEC_LINK_KEY) -> EmulatedDevice:
        self.devices.append(device)
        self.side.keys[device.eui64] = KeyData(key)
        self.stack.permit_joining(60)
        device.power_on()
        await device.wait_joined(3)
        return device

    async def request(self, device: EmulatedDevice, profile: int, cluster: int, payload: bytes,
                      endpoint: int = 0) -> bytes:
        """Send like the NCP's sendUnicast does; wait for the device's reply on the reply cluster."""
        before = len(self.side.messages)
        reply_cluster = cluster | 0x8000 if profile == 0 else cluster
        sent = self.stack.send_unicast(device.nwk, ApsMessage(profile, cluster, endpoint or 0, endpoint or 0,
                                                              payload, aps_counter=self.tsn))
        assert sent
        found = await self.side.wait_for(lambda: next(
            (r for r in self.side.messages[before:] if r.message.cluster_id == reply_cluster
             and r.src_nwk == device.nwk), None))
        return found.message.payload

    async def zdo(self, device: EmulatedDevice, command: zdo_t.ZDOCmd, *args: object) -> list[object]:
        self.tsn += 1
        _, types = zdo_t.CLUSTERS[command]
        payload = t.uint8_t(self.tsn).serialize() + t.serialize(list(args), types)
        reply = await self.request(device, 0, command, payload)
        tsn, fields = parse_zdo_frame(command | 0x8000, reply)
        assert tsn == self.tsn
        return fields

    async def read(self, device: EmulatedDevice, cluster: int, attribute_ids: list[int]) -> dict[int, object]:
        self.tsn += 1
        header = foundation.ZCLHeader.general(self.tsn, foundation.GeneralCommand.Read_Attributes)
        body = b"".join(t.uint16_t(a).serialize() for a in attribute_ids)
        reply = await self.request(device, SE, cluster, header.serialize() + body, endpoint=1)
        hdr, rest = foundation.ZCLHeader.deserialize(reply)
        assert hdr.tsn == self.tsn and hdr.command_id == foundation.GeneralCommand.Read_Attributes_rsp
        response, _ = foundation.ReadAttributesResponse.deserialize(rest)
        return {r.attrid: (r.value.value if r.status == foundation.Status.SUCCESS else r.status)
                for r in response.status_records}

    async def close(self) -> None:
        for device in self.devices:
            await device.power_off()


@pytest.fixture
async def han() -> AsyncIterator[Han]:
    network = Han()
    yield network
    await network.close()


async def test_esme_describes_itself_as_an_se_metering_router(han: Han) -> None:
    esme = await han.join(EmulatedEsme(han.medium, ESME_EUI, SPEC_INSTALL_CODE, **FAST))
    status, nwk, descriptor = await han.zdo(esme, zdo_t.ZDOCmd.Node_Desc_req, t.NWK(esme.nwk))
    assert status == zdo_t.Status.SUCCESS and nwk == esme.nwk
    assert descriptor.logical_type == zdo_t.LogicalType.Router
    assert descriptor.is_mains_powered and descriptor.is_receiver_on_when_idle
    status, _, endpoints = await han.zdo(esme, zdo_t.ZDOCmd.Active_EP_req, t.NWK(esme.nwk))
    assert endpoints == [1]
    status, _, simple = await han.zdo(esme, zdo_t.ZDOCmd.Simple_Desc_req, t.NWK(esme.nwk), t.uint8_t(1))
    assert simple.profile == SE
    assert {0x0000, METERING} <= set(simple.input_clusters)


async def test_metering_read_returns_the_value_the_test_set(han: Han) -> None:
    esme = await han.join(EmulatedEsme(han.medium, ESME_EUI, SPEC_INSTALL_CODE, **FAST))
    esme.set_attribute(METERING, "current_summ_delivered", 123456)
    values = await han.read(esme, METERING, [0x0000, 0x0306, 0x7777])
    assert values[0x0000] == 123456
    assert values[0x0306] == 0  # metering device type: electricity
    assert values[0x7777] == foundation.Status.UNSUPPORTED_ATTRIBUTE
    basic = await han.read(esme, 0x0000, [0x0004, 0x0005])
    assert basic == {0x0004: "smets2-harness", 0x0005: "Emulated ESME"}


async def test_gsme_is_a_sleepy_end_device_answering_through_polls(han: Han) -> None:
    gsme = await han.join(EmulatedGsme(han.medium, GSME_EUI, SPEC_INSTALL_CODE, **{**FAST, "poll_interval": 0.2}))
    assert han.side.child_joins[-1][4] == 4  # EmberNodeType SLEEPY_END_DEVICE
    gsme.set_attribute(METERING, "current_summ_delivered", 4242)
    answered_before = han.stack.counters.polls_answered
    han.tsn += 1
    header = foundation.ZCLHeader.general(han.tsn, foundation.GeneralCommand.Read_Attributes)
    assert han.stack.send_unicast(gsme.nwk, ApsMessage(SE, METERING, 1, 1, header.serialize() + b"\x00\x00"))
    assert han.stack.pending_for(GSME_EUI) == 1  # held by the parent until the meter polls
    found = await han.side.wait_for(lambda: han.side.message(METERING, gsme.nwk))
    assert han.stack.pending_for(GSME_EUI) == 0
    assert han.stack.counters.polls_answered == answered_before + 1  # released by a poll
    _, rest = foundation.ZCLHeader.deserialize(found.message.payload)
    response, _ = foundation.ReadAttributesResponse.deserialize(rest)
    assert response.status_records[0].value.value == 4242
    _, _, descriptor = await han.zdo(gsme, zdo_t.ZDOCmd.Node_Desc_req, t.NWK(gsme.nwk))
    assert descriptor.logical_type == zdo_t.LogicalType.EndDevice
    assert not descriptor.is_receiver_on_when_idle and not descriptor.is_mains_powered


async def test_ihd_joins_as_an_always_listening_end_device(han: Han) -> None:
    ihd = await han.join(EmulatedIhd(han.medium, IHD_EUI, SPEC_INSTALL_CODE, **FAST))
    assert han.side.child_joins[-1][4] == 3  # EmberNodeType END_DEVICE
    _, _, simple = await han.zdo(ihd, zdo_t.ZDOCmd.Simple_Desc_req, t.NWK(ihd.nwk), t.uint8_t(1))
    assert simple.profile == SE and METERING in simple.output_clusters


async def test_powered_off_meter_is_silent_and_resumes_on_power_on(han: Han) -> None:
    esme = await han.join(EmulatedEsme(han.medium, ESME_EUI, SPEC_INSTALL_CODE, **FAST))
    await han.side.wait_for(lambda: han.side.message(0x0013))  # its Device_annce is in
    await esme.power_off()
    before = len(han.side.messages)
    han.stack.send_unicast(esme.nwk, ApsMessage(0, 0x0002, 0, 0, b"\x01" + t.NWK(esme.nwk).serialize()))
    await asyncio.sleep(0.1)
    assert len(han.side.messages) == before
    esme.power_on()
    assert esme.joined  # network state survives power off (NV)
    _, _, descriptor = await han.zdo(esme, zdo_t.ZDOCmd.Node_Desc_req, t.NWK(esme.nwk))
    assert descriptor.logical_type == zdo_t.LogicalType.Router


# research/domain.md 4.4: the RTDS GB code (ASCII "0123456789ABCDEF", 16 bytes, no CRC) and its two link keys.
RTDS_GB_CODE = "30313233343536373839414243444546"
RTDS_KEY_BY_CRC_MODE = {"append": bytes.fromhex("17E92CAAA342C367E8EDDC58EEBA69ED"),
                        "none": bytes.fromhex("3528C16449E1C30F62AFD614580B7AD0")}


@pytest.mark.parametrize("tc_crc_mode,joins", [("none", True), ("append", False)])
async def test_gb_install_code_crc_mode_must_match_the_trust_centre(han: Han, tc_crc_mode: str, joins: bool) -> None:
    esme = EmulatedEsme(han.medium, ESME_EUI, RTDS_GB_CODE, crc_mode="none", **FAST)
    assert bytes(esme.link_key) == RTDS_KEY_BY_CRC_MODE["none"]
    han.devices.append(esme)
    han.side.keys[ESME_EUI] = KeyData(RTDS_KEY_BY_CRC_MODE[tc_crc_mode])
    han.stack.permit_joining(60)
    esme.power_on()
    # Only attempts that heard the network count: on a busy machine a scan may miss the beacons.
    await han.side.wait_for(lambda: esme.joined or any(a.channel is not None for a in esme.join_attempts))
    if joins:
        await esme.wait_joined(3)
    else:
        assert not esme.joined
        reached = [a for a in esme.join_attempts if a.channel is not None]
        assert "MIC check failed" in reached[0].reason


def test_device_spec_parses_the_command_line_form() -> None:
    from harness.emulation.network import DeviceSpec

    spec = DeviceSpec.parse("gsme:70b3d50000000002:83FED3407A939723A5C639B26916D505:none")
    assert (spec.kind, spec.eui64, spec.install_code, spec.crc_mode) == (
        "gsme", EUI64.convert("70:b3:d5:00:00:00:00:02"), "83FED3407A939723A5C639B26916D505", "none")
    colons = DeviceSpec.parse("esme:70:b3:d5:00:00:00:00:01:" + SPEC_INSTALL_CODE)
    assert colons.eui64 == EUI64.convert("70:b3:d5:00:00:00:00:01") and colons.crc_mode == "append"
    from harness.errors import InputError

    with pytest.raises(InputError, match="kind 'water'"):
        DeviceSpec.parse("water:70b3d50000000002:" + SPEC_INSTALL_CODE)
    with pytest.raises(InputError, match="not 16 hex digits"):
        DeviceSpec.parse("esme:70b3d5:" + SPEC_INSTALL_CODE)


async def test_han_refuses_a_duplicate_eui64_and_a_bad_install_code() -> None:
    from harness.emulation.network import DeviceSpec, EmulatedHan
    from harness.errors import InputError

    han = EmulatedHan([DeviceSpec("esme", ESME_EUI, SPEC_INSTALL_CODE)])
    with pytest.raises(InputError, match="used twice"):
        han.add_device(DeviceSpec("ihd", ESME_EUI, SPEC_INSTALL_CODE))
    with pytest.raises(InputError, match="00:0d:6f:00:00:00:00:02"):
        han.add_device(DeviceSpec("gsme", GSME_EUI, "83FED3407A939723A5C639B26916D505C3B6"))  # bad CRC
    assert list(han.devices) == [ESME_EUI]
    await han.close()


async def test_a_replayed_request_is_dropped_by_the_nwk_frame_counter_check(han: Han) -> None:
    esme = await han.join(EmulatedEsme(han.medium, ESME_EUI, SPEC_INSTALL_CODE, **FAST))
    await han.side.wait_for(lambda: han.side.message(0x0013))
    heard: list[bytes] = []
    han.medium.add_tap(lambda frame: heard.append(frame.psdu) if frame.sender == han.stack.eui64 else None)
    assert (await han.read(esme, METERING, [0x0000]))[0x0000] == 0
    assert len(heard) == 1
    before = len(han.side.messages)
    han.medium.transmit(han.stack, heard[0])  # the same bytes again, as a replaying attacker would send them
    await asyncio.sleep(0.1)
    assert esme.counters.replays == 1
    assert len(han.side.messages) == before  # not answered twice
