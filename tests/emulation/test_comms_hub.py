"""The emulated Comms Hub node with the CHF Device Log as its join authority, on the radio alone.

The joiner is the emulated NCP's own radio side (EmulatedJoinerStack), so these tests are about the hub's decisions:
the whitelist, the join window, the historic-key rule (CCS01 text, domain.md §1.4) and leave on Remove. bellows is
not involved here (tests/emulation/test_join_as_meter.py drives the same path through it).
"""

from __future__ import annotations

import asyncio

import pytest
import zigpy.types as zt

from harness.emulation.comms_hub import EmulatedCommsHub, JoinAuthority
from harness.emulation.medium import Medium
from harness.emulation.ncp.joining import EmulatedJoinerStack, FoundNetwork, scan_dwell_seconds
from harness.smets.clock import VirtualClock
from harness.smets.device_log import ChfDeviceLog
from harness.smets.duis.request_id import RequestId
from harness.smets.hub import CommsHub, HubCommand
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64
from harness.zigbee.installcode import derive_link_key

CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
METER = Eui64.parse("00-DB-12-34-56-78-90-A0")
OTHER = Eui64.parse("00-DB-12-34-56-78-90-B1")
CODE_1 = bytes.fromhex("83FED3407A939723A5C639B26916D505")  # vectors.md 1.2 without its CRC
CODE_2 = bytes.fromhex("30313233343536373839414243444546")  # domain.md §4.4 RTDS sample
KEY_1 = derive_link_key(CODE_1, "append")
KEY_2 = derive_link_key(CODE_2, "append")


class Premises:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.hub = CommsHub(self.clock, CHF, device_log=ChfDeviceLog(self.clock))
        self.authority = ChfJoinAuthority(self.hub, self.clock)
        self.medium = Medium()
        self.node = EmulatedCommsHub(self.medium, CHF.to_zigpy(), self.authority, channel=20, annce_timeout=0.5)
        self.authority.leave_requesters.append(lambda eui: self.node.request_leave(eui.to_zigpy()))
        self.joiner = EmulatedJoinerStack(self.medium, key_timeout=0.5)
        self.counter = 0

    def command(self, use_case: str, device: Eui64 = METER, **fields: object) -> None:
        self.counter += 1
        rid = RequestId(Eui64.parse("90-B3-D5-1F-30-01-00-00"), CHF, self.counter)
        result = self.hub.handle(HubCommand(rid, "8.11", use_case, CHF, device=device, **fields))  # type: ignore[arg-type]
        assert result.success, result

    def add(self, code: bytes, device: Eui64 = METER, minutes: int = 90) -> None:
        self.command("CCS01", device, device_type=DeviceType.ESME, install_code=code, join_time_period=minutes)

    async def found(self) -> list[FoundNetwork]:
        return await self.joiner.scan(METER.to_zigpy(), [11, 20], scan_dwell_seconds(1))

    async def join(self, key: bytes) -> str:
        networks = [n for n in await self.found() if n.allowing_join]
        if not networks:
            return "no permitting network"
        outcome = await self.joiner.join(METER.to_zigpy(), networks[0], zt.KeyData(key))
        if outcome.joined:
            await self._settle()
            return "joined"
        return outcome.reason

    async def _settle(self) -> None:
        for _ in range(50):
            if self.node.decisions and self.node.decisions[-1].outcome in ("joined", "no-annce"):
                return
            await asyncio.sleep(0.01)

    def outcomes(self) -> list[str]:
        return [d.outcome for d in self.node.decisions_for(METER.to_zigpy())]


@pytest.fixture
async def premises():  # noqa: ANN201
    p = Premises()
    p.node.power_on()
    yield p
    await p.node.power_off()
    assert not p.medium.node_errors


def test_the_chf_authority_is_a_join_authority() -> None:
    p = Premises()
    assert isinstance(p.authority, JoinAuthority)


async def test_nothing_is_permitted_before_an_add(premises: Premises) -> None:
    networks = await premises.found()
    assert [(n.channel, n.pan_id, n.allowing_join) for n in networks] == [(20, premises.node.pan_id, False)]
    assert await premises.join(KEY_1) == "no permitting network"


async def test_a_device_not_in_the_log_is_denied_while_another_may_join(premises: Premises) -> None:
    premises.add(CODE_2, device=OTHER)  # the hub permits joining for OTHER's window
    reason = await premises.join(KEY_1)
    assert "no Transport Key" in reason
    denied = premises.node.decisions_for(METER.to_zigpy())[-1]
    assert denied.outcome == "denied" and "not in the CHF Device Log" in denied.reason


async def test_join_inside_the_window_then_refused_after_it(premises: Premises) -> None:
    premises.add(CODE_1, minutes=90)
    assert await premises.join(KEY_1) == "joined"
    assert premises.outcomes() == ["key-sent", "joined"]
    assert premises.hub.device_log.entry(METER).tc_link_key == KEY_1
    # A second device whose window has closed by the time it tries is refused on the air.
    premises.add(CODE_2, device=OTHER, minutes=5)
    premises.clock.advance(minutes=6)
    verdict = premises.authority.admit(OTHER.to_zigpy())
    assert verdict.link_key is None and "join window closed" in verdict.reason


async def test_remove_sends_a_leave_and_re_add_uses_the_historic_key_first(premises: Premises) -> None:
    premises.add(CODE_1, minutes=90)
    assert await premises.join(KEY_1) == "joined"
    premises.command("CCS02")
    assert premises.outcomes()[-1] == "leave-requested"
    await asyncio.sleep(0.05)  # the NWK Leave is on the air
    assert not premises.joiner.joined and premises.joiner.leaves[-1].startswith("NWK Leave request")
    # Re-added with a new install code: for the first half of the window only the historic TC link key is accepted.
    premises.add(CODE_2, minutes=90)
    verdict = premises.authority.admit(METER.to_zigpy())
    assert verdict.key_source == "historic-key" and verdict.link_key == KEY_1
    assert await premises.join(KEY_2) != "joined"  # the new code's key fails the Transport Key MIC
    premises.clock.advance(minutes=46)  # second half: the install code's key
    verdict = premises.authority.admit(METER.to_zigpy())
    assert verdict.key_source == "install-code" and verdict.link_key == KEY_2
    assert await premises.join(KEY_2) == "joined"
    alerts = [a.cause.value for a in premises.hub.alerts]
    assert alerts == ["added", "joined", "removed", "added", "joined"]


async def test_a_joiner_with_the_wrong_key_is_logged_as_never_announcing(premises: Premises) -> None:
    premises.add(CODE_1)
    reason = await premises.join(KEY_2)
    assert "MIC check failed" in reason
    await asyncio.sleep(0.7)  # the hub's annce_timeout (0.5 s) runs out
    last = premises.node.decisions_for(METER.to_zigpy())[-1]
    assert last.outcome == "no-annce" and "different link key" in last.reason
    assert not premises.hub.device_log.entry(METER).joined


async def test_mgmt_leave_req_makes_the_joiner_leave(premises: Premises) -> None:
    premises.add(CODE_1)
    assert await premises.join(KEY_1) == "joined"
    nwk = premises.node.children[METER.to_zigpy()].nwk
    left: list[str] = []

    class Events:  # what the NCP would be told (JoinerEvents)
        def stack_message_received(self, *args: object, **kwargs: object) -> None: ...

        def stack_network_left(self, why: str) -> None:
            left.append(why)

    premises.joiner.events = Events()  # type: ignore[assignment]
    premises.node.send_aps_data(nwk, profile_id=0, cluster_id=0x0034, src_ep=0, dst_ep=0,
                                payload=bytes([7]) + bytes(METER.to_zigpy()) + bytes([0]))  # Mgmt_Leave_req
    await asyncio.sleep(0.1)
    assert left == ["Mgmt_Leave_req"] and not premises.joiner.joined
    assert premises.node.decisions_for(METER.to_zigpy())[-1].outcome == "left"  # its NWK Leave reached the hub
